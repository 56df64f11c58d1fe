"""gridgeo dispatch, coverage, staffing CSV and assign --category-col, run as a user runs them."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from gridgeo.cli.main import main
from gridgeo.wording import display_width

WENMING_2 = ("110.3005", "25.2785")  # 文明社区第2网格, on 滨江路 by the workstation


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_dispatch_text_names_people_partners_and_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "dispatch", *WENMING_2, "--category", "0505", "--crs", "cgcs2000")
    assert code == 0
    assert "类别：0505 机动车乱停放\n" in out
    assert "  五级网格          450302001001002  文明社区第2网格\n" in out
    assert "      网格长：廖平海（协管员）\n" in out and "      网格员：田超（协管员）、" in out
    assert "城市管理工作站：WS450302001001 文明社区城市管理工作站，" in out
    assert "\n责任方：\n  网格人员（“2”）：450302001001002 文明社区第2网格，网格长 廖平海\n" in out
    assert "  交警（N）：TP-450302 秀峰区交警大队" in out
    assert "  此处无覆盖：车辆收费员（没有该类单位的责任区覆盖该点位）" in out


def test_dispatch_text_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "dispatch", *WENMING_2, "--category", "0505", "--crs",
                       "cgcs2000", "--lang", "en")  # fmt: skip
    assert code == 0
    assert "category 0505 机动车乱停放 (illegal motor-vehicle parking)" in out
    assert "  level 5 grid       450302001001002  文明社区第2网格\n" in out
    assert "grid leader: 廖平海 (auxiliary)" in out and "grid members: 田超 (auxiliary)" in out
    assert "workstation: WS450302001001" in out
    assert "traffic police (交警) [N]: TP-450302 秀峰区交警大队" in out
    assert "why: routing rule 0505 sends this category to traffic police (交警)" in out
    assert "not covered here: parking-fee collector (车辆收费员)" in out


def test_dispatch_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "dispatch", *WENMING_2, "--category", "店外经营", "--crs", "cgcs2000", "--format",
        "json",
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["category"]["code"] == "0504"
    assert data["grid_involved"] is True and data["reached"] is True
    assert data["grids"][0]["code"] == "450302001001002"
    # the point is on the hotel's 15 m frontage (门前三包) along 滨江路
    codes = [p["partner"]["code"] for p in data["partners"]]
    assert codes == ["ENF-450302001", "ENT-BINJIANG-01"]
    assert data["partners"][1]["distance_m"] < 15
    assert data["uncovered_types"] == ["property_manager"]
    assert data["teams"][0]["leaders"][0]["role"] == "leader"


def test_dispatch_nobody_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # 甲山街道: no police zone, and public order (9005) involves no grid staff
    code, out, _ = run(capsys, "dispatch", "110.255", "25.300", "--category", "9005")
    assert code == 1 and "  无人处置：不涉及网格人员，也没有联动单位的责任区覆盖该点位" in out


def test_dispatch_unknown_category_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dispatch", *WENMING_2, "--category", "0599x", "--lang", "en")
    assert code == 2 and "unknown category '0599x'" in err


def test_dispatch_bad_routing_file_exits_2_naming_the_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "routing.csv"
    bad.write_text("category,partners,grid\n05,police,yes\n04,firemen,yes\n", encoding="utf-8")
    code, _, err = run(capsys, "dispatch", *WENMING_2, "--category", "05", "--routing", str(bad),
                       "--lang", "en")  # fmt: skip
    assert code == 2 and f"{bad}, row 3: category 04: unknown partner type 'firemen'" in err


def test_staffing_csv_reproduces_the_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_path = tmp_path / "staffing.csv"
    code, _, _ = run(capsys, "staffing", "-o", str(out_path))
    assert code == 0
    rows = list(csv.DictReader(out_path.open(encoding="utf-8-sig")))
    totals = {r["employment"]: int(r["actual"]) for r in rows if r["level"] == "all"}
    assert totals == {"sworn": 4, "auxiliary": 36, "cadre": 11}
    community_sworn = next(
        r
        for r in rows
        if r["level"] == "4" and r["role"] == "member" and r["employment"] == "sworn"
    )
    assert (community_sworn["grids"], community_sworn["required"]) == ("2", "4")
    assert all(r["status"] == "ok" for r in rows if r["level"] != "all")
    code, out, _ = run(capsys, "staffing", "--format", "csv")
    assert out.splitlines()[0].startswith("level,level_name,role,role_zh,employment")


def cells(line: str) -> list[tuple[int, int]]:
    """Where each cell of a table line starts and ends, in terminal columns (cells are
    separated by two spaces or more; a Chinese character takes two columns)."""
    return [
        (display_width(line[: m.start()]), display_width(line[: m.end()]))
        for m in re.finditer(r"\S+(?: \S+)*", line)
    ]


def lines_up(lines: list[str], left: int, right: int) -> bool:
    """The first ``left`` columns of ``lines`` start at the same terminal column on every
    line, and the ``right`` columns after them (numbers) end at the same one."""
    spans = [cells(line) for line in lines]
    assert all(len(s) >= left + right for s in spans), lines
    return all(len({s[i][0] for s in spans}) == 1 for i in range(left)) and all(
        len({s[i][1] for s in spans}) == 1 for i in range(left, left + right)
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_staffing_tables_line_up_in_a_terminal(
    capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    code, out, _ = run(capsys, "staffing", "--lang", lang)
    assert code == 0
    lines = out.splitlines()
    totals = next(i for i, line in enumerate(lines) if line.startswith(("合计：", "totals:")))
    counts, rules = lines[:totals], lines[totals + 2 : -2]
    assert len(counts) == 15 and len(rules) == 15  # a header and 14 rows each
    assert lines_up(counts, left=3, right=1)
    assert lines_up(rules, left=3, right=3)
    if lang == "zh":
        assert counts[0].split() == ["级别", "岗位", "身份", "人数"]
        assert counts[-1].split() == ["五级网格", "网格员", "协管员", "12"]
        assert lines[totals] == "合计：在编队员 4 人，协管员 36 人，兼职干部 11 人"
        assert rules[0].split() == ["级别", "岗位", "身份", "网格数", "应配", "实配", "状态"]
        assert rules[-4].split() == [
            "四级网格（社区）",
            "网格员",
            "在编队员",
            "2",
            "4",
            "4",
            "达标",
        ]
        assert lines[-2] == "通过：每个有人员的网格都符合配置标准"
        assert lines[-1] == "边界：数据库版本 1（已发布）" or lines[-1].startswith("边界：")
    else:
        assert counts[1].startswith("level 1 city       executive deputy  cadre")
        assert lines[totals] == "totals: sworn officers 4, auxiliary officers 36, cadres 11"
        assert lines[-2] == "OK: every staffed grid meets its staffing rule"


def test_coverage_text_json_and_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "coverage", "--lang", "en")
    assert code == 0 and "OK: staffed, covered, files clean" in out
    code, out, _ = run(capsys, "coverage", "--within", "450302001", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["gaps"][0]["type"] == "sanitation"
    assert "450302001003" in {g["code"] for g in data["unstaffed"]}
    out_path = tmp_path / "coverage.csv"
    code, _, _ = run(capsys, "coverage", "--within", "450302001", "-o", str(out_path))
    rows = list(csv.DictReader(out_path.open(encoding="utf-8-sig")))
    assert code == 1 and {"unstaffed_grid", "zone_gap"} <= {r["kind"] for r in rows}


def test_assign_with_category_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = tmp_path / "reports.csv"
    src.write_text(
        "id,lon,lat,cat\n"
        "1,110.3005,25.2785,0505\n"
        "2,110.3005,25.2785,机动车乱停放\n"
        "3,110.3005,25.2785,nonsense\n"
        "4,,25.2785,0505\n"
        "5,110.255,25.300,9005\n",
        encoding="utf-8",
    )
    out_path = tmp_path / "out.csv"
    args = [str(src), "-o", str(out_path), "--crs", "cgcs2000", "--category-col", "cat"]
    code, _, _ = run(capsys, "assign", *args, "--no-progress")
    assert code == 0
    frame = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert list(frame["dispatch_status"]) == [
        "ok",
        "ok",
        "unknown_category",
        "bad_input",
        "unreached",
    ]
    assert list(frame["category_code"][:2]) == ["0505", "0505"]
    assert frame["dispatch_partners"][0] == "TP-450302"
    assert frame["dispatch_grid"][0] == "yes" and frame["code_l5"][0] == "450302001001002"


def test_assign_missing_category_column_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "reports.csv"
    src.write_text("lon,lat\n110.3,25.27\n", encoding="utf-8")
    code, _, err = run(
        capsys, "assign", str(src), "-o", str(tmp_path / "o.csv"), "--category-col", "cat"
    )
    assert code == 2 and "reports.csv：没有类别列 'cat'；现有的列：lon、lat" in err
