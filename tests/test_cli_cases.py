"""``gridgeo cases`` end to end: add, list, show, act, import and export, in Chinese and in
English; errors on stderr with exit code 2; on SpatiaLite and on PostGIS."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from casehelpers import EVENT_LOG, published_store
from PIL import Image

from gridgeo.cli.main import main
from gridgeo.store.case_queries import case_detail
from gridgeo.store.core import Store


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["cases", *args, "--database-url", url, "--actor", "街道李"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(store_url: str) -> Store:
    return published_store(store_url)


def png(tmp_path: Path) -> Path:
    path = tmp_path / "现场.png"
    Image.new("RGB", (8, 6), (200, 30, 30)).save(path, format="PNG")
    return path


def test_add_list_act_and_show(
    capsys: pytest.CaptureFixture[str], store: Store, store_url: str, tmp_path: Path
) -> None:
    url = store_url
    code, out, _ = run(capsys, url, "add", "110.3005", "25.2785", "--category", "0101")
    assert code == 0
    assert out.startswith("已上报案件 1：网格 450302001001002（边界版本 1），工作站 WS450302001001")
    assert "建议派遣：WS450302001001 文明社区城市管理工作站、ENF-450302001" in out
    code, out, _ = run(
        capsys, url, "add", "110.2915", "25.28", "--category", "机动车乱停放", "--lang", "en",
        "--urgency", "紧急", "--description", "人行道停车",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("case 2 reported: grid 450302001002003 (boundaries version 1)")
    assert "suggested units: WS450302001002" in out

    code, out, _ = run(capsys, url, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "编号",
        "状态",
        "类别",
        "网格",
        "上报时间",
        "处置时限",
    ]
    assert lines[1].split()[:4] == ["2", "上报", "0505", "450302001002003"]
    assert lines[-1] == "共 2 件"

    code, out, _ = run(capsys, url, "act", "1", "立案", "--note", "属实")
    assert code == 0 and out.startswith("案件 1：已执行“立案”，当前状态：立案\n")
    code, out, _ = run(
        capsys, url, "act", "1", "dispatch", "--unit", "ENF-450302001",
        "--deadline", "2026-12-31T17:00+08:00", "--note", "请限期拆除",
    )  # fmt: skip
    assert code == 0 and "当前状态：派遣" in out
    assert "ENF-450302001" in out and "2026-12-31 17:00" in out

    photo = png(tmp_path)
    code, out, err = run(
        capsys, url, "act", "1", "handle", "--unit", "ENF-450302001", "--photo", str(photo),
        "--public-note", "已处置", "--lang", "en",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("case 1: handle done, now handled\n")

    code, out, _ = run(capsys, url, "list", "--state", "handled,立案", "--format", "json")
    found = json.loads(out)
    assert [(c["id"], c["state"]) for c in found] == [(1, "handled")]
    assert found[0]["expected_at"] == "2026-12-31T09:00:00+00:00"
    code, out, _ = run(capsys, url, "list", "--grid", "450302001002", "--lang", "en")
    assert out.splitlines()[0].split() == ["id", "state", "category", "grid", "reported",
                                           "deadline"]  # fmt: skip
    assert out.splitlines()[1].split()[:3] == ["2", "reported", "0505"]
    assert out.splitlines()[-1] == "1 case(s)"
    code, out, _ = run(capsys, url, "list", "--category", "9999")
    assert out.strip() == "（没有案件）"

    code, out, _ = run(capsys, url, "show", "1")
    assert code == 0
    assert out.startswith("案件 1  处置  紧急程度：一般\n")
    assert "ENF-450302001 秀峰街道综合行政执法队  已处置  2026-12-31 17:00" in out
    assert "超期" not in out
    timeline = out.split("时间线：\n")[1].splitlines()
    assert timeline[0].split() == ["时间", "动作", "单位", "处置时限", "操作人", "备注"]
    assert [line.split()[2] for line in timeline[1:]] == ["上报", "立案", "派遣", "处置"]
    assert "属实" in timeline[2] and "请限期拆除" in timeline[3]
    code, out, _ = run(capsys, url, "show", "1", "--format", "json")
    shown = json.loads(out)
    handled = shown["events"][-1]
    assert handled["action"] == "handle" and handled["actor"] == "街道李"
    assert len(handled["detail"]["media_ids"]) == 1 and shown["public_note"] == "已处置"
    assert shown["tasks"][0]["deadline"] == "2026-12-31T09:00:00+00:00"

    # the rest of the loop, Chinese names and all
    for action in ("核查通过", "结案"):
        extra = ["--unit", "ENF-450302001"] if action == "核查通过" else []
        assert run(capsys, url, "act", "1", action, *extra)[0] == 0
    assert case_detail(store, 1).case.state == "closed"


def test_errors_are_one_line_on_stderr_with_exit_2(
    capsys: pytest.CaptureFixture[str], store: Store, store_url: str, tmp_path: Path
) -> None:
    url = store_url
    assert run(capsys, url, "add", "110.3005", "25.2785", "--category", "0101")[0] == 0
    en = ("--lang", "en")  # the messages of the case flow, in their English wording
    code, out, err = run(capsys, url, "act", "1", "close", *en)
    assert code == 2 and out == ""
    assert err.startswith("gridgeo cases: error: case 1 is reported (上报): close (结案)")
    assert "allowed now: register, reject" in err and "Traceback" not in err
    code, out, err = run(capsys, url, "act", "1", "close")
    assert code == 2 and out == "" and err.startswith("gridgeo cases：错误：")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    code, _, err = run(capsys, url, "act", "99", "register", *en)
    assert code == 2 and "case 99 does not exist" in err
    code, _, err = run(capsys, url, "act", "1", "reopen", *en)
    assert code == 2 and "unknown action 'reopen'" in err
    run(capsys, url, "act", "1", "register")
    code, _, err = run(capsys, url, "act", "1", "dispatch", "--unit", "ENF-45030200I", *en)
    assert code == 2 and "unknown unit 'ENF-45030200I' (did you mean ENF-450302001" in err
    code, _, err = run(capsys, url, "act", "1", "handle", *en)
    assert code == 2 and "handle acts on a task" in err
    text = tmp_path / "not-a-photo.png"
    text.write_text("hello")
    code, _, err = run(capsys, url, "act", "1", "handle", "--photo", str(text), *en)
    assert code == 2 and "photo 'not-a-photo.png' is text/plain by its content" in err
    code, _, err = run(capsys, url, "act", "1", "register", "--photo", str(png(tmp_path)))
    assert code == 2 and "register 不保存照片：--photo 只能用于 accept、handle、" in err
    code, _, err = run(capsys, url, "act", "1", "handle", "--photo", str(tmp_path / "gone.jpg"))
    assert code == 2 and "无法读取照片" in err and "gone.jpg" in err
    code, _, err = run(capsys, url, "add", "25.2785", "110.3005", "--category", "0101")
    assert code == 2 and "错误：" in err  # swapped coordinates
    code, _, err = run(capsys, url, "add", "110.3005", "25.2785", "--category", "不存在的类别")
    assert code == 2 and "不存在的类别" in err
    assert case_detail(store, 1).case.state == "registered"  # nothing of the above was written
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, url, "act", "1", "dispatch", "--deadline", "2026-12-31")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "参数 --deadline：'2026-12-31' 缺少时区偏移：请写成 2026-12-31T00:00+08:00" in err
    with pytest.raises(SystemExit):
        run(capsys, url, "list", "--state", "open")
    assert "未知状态 'open'：可用 上报（reported）、立案（registered）、" in (
        capsys.readouterr().err
    )


def test_import_and_export_the_event_log(
    capsys: pytest.CaptureFixture[str], store: Store, store_url: str, tmp_path: Path
) -> None:
    url = store_url
    events = tmp_path / "events.csv"
    events.write_text(EVENT_LOG, encoding="utf-8-sig")
    code, out, _ = run(capsys, url, "import", str(events))
    assert code == 0
    assert "15 行，3 个案件" in out and "将导入 3 个案件、16 条事件" in out
    assert "（其中 1 条延期申请由批准延期推定）" in out
    assert "到达状态：不予立案 1 件、派遣 1 件、结案 1 件" in out
    assert "试运行：未写入任何数据" in out
    assert run(capsys, url, "list", "--format", "json")[1].strip() == "[]"

    code, out, _ = run(capsys, url, "import", str(events), "--commit", "--lang", "en")
    assert code == 0 and "imported 3 case(s), 16 event(s)" in out
    mapping = dict(
        line.strip().split(" -> ") for line in out.split("case ids (file -> new):")[1].splitlines()
        if line.strip()
    )  # fmt: skip
    assert set(mapping) == {"A-001", "B-002", "C-003"}
    code, out, _ = run(capsys, url, "show", mapping["C-003"])
    assert "TP-450302 秀峰区交警大队  待签收  2026-11-25 17:00  超期" in out
    code, out, _ = run(capsys, url, "show", mapping["A-001"], "--lang", "en")
    assert "  extend  " in out and "2026-11-10 17:00" in out and "OVERDUE" not in out

    bad = tmp_path / "bad.csv"
    rows = EVENT_LOG.splitlines()
    rows[3] = rows[3].replace("2026-11-03T09:40+08:00", "2026-11-03T09:40")  # line 4
    rows += [f"Z-{n},2026-11-03T09:15+08:00,fly,,,a,110.3,25.27,wgs84,0101," for n in range(60)]
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, url, "import", str(bad), "--commit")
    assert code == 2
    assert "发现 61 个问题，未写入任何数据：" in out
    assert "\n  第 4 行（案件 A-001）：at '2026-11-03T09:40' " in out  # the store's words
    assert "  ……另有 11 个问题" in out
    assert out.count("第 ") == 50
    code, out, _ = run(capsys, url, "import", str(bad), "--format", "json")
    assert code == 2 and json.loads(out)["problem_count"] == 61
    code, _, err = run(capsys, url, "import", str(tmp_path / "missing.csv"), "--lang", "en")
    assert code == 2 and "cannot read" in err and "missing.csv" in err

    out_file = tmp_path / "log.csv"
    code, out, _ = run(capsys, url, "export", "--events", "-o", str(out_file))
    assert code == 0 and out.strip() == f"已写出 16 条事件到 {out_file}"
    assert out_file.read_bytes().startswith(b"\xef\xbb\xbfcase_id,at,action,unit,deadline,")
    code, out, err = run(
        capsys, url, "export", "--events", "-o", "-", "--case", mapping["B-002"], "--lang", "en"
    )
    rows_out = list(csv.DictReader(io.StringIO(out)))
    assert [r["action"] for r in rows_out] == ["report", "reject"]
    assert err.strip() == "wrote 2 event(s) to -"
    code, _, _ = run(capsys, url, "export", "--events", "-o", str(tmp_path / "log.jsonl"))
    lines = (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
    assert code == 0 and len(lines) == 16 and json.loads(lines[0])["action"] == "report"
    with pytest.raises(SystemExit):
        run(capsys, url, "export", "-o", str(out_file))
    assert "--events" in capsys.readouterr().err
