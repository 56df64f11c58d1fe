"""Every zoom's tile geometries of a level, saved once per set of boundaries: the same tiles
as made in memory, shared edges kept, and a damaged, truncated or stale file never used
(the tiles are made in memory and the file is written again)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
import shapely.geometry
from tilehelpers import PILOT, tile_of

from gridgeo.api.ogc import tile_layers_file, tiles
from gridgeo.api.ogc.catalog import FeatureTable, catalog_for
from gridgeo.api.ogc.gapless_simplify import simplify_coverage, simplify_levels
from gridgeo.api.ogc.tile_layers_file import TileLayersFileError
from gridgeo.api.ogc.tiles import (
    MAX_ZOOM,
    TileLayer,
    build_zoom_geometries,
    level_geometries,
    save_level_tiles,
    zoom_tolerances,
)
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.sample.tessellation import nested_tessellation


@pytest.fixture(autouse=True)
def write_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiles, "SAVE_DELAY", 0.0)


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture(scope="module")
def grids5(data: Dataset) -> FeatureTable:
    return catalog_for(data).tables["level5_grid"]


def wait_for_writes() -> None:
    for thread in list(tiles._saving.values()):
        thread.join(timeout=120)
    tiles._saving.clear()


def test_every_zoom_is_what_simplifying_at_that_zoom_gives(data: Dataset) -> None:
    """The shortcut (a zoom whose simplification changes nothing ends the work: smaller
    tolerances change nothing either) gives at every zoom exactly the direct result:
    on the pilot's dense outlines (a set per zoom) and on a tessellation whose vertices
    are all junctions of three grids (nothing to simplify from zoom 9 on)."""
    city = catalog_for(Dataset(nested_tessellation(2_000, 1)))
    shortcut = simplify_levels(level_geometries(city.tables["level5_grid"])[0], zoom_tolerances())
    assert shortcut[1][-1] == 0
    tables = [catalog_for(data).tables[c] for c in ("level5_grid", "level2_district")]
    for table in [*tables, city.tables["level5_grid"]]:
        collection = table.info.id
        geoms, mode = level_geometries(table)
        assert mode == "coverage"
        sets, which = simplify_levels(geoms, zoom_tolerances())
        assert len(which) == MAX_ZOOM + 1 and len(sets) > 1
        for z, tolerance in enumerate(zoom_tolerances()):
            direct = simplify_coverage(geoms, tolerance)
            assert shapely.equals_identical(sets[which[z]], direct).all(), (collection, z)


def test_tolerances_must_decrease() -> None:
    with pytest.raises(ValueError, match="decreasing"):
        simplify_levels(np.array([shapely.box(0, 0, 1, 1)], dtype=object), [1.0, 2.0])


def test_a_saved_level_serves_the_same_tiles_as_one_made_in_memory(
    grids5: FeatureTable, tmp_path: Path
) -> None:
    save_level_tiles(grids5, tmp_path)
    saved = TileLayer.from_table(grids5, folder=tmp_path)
    memory = TileLayer.from_table(grids5)
    assert saved.saved is not None and saved.geometries is None and memory.saved is None
    for z in (8, 11, 12, 14, 17, 20):
        x, y = tile_of(*PILOT, z)
        tile = saved.tile(z, x, y)
        assert tile is not None and tile == memory.tile(z, x, y), z


def test_the_file_round_trips_and_names_its_key(grids5: FeatureTable, tmp_path: Path) -> None:
    built = build_zoom_geometries(grids5)
    key = tiles._level_key(grids5, None)
    path = tile_layers_file.save(built, tmp_path / "a.gtiles", key)
    loaded = tile_layers_file.load(path, key)
    assert loaded.which == built.which and loaded.mode == "coverage"
    for z in range(MAX_ZOOM + 1):
        assert shapely.equals_identical(loaded.at(z), built.at(z)).all()
    other = tiles._level_key(grids5, "gcj02")  # the shifted layer is other geometries
    with pytest.raises(TileLayersFileError, match=r"a\.gtiles.*geos="):
        tile_layers_file.load(path, other)


def damage(path: Path, how: str) -> None:
    raw = bytearray(path.read_bytes())
    if how == "flipped byte":
        raw[-100] ^= 0xFF
    elif how == "truncated":
        raw = raw[: len(raw) // 2]
    elif how == "not ours":
        raw[:8] = b"PK\x03\x04xxxx"
    elif how == "empty":
        raw = bytearray()
    elif how == "header digit":  # an offset or a shape of the header, same length
        at = raw.index(b'"offset": ') + len(b'"offset": ')
        raw[at] = ord("7") if raw[at] != ord("7") else ord("8")
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "not ours", "empty", "header digit"])
def test_a_damaged_file_is_never_used_and_is_written_again(
    grids5: FeatureTable, tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = save_level_tiles(grids5, tmp_path)
    good = path.read_bytes()
    damage(path, how)
    key = tiles._level_key(grids5, None)
    with pytest.raises(TileLayersFileError):
        tile_layers_file.load(path, key)
    layer = TileLayer.from_table(grids5, folder=tmp_path)
    assert layer.saved is None  # made in memory, not from the damaged file
    assert "building it again" in caplog.text
    z = 14
    x, y = tile_of(*PILOT, z)
    assert layer.tile(z, x, y) == TileLayer.from_table(grids5).tile(z, x, y)
    wait_for_writes()
    assert path.read_bytes() == good
    assert TileLayer.from_table(grids5, folder=tmp_path).saved is not None


def test_a_missing_file_is_written_in_the_background(grids5: FeatureTable, tmp_path: Path) -> None:
    assert TileLayer.from_table(grids5, folder=tmp_path).saved is None
    wait_for_writes()
    assert len(list(tmp_path.glob("*.gtiles"))) == 1
    assert TileLayer.from_table(grids5, folder=tmp_path).saved is not None


def test_other_boundaries_get_their_own_file(data: Dataset, tmp_path: Path) -> None:
    """A grid moved by a metre: another key, another file; the old one is not used."""
    table = catalog_for(data).tables["level5_grid"]
    first = save_level_tiles(table, tmp_path)
    moved = table.geometries.copy()
    moved[0] = shapely.affinity.translate(moved[0], 1e-5, 0)
    other = FeatureTable(table.info, table.ids, table.properties, moved)
    second = save_level_tiles(other, tmp_path)
    assert first != second and first.exists() and second.exists()


def test_an_unwritable_folder_still_serves(grids5: FeatureTable, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TileLayersFileError, match="index"):
        save_level_tiles(grids5, blocker / "index")
    layer = TileLayer.from_table(grids5, folder=blocker / "index")
    wait_for_writes()  # logs the failure, raises nothing
    z = 12
    x, y = tile_of(*PILOT, z)
    assert layer.tile(z, x, y)


def test_publish_writes_every_level(data: Dataset, tmp_path: Path) -> None:
    settings = data.settings.model_copy(
        update={"store": data.settings.store.model_copy(update={"index_dir": tmp_path})}
    )
    saved = tiles.save_level_files(Dataset(data.grids, settings=settings))
    assert len(saved) == len({int(v) for v in data.grids.levels})
    assert sorted(saved) == sorted(tmp_path.glob("*.gtiles"))


@pytest.mark.parametrize(("collection", "z"), [("level5_grid", 12), ("level4_community", 11)])
def test_tiles_from_the_file_keep_shared_edges(
    data: Dataset, tmp_path: Path, collection: str, z: int
) -> None:
    """Decoded from a tile served by the file, neighbours still meet edge to edge: a valid
    coverage in tile units, no gap narrower than 2 units (as test_api_tiles checks the
    service's tiles)."""
    table = catalog_for(data).tables[collection]
    save_level_tiles(table, tmp_path)
    layer = TileLayer.from_table(table, folder=tmp_path)
    assert layer.saved is not None
    x, y = tile_of(*PILOT, z)
    tile = layer.tile(z, x, y)
    assert tile is not None
    features = mapbox_vector_tile.decode(tile)[collection]["features"]
    polygons = np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)
    assert len(polygons) >= 4
    assert shapely.is_valid(polygons).all()
    assert shapely.coverage_is_valid(polygons, gap_width=2.0)


def test_publishing_writes_the_files_a_service_then_reads(
    capsys: pytest.CaptureFixture[str],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gridgeo.cli.main import main
    from gridgeo.settings import Settings, StoreSettings
    from gridgeo.store.datasets import open_dataset

    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "index"))
    boundaries = str(Path(__file__).resolve().parents[1] / "data" / "sample" / "boundaries.gpkg")
    assert main(["import", boundaries, "--commit", "--database-url", sqlite_url]) == 0
    assert not list(tmp_path.glob("index/*.gtiles"))  # a draft has none
    assert main(["publish", "1", "--database-url", sqlite_url]) == 0
    capsys.readouterr()
    files = sorted((tmp_path / "index").glob("*.gtiles"))
    assert len(files) == 5  # one per level
    written = {f: f.stat().st_mtime_ns for f in files}
    data = open_dataset(Settings(store=StoreSettings(database_url=sqlite_url)))
    layers = tiles.tile_layers_for(data)
    assert all(layers.layer(c).saved is not None for c in ("level5_grid", "level1_city"))
    assert {f: f.stat().st_mtime_ns for f in files} == written  # read, not written again


def test_prune_removes_writes_that_never_finished(tmp_path: Path) -> None:
    stale, fresh = tmp_path / ".a.gtiles.x1y2", tmp_path / ".b.gtiles.z3w4"
    for partial in (stale, fresh):
        partial.write_bytes(b"half a file")
    hour_and_more = time.time() - tile_layers_file.STALE_TEMPORARY_S - 60
    os.utime(stale, (hour_and_more, hour_and_more))
    tile_layers_file.prune(tmp_path)
    assert not stale.exists()  # a service stopped during its background write
    assert fresh.exists()  # maybe being written right now
