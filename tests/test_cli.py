"""The gridgeo command: exit codes, formats and messages, run as a user runs it."""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from geometries import nested_records

from gridgeo.cli.commands import COMMANDS
from gridgeo.cli.main import build_parser, main
from gridgeo.i18n import use_lang
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids
from gridgeo.model import GridSet

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "data" / "real"
SAMPLE = REPO / "data" / "sample"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def clean_file(tmp_path: Path) -> Path:
    rows = nested_records()
    gs = GridSet.from_records(
        [r[0] for r in rows], [r[3] for r in rows], names=[r[1] for r in rows]
    )
    return write_grids(gs, tmp_path / "clean.gpkg")


def test_validate_clean_exits_0(capsys: pytest.CaptureFixture[str], clean_file: Path) -> None:
    code, out, _ = run(capsys, "validate", str(clean_file), "--lang", "en")
    assert code == 0
    assert "47 features checked; 0 errors" in out


@pytest.mark.parametrize("name", ["guilin", "nanning"])
def test_validate_real_file_exits_1_with_json_report(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, out, err = run(
        capsys, "validate", str(REAL / f"{name}_districts.geojson"), "--format", "json"
    )
    assert code == 1 and err == ""
    report = json.loads(out)
    rules = report["summary"]["by_rule"]
    assert rules["invalid_geometry"] >= 12 and rules["overlap"] >= 1 and rules["gap"] >= 4
    assert all("area_m2" in e for e in report["errors"] if e["rule"] in ("gap", "overlap"))


def test_validate_geojson_output_for_qgis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "problems.geojson"
    code, _, _ = run(
        capsys,
        "validate",
        str(REAL / "guilin_districts.geojson"),
        "--format",
        "geojson",
        "-o",
        str(out_file),
    )
    assert code == 1
    problems = read_features(out_file)
    assert {"invalid_geometry", "overlap", "gap"} <= {f["properties"]["rule"] for f in problems}


def read_features(path: Path) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(path.read_text(encoding="utf-8"))
    features: list[dict] = data["features"]  # type: ignore[type-arg]
    return features


def test_validate_unreadable_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    code, out, err = run(capsys, "validate", str(bad))
    assert code == 2 and out == ""
    assert "bad.geojson" in err and "Traceback" not in err
    code, _, err = run(capsys, "validate", str(tmp_path / "missing.gpkg"), "--lang", "en")
    assert code == 2 and "no such file" in err


@pytest.mark.parametrize("name", ["guilin", "nanning"])
def test_repair_then_validate_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    out_file = tmp_path / f"{name}.gpkg"
    code, out, _ = run(
        capsys, "repair", str(REAL / f"{name}_districts.geojson"), "-o", str(out_file)
    )
    assert code == 0
    assert "overlap_resolved" in out and "gap_filled" in out
    assert run(capsys, "validate", str(out_file))[0] == 0


def test_repair_json_lists_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "repair",
        str(REAL / "guilin_districts.geojson"),
        "-o",
        str(tmp_path / "g.geojson"),
        "--format",
        "json",
    )
    data = json.loads(out)
    assert code == 0 and data["validation_after"]["summary"]["errors"] == 0
    assert all(c["area_m2"] >= 0 for c in data["changes"])


def test_codes_command_numbers_grids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, clean_file: Path
) -> None:
    grids = read_boundaries([clean_file])
    frame = grids.frame.copy()
    frame["code"] = [c if len(c) < 15 else None for c in frame["code"]]
    frame["level"] = [lv if lv < 5 else None for lv in frame["level"]]
    frame["parent_code"] = None
    stripped = write_grids(GridSet.from_frame(frame), tmp_path / "stripped.gpkg")
    out_file = tmp_path / "numbered.gpkg"
    # --parents: the communities of a file, not the store's published version
    code, out, _ = run(
        capsys, "codes", str(stripped), "-o", str(out_file), "--parents", str(clean_file)
    )
    assert code == 0 and "已分配 32 个编码" in out
    assert sorted(c for c in read_boundaries([out_file]).codes if c) == sorted(grids.codes)


def test_codes_continue_after_the_published_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sample = read_boundaries([SAMPLE / "boundaries.gpkg"])
    community = "450302001001"
    at = sample.position_of[community]
    used = [int(c[12:]) for c in sample.codes if c and len(c) == 15 and c.startswith(community)]
    spot = sample.geometries[at].representative_point()
    new = GridSet.from_records([None], [spot.buffer(0.0005)], names=["新网格"], levels=[5])
    drawn = write_grids(new, tmp_path / "new.gpkg")
    out_file = tmp_path / "numbered.gpkg"
    code, out, _ = run(capsys, "codes", str(drawn), "-o", str(out_file), "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["version"] == 1
    [assigned] = data["assigned"]
    assert assigned["code"] == f"{community}{max(used) + 1:03d}"
    code, out, _ = run(capsys, "codes", str(drawn), "-o", str(out_file), "--lang", "en")
    assert "communities: store version 1 (published); codes ever published" in out


def test_lookup_json_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "110.3005", "25.2785", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [g["level"] for g in data["grids"]] == [5, 4, 3, 2, 1]
    assert data["grids"][1]["name"] == "文明社区"
    assert data["workstation"]["code"] == "WS450302001001"
    assert data["nearest"] is None


def test_lookup_outside_exits_1_and_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "100.0", "30.0", "--format", "json")
    assert code == 1 and json.loads(out)["grids"] == []
    code, _, err = run(capsys, "lookup", "25.28", "110.29", "--lang", "en")
    assert code == 2 and "swapped" in err
    code, _, err = run(capsys, "lookup", "110.3", "25.3", "--crs", "utm")
    assert code == 2 and "utm" in err


def test_a_bad_environment_variable_is_an_error_naming_it_not_a_traceback() -> None:
    # a new process, as a user meets it: the variable is read where the command starts
    gridgeo = Path(sys.executable).with_name("gridgeo")
    env = {**os.environ, "GRIDGEO_SEQUENCE_WIDTH": "abc", "GRIDGEO_LANG": "zh"}
    for command in (["lookup", "110.2915", "25.2800"], ["serve", "--port", "0"]):
        proc = subprocess.run(
            [str(gridgeo), *command], capture_output=True, text=True, env=env, check=False
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip() == (
            f"gridgeo {command[0]}：错误：环境变量 GRIDGEO_SEQUENCE_WIDTH：应为整数，"
            "无法把该文本读作整数（收到的值：'abc'）"
        )


def test_the_console_script_keeps_the_collector_off_its_start_and_exit() -> None:
    """The collector is off while the command's modules load; they are then frozen out
    of its reach and it runs for the command's own work; at the end all is frozen."""
    script = """
import gc, sys
import gridgeo.cli.main as cli
build = cli.build_parser
def spying(argv):
    print("loading, collector on:", gc.isenabled())
    parser = build(argv)
    parse = parser.parse_args
    def handler(args):
        print("working, collector on:", gc.isenabled(), "frozen:", gc.get_freeze_count())
        return 0
    def parsed(*a, **k):
        args = parse(*a, **k)
        args.handler = handler
        return args
    parser.parse_args = parsed
    return parser
cli.build_parser = spying
sys.argv = ["gridgeo", "staffing"]
code = cli.console()
print("exit", code, "frozen:", gc.get_freeze_count())
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loading, working, ending = proc.stdout.splitlines()
    assert loading == "loading, collector on: False"
    assert working.startswith("working, collector on: True frozen: ")
    assert int(working.rsplit(" ", 1)[1]) > 10_000  # the modules loaded, out of its reach
    assert ending.startswith("exit 0 frozen: ")


def test_the_console_script_closes_the_store_at_exit(tmp_path: Path) -> None:
    """What a command made is collected at exit as usual: the store's connections are
    closed, so an SQLite store's commits are in its file, not left in its write-ahead
    log (freezing everything at the end left them there: a copy of the file alone had
    no versions)."""
    import sqlite3

    store = tmp_path / "g.sqlite"
    env = {**os.environ, "GRIDGEO_DATABASE_URL": f"sqlite:///{store}", "GRIDGEO_LANG": "en"}
    gridgeo = Path(sys.executable).with_name("gridgeo")
    boundaries = Path(__file__).resolve().parents[1] / "data" / "sample" / "boundaries.gpkg"
    proc = subprocess.run(
        [str(gridgeo), "import", str(boundaries), "--commit"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not store.with_name("g.sqlite-wal").exists()
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(store.read_bytes())  # the file alone, as a backup takes it
    with contextlib.closing(sqlite3.connect(copy)) as db:
        assert db.execute("SELECT count(*) FROM versions").fetchone() == (1,)


def test_a_store_command_keeps_the_store_modules_out_of_reach_but_not_its_engine(
    tmp_path: Path,
) -> None:
    """The store's modules, loaded by the command itself, are frozen when they load; the
    engine made after them is not, so the exit still closes the store."""
    store = tmp_path / "g.sqlite"
    points = tmp_path / "points.csv"
    points.write_text("id,lon,lat\n1,110.3005,25.2785\n", encoding="utf-8")
    script = f"""
import gc, sys
import gridgeo.cli.main as cli
from gridgeo.cli import collector
seen = []
real = collector.loaded
def spy():
    real()
    seen.append((gc.get_freeze_count(), "sqlalchemy" in sys.modules, gc.isenabled()))
collector.loaded = spy
sys.argv = ["gridgeo", "assign", {str(points)!r}, "-o", {str(tmp_path / "out.csv")!r},
            "--no-progress"]
code = cli.console()
print(code, seen)
"""
    env = {**os.environ, "GRIDGEO_DATABASE_URL": f"sqlite:///{store}", "GRIDGEO_LANG": "en"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    code, seen = proc.stdout.strip().splitlines()[-1].split(" ", 1)  # after the summary
    # parsed; the assignment's modules; the settings' (pydantic); the store's
    stages = ast.literal_eval(seen)
    assert len(stages) == 4 and all(on for _, _, on in stages)
    (after_parse, with_store, _), (after_store, with_store_2, _) = stages[0], stages[-1]
    assert code == "0"
    assert not with_store and with_store_2  # the store's modules came with the command
    assert after_store > after_parse + 10_000  # and were frozen when they had loaded
    assert not store.with_name("g.sqlite-wal").exists()  # the engine was collected


def test_staffing_json_totals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "staffing", "--format", "json")
    assert code == 0
    assert json.loads(out)["totals"] == {"sworn": 4, "auxiliary": 36, "cadre": 11}


def test_console_script_runs_as_a_process() -> None:
    gridgeo = Path(sys.executable).with_name("gridgeo")
    proc = subprocess.run(
        [str(gridgeo), "lookup", "110.2915", "25.2800"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "五美社区" in proc.stdout and "（示意位置）" in proc.stdout


def test_serve_answers_health_over_http(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gridgeo = Path(sys.executable).with_name("gridgeo")
    proc = subprocess.Popen(
        [str(gridgeo), "serve", "--port", str(port), "--lang", "en"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    body = json.loads(r.read())
                    language = r.headers["Content-Language"]
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert body["status"] == "ok" and body["grids"] == 79
        assert language == "en"  # --lang is the service's default language
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --- the language of the CLI's own text -------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every sub-parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _parsers(sub)
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_help_text_of_a_command_is_chinese(name: str) -> None:
    """Descriptions, argument helps and group titles of ``gridgeo NAME`` are all written
    in Chinese when the language is Chinese (a missed ``tr`` shows up here)."""
    with use_lang("zh"):
        top = build_parser([name])
        english = []
        for parser in _parsers(top):
            texts = [parser.description or ""]
            texts += [g.title or "" for g in parser._action_groups[2:]]  # the groups we add
            texts += [
                str(a.help)
                for a in parser._actions
                if a.help
                and a.help is not argparse.SUPPRESS
                and not isinstance(a, argparse._HelpAction)  # argparse's own, in argparse.po
            ]
            for sub in parser._actions:
                if isinstance(sub, argparse._SubParsersAction):
                    texts += [str(c.help) for c in sub._choices_actions]
            english += [f"{parser.prog}: {t!r}" for t in texts if t and not CJK.search(t)]
    assert not english, "help texts not in Chinese:\n" + "\n".join(english)


def test_help_of_commands_in_chinese_and_english(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGEO_LANG", raising=False)
    with pytest.raises(SystemExit):
        main(["lookup", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("用法：gridgeo lookup")
    assert "查找点位所在的五级网格及其直到市的各级上级网格。" in text
    assert "经度（x）" in text and "纬度（y）" in text
    assert "边界来源（默认：数据库中已发布的版本，与 HTTP API 的回答一致）" in text
    assert "输入字段与坐标参考系" in text
    with pytest.raises(SystemExit):
        main(["cases", "act", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("用法：gridgeo cases act")
    assert "对案件执行一个动作（英文或中文名称）" in text and "结案（close）" in text
    with pytest.raises(SystemExit):
        main(["report", "--help", "--lang", "en"])
    text = " ".join(capsys.readouterr().out.split())  # help lines wrap at word boundaries
    assert text.startswith("usage: gridgeo report")
    assert "day (daily report), week (weekly report) or month (monthly report)" in text
    assert "日报" not in text  # no bilingual gloss left in English


def test_a_bad_argument_is_refused_in_chinese(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRIDGEO_LANG", raising=False)
    with pytest.raises(SystemExit) as done:
        main(["diff", "a.gpkg", "b.gpkg", "--min-iou", "1.5"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith("gridgeo diff：错误：参数 --min-iou：须在 (0, 1] 范围内，而不是 1.5\n")
    with pytest.raises(SystemExit):
        main(["prune-media", "--older-than", "soon"])
    assert "参数 --older-than：不是天数：'soon'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["cases", "list", "--state", "done", "--lang", "en"])
    assert "argument --state: unknown state 'done': use reported (上报)" in (
        capsys.readouterr().err
    )


def test_lookup_text_in_chinese_and_english(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lookup", "110.3005", "25.2785")
    assert code == 0
    assert out.splitlines()[:3] == [
        "点位 (110.3005, 25.2785) wgs84 → CGCS2000 (110.3005000, 25.2785000)",
        "  五级网格          450302001001002  文明社区第2网格",
        "  四级网格（社区）  450302001001     文明社区",
    ]
    assert "  城市管理工作站：WS450302001001 文明社区城市管理工作站，" in out
    code, out, _ = run(capsys, "lookup", "110.3005", "25.2785", "--lang", "en")
    assert code == 0
    assert out.splitlines()[:3] == [
        "point (110.3005, 25.2785) wgs84 -> CGCS2000 (110.3005000, 25.2785000)",
        "  level 5 grid       450302001001002  文明社区第2网格",
        "  level 4 community  450302001001     文明社区",
    ]
    assert "(illustrative location)" in out
    code, out, _ = run(capsys, "lookup", "100.0", "30.0")
    assert code == 1 and "  不在任何网格内\n" in out


QUIET_CHECK = """
import os
from gridgeo.cli.main import quiet_thread_pools
quiet_thread_pools()
import numpy
print(os.environ["OPENBLAS_NUM_THREADS"], os.environ["OMP_WAIT_POLICY"])
print(len(os.listdir("/proc/self/task")))
"""


def test_the_command_keeps_idle_thread_pools_from_spinning() -> None:
    """OpenBLAS starts no thread of its own under the command (its threads spin on the
    two cores the run's own threads need); a value the user set is kept."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")
    }
    proc = subprocess.run(
        [sys.executable, "-c", QUIET_CHECK], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split() == ["1", "PASSIVE", "1"]  # the values; one thread: the main one
    env |= {"OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"}
    proc = subprocess.run(
        [sys.executable, "-c", QUIET_CHECK], env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split()[:2] == ["2", "ACTIVE"]


def test_a_loading_block_that_loads_nothing_freezes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``collector.loading`` freezes what is alive only when its block loaded a module: a
    command that asks for its settings again, after it made a store's engine, must not
    freeze the engine (the exit would not close the store)."""
    import gc
    import importlib

    from gridgeo.cli import collector

    monkeypatch.setattr(collector._Policy, "on", True)
    name = "colorsys"  # a small module no test imports
    monkeypatch.delitem(sys.modules, name, raising=False)
    frozen = gc.get_freeze_count()
    try:
        with collector.loading():
            importlib.import_module("json")  # there already
        assert gc.get_freeze_count() == frozen and gc.isenabled()
        with collector.loading():
            importlib.import_module(name)
        assert gc.get_freeze_count() > frozen and gc.isenabled()
    finally:
        gc.unfreeze()


def test_an_interrupt_outside_the_command_s_handler_is_no_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the modules load, or as the command ends (outside the handler's own
    catch): the console script says so and exits 130, as within a command."""
    import gridgeo.cli.main as cli

    def interrupted() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "main", interrupted)
    monkeypatch.setenv("GRIDGEO_LANG", "en")
    assert cli.console() == 130
    assert capsys.readouterr().err.strip() == "gridgeo: interrupted"
