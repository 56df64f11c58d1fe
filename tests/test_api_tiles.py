"""Vector tiles against the running service: decoded by mapbox-vector-tile and GDAL's MVT driver,
neighbours still meeting edge to edge after simplification, TileJSON, errors."""

from __future__ import annotations

import gc
import re
import subprocess
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import serve
from shapely.geometry import shape
from tilehelpers import PILOT, tile_of

from gridgeo.api.app import create_app
from gridgeo.api.deps import dataset
from gridgeo.api.ogc import tiles as tiles_module
from gridgeo.api.ogc.gapless_simplify import (
    is_coverage,
    node_coverage,
    prepare_coverage,
    simplify_coverage,
)
from gridgeo.api.ogc.tiles import (
    EXTENT,
    MAX_ZOOM,
    MVT_MEDIA_TYPE,
    quick_tile,
    simplify_tolerance,
    tile_bounds,
    tile_layers_for,
)
from gridgeo.crs import transform_geometries
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture(scope="module")
def base(data: Dataset) -> Iterator[str]:
    with serve(create_app(data=data)) as url:
        yield url


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=60) as client:
        yield client


def get_tile(http: httpx.Client, collection: str, z: int, x: int, y: int) -> bytes:
    response = http.get(f"/tiles/{collection}/{z}/{x}/{y}.mvt")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT_MEDIA_TYPE
    return response.content


def decode(tile: bytes, layer: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = mapbox_vector_tile.decode(tile)[layer]["features"]
    return features


def level_codes(data: Dataset, level: int) -> np.ndarray[Any, Any]:
    return np.asarray(data.grids.codes, dtype=object)[data.grids.levels == level]


def expected_codes(data: Dataset, level: int, z: int, x: int, y: int) -> tuple[set[str], set[str]]:
    """Codes that must be in the tile (meet the tile) and that may be (meet tile + buffer)."""
    geoms = transform_geometries(data.grids.geometries[data.grids.levels == level], 4490, 3857)
    codes = level_codes(data, level)
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * 80 / EXTENT  # 64-unit buffer plus simplification slack
    inner = shapely.intersects(geoms, shapely.box(minx, miny, maxx, maxy))
    outer = shapely.intersects(geoms, shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))
    return set(codes[inner]), set(codes[outer])


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "layer", "z"), [(5, "level5_grid", 12), (5, "level5_grid", 15)])
def test_pilot_tile_decodes_to_the_grids_there(
    http: httpx.Client, data: Dataset, level: int, layer: str, z: int
) -> None:
    x, y = tile_of(*PILOT, z)
    features = decode(get_tile(http, layer, z, x, y), layer)
    codes = {f["properties"]["code"] for f in features}
    must, may = expected_codes(data, level, z, x, y)
    assert must <= codes <= may
    assert "450302001001002" in codes  # the grid at the pilot point
    first = features[0]
    assert first["id"] == int(first["properties"]["code"])
    assert first["properties"]["level_name"] == "五级网格"
    assert set(first["properties"]) >= {"code", "name", "level", "parent_code"}


def test_gdal_mvt_driver_reads_a_tile(http: httpx.Client, data: Dataset, tmp_path: Path) -> None:
    z = 12
    x, y = tile_of(*PILOT, z)
    tile = get_tile(http, "level5_grid", z, x, y)
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"  # {z}/{x}/{y}.pbf: GDAL georeferences it
    path.parent.mkdir(parents=True)
    path.write_bytes(tile)
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", "-oo", "CLIP=NO", f"MVT:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    gdal_codes = re.findall(r"^\s+code \(String\) = (\d+)$", result.stdout, flags=re.MULTILINE)
    lib_codes = [f["properties"]["code"] for f in decode(tile, "level5_grid")]
    assert sorted(gdal_codes) == sorted(lib_codes) and len(gdal_codes) > 40
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", f"MVT:{path}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert 'ID["EPSG",3857]' in summary
    extent = re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)", summary)
    assert extent is not None
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * 64 / EXTENT + 1
    got = [float(v) for v in extent.groups()]
    assert minx - pad <= got[0] and got[2] <= maxx + pad
    assert miny - pad <= got[1] and got[3] <= maxy + pad


def test_workstation_points(http: httpx.Client, data: Dataset) -> None:
    z = 14
    x, y = tile_of(*PILOT, z)
    features = decode(get_tile(http, "workstations", z, x, y), "workstations")
    assert {f["properties"]["code"] for f in features} <= {ws.code for ws in data.workstations}
    assert all(f["geometry"]["type"] == "Point" for f in features) and features


def test_partner_zones_tile(http: httpx.Client, data: Dataset) -> None:
    """Partner zones overlap by nature: simplified one by one, still decoded."""
    if not data.partners:
        pytest.skip("the dataset has no partner units")
    z = 12
    x, y = tile_of(*PILOT, z)
    features = decode(get_tile(http, "partner_zones", z, x, y), "partner_zones")
    assert {f["properties"]["code"] for f in features} <= {p.code for p in data.partners}
    assert all("phone" not in f["properties"] for f in features)


# --- no gaps between neighbours ----------------------------------------------------------------


def mercator(geom: Any) -> Any:
    return transform_geometries(np.array([geom], dtype=object), 4490, 3857)[0]


def tile_polygons(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {f["properties"]["code"]: shape(f["geometry"]) for f in features}


@pytest.mark.parametrize(
    ("layer", "z"),
    [("level5_grid", 12), ("level5_grid", 14), ("level4_community", 11), ("level2_district", 8)],
)
def test_simplified_neighbours_still_meet_edge_to_edge(
    http: httpx.Client, data: Dataset, layer: str, z: int
) -> None:
    """In tile units, the decoded polygons form a valid coverage: no overlap, and no gap
    narrower than 2 units (gaps would be slivers between neighbours). Every pair of
    neighbours of the source data still shares a stretch of boundary."""
    x, y = tile_of(*PILOT, z)
    polygons = tile_polygons(decode(get_tile(http, layer, z, x, y), layer))
    geoms = np.array(list(polygons.values()), dtype=object)
    assert shapely.is_valid(geoms).all()
    assert shapely.coverage_is_valid(geoms, gap_width=2.0)
    level = int(layer[5])
    in_level = data.grids.levels == level
    source = dict(zip(level_codes(data, level), data.grids.geometries[in_level], strict=True))
    bounds = tile_bounds(z, x, y)
    unit = (bounds[2] - bounds[0]) / EXTENT
    pairs = 0
    for a, b in combinations(sorted(polygons), 2):
        shared = shapely.intersection(source[a].boundary, source[b].boundary)
        in_tile = shapely.intersection(mercator(shared), shapely.box(*bounds))
        if shapely.length(in_tile) > 8 * unit:  # neighbours along > 8 units inside the tile
            pairs += 1
            meet = shapely.intersection(polygons[a].boundary, polygons[b].boundary)
            assert meet.length > 0, (a, b)
    assert pairs >= 3


def test_simplification_drops_vertices_at_low_zoom(http: httpx.Client, data: Dataset) -> None:
    z = 8
    x, y = tile_of(*PILOT, z)
    polygons = tile_polygons(decode(get_tile(http, "level2_district", z, x, y), "level2_district"))
    served = sum(shapely.get_num_coordinates(list(polygons.values())))
    source = int(shapely.get_num_coordinates(data.grids.geometries[data.grids.levels == 2]).sum())
    assert served < source / 4


def test_the_gap_check_catches_per_polygon_simplification(data: Dataset) -> None:
    """Control: simplifying each grid alone (what the coverage simplifier avoids) opens gaps
    the check above detects, at a tolerance where the coverage simplifier opens none."""
    geoms = transform_geometries(data.grids.geometries[data.grids.levels == 5], 4490, 3857)
    tolerance = simplify_tolerance(12) * 4
    alone = shapely.simplify(geoms, tolerance, preserve_topology=True)
    assert not shapely.coverage_is_valid(alone, gap_width=tolerance)
    noded = transform_geometries(
        node_coverage(data.grids.geometries[data.grids.levels == 5]), 4490, 3857
    )
    assert is_coverage(simplify_coverage(noded, tolerance))


def test_noding_makes_a_vertex_mismatch_a_coverage() -> None:
    """Two squares sharing an edge, one with an extra vertex on it: not a coverage
    until noded; after simplification the shared edge is still shared."""
    left = shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (1, 1), (0, 1)])
    right = shapely.Polygon([(1, 0), (2, 0), (2, 1), (1, 1)])
    geoms = np.array([left, right], dtype=object)
    assert not is_coverage(geoms)
    noded = node_coverage(geoms)
    assert is_coverage(noded)
    simplified = simplify_coverage(noded, 0.1)
    assert shapely.intersection(simplified[0], simplified[1]).length == pytest.approx(1.0)


def test_a_valid_coverage_is_used_as_it_is_and_a_mismatch_is_noded() -> None:
    """Noding a level that is a coverage already changes nothing (it only cost the first
    tile 3 s at 20,000 grids); a level with a vertex mismatch is still noded."""
    squares = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], dtype=object)
    assert prepare_coverage(squares, "squares") is squares
    left = shapely.Polygon([(0, 0), (1, 0), (1, 0.5), (1, 1), (0, 1)])
    mismatch = np.array([left, squares[1]], dtype=object)
    noded = prepare_coverage(mismatch, "mismatch")
    assert noded is not None and noded is not mismatch and is_coverage(noded)


# --- TileJSON -----------------------------------------------------------------------------------


def test_tilejson(http: httpx.Client, base: str, data: Dataset) -> None:
    doc = http.get("/tiles/level5_grid/tilejson.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"{base}/tiles/level5_grid/{{z}}/{{x}}/{{y}}.mvt"]
    assert doc["minzoom"] == 0 and doc["maxzoom"] == MAX_ZOOM
    assert np.allclose(
        doc["bounds"], shapely.total_bounds(data.grids.geometries[data.grids.levels == 5])
    )
    layer = doc["vector_layers"][0]
    assert layer["id"] == "level5_grid"
    assert layer["fields"]["code"] == "String" and layer["fields"]["level"] == "Number"
    west, south, east, north = doc["bounds"]
    lon, lat, zoom = doc["center"]
    assert west < lon < east and south < lat < north and 0 <= zoom <= MAX_ZOOM


def test_gdal_reads_a_tileset_described_by_the_tilejson(http: httpx.Client, tmp_path: Path) -> None:
    """GDAL's MVT driver takes the TileJSON as the tileset's metadata: the layer and its
    field types come from ``vector_layers`` (``Number`` reads as Real; a bare tile gives
    Integer)."""
    z = 12
    x, y = tile_of(*PILOT, z)
    tile = tmp_path / str(z) / str(x) / f"{y}.pbf"
    tile.parent.mkdir(parents=True)
    tile.write_bytes(get_tile(http, "level5_grid", z, x, y))
    metadata = tmp_path / "tilejson.json"
    metadata.write_bytes(http.get("/tiles/level5_grid/tilejson.json").content)
    output = subprocess.run(
        [
            "ogrinfo",
            "-ro",
            "-so",
            "-al",
            "-oo",
            f"METADATA_FILE={metadata}",
            f"MVT:{tmp_path / str(z)}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Layer name: level5_grid" in output
    assert "level: Real" in output and "code: String" in output
    count = re.search(r"Feature Count: (\d+)", output)
    assert count is not None and int(count.group(1)) > 40


def test_tilejson_template_fetches_tiles(http: httpx.Client) -> None:
    """A client following the TileJSON gets a tile for the centre at the centre zoom."""
    doc = http.get("/tiles/level4_community/tilejson.json").json()
    lon, lat, zoom = doc["center"]
    x, y = tile_of(lon, lat, int(zoom))
    url = doc["tiles"][0].format(z=int(zoom), x=x, y=y)
    features = decode(httpx.get(url, timeout=60).content, "level4_community")
    assert len(features) == 10


# --- errors and empty tiles ---------------------------------------------------------------------


def test_empty_tile_is_204(http: httpx.Client) -> None:
    response = http.get("/tiles/level5_grid/5/0/0.mvt")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        (f"/tiles/level5_grid/{MAX_ZOOM + 1}/0/0.mvt", 404, f"不提供第 {MAX_ZOOM + 1} 级缩放"),
        ("/tiles/level5_grid/3/8/0.mvt", 404, "瓦片 3/8/0 超出瓦片矩阵（第 3 级的行列号为 0 至 7"),
        ("/tiles/level5_grid/3/0/8.mvt", 404, "超出瓦片矩阵"),
        ("/tiles/level6_block/3/0/0.mvt", 404, "level6_block"),
        ("/tiles/level6_block/tilejson.json", 404, "level6_block"),
        ("/tiles/level5_grid/3/-1/0.mvt", 400, "'x'"),
        ("/tiles/level5_grid/three/0/0.mvt", 400, "'z'"),
    ],
)
def test_bad_tiles(http: httpx.Client, url: str, status: int, fragment: str) -> None:
    response = http.get(url)
    assert response.status_code == status
    assert fragment in response.json()["description"]


# --- caches follow the published dataset --------------------------------------------------------


def test_tiles_follow_a_swapped_dataset(data: Dataset) -> None:
    app = create_app(data=data)
    client = TestClient(app)
    z = 12
    x, y = tile_of(*PILOT, z)
    assert client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt").status_code == 200
    gc.collect()
    before = len(tile_layers_for)
    keep = np.flatnonzero(data.grids.levels != 5)
    swapped = [Dataset(data.grids.subset(keep), data.workstations, [], data.settings)]
    app.dependency_overrides[dataset] = lambda: swapped[0]  # what publishing a version does
    assert client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt").status_code == 204
    assert len(tile_layers_for) == before + 1
    app.dependency_overrides.clear()
    swapped.clear()
    gc.collect()
    assert len(tile_layers_for) == before  # the swapped-out dataset's layers are gone


def test_cached_tiles_are_answered_from_the_cache_only() -> None:
    """The route's event-loop path (``quick_tile``) builds no layer; after the first
    request it returns the very bytes served from the cache, and an empty tile stays 204."""
    fresh = load()  # caches are per dataset object: none built yet
    z = 12
    x, y = tile_of(*PILOT, z)
    assert quick_tile(fresh, "level5_grid", z, x, y) == (False, None)
    assert tile_layers_for.peek(fresh) is None  # the peek built nothing
    client = TestClient(create_app(data=fresh))
    first = client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt")
    assert first.status_code == 200
    assert quick_tile(fresh, "level5_grid", z, x, y) == (True, first.content)
    assert quick_tile(fresh, "level4_community", z, x, y) == (False, None)  # not built
    again = client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt")
    assert again.status_code == 200 and again.content == first.content
    for _ in range(2):  # the empty tile: encoded once, then answered from the cache
        empty = client.get("/tiles/level5_grid/5/0/0.mvt")
        assert empty.status_code == 204 and empty.content == b""
    assert quick_tile(fresh, "level5_grid", 5, 0, 0) == (True, None)
    assert client.get(f"/tiles/nope/{z}/{x}/{y}.mvt").status_code == 404


def test_small_tiles_of_a_zoom_in_memory_are_encoded_on_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``quick_tile`` (the route's event-loop path) builds no layer and no zoom: a tile
    of a zoom not in memory yet, a point layer's tile and a tile of more than
    QUICK_FEATURES features go to the pool; a small tile of a zoom in memory is encoded
    at once, the bytes the pool would make, and cached."""
    fresh = load()
    z = 14
    x, y = tile_of(*PILOT, z)
    assert quick_tile(fresh, "level5_grid", z, x + 1, y) == (False, None)
    client = TestClient(create_app(data=fresh))
    assert client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt").status_code == 200
    layer = tile_layers_for(fresh).layer("level5_grid")
    assert quick_tile(fresh, "level5_grid", 15, 2 * x, 2 * y) == (False, None)
    assert 15 not in layer._zooms  # nothing built for it
    found, body = quick_tile(fresh, "level5_grid", z, x + 1, y)
    assert found and body is not None
    assert quick_tile(fresh, "level5_grid", z, x + 1, y) == (True, body)
    pool = tile_layers_for(load()).layer("level5_grid").tile(z, x + 1, y)
    assert body == pool
    client.get(f"/tiles/workstations/{z}/{x}/{y}.mvt")
    assert quick_tile(fresh, "workstations", z, x, y + 1) == (False, None)
    monkeypatch.setattr(tiles_module, "QUICK_FEATURES", 1)  # a tile of two grids: the pool's
    assert quick_tile(fresh, "level5_grid", z, x - 1, y) == (False, None)
    assert quick_tile(fresh, "level5_grid", z, x - 1, y) == (False, None)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    z=st.integers(-2, 24),
    x=st.integers(-2, 2**25),
    y=st.integers(-2, 2**25),
    collection=st.sampled_from(["level5_grid", "level2_district", "workstations", "nope"]),
)
def test_tiles_never_fail_with_5xx(
    local: TestClient, z: int, x: int, y: int, collection: str
) -> None:
    response = local.get(f"/tiles/{collection}/{z}/{x}/{y}.mvt")
    assert response.status_code in (200, 204, 400, 404), response.text


@pytest.fixture(scope="module")
def local(data: Dataset) -> TestClient:
    return TestClient(create_app(data=data), raise_server_exceptions=False)


def test_ogc_api_tiles_paths_serve_the_same_tiles(local: TestClient) -> None:
    client = local
    sets = client.get("/tileMatrixSets").json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == 25
    assert client.get("/tileMatrixSets/WorldCRS84Quad").status_code == 404

    links = client.get("/collections/level5_grid").json()["links"]
    assert any(link["rel"].endswith("/tilesets-vector") for link in links)
    listed = client.get("/collections/level5_grid/tiles").json()["tilesets"]
    assert listed[0]["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    tileset = client.get("/collections/level5_grid/tiles/WebMercatorQuad").json()
    [template] = [link for link in tileset["links"] if link["rel"] == "item"]
    assert template["templated"] and template["href"].endswith(
        "/collections/level5_grid/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    )
    # the tile over a sample grid in both numberings: the same bytes
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(110.2965, 25.2775, 14)
    xyz = client.get(f"/tiles/level5_grid/{t.z}/{t.x}/{t.y}.mvt")
    ogc = client.get(f"/collections/level5_grid/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}")
    assert xyz.status_code == ogc.status_code == 200 and xyz.content == ogc.content
    assert client.get("/collections/level5_grid/tiles/WebMercatorQuad/99/0/0").status_code == 404
    assert client.get("/collections/nothing/tiles").status_code == 404
    conformance = client.get("/conformance").json()["conformsTo"]
    assert any(c.endswith("ogcapi-tiles-1/1.0/conf/mvt") for c in conformance)
