"""Output for the web maps of China: GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu).

A grid drawn in GCJ-02 must land on its WGS84/CGCS2000 truth within 1 m after the
inverse; features, tiles and lookup answers must name the system they are in.
"""

from __future__ import annotations

import re
from typing import Any

import mapbox_vector_tile
import numpy as np
import prcoords
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Geod
from tilehelpers import tile_of

from gridgeo import load
from gridgeo.api.app import create_app
from gridgeo.api.ogc.crs import BD09_URN, GCJ02_URN
from gridgeo.api.ogc.tiles import EXTENT, tile_bounds
from gridgeo.coords import from_cgcs2000, geometries_from_cgcs2000, geometries_to_cgcs2000
from gridgeo.crs import transform_geometries
from gridgeo.dataset import Dataset

GEOD = Geod(ellps="WGS84")
PILOT = (110.2965, 25.2775)  # 文明社区


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture(scope="module")
def client(data: Dataset) -> TestClient:
    return TestClient(create_app(data=data))


def metres(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Geodesic distances between coordinate rows of ``a`` and ``b`` (lon, lat)."""
    _, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    return np.asarray(dist)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_every_grid_round_trips_within_a_millimetre(data: Dataset, system: str) -> None:
    truth = data.grids.geometries
    shifted = geometries_from_cgcs2000(truth, system)
    back = geometries_to_cgcs2000(shifted, system)
    a, b = shapely.get_coordinates(truth), shapely.get_coordinates(back)
    moved = metres(a, shapely.get_coordinates(shifted))
    assert 100 < moved.min() and moved.max() < 1500  # shifted as the maps draw: hundreds of m
    assert metres(a, b).max() < 0.001  # the issue asks 1 m
    assert shapely.is_valid(shifted).all()  # rings stay rings


def test_gcj02_agrees_with_an_independent_implementation(data: Dataset) -> None:
    coords = shapely.get_coordinates(data.grids.geometries)[::50]
    lon, lat = from_cgcs2000(coords[:, 0], coords[:, 1], "gcj02")
    theirs = np.array([prcoords.wgs_gcj((y, x)) for x, y in coords])  # (lat, lon)
    assert np.abs(lon - theirs[:, 1]).max() < 1e-9 and np.abs(lat - theirs[:, 0]).max() < 1e-9


@pytest.mark.parametrize(
    ("crs", "urn"), [("gcj02", GCJ02_URN), ("BD-09", BD09_URN), (GCJ02_URN, GCJ02_URN)]
)
def test_features_in_a_web_map_system(client: TestClient, crs: str, urn: str) -> None:
    url = "/collections/level5_grid/items"
    plain = client.get(url, params={"limit": 20}).json()
    shifted = client.get(url, params={"limit": 20, "crs": crs})
    assert shifted.status_code == 200 and shifted.headers["content-crs"] == f"<{urn}>"
    system = "gcj02" if urn == GCJ02_URN else "bd09"
    for a, b in zip(plain["features"], shifted.json()["features"], strict=True):
        assert a["id"] == b["id"]
        truth = shapely.geometry.shape(a["geometry"])
        got = shapely.geometry.shape(b["geometry"])
        expected = geometries_from_cgcs2000([truth], system)[0]
        assert shapely.equals_exact(got, expected, tolerance=1e-9)
        back = geometries_to_cgcs2000([got], system)[0]
        gap = metres(shapely.get_coordinates(truth), shapely.get_coordinates(back))
        assert gap.max() < 1.0


def test_a_bbox_drawn_on_a_gcj02_map_selects_what_the_map_shows(
    client: TestClient, data: Dataset
) -> None:
    grid = data.grids.geometries[data.grids.position("450302001001002")]
    point = geometries_from_cgcs2000([grid.representative_point()], "gcj02")[0]
    box = f"{point.x - 1e-5},{point.y - 1e-5},{point.x + 1e-5},{point.y + 1e-5}"
    found = client.get(
        "/collections/level5_grid/items", params={"bbox": box, "bbox-crs": "gcj02"}
    ).json()
    assert [f["id"] for f in found["features"]] == ["450302001001002"]
    # the same numbers read as CRS84 fall some 500 m away, in another grid or none
    elsewhere = client.get("/collections/level5_grid/items", params={"bbox": box}).json()
    assert [f["id"] for f in elsewhere["features"]] != ["450302001001002"]


def codes_in(tile: bytes) -> set[str]:
    features = mapbox_vector_tile.decode(tile)["level5_grid"]["features"]
    return {f["properties"]["code"] for f in features}


def test_tiles_for_a_gcj02_base_map(client: TestClient, data: Dataset) -> None:
    z = 17
    level5 = data.grids.levels == 5
    codes = np.asarray(data.grids.codes, dtype=object)[level5]
    shifted = geometries_from_cgcs2000(data.grids.geometries[level5], "gcj02")
    point = geometries_from_cgcs2000([shapely.Point(*PILOT)], "gcj02")[0]
    x, y = tile_of(point.x, point.y, z)
    answer = client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt", params={"crs": "gcj02"})
    assert answer.status_code == 200
    got = codes_in(answer.content)
    mercator = transform_geometries(shifted, 4490, 3857)
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * 80 / EXTENT
    must = set(codes[shapely.intersects(mercator, shapely.box(minx, miny, maxx, maxy))])
    outer = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    may = set(codes[shapely.intersects(mercator, outer)])
    assert must and must <= got <= may
    plain = client.get(f"/tiles/level5_grid/{z}/{x}/{y}.mvt")  # the WGS84 tile differs
    assert (codes_in(plain.content) if plain.status_code == 200 else set()) != got
    # the OGC API Tiles path takes the same parameter
    ogc = client.get(
        f"/collections/level5_grid/tiles/WebMercatorQuad/{z}/{y}/{x}", params={"crs": "gcj02"}
    )
    assert ogc.status_code == 200 and ogc.content == answer.content
    tj = client.get("/tiles/level5_grid/tilejson.json", params={"crs": "gcj02"}).json()
    assert tj["tiles"][0].endswith(".mvt?crs=gcj02")
    plain_tj = client.get("/tiles/level5_grid/tilejson.json").json()
    assert tj["bounds"][0] > plain_tj["bounds"][0]  # GCJ-02 lies east of WGS84 here


def test_lookup_answers_in_the_apps_system(client: TestClient) -> None:
    lon, lat = PILOT
    plain = client.get("/v1/lookup", params={"lon": lon, "lat": lat}).json()
    assert plain["point"]["crs"] == "EPSG:4490" and "crs" not in plain["workstation"]
    got = client.get("/v1/lookup", params={"lon": lon, "lat": lat, "out_crs": "gcj02"}).json()
    glon, glat = (float(v) for v in from_cgcs2000(lon, lat, "gcj02"))
    assert got["point"] == {"lon": glon, "lat": glat, "crs": "GCJ-02"}
    ws = got["workstation"]
    assert ws["crs"] == "GCJ-02" and ws["code"] == plain["workstation"]["code"]
    station = plain["workstation"]
    wlon, wlat = (float(v) for v in from_cgcs2000(station["lon"], station["lat"], "gcj02"))
    assert (ws["lon"], ws["lat"]) == (wlon, wlat)
    assert got["grids"] == plain["grids"]
    # an Amap app sends GCJ-02 and gets its own point back
    again = client.get(
        "/v1/lookup", params={"lon": glon, "lat": glat, "crs": "gcj02", "out_crs": "gcj02"}
    ).json()
    assert abs(again["point"]["lon"] - glon) < 1e-9 and abs(again["point"]["lat"] - glat) < 1e-9
    batch = client.post(
        "/v1/lookup?out_crs=bd09", json=[{"lon": lon, "lat": lat}, {"lon": 1, "lat": 1}]
    ).json()["results"]
    assert batch[0]["point"]["crs"] == "BD-09" and batch[0]["grids"] == plain["grids"]
    assert batch[1]["status"] != "ok"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("/v1/lookup?lon=110.2965&lat=25.2775&out_crs=mars2", "unknown coordinate system"),
        ("/collections/level5_grid/items?crs=gcj03", "gcj02"),
        ("/tiles/level5_grid/17/1000/1000.mvt?crs=baidu09", "gcj02"),
    ],
)
def test_unknown_systems_are_named(client: TestClient, url: str, fragment: str) -> None:
    answer = client.get(url, headers={"Accept-Language": "en"})  # the words named below
    assert answer.status_code == 400, answer.text
    assert fragment in answer.text
    chinese = client.get(url)  # by default the refusal is Chinese, naming the same value
    assert chinese.status_code == 400 and chinese.headers["Content-Language"] == "zh"
    assert re.search(r"[\u4e00-\u9fff]", chinese.json().get("detail") or chinese.text)


def test_cases_tasks_and_the_viewer_case_layer_in_gcj02(tmp_path: Any) -> None:
    from keyhelpers import role_keys

    from gridgeo.settings import Settings, StoreSettings
    from gridgeo.store.core import Store

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    app = create_app(Settings(store=StoreSettings(database_url=url)))
    keys = role_keys(Store(url))
    lon, lat = PILOT
    glon, glat = (float(v) for v in from_cgcs2000(lon, lat, "gcj02"))
    with TestClient(app) as client:
        made = client.post(
            "/v1/cases",
            json={"lon": lon, "lat": lat, "category": "0505", "description": "占道"},
            headers={"X-API-Key": keys["reporter"]},
        )
        assert made.status_code == 201, made.text
        case_id = made.json()["id"]
        admin = {"X-API-Key": keys["admin"]}
        one = client.get(f"/v1/cases/{case_id}", params={"out_crs": "gcj02"}, headers=admin)
        assert one.json()["point"] == {"lon": glon, "lat": glat, "crs": "GCJ-02"}
        # a box drawn on the GCJ-02 map around the shifted point finds the case ...
        box = f"{glon - 1e-4},{glat - 1e-4},{glon + 1e-4},{glat + 1e-4}"
        params = {"bbox": box, "bbox_crs": "gcj02", "out_crs": "gcj02"}
        listed = client.get("/v1/cases", params=params, headers=admin).json()["cases"]
        assert [c["id"] for c in listed] == [case_id] and listed[0]["point"]["crs"] == "GCJ-02"
        # ... which the same numbers read as WGS84 do not (500 m away)
        assert client.get("/v1/cases", params={"bbox": box}, headers=admin).json()["cases"] == []
        layer = client.get("/map/cases.geojson", params={"crs": "gcj02"}).json()
        [feature] = [f for f in layer["features"] if f["properties"]["id"] == str(case_id)]
        assert feature["geometry"]["coordinates"] == [glon, glat]
        office = {"X-API-Key": keys["dispatcher"]}
        for action in ("register", "dispatch"):
            acted = client.post(
                f"/v1/cases/{case_id}/actions", json={"action": action}, headers=office
            )
            assert acted.status_code == 200, acted.text
        tasks = client.get("/v1/tasks", params={"out_crs": "gcj02"}, headers=office).json()
        mine = [x for x in tasks["tasks"] if x["case_id"] == case_id]
        assert mine and all(x["point"] == {"lon": glon, "lat": glat, "crs": "GCJ-02"} for x in mine)
        bad = client.get("/v1/cases", params={"out_crs": "mars9"}, headers=admin)
        assert bad.status_code == 400 and "mars9" in bad.text
