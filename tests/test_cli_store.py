"""The store commands end to end: import, publish, versions, rollback, export, diff, cases,
reassign, audit, prune-media; on SpatiaLite and on PostGIS (``gridgeo cases`` in full:
tests/test_cli_cases.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample

from gridgeo.cli.main import main
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_grids
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.cases import MediaUpload, create_case
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
REAL = REPO / "data" / "real" / "guilin_districts.geojson"


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main([*args, "--database-url", url, "--actor", "planner-li"])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_planners_session(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    boundaries = str(SAMPLE / "boundaries.gpkg")
    code, out, _ = run(capsys, store_url, "import", boundaries)
    assert code == 0 and "试运行：未写入任何数据；加 --commit 重新运行即可写入草稿版本" in out
    code, out, _ = run(capsys, store_url, "versions")
    assert "（没有版本：先运行 `gridgeo import FILE --commit`）" in out

    stations = str(SAMPLE / "workstations.geojson")
    args = ["import", boundaries, "--commit", "--workstations", stations, "--lang", "en"]
    code, out, err = run(capsys, store_url, *args, "--note", "pilot")
    assert code == 0 and "wrote draft version 1" in out and "writing 79 grids" in err
    code, out, _ = run(capsys, store_url, "publish", "1")
    assert code == 0 and out == "已发布：边界版本 1（79 个要素）\n"
    code, _, err = run(capsys, store_url, "publish", "1", "--lang", "en")
    assert code == 1 and "version 1 is already published" in err
    code, out, _ = run(capsys, store_url, "versions")
    head, row = out.splitlines()
    assert head.split()[:6] == ["编号", "类型", "状态", "要素数", "错误", "警告"]
    assert row.split()[:6] == ["1", "边界", "已发布", "79", "0", "0"] and row.endswith("pilot")

    # a case under version 1, in the strip the redraw will move
    sample = read_boundaries([SAMPLE / "boundaries.gpkg"])
    point = redraw_strip(sample).representative_point()
    code, out, _ = run(
        capsys, store_url, "cases", "add", str(point.x), str(point.y), "--crs", "cgcs2000",
        "--category", "0101", "--lang", "en",
    )  # fmt: skip
    assert code == 0 and f"grid {REDRAWN_GRIDS[1]} (boundaries version 1)" in out

    # export, redraw in "QGIS", import, diff, publish
    exported = tmp_path / "edit.gpkg"
    assert run(capsys, store_url, "export", "-o", str(exported))[0] == 0
    write_grids(redrawn_sample(read_boundaries([exported])), tmp_path / "redrawn.gpkg")
    code, out, _ = run(capsys, store_url, "import", str(tmp_path / "redrawn.gpkg"), "--commit")
    assert code == 0 and "已写入草稿版本 2（工作站沿用已发布版本的）；" in out
    code, out, _ = run(capsys, store_url, "diff", "1", "2", "--format", "json")
    assert code == 1
    diff = json.loads(out)
    assert sorted(c["code"] for c in diff["reshaped"]) == sorted(REDRAWN_GRIDS)
    assert diff["summary"]["counts"]["reshaped"] == 2 and not diff["added"]
    assert run(capsys, store_url, "publish", "2")[0] == 0

    # the case keeps its grid until reassigned
    code, out, _ = run(capsys, store_url, "cases", "list", "--format", "json")
    assert json.loads(out)[0]["grid_code"] == REDRAWN_GRIDS[1]
    code, out, _ = run(capsys, store_url, "reassign", "--to", "2")
    assert code == 0 and "已把 1 个未结案件改按版本 2 落格；其中 1 个换了网格" in out
    assert f"{REDRAWN_GRIDS[1]}（版本 1）→ {REDRAWN_GRIDS[0]}" in out

    # roll back; an unchanged export/import is an empty diff
    assert run(capsys, store_url, "rollback", "1")[0] == 0
    assert run(capsys, store_url, "import", str(exported), "--commit")[0] == 0
    assert run(capsys, store_url, "diff", "1", "3")[0] == 0

    code, out, _ = run(capsys, store_url, "versions", "--format", "json")
    status = {v["id"]: v["status"] for v in json.loads(out)}
    assert status == {1: "published", 2: "retired", 3: "draft"}
    code, out, _ = run(capsys, store_url, "audit", "--format", "json")
    actions = [e["action"] for e in json.loads(out)]
    assert actions.count("publish") == 2 and "rollback" in actions and "case.reassign" in actions
    assert {e["actor"] for e in json.loads(out)} == {"planner-li"}


def test_errors_gate_publishing_and_force_is_audited(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    code, out, _ = run(capsys, sqlite_url, "import", str(REAL), "--commit", "--lang", "en")
    assert code == 1 and "ERROR" in out and "wrote draft version 1" in out
    code, _, err = run(capsys, sqlite_url, "publish", "1", "--lang", "en")
    assert code == 1 and "has 23 validation error(s)" in err and "--force" in err
    code, out, _ = run(capsys, sqlite_url, "versions", "--show", "1")
    assert code == 0 and out.startswith("版本 1：")
    assert "\n  错误 invalid_geometry：" in out
    assert run(capsys, sqlite_url, "publish", "1", "--force")[0] == 0
    code, out, _ = run(capsys, sqlite_url, "audit", "--format", "json")
    publish = next(e for e in json.loads(out) if e["action"] == "publish")
    assert publish["detail"]["forced"] is True and publish["actor"] == "planner-li"


def test_roster_partners_and_routing_are_versions_too(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    run(capsys, sqlite_url, "import", str(SAMPLE / "boundaries.gpkg"), "--commit")
    run(capsys, sqlite_url, "publish", "1")
    for kind, name in (
        ("roster", "staff.csv"),
        ("partners", "partners.geojson"),
        ("routing", "routing.yaml"),
    ):
        code, out, _ = run(
            capsys, sqlite_url, "import", str(SAMPLE / name), "--kind", kind, "--commit",
            "--lang", "en",
        )  # fmt: skip
        assert code == 0 and f"wrote draft {kind} version" in out, out
    code, out, _ = run(capsys, sqlite_url, "import", str(SAMPLE / "staff.csv"), "--kind", "roster")
    assert code == 0 and "staff.csv：错误 0 个，警告 " in out and "试运行：未写入任何数据" in out
    code, out, _ = run(capsys, sqlite_url, "versions", "--kind", "all", "--format", "json")
    kinds = {v["kind"]: v["id"] for v in json.loads(out)}
    assert set(kinds) == {"boundaries", "roster", "partners", "routing"}


def test_bad_store_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "mysql://nobody@localhost/x", "versions", "--lang", "en")
    assert code == 2 and "unsupported backend 'mysql'" in err
    code, _, err = run(capsys, "postgresql+psycopg://nobody@127.0.0.1:1/x", "versions",
                       "--lang", "en")  # fmt: skip
    assert code == 2 and "cannot open the store" in err


def test_close_cases_and_prune_their_photos(
    capsys: pytest.CaptureFixture[str], store_url: str
) -> None:
    stations = str(SAMPLE / "workstations.geojson")
    boundaries = str(SAMPLE / "boundaries.gpkg")
    assert (
        run(capsys, store_url, "import", boundaries, "--commit", "--workstations", stations)[0] == 0
    )
    assert run(capsys, store_url, "publish", "1")[0] == 0
    store = Store(store_url)
    data = load_dataset(store, Settings())
    photo = MediaUpload("image/png", b"\x89PNG\r\n\x1a\n" + bytes(1000), "p.png")
    case = create_case(store, data, lon=110.3005, lat=25.2785, actor="app", media=[photo])

    code, out, _ = run(capsys, store_url, "prune-media", "--older-than", "0", "--lang", "en")
    assert code == 0 and "would delete 0 photo(s)" in out  # the case is open
    unit, deadline = "WS450302001001", "2099-12-31T17:00+08:00"
    steps = [
        ["register"],
        ["dispatch", "--unit", unit, "--deadline", deadline],
        ["handle", "--unit", unit],
        ["verify_pass", "--unit", unit],
        ["close"],
    ]
    for step in steps:
        code, out, err = run(capsys, store_url, "cases", "act", str(case.id), *step, "--lang", "en")
        assert code == 0, err
    assert f"case {case.id}: close done, now closed" in out
    code, out, _ = run(capsys, store_url, "prune-media", "--older-than", "0", "--lang", "en")
    assert code == 0 and "would delete 1 photo(s), 1,008 bytes, of 1 case(s)" in out
    assert "--commit" in out
    code, out, _ = run(capsys, store_url, "prune-media", "--older-than", "0")
    assert code == 0 and out.startswith("将删除 1 个在 ") and "之前结案的案件的 1 张照片" in out
    assert out.endswith("，共 1,008 字节；加 --commit 重新运行即可删除\n")
    code, out, _ = run(capsys, store_url, "prune-media", "--older-than", "30", "--lang", "en")
    assert code == 0 and "would delete 0 photo(s)" in out  # closed just now
    code, out, _ = run(
        capsys, store_url, "prune-media", "--older-than", "0", "--commit", "--format", "json"
    )
    assert code == 0 and json.loads(out) | {"cutoff": None} == {
        "cutoff": None, "media": 1, "cases": 1, "bytes": 1008, "removed": True
    }  # fmt: skip
    code, _, err = run(capsys, store_url, "cases", "act", str(case.id), "close", "--lang", "en")
    assert code == 2 and f"case {case.id} is closed" in err  # no reopening: the loop is done

    code, _, err = run(capsys, store_url, "cases", "act", "999", "close", "--lang", "en")
    assert code != 0 and "case 999 does not exist" in err
    code, out, _ = run(capsys, store_url, "prune-media", "--older-than", "0", "--commit",
                       "--lang", "en")  # fmt: skip
    assert code == 0 and out.startswith("deleted 0 photo(s)")  # nothing left to delete
    for bad in ("-1", "soon", "nan", "1e6", "inf"):
        with pytest.raises(SystemExit) as exit_info:
            run(capsys, store_url, "prune-media", "--older-than", bad)
        assert exit_info.value.code == 2
        assert "参数 --older-than：" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run(capsys, store_url, "cases", "--close", "1")
    assert "无效的选择" in capsys.readouterr().err  # the old flags are gone


def test_publishing_builds_the_index_the_service_then_maps(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gridgeo.api.lookup_service import tables
    from gridgeo.index import index_file
    from gridgeo.store.datasets import open_dataset

    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "index"))
    boundaries = str(SAMPLE / "boundaries.gpkg")
    assert run(capsys, store_url, "import", boundaries, "--commit")[0] == 0
    assert not (tmp_path / "index").exists()  # a draft has no index
    assert run(capsys, store_url, "publish", "1")[0] == 0
    [built] = (tmp_path / "index").glob("*.gidx")
    before = index_file.mapped_files[str(built)]
    data = open_dataset(
        Settings(store=StoreSettings(database_url=store_url))
    )  # what a service worker loads
    assert tables(data).index.n_owners == 79
    assert index_file.mapped_files[str(built)] == before + 1  # mapped, not built again
    assert list((tmp_path / "index").glob("*.gidx")) == [built]


def test_assign_from_the_store_reads_a_version_s_grids_once(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`gridgeo assign` from the store finds the version's index by the version's name
    (store, number, creation time), which publishing points to the index it built: no
    run reads the grids. A bad pointer or a missing index is passed over (the grids read
    once more, the same output, the pointer written again), and a newly published
    version is a new name."""
    import pyarrow.parquet as pq

    from gridgeo.store import datasets

    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "index"))
    reads: list[int] = []
    real_load = datasets.load_grids

    def counted(session: object, version_id: int, *rest: object) -> object:
        reads.append(version_id)
        return real_load(session, version_id, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(datasets, "load_grids", counted)
    boundaries, stations = str(SAMPLE / "boundaries.gpkg"), str(SAMPLE / "workstations.geojson")
    assert (
        run(capsys, store_url, "import", boundaries, "--commit", "--workstations", stations)[0] == 0
    )
    assert run(capsys, store_url, "publish", "1")[0] == 0
    points = tmp_path / "points.csv"
    points.write_text("id,lon,lat\n1,110.2915,25.28\n2,110.3005,25.2785\n3,abc,25.2\n")

    def assign(name: str) -> tuple[str, list[dict[str, object]]]:
        out = tmp_path / f"{name}.parquet"
        argv = ["assign", str(points), "-o", str(out), "--no-progress", "--database-url", store_url]
        code = main(argv)
        text, err = capsys.readouterr()
        assert code == 0, err
        return text, pq.read_table(out).to_pylist()

    reads.clear()
    text, first = assign("first")
    assert reads == [] and "边界：数据库版本 1（已发布）" in text
    assert [r["status"] for r in first] == ["ok", "ok", "bad_input"]
    assert first[0]["workstation_code"] and first[0]["code_l5"]
    assert assign("second")[1] == first and reads == []  # the pointer, not the grids

    pointers = list((tmp_path / "index" / "versions").glob("*.json"))
    assert len(pointers) == 1
    pointers[0].write_text("{not json")
    assert assign("bad_pointer")[1] == first and reads == [1]
    named = json.loads(pointers[0].read_text())["index"]  # written again
    assert assign("mended")[1] == first and reads == [1]
    for index_file in (tmp_path / "index").glob("*.gidx"):
        index_file.unlink()
    assert assign("no_index")[1] == first and reads == [1, 1]
    assert json.loads(pointers[0].read_text())["index"] == named

    # the same grids again as version 2: a version of its own, pointed to when published
    assert (
        run(capsys, store_url, "import", boundaries, "--commit", "--workstations", stations)[0] == 0
    )
    assert run(capsys, store_url, "publish", "2")[0] == 0
    text, second = assign("version_2")
    assert reads == [1, 1] and "边界：数据库版本 2（已发布）" in text and second == first
    assert len(list(pointers[0].parent.glob("*.json"))) == 2
    argv = ["assign", str(points), "-o", str(tmp_path / "v1.parquet"), "--no-progress"]
    assert main([*argv, "--database-url", store_url, "--version", "1"]) == 0
    assert reads == [1, 1]  # version 1 is known
