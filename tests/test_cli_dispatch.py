"""gridgeo dispatch, coverage, staffing CSV and assign --category-col, run as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from gridgeo.cli.main import main

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
    assert "category 0505 机动车乱停放 (illegal motor-vehicle parking)" in out
    assert "450302001001002  文明社区第2网格" in out
    assert "leader 网格长" in out and "members 网格员" in out
    assert "workstation (城市管理工作站): WS450302001001" in out
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
    assert code == 1 and "NOBODY" in out


def test_dispatch_unknown_category_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "dispatch", *WENMING_2, "--category", "0599x")
    assert code == 2 and "unknown category '0599x'" in err


def test_dispatch_bad_routing_file_exits_2_naming_the_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "routing.csv"
    bad.write_text("category,partners,grid\n05,police,yes\n04,firemen,yes\n", encoding="utf-8")
    code, _, err = run(capsys, "dispatch", *WENMING_2, "--category", "05", "--routing", str(bad))
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


def test_coverage_text_json_and_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "coverage")
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
    assert code == 2 and "no category column 'cat'" in err
