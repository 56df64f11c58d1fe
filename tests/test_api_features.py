"""OGC API Features against the running service: GDAL's OAPIF client, paging, bbox, CRS, errors."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_server import serve
from openapi_spec_validator import validate
from pyproj import Transformer

from gridgeo.api.app import create_app
from gridgeo.api.deps import dataset
from gridgeo.api.ogc.catalog import catalog_for
from gridgeo.api.ogc.crs import CRS84, EPSG_URI
from gridgeo.api.ogc.openapi import to_openapi30
from gridgeo.api.ogc.params import MAX_LIMIT
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load

EXPECTED_COUNTS = {
    "level1_city": 1,
    "level2_district": 17,
    "level3_street": 3,
    "level4_community": 10,
    "level5_grid": 48,
    "workstations": 2,
}
GEOJSON = "application/geo+json"


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.fixture(scope="module")
def base(data: Dataset) -> Iterator[str]:
    with serve(create_app(data=data)) as url:
        yield url


@pytest.fixture(scope="module")
def http(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client


def expected_counts(data: Dataset) -> dict[str, int]:
    return {**EXPECTED_COUNTS, "partner_zones": len(data.partners)}


def ogrinfo(*args: str) -> str:
    result = subprocess.run(
        ["ogrinfo", "-ro", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    return result.stdout


def codes_by_layer(output: str) -> dict[str, list[str]]:
    """``code`` values per layer from ``ogrinfo -al`` output."""
    out: dict[str, list[str]] = defaultdict(list)
    layer = ""
    for line in output.splitlines():
        match = re.match(r"OGRFeature\((\w+)\):", line)
        if match:
            layer = match.group(1)
        match = re.match(r"\s+code \(String\) = (\S+)", line)
        if match:
            out[layer].append(match.group(1))
    return dict(out)


# --- GDAL's OAPIF driver -------------------------------------------------------------------


def test_ogrinfo_lists_every_collection(base: str, data: Dataset) -> None:
    output = ogrinfo("-so", f"OAPIF:{base}/")
    listed = re.findall(r"^\d+: (\w+) \(title: ", output, flags=re.MULTILINE)
    assert listed == list(expected_counts(data))
    assert "level5_grid (title: Level 5: grid (五级网格)) (Polygon)" in output
    assert "workstations (title: Workstations (城市管理工作站)) (Point)" in output


def test_ogrinfo_reads_every_feature_of_every_collection(base: str, data: Dataset) -> None:
    codes = codes_by_layer(ogrinfo("-al", "-q", f"OAPIF:{base}/"))
    assert {layer: len(c) for layer, c in codes.items()} == expected_counts(data)
    grids = data.grids
    for level in range(1, 6):
        layer = next(name for name in EXPECTED_COUNTS if name.startswith(f"level{level}_"))
        expected = sorted(c for c, lv in zip(grids.codes, grids.levels, strict=True) if lv == level)
        assert codes[layer] == expected  # every code once, in code order
    assert sorted(codes["workstations"]) == sorted(ws.code for ws in data.workstations)
    assert sorted(codes.get("partner_zones", [])) == sorted(p.code for p in data.partners)


def test_ogrinfo_layer_schema_and_extent(base: str, data: Dataset) -> None:
    output = ogrinfo("-so", f"OAPIF:{base}/", "level4_community")
    for field in ("code: String", "name: String", "level: Integer", "parent_code: String"):
        assert field in output
    assert "Feature Count: 10" in output
    bounds = shapely.total_bounds(data.grids.geometries[data.grids.levels == 4])
    extent = re.search(r"Extent: \(([\d.]+), ([\d.]+)\) - \(([\d.]+), ([\d.]+)\)", output)
    assert extent is not None
    assert np.allclose([float(v) for v in extent.groups()], bounds, atol=1e-5)


def test_ogrinfo_spatial_filter_is_sent_as_bbox(base: str, data: Dataset) -> None:
    west, south, east, north = 110.285, 25.270, 110.300, 25.285
    output = ogrinfo(
        "-al", "-q", "-spat", *map(str, (west, south, east, north)), f"OAPIF:{base}/", "level5_grid"
    )
    got = codes_by_layer(output).get("level5_grid", [])
    grids = data.grids
    area = shapely.box(west, south, east, north)
    mask = (grids.levels == 5) & shapely.intersects(grids.geometries, area)
    expected = sorted(np.asarray(grids.codes, dtype=object)[mask])
    assert 0 < len(expected) < 48
    assert sorted(got) == expected


# --- landing page, conformance, OpenAPI -----------------------------------------------------


def test_landing_page_links(http: httpx.Client) -> None:
    response = http.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    links = {link["rel"]: link for link in response.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["data"]["href"] == f"{str(http.base_url).rstrip('/')}/collections"


def test_landing_page_is_html_for_browsers(http: httpx.Client) -> None:
    response = http.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.headers["content-type"].startswith("text/html")
    assert "城市网格化管理" in response.text and "/collections" in response.text
    assert http.get("/?f=html").headers["content-type"].startswith("text/html")
    assert http.get("/health").json()["status"] == "ok"  # /health stays


def test_conformance_classes(http: httpx.Client) -> None:
    classes = http.get("/conformance").json()["conformsTo"]
    for part in (
        "features-1/1.0/conf/core",
        "conf/oas30",
        "conf/geojson",
        "features-2/1.0/conf/crs",
    ):
        assert any(c.endswith(part) for c in classes), part


def test_api_is_a_valid_openapi_30_document(http: httpx.Client) -> None:
    response = http.get("/api")
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = response.json()
    assert doc["openapi"] == "3.0.3"
    validate(doc)
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_LIMIT and limit["schema"]["default"] == 10


def test_openapi_conversion_rewrites_31_constructs() -> None:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "license": {"name": "x", "identifier": "MIT"}},
        "paths": {},
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "properties": {
                        "n": {"anyOf": [{"type": "integer"}, {"type": "null"}], "examples": [3]},
                        "r": {"anyOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]},
                        "c": {"const": "x"},
                        "e": {"type": "number", "exclusiveMinimum": 0},
                        "t": {"type": ["string", "null"]},
                        "f": {"type": "string", "contentMediaType": "application/octet-stream"},
                    },
                },
                "B": {"type": "string"},
            }
        },
    }
    out = to_openapi30(doc)
    props = out["components"]["schemas"]["A"]["properties"]
    assert props["n"] == {"type": "integer", "nullable": True, "example": 3}
    assert props["r"] == {"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": True}
    assert props["c"] == {"enum": ["x"]}
    assert props["e"] == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert props["t"] == {"type": "string", "nullable": True}
    assert props["f"] == {"type": "string", "format": "binary"}
    assert doc["openapi"] == "3.1.0"  # input untouched
    validate(out)


# --- collections and items ------------------------------------------------------------------


def test_collection_document(http: httpx.Client, data: Dataset) -> None:
    doc = http.get("/collections/level5_grid").json()
    assert doc["title"] == "Level 5: grid (五级网格)"
    assert doc["storageCrs"] == EPSG_URI.format(4490)
    assert doc["crs"][0] == CRS84
    assert EPSG_URI.format(4546) in doc["crs"] and EPSG_URI.format(4491) in doc["crs"]
    rels = {link["rel"]: link for link in doc["links"]}
    assert rels["items"]["type"] == GEOJSON
    assert rels["tiles"]["href"].endswith("/tiles/level5_grid/tilejson.json")
    bbox = doc["extent"]["spatial"]["bbox"][0]
    assert np.allclose(bbox, shapely.total_bounds(data.grids.geometries[data.grids.levels == 5]))


def test_items_page_has_counts_links_and_geojson_type(http: httpx.Client) -> None:
    response = http.get("/collections/level5_grid/items")
    assert response.headers["content-type"] == GEOJSON
    assert response.headers["content-crs"] == f"<{CRS84}>"
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == 48 and doc["numberReturned"] == 10
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["timeStamp"])
    rels = [link["rel"] for link in doc["links"]]
    assert "self" in rels and "next" in rels and "prev" not in rels
    props = doc["features"][0]["properties"]
    assert set(props) >= {"code", "name", "level", "level_name", "parent_code"}
    assert doc["features"][0]["id"] == props["code"]
    assert props["level_name"] == "五级网格" and props["level"] == 5


def follow_pages(http: httpx.Client, url: str) -> tuple[list[str], list[dict[str, Any]]]:
    codes: list[str] = []
    pages = []
    while url:
        doc = http.get(url).json()
        pages.append(doc)
        codes += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), "")
    return codes, pages


def test_next_links_reach_every_feature_once(http: httpx.Client, data: Dataset) -> None:
    codes, pages = follow_pages(http, "/collections/level5_grid/items?limit=7")
    expected = sorted(
        c for c, lv in zip(data.grids.codes, data.grids.levels, strict=True) if lv == 5
    )
    assert codes == expected
    assert len(pages) == 7  # 6 full pages and 6 features on the last
    assert all(p["numberMatched"] == 48 for p in pages)
    assert [p["numberReturned"] for p in pages] == [7] * 6 + [6]
    prev = next(link for link in pages[-1]["links"] if link["rel"] == "prev")
    assert "offset=35" in prev["href"]


def test_paging_keeps_the_bbox_filter(http: httpx.Client) -> None:
    params = {"bbox": "110.285,25.270,110.300,25.285", "limit": "2"}
    first = http.get("/collections/level5_grid/items", params=params).json()
    codes, _ = follow_pages(
        http, next(link["href"] for link in first["links"] if link["rel"] == "self")
    )
    assert len(codes) == first["numberMatched"] == len(set(codes))
    assert "bbox=110.285" in next(link["href"] for link in first["links"] if link["rel"] == "next")


def test_limit_above_the_maximum_is_lowered_not_refused(http: httpx.Client) -> None:
    doc = http.get("/collections/level2_district/items", params={"limit": MAX_LIMIT * 5}).json()
    assert doc["numberReturned"] == 17


def test_item_by_code(http: httpx.Client) -> None:
    response = http.get("/collections/level5_grid/items/450302001001002")
    assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
    doc = response.json()
    assert doc["properties"]["name"] == "文明社区第2网格"
    assert doc["properties"]["parent_code"] == "450302001001"
    assert {link["rel"] for link in doc["links"]} == {"self", "collection"}
    station = http.get("/collections/workstations/items/WS450302001001").json()
    assert station["geometry"] == {"type": "Point", "coordinates": [110.3005, 25.2785]}


def test_bbox_filter_matches_shapely(http: httpx.Client, data: Dataset) -> None:
    bbox = (110.29, 25.275, 110.31, 25.29)
    doc = http.get(
        "/collections/level4_community/items", params={"bbox": ",".join(map(str, bbox))}
    ).json()
    mask = (data.grids.levels == 4) & shapely.intersects(data.grids.geometries, shapely.box(*bbox))
    assert sorted(f["id"] for f in doc["features"]) == sorted(
        np.asarray(data.grids.codes, dtype=object)[mask]
    )


# --- Part 2: CRS ------------------------------------------------------------------------------


def stored_ring(data: Dataset, code: str) -> np.ndarray[Any, Any]:
    geom = data.grids.geometries[data.grids.position(code)]
    return np.asarray(geom.exterior.coords)


def test_crs_4490_is_latitude_first(http: httpx.Client, data: Dataset) -> None:
    uri = EPSG_URI.format(4490)
    response = http.get("/collections/level5_grid/items/450302001001002", params={"crs": uri})
    assert response.headers["content-crs"] == f"<{uri}>"
    ring = np.asarray(response.json()["geometry"]["coordinates"][0])
    lonlat = stored_ring(data, "450302001001002")
    assert np.allclose(ring, lonlat[:, ::-1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("epsg", [4546, 4545, 4497])
def test_gauss_kruger_output_matches_pyproj(http: httpx.Client, data: Dataset, epsg: int) -> None:
    """Northing first, as EPSG orders the CGCS2000 Gauss-Kruger axes (pyproj, authority order)."""
    uri = EPSG_URI.format(epsg)
    response = http.get("/collections/level5_grid/items/450302001001002", params={"crs": uri})
    assert response.headers["content-crs"] == f"<{uri}>"
    ring = np.asarray(response.json()["geometry"]["coordinates"][0])
    lonlat = stored_ring(data, "450302001001002")
    authority = Transformer.from_crs(4490, epsg)  # lat, lon in; northing, easting out
    north, east = authority.transform(lonlat[:, 1], lonlat[:, 0])
    assert np.allclose(ring, np.column_stack([north, east]), rtol=0, atol=1e-6)
    assert 2.7e6 < ring[0, 0] < 2.9e6  # Guilin's northing comes first


def test_bbox_in_gauss_kruger_selects_the_grid_there(http: httpx.Client, data: Dataset) -> None:
    code = "450302001001002"
    centre = shapely.centroid(data.grids.geometries[data.grids.position(code)])
    north, east = Transformer.from_crs(4490, 4546).transform(centre.y, centre.x)
    bbox = f"{north - 5},{east - 5},{north + 5},{east + 5}"
    doc = http.get(
        "/collections/level5_grid/items",
        params={"bbox": bbox, "bbox-crs": EPSG_URI.format(4546)},
    ).json()
    assert [f["id"] for f in doc["features"]] == [code]


def test_point_and_line_boxes(http: httpx.Client, data: Dataset) -> None:
    """A box without width or height is the point or line it collapses to, in any CRS."""
    x, y = 110.3005, 25.2785  # inside 450302001001002
    point = http.get("/collections/level5_grid/items", params={"bbox": f"{x},{y},{x},{y}"})
    assert [f["id"] for f in point.json()["features"]] == ["450302001001002"]
    north, east = Transformer.from_crs(4490, 4546).transform(y, x)
    gk = http.get(
        "/collections/level5_grid/items",
        params={"bbox": f"{north},{east},{north},{east}", "bbox-crs": EPSG_URI.format(4546)},
    )
    assert [f["id"] for f in gk.json()["features"]] == ["450302001001002"]


def test_gauss_kruger_box_far_outside_the_zone_is_400(http: httpx.Client) -> None:
    params = {"bbox": "1e300,1e300,2e300,2e300", "bbox-crs": EPSG_URI.format(4546)}
    response = http.get("/collections/level5_grid/items", params=params)
    assert response.status_code == 400
    assert "超出 EPSG:4546 的适用范围" in response.json()["description"]


def test_short_crs_forms_are_accepted(http: httpx.Client) -> None:
    for value in ("EPSG:4490", "[EPSG:4546]", "urn:ogc:def:crs:EPSG::4546", "OGC:CRS84"):
        response = http.get("/collections/workstations/items", params={"crs": value})
        assert response.status_code == 200, value


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": "0"}, "'limit'"),
        ({"limit": "many"}, "'limit'"),
        ({"offset": "-1"}, "'offset'"),
        ({"bbox": "1,2,3"}, "'bbox' = '1,2,3'"),
        ({"bbox": "a,b,c,d"}, "'bbox'"),
        ({"bbox": "110.2,25.3,110.3,25.2"}, "：最小角点位于最大角点的上方或右侧"),
        ({"bbox": "110.3,25.2,110.2,25.3"}, "：不支持跨越 180° 经线的范围框"),
        ({"bbox": "110,95,111,96"}, "：经度或纬度超出范围"),
        ({"bbox": "110,25,nan,26"}, "：数字须为有限值"),
        ({"crs": "EPSG:3857"}, "'crs' = 'EPSG:3857'"),
        ({"bbox": "110,25,111,26", "bbox-crs": "EPSG:9999"}, "'bbox-crs'"),
        ({"filter": "x"}, "'filter'"),
        ({"f": "xml"}, "'f'"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    http: httpx.Client, params: dict[str, str], fragment: str
) -> None:
    response = http.get("/collections/level5_grid/items", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue"
    assert fragment in body["description"]


def test_unknown_collection_and_item_are_404(http: httpx.Client) -> None:
    for url in (
        "/collections/level6_block",
        "/collections/level6_block/items",
        "/collections/level5_grid/items/999",
    ):
        response = http.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "NotFound"
    assert "level6_block" in http.get("/collections/level6_block").json()["description"]


# --- the dataset can be swapped (publish) -----------------------------------------------------


def test_a_new_dataset_object_gets_its_own_catalog(data: Dataset) -> None:
    app = create_app(data=data)
    client = TestClient(app)
    assert client.get("/collections/level5_grid/items").json()["numberMatched"] == 48
    keep = np.flatnonzero(data.grids.levels != 5)[:5]
    swapped = Dataset(data.grids.subset(keep), data.workstations, [], data.settings)
    app.dependency_overrides[dataset] = lambda: swapped  # what publishing a version does
    doc = client.get("/collections/level5_grid/items").json()
    assert doc["numberMatched"] == 0 and doc["features"] == []
    assert client.get("/collections/level1_city/items").json()["numberMatched"] == 1


def test_catalog_is_dropped_with_its_dataset(data: Dataset) -> None:
    import gc

    gc.collect()  # datasets other tests dropped
    before = len(catalog_for)
    temporary = Dataset(data.grids, data.workstations, [], data.settings)
    catalog_for(temporary)
    assert len(catalog_for) == before + 1
    del temporary
    gc.collect()
    assert len(catalog_for) == before


# --- no 5xx on any parameter value ------------------------------------------------------------

_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12)
).map(str)
_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "limit": st.one_of(st.integers(-5, 10**7).map(str), st.text(max_size=5)),
        "offset": st.one_of(st.integers(-5, 10**7).map(str), st.text(max_size=5)),
        "bbox": st.one_of(
            st.lists(_NUMBER, min_size=3, max_size=7).map(",".join), st.text(max_size=20)
        ),
        "bbox-crs": st.sampled_from(["EPSG:4546", "EPSG:4490", "CRS84", "EPSG:4491", "x"]),
        "crs": st.one_of(st.sampled_from(["EPSG:4554", "EPSG:4326", "OGC:CRS84"]), st.text()),
        "f": st.text(max_size=8),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=_PARAMS, collection=st.sampled_from(["level5_grid", "workstations", "x"]))
def test_items_never_fail_with_5xx(
    local: TestClient, params: dict[str, str], collection: str
) -> None:
    response = local.get(f"/collections/{collection}/items", params=params)
    assert response.status_code in (200, 400, 404), (params, response.text)
    if response.status_code != 200:
        assert response.json()["description"]


@pytest.fixture(scope="module")
def local(data: Dataset) -> TestClient:
    return TestClient(create_app(data=data), raise_server_exceptions=False)


def test_parent_code_filter_pages_the_children(http: httpx.Client) -> None:
    params = {"parent_code": "450302001001", "limit": "2"}
    first = http.get("/collections/level5_grid/items", params=params).json()
    codes, _ = follow_pages(
        http, next(link["href"] for link in first["links"] if link["rel"] == "self")
    )
    assert first["numberMatched"] == len(codes) >= 3
    assert all(c.startswith("450302001001") for c in codes)
    empty = http.get("/collections/workstations/items", params={"parent_code": "450302"})
    assert empty.json()["numberMatched"] == 0


def test_queryables_describe_every_property(http: httpx.Client) -> None:
    answer = http.get("/collections/level5_grid/queryables")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/schema+json")
    schema = answer.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/collections/level5_grid/queryables")
    props = schema["properties"]
    assert props["code"]["type"] == "string" and props["level"]["type"] == "integer"
    assert props["geometry"]["format"] == "geometry-polygon"
    links = http.get("/collections/level5_grid").json()["links"]
    assert any(link["rel"].endswith("/queryables") for link in links)
    conformance = http.get("/conformance").json()["conformsTo"]
    assert any(c.endswith("/conf/queryables-query-parameters") for c in conformance)
    assert http.get("/collections/nothing/queryables").status_code == 404


def test_items_are_selected_by_their_queryables(http: httpx.Client, data: Dataset) -> None:
    grids = data.grids
    code = "450302001001001"
    name = grids.names[grids.position_of[code]]
    found = http.get("/collections/level5_grid/items", params={"name": name}).json()
    assert [f["id"] for f in found["features"]] == [code]
    by_parent = http.get(
        "/collections/level5_grid/items", params={"parent_code": code[:12], "level": "5"}
    ).json()
    expected = sorted(c for c, p in zip(grids.codes, grids.parent_codes, strict=True)
                      if p == code[:12])  # fmt: skip
    assert [f["id"] for f in by_parent["features"]] == expected
    none = http.get("/collections/level5_grid/items", params={"level": "four"}).json()
    assert none["numberMatched"] == 0
    refused = http.get("/collections/level5_grid/items", params={"colour": "red"})
    assert refused.status_code == 400 and "colour" in refused.text


def test_owslib_reads_the_queryables_and_filters(base: str) -> None:
    from owslib.ogcapi.features import Features

    service = Features(base)
    queryables = service.collection_queryables("level5_grid")
    assert {"code", "name", "level", "parent_code"} <= set(queryables["properties"])
    page = service.collection_items("level5_grid", parent_code="450302001001", limit=100)
    assert page["numberMatched"] == len(page["features"]) > 0
    assert {f["properties"]["parent_code"] for f in page["features"]} == {"450302001001"}


def test_items_sorted_and_trimmed_to_the_properties_asked(http: httpx.Client) -> None:
    params = {"parent_code": "450302001", "sortby": "-code", "properties": "code,name",
              "limit": "2", "offset": "1"}  # fmt: skip
    page = http.get("/collections/level4_community/items", params=params).json()
    codes = [f["id"] for f in page["features"]]
    everything = http.get(
        "/collections/level4_community/items", params={"parent_code": "450302001"}
    ).json()
    assert codes == sorted((f["id"] for f in everything["features"]), reverse=True)[1:3]
    assert all(list(f["properties"]) == ["code", "name"] for f in page["features"])
    [self_link] = [link for link in page["links"] if link["rel"] == "self"]
    assert "offset=1" in self_link["href"] and "sortby=-code" in self_link["href"]
    for bad in ({"sortby": "colour"}, {"properties": "code,colour"}):
        answer = http.get("/collections/level4_community/items", params=bad)
        assert answer.status_code == 400 and "colour" in answer.text


CQL2_CASES = [
    ("level = 5", None, 48),
    ("name LIKE '文明%'", None, 3),
    ("parent_code IN ('450302001001', '450302001002') AND NOT pilot IS NULL", None, 6),
    ("level BETWEEN 4 AND 5 AND code <> '450302001001001'", None, 47),
    ("S_INTERSECTS(geometry, POINT(110.3005 25.2785))", None, 1),
    ("S_WITHIN(geometry, POLYGON((110 25, 111 25, 111 26, 110 26, 110 25)))", None, 48),
    ('{"op": "=", "args": [{"property": "code"}, "450302001001001"]}', "cql2-json", 1),
    ('{"op": "s_intersects", "args": [{"property": "geometry"},'
     ' {"type": "Point", "coordinates": [110.3005, 25.2785]}]}', "cql2-json", 1),
]  # fmt: skip


@pytest.mark.parametrize(("text", "lang", "matched"), CQL2_CASES)
def test_cql2_filters_select_the_items(
    http: httpx.Client, text: str, lang: str | None, matched: int
) -> None:
    params = {"filter": text, "limit": "1000", **({"filter-lang": lang} if lang else {})}
    answer = http.get("/collections/level5_grid/items", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json()["numberMatched"] == matched


def test_cql2_filter_equals_the_plain_selection(http: httpx.Client, data: Dataset) -> None:
    # the filter and the GEOS reference agree feature for feature
    point = shapely.Point(110.3005, 25.2785)
    found = http.get(
        "/collections/level4_community/items",
        params={"filter": f"S_INTERSECTS(geometry, {point.buffer(0.01).wkt})", "limit": "1000"},
    ).json()
    grids = data.grids
    expected = sorted(
        c for c, lv, g in zip(grids.codes, grids.levels, grids.geometries, strict=True)
        if lv == 4 and g.intersects(point.buffer(0.01))
    )  # fmt: skip
    assert sorted(f["id"] for f in found["features"]) == expected


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "colour = 'red'"}, "没有该属性；可查询属性：code、"),
        ({"filter": "level + 1 = 6"}, "此处不支持"),
        ({"filter": "level = "}, "不是有效的 cql2-text："),
        ({"filter": "level = 5", "filter-lang": "ecql"}, "请使用 cql2-text 或 cql2-json"),
        ({"filter": "level = 5", "filter-crs": "EPSG:4546"}, "filter-crs"),
        ({"filter": "{not json", "filter-lang": "cql2-json"}, "不是有效的 cql2-json："),
        ({"filter": "NOT " * 3000 + "level = 5"}, "'filter'"),
        ({"filter": "x" * 30_000}, "超过 20,000 个字符"),
    ],
)
def test_bad_cql2_filters_are_400_naming_the_problem(
    http: httpx.Client, params: dict[str, str], says: str
) -> None:
    answer = http.get("/collections/level5_grid/items", params=params)
    assert answer.status_code == 400 and says in answer.json()["description"]
    assert len(answer.json()["description"]) < 500  # the filter is echoed, not copied whole
