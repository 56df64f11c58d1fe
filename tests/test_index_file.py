"""The index file: a GridIndex saved once, mapped back, never used when it is not sound.

A loaded index must answer exactly as the built one (clean cells, boundary
cells, the GEOS fallback on edges and vertices, every level's codes), its arrays
must be views of the file's mapping, and a truncated, tampered, foreign, stale or
unwritable file must be refused with a message naming the path, never used.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.affinity

from gridgeo.index import GridIndex, index_file, plain_query
from gridgeo.index.cache import grids_key, index_for, index_for_files, prune
from gridgeo.index.index_file import (
    FORMAT,
    MAGIC,
    IndexFileError,
    MappedGridIndex,
    cached_index,
    file_key,
    load_index,
    save_index,
    version_key,
)
from gridgeo.io.boundaries import read_boundaries
from gridgeo.levels import Level
from gridgeo.model import GridSet

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "boundaries.gpkg"
KEY = version_key(1, "abc123")


@pytest.fixture(scope="module")
def grids() -> GridSet:
    return read_boundaries([SAMPLE])


@pytest.fixture(scope="module")
def built(grids: GridSet) -> GridIndex:
    return GridIndex(grids)


@pytest.fixture
def saved(built: GridIndex, tmp_path: Path) -> Path:
    return save_index(built, tmp_path / "v1.gidx", KEY)


def probe_points(grids: GridSet) -> tuple[np.ndarray, np.ndarray]:
    """Random points over the grids' box, plus every vertex and edge midpoint of the
    fifth-level grids (the points the GEOS fallback decides)."""
    rng = np.random.default_rng(7)
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids.geometries)
    pad = 0.01
    x = rng.uniform(xmin - pad, xmax + pad, 20_000)
    y = rng.uniform(ymin - pad, ymax + pad, 20_000)
    rings = shapely.get_exterior_ring(grids.geometries[grids.levels == 5])
    vertices = shapely.get_coordinates(rings)
    mids = (vertices[:-1] + vertices[1:]) / 2
    edge_x = np.concatenate([vertices[:, 0], mids[:, 0]])
    edge_y = np.concatenate([vertices[:, 1], mids[:, 1]])
    return np.concatenate([x, edge_x]), np.concatenate([y, edge_y])


def test_a_loaded_index_answers_exactly_as_the_built_one(
    built: GridIndex, saved: Path, grids: GridSet
) -> None:
    loaded = load_index(saved, KEY)
    assert isinstance(loaded, MappedGridIndex)
    x, y = probe_points(grids)
    want, got = built.assign(x, y), loaded.assign(x, y)
    assert np.array_equal(want, got)
    assert (want >= 0).sum() > 10_000 and (want == -1).any()  # inside and outside both probed
    assert loaded.n_owners == built.n_owners
    assert np.array_equal(loaded.owner_positions, built.owner_positions)
    for level in [None, *Level]:
        assert list(loaded.codes(got, level)) == list(built.codes(want, level))
    for lon, lat in zip(x[-50:], y[-50:], strict=True):  # vertices: the scalar GEOS path
        assert loaded.assign_one(lon, lat) == built.assign_one(lon, lat)
    gcj = loaded.assign(x[:500] + 0.005, y[:500] - 0.003, crs="gcj02")
    assert np.array_equal(gcj, built.assign(x[:500] + 0.005, y[:500] - 0.003, crs="gcj02"))


def test_a_batch_builds_its_code_columns_from_the_file_s_bytes(
    built: GridIndex, saved: Path
) -> None:
    """``gridgeo assign`` takes each level's codes as the file holds them (no Python
    string per grid): the same columns, workstations and dictionaries as from the index
    built in memory, which has no stored codes."""
    from gridgeo.batch import _build_code_tables, _coded_tables

    loaded = load_index(saved, KEY)
    assert built.stored_codes(Level.GRID) is None
    offsets, data, valid = loaded.stored_codes(Level.GRID)
    assert offsets.size == loaded.n_owners + 1 and valid.size == loaded.n_owners
    assert data.size == offsets[-1]
    assert "_owner_codes" not in vars(loaded)  # not decoded for a batch
    communities = [c for c in built.codes(np.arange(built.n_owners), Level.COMMUNITY) if c]
    stations = tuple(sorted({communities[0]: "WS01", communities[-1]: "WS02"}.items()))
    want, got = _build_code_tables(built, stations), _build_code_tables(loaded, stations)
    assert want.keys() == got.keys()
    for column in want:
        assert got[column].equals(want[column]), column
        assert got[column].type == want[column].type
    assert set(got["workstation_code"].to_pylist()) == {"WS01", "WS02", None}
    assert _coded_tables(loaded, stations).keys() == want.keys()


def test_the_arrays_are_views_of_the_mapped_file(saved: Path) -> None:
    loaded = load_index(saved, KEY)
    for array in (loaded._cells, loaded._row_edges, loaded._cands, loaded._edges[0]):
        base = array
        while isinstance(base, np.ndarray) and base.base is not None:
            base = base.base
        assert isinstance(base.obj if isinstance(base, memoryview) else base, mmap.mmap)
    assert loaded.stats["cells"] == loaded.lattice.size > 0


def test_pickling_sends_the_path_not_the_arrays(saved: Path, grids: GridSet) -> None:
    loaded = load_index(saved, KEY)
    blob = pickle.dumps(loaded)
    assert len(blob) < 2_000 < saved.stat().st_size
    again = pickle.loads(blob)
    x, y = probe_points(grids)
    assert np.array_equal(again.assign(x, y), loaded.assign(x, y))
    before = index_file.mapped_files.total()
    assert pickle.loads(blob) is again  # mapped once per process, then shared
    assert index_file.mapped_files.total() == before


def _loads_here() -> int:
    return index_file.mapped_files.total()


def test_dask_workers_map_the_file_once_each(saved: Path, grids: GridSet) -> None:
    from distributed import Client, LocalCluster

    loaded = load_index(saved, KEY)
    x, y = probe_points(grids)
    parts = np.array_split(np.arange(x.size), 24)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        before = client.run(_loads_here)
        shared = client.scatter(loaded, broadcast=True)
        futures = [client.submit(_assign, shared, x[p], y[p], pure=False) for p in parts]
        plain = [client.submit(_assign, loaded, x[p], y[p], pure=False) for p in parts[:6]]
        got = np.concatenate(client.gather(futures))
        client.gather(plain)
        after = client.run(_loads_here)
    assert np.array_equal(got, loaded.assign(x, y))
    mapped = {worker: after[worker] - before[worker] for worker in after}
    assert set(mapped.values()) <= {1} and sum(mapped.values()) >= 1, mapped  # once per worker


def _assign(index: GridIndex, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return index.assign(x, y)


# --- refused files -----------------------------------------------------------------------


def refused(path: Path, key: str = KEY) -> str:
    with pytest.raises(IndexFileError) as caught:
        load_index(path, key)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_truncated_file_is_refused(saved: Path) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) - 100])
    assert "truncated" in refused(saved)
    saved.write_bytes(data[:20])  # the header cut off
    assert "truncated" in refused(saved)


def test_an_empty_file_is_refused_in_the_reader_s_words(saved: Path) -> None:
    from gridgeo.i18n import use_lang

    saved.write_bytes(b"")
    assert refused(saved).endswith("the file is empty")
    with use_lang("zh"):
        assert refused(saved).endswith("文件为空")


def test_a_rebuilt_index_is_announced_in_the_run_s_language(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gridgeo.i18n import use_lang

    grids = GridSet.from_records(codes=["1"], geometries=[shapely.box(0, 0, 1, 1)], levels=[5])
    source = tmp_path / "b.geojson"
    source.write_text("{}")
    folder = tmp_path / "index"
    index_for_files([source], lambda: grids, folder)
    (made,) = (folder / "files").glob("*.gidx")
    made.write_bytes(b"")
    with use_lang("zh"), caplog.at_level("WARNING"):
        index_for_files([source], lambda: grids, folder)
    assert "文件为空；正在重建索引" in caplog.text


def test_a_tampered_payload_fails_the_checksum(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0xFF
    saved.write_bytes(bytes(data))
    assert "checksum" in refused(saved)


@pytest.mark.parametrize(
    ("field", "changed"),
    [
        (b'"lattice": [1', b'"lattice": [2'),  # the lattice's origin, 100 degrees on
        (b'"dtype": "<i4"', b'"dtype": "<i2"'),  # an array read at another width
        (b'"offset": 0}', b'"offset": 8}'),  # the first array read eight bytes on
    ],
)
def test_a_changed_header_fails_its_checksum(saved: Path, field: bytes, changed: bytes) -> None:
    """The header's lattice and table of arrays are checked as the payload is: a file
    changed there was used before, giving other grids' codes or a traceback."""
    data = saved.read_bytes()
    assert field in data
    saved.write_bytes(data.replace(field, changed, 1))
    assert "checksum" in refused(saved)


@pytest.mark.parametrize(
    "change",
    [
        {"shape": "payload"},  # beyond the payload
        {"shape": [-2, -3]},  # negative sizes whose product is positive
        {"shape": [2**62, 2**62]},  # a product that wraps in 64 bits
        {"dtype": "|O"},  # Python objects: not numbers
    ],
    ids=["beyond", "negative", "wrapping", "objects"],
)
def test_a_header_naming_more_than_the_file_holds_is_refused(
    saved: Path, change: dict[str, object]
) -> None:
    """A header made consistent on purpose (its checksum computed again) that names an
    array beyond the payload, or not of numbers, is refused, not read past the end."""
    data = saved.read_bytes()
    fixed = len(MAGIC) + 8
    length = int.from_bytes(data[len(MAGIC) : fixed], "little")
    header = json.loads(data[fixed : fixed + length])
    if change.get("shape") == "payload":
        change = {"shape": [header["payload_bytes"]]}
    header["arrays"][0].update(change)
    header["header_crc32"] = zlib.crc32(
        json.dumps(
            {k: v for k, v in header.items() if k != "header_crc32"}, sort_keys=True
        ).encode()
    )
    text = json.dumps(header).encode()
    start = -(-(fixed + length) // 64) * 64  # the payload, where it was
    head = MAGIC + len(text).to_bytes(8, "little") + text
    room = -(-len(head) // 64) * 64  # where it is now: the header may have grown
    saved.write_bytes(head + b"\0" * (room - len(head)) + data[start:])
    assert "header is not readable" in refused(saved)


def test_an_index_of_other_boundaries_is_stale(saved: Path) -> None:
    assert "other boundaries" in refused(saved, version_key(2, "abc123"))
    assert "other boundaries" in refused(saved, version_key(1, "def456"))


def test_another_format_is_refused(saved: Path) -> None:
    data = saved.read_bytes()
    ours = f'"format": {FORMAT}'.encode()
    assert ours in data
    saved.write_bytes(data.replace(ours, b'"format": 99', 1))
    assert "format" in refused(saved)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "cannot read"),
        (b"PK\x03\x04 a zip file, not an index", "not a gridgeo index file"),
        (MAGIC + (5).to_bytes(8, "little") + b"{oops", "header is not readable"),
    ],
)
def test_other_files_are_refused(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "x.gidx"
    path.write_bytes(content)
    assert reason in refused(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert "cannot read" in refused(tmp_path / "nowhere.gidx")


# --- writing ---------------------------------------------------------------------------


def test_an_unwritable_place_is_named_and_leaves_nothing(built: GridIndex, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(IndexFileError, match="a-file"):
        save_index(built, blocker / "v1.gidx", KEY)


def test_a_full_disk_leaves_no_partial_file(
    built: GridIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "v1.gidx"
    with pytest.raises(IndexFileError, match=r"v1\.gidx"):
        save_index(built, target, KEY)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary


def test_a_failed_rewrite_keeps_the_good_file(
    built: GridIndex, saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O")))
    with pytest.raises(IndexFileError):
        save_index(built, saved, KEY)
    monkeypatch.undo()
    assert load_index(saved, KEY).n_owners == built.n_owners


# --- load or build ---------------------------------------------------------------------


def test_cached_index_builds_once_then_loads(grids: GridSet, tmp_path: Path) -> None:
    path, calls, reasons = tmp_path / "idx" / "v1.gidx", [], []

    def read() -> GridSet:
        calls.append(1)
        return grids

    first = cached_index(read, path, KEY, on_rebuild=reasons.append)
    assert calls == [1] and path.exists() and reasons == []  # missing: built, no complaint
    assert not isinstance(first, MappedGridIndex)
    second = cached_index(read, path, KEY, on_rebuild=reasons.append)
    assert calls == [1] and isinstance(second, MappedGridIndex)


def test_cached_index_rebuilds_a_bad_file_and_says_why(grids: GridSet, saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[-1] ^= 1
    saved.write_bytes(bytes(data))
    reasons: list[IndexFileError] = []
    index = cached_index(grids, saved, KEY, on_rebuild=reasons.append)
    assert len(reasons) == 1 and "checksum" in str(reasons[0])
    assert index.n_owners > 0
    assert isinstance(load_index(saved, KEY), MappedGridIndex)  # replaced by a good one


def test_file_keys_follow_content_and_options(tmp_path: Path) -> None:
    a = tmp_path / "a.geojson"
    a.write_bytes(SAMPLE.read_bytes()[:1000])
    key = file_key([a])
    assert file_key([a]) == key
    assert file_key([a], options="assume_crs=EPSG:4490") != key
    a.write_bytes(SAMPLE.read_bytes()[:999])
    assert file_key([a]) != key


# --- the machine's index files ------------------------------------------------------------


def test_index_for_finds_the_same_grids_and_only_them(grids: GridSet, tmp_path: Path) -> None:
    first = index_for(grids, tmp_path)
    assert not isinstance(first, MappedGridIndex)  # built and saved
    again = index_for(read_boundaries([SAMPLE]), tmp_path)  # read again: same content
    assert isinstance(again, MappedGridIndex)
    assert len(list(tmp_path.glob("*.gidx"))) == 1
    moved = grids.with_geometries(
        np.array([shapely.affinity.translate(g, 1e-7) for g in grids.geometries], dtype=object)
    )
    assert grids_key(moved) != grids_key(grids)
    other = index_for(moved, tmp_path)
    assert not isinstance(other, MappedGridIndex) and len(list(tmp_path.glob("*.gidx"))) == 2


def test_index_for_keeps_the_newest_files(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"{i:02d}.gidx").write_bytes(b"x")
        os.utime(tmp_path / f"{i:02d}.gidx", (1000 + i, 1000 + i))
    removed = prune(tmp_path, keep=8)
    assert sorted(p.name for p in removed) == [f"{i:02d}.gidx" for i in range(4)]
    assert len(list(tmp_path.glob("*.gidx"))) == 8


def test_index_for_files_reads_the_files_only_when_their_bytes_are_new(
    grids: GridSet, tmp_path: Path
) -> None:
    city, folder, reads = tmp_path / "city.gpkg", tmp_path / "idx", []
    city.write_bytes(SAMPLE.read_bytes())

    def read() -> GridSet:
        reads.append(1)
        return read_boundaries([city])

    first = index_for_files([city], read, folder)
    assert reads == [1] and not isinstance(first, MappedGridIndex)
    again = index_for_files([city], read, folder)
    assert reads == [1] and isinstance(again, MappedGridIndex)  # not read: mapped
    x, y = probe_points(grids)
    assert np.array_equal(again.assign(x, y), first.assign(x, y))
    index_for_files([city], read, folder, options="assume_crs=EPSG:4490")
    assert reads == [1, 1]  # other reading options: read
    with city.open("ab") as fh:  # one more byte
        fh.write(b"\0")
    index_for_files([city], read, folder)
    assert reads == [1, 1, 1]
    # a damaged index file is never used: the files are read and it is rebuilt
    assert not list(folder.glob("*.gidx"))  # apart from the stored versions' indexes
    for gidx in (folder / "files").glob("*.gidx"):
        data = bytearray(gidx.read_bytes())
        data[-1] ^= 1
        gidx.write_bytes(bytes(data))
    rebuilt = index_for_files([city], read, folder)
    assert reads == [1, 1, 1, 1] and np.array_equal(rebuilt.assign(x, y), first.assign(x, y))


def test_a_shapefiles_sidecars_are_part_of_its_key(grids: GridSet, tmp_path: Path) -> None:
    shp = tmp_path / "city.shp"
    grids.frame[["code", "level", "geometry"]].to_file(shp)
    reads: list[int] = []

    def read() -> GridSet:
        reads.append(1)
        return read_boundaries([shp])

    index_for_files([shp], read, tmp_path / "idx")
    index_for_files([shp], read, tmp_path / "idx")
    assert reads == [1]
    dbf = shp.with_suffix(".dbf")  # the attributes (the codes) changed, the shapes not
    dbf.write_bytes(dbf.read_bytes().replace(b"450302", b"450303", 1))
    index_for_files([shp], read, tmp_path / "idx")
    assert reads == [1, 1]


def test_few_edge_points_are_decided_from_the_shapes_around_them(
    built: GridIndex, saved: Path, grids: GridSet
) -> None:
    """The first edge points in an index's life are decided among the grids whose bounds
    hold them: the built index's answers, without decoding every grid's shape; past
    FEW_UNSURE of them every shape is decoded, once."""
    loaded = load_index(saved, KEY)
    x, y = probe_points(grids)
    edge_x, edge_y = x[20_000:], y[20_000:]  # the vertices and edge midpoints
    got = [loaded.assign(edge_x[i : i + 16], edge_y[i : i + 16]) for i in range(0, 48, 16)]
    assert np.array_equal(np.concatenate(got), built.assign(edge_x[:48], edge_y[:48]))
    for i in range(100, 110):  # the one-point path (the service's) too
        assert loaded.assign_one(edge_x[i], edge_y[i]) == built.assign_one(edge_x[i], edge_y[i])
    assert loaded._unsure_seen <= loaded.FEW_UNSURE
    assert "_geoms" not in vars(loaded) and "_locator" not in vars(loaded)
    assert np.array_equal(loaded.assign(x, y), built.assign(x, y))  # thousands on edges
    assert "_locator" in vars(loaded) and len(loaded._geoms) == loaded.n_owners


def test_a_point_in_no_grids_bounds_is_in_no_grid(tmp_path: Path) -> None:
    """A point the lattice leaves to GEOS (beside a parent whose child leaves a gap) that
    lies in no grid's bounds has no grid: no candidate, no error."""
    shapes = [shapely.box(0, 0, 2, 2), shapely.box(0, 0, 1, 1)]
    shapes += [shapely.box(10, 0, 12, 2), shapely.box(10, 0, 11, 1)]
    codes = ["450302001", "450302001001", "450302002", "450302002001"]
    grids = GridSet.from_records(codes, shapes, levels=[4, 5, 4, 5])
    index = GridIndex(grids)
    path = save_index(index, tmp_path / "apart.gidx", KEY)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 12, 20_000), rng.uniform(0, 2, 20_000)
    raw = plain_query.query(x, y, *index.query_tables())
    outside = (raw == plain_query.NEEDS_GEOS) & ((x > 2) & (x < 10))
    assert outside.sum() >= 5  # the case exists on this data
    px, py = x[outside][:5], y[outside][:5]
    loaded = load_index(path, KEY)
    assert loaded.assign(px, py).tolist() == [-1] * 5
    assert loaded.assign_one(px[0], py[0]) == -1
    assert "_locator" not in vars(loaded)  # decided among (no) candidates
    assert np.array_equal(load_index(path, KEY).assign(x, y), index.assign(x, y))


def test_a_grid_with_a_hole_and_its_parent_are_found_among_the_candidates(
    tmp_path: Path,
) -> None:
    """The candidates keep the lookup core's rule (deepest grid, then smallest code):
    a point on the edge of a hole that no child fills goes to the parent; one on a
    child's edge to the child of smaller code."""
    outer = shapely.box(0, 0, 4, 4)
    hole = shapely.box(1, 1, 2, 2)
    records = [
        ("450302001", outer, 4),
        (
            "450302001001",
            shapely.Polygon(outer.exterior, [hole.exterior]).intersection(shapely.box(0, 0, 2, 4)),
            5,
        ),
        ("450302001002", shapely.box(2, 0, 4, 4), 5),
    ]
    grids = GridSet.from_records(
        [r[0] for r in records], [r[1] for r in records], levels=[r[2] for r in records]
    )
    index = GridIndex(grids)
    path = save_index(index, tmp_path / "hole.gidx", KEY)
    loaded = load_index(path, KEY)
    # in the hole; on the children's shared edge; on the hole's edge; where the hole
    # meets the shared edge (the first child's shape does not reach it)
    x = np.array([1.5, 2.0, 1.0, 2.0])
    y = np.array([1.5, 3.0, 1.5, 1.5])
    raw = plain_query.query(x, y, *loaded.query_tables())
    assert (raw == plain_query.NEEDS_GEOS).all()  # every one is for GEOS to decide
    want = index.assign(x, y)
    assert np.array_equal(loaded.assign(x, y), want)
    codes = index.codes(want, level=None).tolist()
    assert codes == ["450302001", "450302001001", "450302001001", "450302001002"]
    assert "_locator" not in vars(loaded)


def test_a_filegdb_folder_is_keyed_by_its_files(grids: GridSet, tmp_path: Path) -> None:
    """A FileGDB is a folder: its files' bytes are its key, as a file's are (it was read
    and indexed again on every run), and a lock file a program leaves changes nothing."""
    gdb = tmp_path / "city.gdb"
    frame = grids.frame[["code", "level", "geometry"]].astype({"level": "int32"})
    frame.to_file(gdb, driver="OpenFileGDB", layer="grids")
    reads: list[int] = []

    def read() -> GridSet:
        reads.append(1)
        return read_boundaries([gdb])

    first = index_for_files([gdb], read, tmp_path / "idx")
    again = index_for_files([gdb], read, tmp_path / "idx")
    assert reads == [1] and isinstance(again, MappedGridIndex)
    x, y = probe_points(grids)
    assert np.array_equal(again.assign(x, y), first.assign(x, y))
    (gdb / "a00000009.gdbtable.sr.lock").write_bytes(b"\0")
    index_for_files([gdb], read, tmp_path / "idx")
    assert reads == [1]
    table = max(gdb.glob("*.gdbtable"), key=lambda p: p.stat().st_size)  # the grids
    with table.open("ab") as fh:
        fh.write(b"\0")
    index_for_files([gdb], read, tmp_path / "idx")
    assert reads == [1, 1]


def test_an_index_that_cannot_be_saved_is_used_and_said_so(
    grids: GridSet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A full disk or a read-only folder: the index built is used, and the log says it
    was not saved (it said "building it again", which it was not)."""
    reasons: list[IndexFileError] = []
    monkeypatch.setattr(
        os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
    )
    with caplog.at_level("WARNING"):
        index = cached_index(grids, tmp_path / "v1.gidx", KEY, on_rebuild=reasons.append)
    assert index.n_owners > 0 and reasons == []
    assert "not saved" in caplog.text and "building it again" not in caplog.text
    assert not (tmp_path / "v1.gidx").exists()
