"""What ``gridgeo serve`` keeps out of a worker until a request needs it (issue 16 item 2).

Each check runs in a fresh interpreter: ``sys.modules`` of the test process holds
whatever other tests imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gridgeo.api import limits

ROOT = Path(__file__).resolve().parents[1]
# Loaded on first use only (resident memory of one import at 20,000 grids, docs/BENCHMARKS.md):
# folium and its branca and jinja2 (~12 MB) draw map files; pygeofilter and its lark and
# dateparser (~9 MB) parse CQL2 filters; the chunked table readers (~10 MB of pyarrow)
# read the viewer's case file. (pyogrio and GDAL, ~60 MB, still come with the
# store's seeder: see test_a_new_sqlite_store_is_seeded_from_files_without_a_crash.)
LAZY = ("folium", "branca", "pygeofilter", "lark", "gridgeo.io.tables")


def _loaded_after(script: str, tmp_path: Path, modules: tuple[str, ...] = LAZY) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``script``."""
    report = f"import json, sys\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    env = {"GRIDGEO_INDEX_DIR": str(tmp_path), "GRIDGEO_LANG": "en", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", f"{script}\n{report}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,  # the script imports tests.geometries
        check=True,
    )
    loaded: list[str] = json.loads(run.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_app_loads_no_map_renderer_or_filter_parser(
    tmp_path: Path,
) -> None:
    assert _loaded_after("import gridgeo.api.app", tmp_path) == []


def test_a_worker_serving_lookups_tiles_features_and_the_viewer_loads_none_either(
    tmp_path: Path,
) -> None:
    """The routes a map client calls first (the viewer page, the editor page, Leaflet,
    lookups, features, tiles): none needs a lazy module; a filter loads the parser."""
    script = """
from fastapi.testclient import TestClient
from gridgeo.api.app import create_app
from gridgeo.dataset import Dataset
from tests.geometries import nested_dataset

with TestClient(create_app(data=Dataset(nested_dataset()))) as client:
    for url in (
        "/health",
        "/v1/lookup?lon=110.25&lat=25.25",
        "/map",
        "/map/edit",
        "/map/lib/leaflet/leaflet.js",
        "/collections/level5_grid/items?limit=5",
        "/tiles/level5_grid/10/825/437.mvt",
    ):
        answer = client.get(url)
        assert answer.status_code == 200 and answer.content, url  # the tile is not empty
"""
    assert _loaded_after(script, tmp_path) == []
    with_filter = script + (
        "    assert client.get('/collections/level5_grid/items', "
        "params={'filter': \"code LIKE '4503%'\"}).status_code == 200\n"
    )
    assert "pygeofilter" in _loaded_after(with_filter, tmp_path)


def test_leaflet_heat_is_found_without_importing_folium(tmp_path: Path) -> None:
    script = (
        "from gridgeo.maps.assets import leaflet_heat_source\n"
        "assert leaflet_heat_source().is_file()"
    )
    assert _loaded_after(script, tmp_path) == []


def test_only_slow_work_trims_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[float] = []
    monkeypatch.setattr(limits, "release_free_memory", lambda: trims.append(1.0))
    limits.release_after(0.01)  # a cached tile, a lookup: nothing
    assert trims == []
    limits.release_after(limits.SLOW_WORK_S)  # a layer's or zoom's first build
    limits.release_after(2.0)
    assert len(trims) == 2


def test_a_new_sqlite_store_is_seeded_from_files_without_a_crash(tmp_path: Path) -> None:
    """A new SpatiaLite store is seeded with the sample files at start: GDAL must be loaded
    before SQLite loads SpatiaLite (app._gdal_before_spatialite, io.dataset's imports), or
    reading the first file kills the process with a segfault (a CalledProcessError here)."""
    script = f"""
from fastapi.testclient import TestClient
from gridgeo.api.app import create_app
from gridgeo.settings import Settings
settings = Settings()
settings.store.database_url = "sqlite:///{tmp_path / "store.sqlite"}"
settings.store.seed_sample = True
with TestClient(create_app(settings)) as client:
    assert client.get("/health").json()["grids"] > 0
"""
    assert _loaded_after(script, tmp_path, ("pyogrio",)) == ["pyogrio"]


def test_a_worker_with_a_built_index_file_loads_no_batch_or_file_machinery(
    tmp_path: Path, store_url: str
) -> None:
    """numba and LLVM (~125 MB) build indexes and run batches of millions; pandas,
    geopandas and pyarrow (~80 MB) read and write files; Alembic migrates. A worker that
    maps a built index file answers single and batch lookups, tiles and feature pages
    without any of them (gridgeo.index.plain_query gives the kernels' answers,
    tests/test_index.py). On SQLite, GDAL is set up before SpatiaLite: ``pyogrio.core``
    only, the package itself left lazy (gridgeo.io.gdal_library)."""
    script = f"""
from fastapi.testclient import TestClient
from gridgeo.api.app import create_app
from gridgeo.settings import Settings
settings = Settings()
settings.store.database_url = {store_url!r}
settings.store.seed_sample = True
with TestClient(create_app(settings)) as client:
    one = client.get("/v1/lookup", params={{"lon": 110.3005, "lat": 25.2785}}).json()
    assert one["grids"][0]["code"] == "450302001001002", one
    many = client.post(
        "/v1/lookup",
        json=[
            {{"lon": 110.3005, "lat": 25.2785}},
            {{"lon": 110.29, "lat": 25.28}},
            {{"lon": 0, "lat": 0}},
        ],
    ).json()
    assert [r["status"] for r in many["results"]] == ["ok", "ok", "unassigned"], many
    tile = client.get("/collections/level5_grid/tiles/WebMercatorQuad/14/7002/13211")
    assert tile.status_code == 200 and tile.content
    page = client.get("/collections/level4_community/items", params={{"limit": 3}})
    assert page.status_code == 200 and page.json()["features"]
"""
    heavy = (
        *("numba", "llvmlite", "pandas", "geopandas", "pyarrow", "alembic"),
        *("pyogrio", "pyogrio.core", "pyogrio.geopandas"),
    )
    # the first start seeds the store (the file readers) and builds the index file (numba)
    assert {"numba", "pyogrio", "alembic"} <= set(_loaded_after(script, tmp_path, heavy))
    # every later start maps that file
    later = _loaded_after(script, tmp_path, heavy)
    assert later == (["pyogrio", "pyogrio.core"] if store_url.startswith("sqlite") else [])
