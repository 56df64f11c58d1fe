"""``GET``/``POST /v1/lookup``: chain, workstation, staff, partners, versions, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample

import gridgeo
from gridgeo.api.app import create_app
from gridgeo.api.lookup_models import BatchResponse, LookupResponse
from gridgeo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridgeo.dataset import Dataset
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.schema import utcnow
from gridgeo.store.versions import import_boundaries, publish


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return gridgeo.load()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, sample: Dataset) -> Iterator[dict[str, Any]]:
    """A store-backed app: the sample (v1, seeded) then the redrawn sample published."""
    url = f"sqlite:///{tmp_path_factory.mktemp('lookup') / 's.sqlite'}"
    app = create_app(Settings(store=StoreSettings(database_url=url)))
    v1 = app.state.live.current.version
    time.sleep(0.05)
    between = utcnow()
    time.sleep(0.05)
    store = Store(url)
    draft = import_boundaries(
        store,
        redrawn_sample(sample.grids),
        author="t",
        workstations=sample.workstations,
        commit=True,
    )
    assert draft.version is not None
    publish(store, draft.version.id, actor="t")
    assert app.state.live.refresh()
    with TestClient(app) as client:
        yield {"client": client, "v1": v1, "v2": draft.version.id, "between": between}


@pytest.fixture(scope="module")
def static() -> TestClient:
    """Files (with partners and routing), no store."""
    return TestClient(create_app(data=gridgeo.load()))


EN = {"Accept-Language": "en"}  # for the tests naming English words of the core


def strip_point(sample: Dataset) -> tuple[float, float]:
    p = redraw_strip(sample.grids).representative_point()
    return p.x, p.y


def leaf_point(sample: Dataset, code: str) -> tuple[float, float]:
    p = sample.grids.geometries[sample.grids.position(code)].representative_point()
    return p.x, p.y


def get(client: TestClient, **params: Any) -> Any:
    response = client.get("/v1/lookup", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_get_answers_chain_workstation_staff_and_version(
    history: dict[str, Any], sample: Dataset
) -> None:
    x, y = leaf_point(sample, "450302001001001")
    body = get(history["client"], lon=x, lat=y)
    LookupResponse.model_validate(body)
    assert [g["level"] for g in body["grids"]] == [5, 4, 3, 2, 1]
    assert body["grids"][0]["code"] == "450302001001001"
    assert body["workstation"]["code"] == "WS450302001001"
    assert body["version"] == history["v2"]
    assert [s["grid"]["code"] for s in body["staff"]] == [g["code"] for g in body["grids"]]
    people = body["staff"][0]["people"]
    assert people and people[0]["role"] == "leader"
    # defaults: anonymous acts as viewer, who sees names but not phone numbers
    assert body["staff_names"] and not body["staff_contacts"]
    assert all(p["name"] and p["phone"] is None for s in body["staff"] for p in s["people"])


def test_version_and_at_answer_from_history(history: dict[str, Any], sample: Dataset) -> None:
    x, y = strip_point(sample)
    client = history["client"]
    assert get(client, lon=x, lat=y)["grids"][0]["code"] == REDRAWN_GRIDS[0]
    old = get(client, lon=x, lat=y, version=history["v1"])
    assert old["grids"][0]["code"] == REDRAWN_GRIDS[1] and old["version"] == history["v1"]
    at = get(client, lon=x, lat=y, at=history["between"].isoformat())
    assert at["version"] == history["v1"]
    batch = client.post(f"/v1/lookup?version={history['v1']}", json=[{"lon": x, "lat": y}])
    assert batch.json()["results"][0]["grids"][0]["code"] == REDRAWN_GRIDS[1]


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"version": 999}, 404, "999"),
        ({"version": 1, "at": "2026-01-01T00:00:00Z"}, 400, "either version or at"),
        ({"at": "2000-01-01T00:00:00Z"}, 404, "no boundaries version was published"),
        ({"at": "yesterday"}, 422, "'at'"),
        ({"version": "two"}, 422, "'version'"),
    ],
)
def test_bad_version_or_date(
    history: dict[str, Any], params: dict[str, Any], status: int, fragment: str
) -> None:
    response = history["client"].get(
        "/v1/lookup", params={"lon": 110.2965, "lat": 25.2775} | params, headers=EN
    )
    assert response.status_code == status
    body = response.json()
    assert fragment in str(body.get("message") or body["detail"])


def test_gcj02_and_bd09_inputs_land_in_the_same_grid(
    history: dict[str, Any], sample: Dataset
) -> None:
    client = history["client"]
    for code in ("450302001001002", "450302001002003"):
        x, y = leaf_point(sample, code)
        gx, gy = wgs84_to_gcj02(x, y)
        bx, by = wgs84_to_bd09(x, y)
        for crs, (px, py) in {"wgs84": (x, y), "gcj02": (gx, gy), "bd09": (bx, by)}.items():
            body = get(client, lon=float(px), lat=float(py), crs=crs)
            assert body["grids"][0]["code"] == code, crs
            assert body["point"]["lon"] == pytest.approx(x, abs=1e-6)
    assert get(client, lon=x, lat=y, crs="Baidu")["input"]["crs"] == "bd09"


def test_role_filters_staff_by_post(history: dict[str, Any], sample: Dataset) -> None:
    x, y = leaf_point(sample, "450302001001001")
    client = history["client"]
    leaders = get(client, lon=x, lat=y, role="leader")["staff"]
    assert {p["role"] for s in leaders for p in s["people"]} == {"leader"}
    mixed = get(client, lon=x, lat=y, role="网格员,deputy")["staff"]
    assert {p["role"] for s in mixed for p in s["people"]} == {"member", "deputy"}
    response = client.get("/v1/lookup", params={"lon": x, "lat": y, "role": "boss"})
    assert response.status_code == 400 and "boss" in response.json()["detail"]


def test_query_string_is_read_as_starlette_reads_it(static: TestClient) -> None:
    # the plainest query takes a fast path, the others the query model: escapes, repeats
    # (the last wins) and unknown parameters come out as from request.query_params
    want = static.get("/v1/lookup?lon=110.2965&lat=25.2775").json()
    for query in (
        "lon=110%2E2965&lat=25.2775",  # an escaped digit
        "lon=1&lat=25.2775&lon=110.2965",  # repeated: the last value
        "lon=110.2965&lat=25.2775&utm_source=x",  # an unknown parameter is ignored
        "lat=25.2775&crs=%20WGS84%20&lon=110.2965",  # escaped blanks around an alias
    ):
        response = static.get(f"/v1/lookup?{query}")
        assert response.status_code == 200, (query, response.text)
        body = response.json()
        assert body["grids"] == want["grids"] and body["point"] == want["point"], query
    response = static.get("/v1/lookup?lon=110.2965&lat=")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "query",
        "lat",
    ]


def test_names_and_phones_follow_the_callers_role(tmp_path: Path, sample: Dataset) -> None:
    settings = Settings(
        store=StoreSettings(database_url=f"sqlite:///{tmp_path / 's.sqlite'}"),
        api=ApiSettings(staff_names_role="planner"),
    )
    client = TestClient(create_app(settings, data=sample))
    body = get(client, lon=110.2965, lat=25.2775)
    assert not body["staff_names"] and not body["staff_contacts"]
    assert all(p["name"] is None and p["phone"] is None for s in body["staff"] for p in s["people"])


def test_partners_and_dispatch_with_category(static: TestClient) -> None:
    plain = get(static, lon=110.2965, lat=25.2775)
    assert plain["dispatch"] is None and plain["partners"]
    assert all(p["reason"] is None for p in plain["partners"])
    routed = get(static, lon=110.2965, lat=25.2775, category="0505")
    LookupResponse.model_validate(routed)
    assert routed["dispatch"]["category"]["code"] == "0505"
    assert routed["partners"] and all(
        "0505" in p["reason"] or p["rule"] for p in routed["partners"]
    )
    assert {p["code"] for p in routed["partners"]} <= {p["code"] for p in plain["partners"]}
    unknown = static.get("/v1/lookup", params={"lon": 110.2965, "lat": 25.2775, "category": "x"})
    assert unknown.status_code == 400 and "x" in unknown.json()["detail"]


def test_outside_every_grid_has_empty_chain(static: TestClient) -> None:
    body = get(static, lon=100.0, lat=30.0)
    assert body["grids"] == [] and body["staff"] == [] and body["workstation"] is None
    LookupResponse.model_validate(body)


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"lon": 25.28, "lat": 110.29}, 400, "swapped"),
        ({"lon": 110.3, "lat": 95}, 400, "latitude"),
        ({"lon": 190, "lat": 25}, 400, "longitude"),
        ({"lon": "nan", "lat": 25}, 400, "NaN"),
        ({"lon": "inf", "lat": 25}, 400, "not finite"),
        ({"lon": 110.3, "lat": 25.3, "crs": "xyz"}, 400, "xyz"),
        ({"lon": 110.3}, 422, "query parameter 'lat': Field required"),
        ({"lon": "abc", "lat": 25}, 422, "query parameter 'lon'"),
        ({"lon": 110.3, "lat": 25.3, "crs": "x" * 41}, 422, "'crs'"),
    ],
)
def test_bad_get_input_is_4xx_naming_the_problem(
    static: TestClient, params: dict[str, Any], status: int, fragment: str
) -> None:
    response = static.get("/v1/lookup", params=params, headers=EN)
    assert response.status_code == status
    body = response.json()
    assert fragment in (body.get("message") or body["detail"])


def test_post_answers_in_input_order_with_per_point_errors(static: TestClient) -> None:
    points: list[Any] = [
        {"id": "a", "lon": 110.2965, "lat": 25.2775},
        {"id": "b", "lon": 25.2775, "lat": 110.2965},
        {"id": 3, "lon": "x", "lat": 25.0},
        {"lat": 25.0},
        7,
        {"id": "f", "lon": float("nan"), "lat": 25.0},
        {"id": "out", "lon": 100.0, "lat": 30.0},
    ]
    response = static.post("/v1/lookup", json=[*points[:5], points[6]], headers=EN)
    assert response.status_code == 200, response.text
    body = response.json()
    BatchResponse.model_validate(body)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == [
        "ok", "bad_input", "bad_input", "bad_input", "bad_input", "unassigned",
    ]  # fmt: skip
    assert results[0]["id"] == "a" and results[0]["grids"][0]["code"].startswith("450302001001")
    assert "swapped" in results[1]["error"]
    assert "numbers" in results[2]["error"] and results[2]["id"] == 3
    assert "missing lon" in results[3]["error"]
    assert "object" in results[4]["error"]
    assert body["counts"] == {"ok": 1, "unassigned": 1, "bad_input": 4}
    nan = static.post(
        "/v1/lookup",
        content=b'[{"lon": NaN, "lat": 25}]',
        headers={"content-type": "application/json"} | EN,
    )
    assert nan.status_code == 200 and "NaN" in nan.json()["results"][0]["error"]


def test_post_geojson_feature_collection(static: TestClient) -> None:
    here = [110.2965, 25.2775]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "p1", "geometry": {"type": "Point", "coordinates": here}},
            {"type": "Feature", "id": "p2", "geometry": {"type": "LineString", "coordinates": []}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1]}},
        ],
    }  # fmt: skip
    body = static.post("/v1/lookup", json=fc, params={"crs": "gcj02"}).json()
    assert body["crs"] == "gcj02"
    assert [r["status"] for r in body["results"]] == ["ok", "bad_input", "bad_input"]
    assert "Point" in body["results"][1]["error"] and body["results"][1]["id"] == "p2"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[{", "请求体不是有效的 JSON："),
        (b"\xff\xfe", "请求体不是有效的 JSON："),
        (b'{"lon": 1}', "JSON 数组"),
        (b'{"type": "Feature"}', "GeoJSON 类型 'Feature'：请发送由点组成的 FeatureCollection"),
        (b'{"type": "FeatureCollection", "features": 3}', "'features' 须为数组"),
        (b"[" * 100_000, "请求体不是有效的 JSON："),
    ],
)
def test_malformed_bodies_are_4xx_with_messages(
    static: TestClient, content: bytes, fragment: str
) -> None:
    response = static.post(
        "/v1/lookup", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_more_than_10000_points_is_413_pointing_to_assign(static: TestClient) -> None:
    points = [{"lon": 110.2965, "lat": 25.2775}] * 10_001
    response = static.post("/v1/lookup", json=points)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("10001 个点位：一次请求至多 10,000 个。")
    assert "gridgeo assign" in response.json()["detail"] and "Dask" in response.json()["detail"]
    assert static.post("/v1/lookup", json=points[:10_000]).status_code == 200


def test_batch_agrees_with_single_lookups(static: TestClient, sample: Dataset) -> None:
    grids = sample.grids.geometries[sample.grids.levels == 4]
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids)
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(xmin, xmax, 150), rng.uniform(ymin, ymax, 150)
    body = static.post(
        "/v1/lookup", json=[{"lon": x, "lat": y} for x, y in zip(xs, ys, strict=True)]
    ).json()
    for x, y, result in zip(xs, ys, body["results"], strict=True):
        one = get(static, lon=x, lat=y)
        assert [g["code"] for g in result["grids"]] == [g["code"] for g in one["grids"]]
        core = sample.lookup(x, y)
        assert [g["code"] for g in one["grids"]] == [g.code for g in core.grids]


def test_validation_errors_elsewhere_name_the_parameter(static: TestClient) -> None:
    body = static.get("/map/staff").json()
    assert "查询参数 'codes'" in body["message"] and body["detail"][0]["loc"] == [
        "query",
        "codes",
    ]


def test_the_query_is_its_model_in_the_document_and_in_the_refusals(static: TestClient) -> None:
    """GET's parameters are LookupQuery's fields; a value it refuses is FastAPI's 422, one
    pydantic error per parameter under ``query``."""
    from gridgeo.api.lookup_models import LookupQuery
    from gridgeo.store.schema import MAX_ID

    doc = static.app.openapi()["paths"]["/v1/lookup"]["get"]["parameters"]
    assert [p["name"] for p in doc] == list(LookupQuery.model_fields)
    version = next(p for p in doc if p["name"] == "version")["schema"]["anyOf"][0]
    assert version == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    point = {"lon": 110.2965, "lat": 25.2775}
    for bad in (0, MAX_ID + 1, "9" * 5000):
        r = static.get("/v1/lookup", params=point | {"version": bad}, headers=EN)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "version"]
    r = static.get("/v1/lookup", params={"lat": "x", "role": "r" * 201}, headers=EN)
    problems = {tuple(p["loc"]): p["type"] for p in r.json()["detail"]}
    assert problems == {
        ("query", "lon"): "missing",
        ("query", "lat"): "float_parsing",
        ("query", "role"): "string_too_long",
    }


def test_plain_point_reads_only_the_plainest_query() -> None:
    from gridgeo.api.routers.lookup import plain_point

    assert plain_point(b"lon=110.2965&lat=25.2775") == (110.2965, 25.2775)
    assert plain_point(b"lat=25.2775&lon=110.2965") == (110.2965, 25.2775)
    for other in (
        b"lon=110.2965",  # lat missing: the full parse names it
        b"lon=110.2965&lat=25.2775&crs=gcj02",
        b"lon=110%2E2965&lat=25.2775",
        b"lon=x&lat=25.2775",
        b"lon=110.2965&lat=25.2775&",
        b"lat=1&lat=2",
        b"",
    ):
        assert plain_point(other) is None, other


ANSWER_KEYS = [
    "input", "point", "version", "grids", "workstation", "nearest",
    "staff", "staff_names", "staff_contacts", "partners", "dispatch",
]  # fmt: skip


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_fast_answer_is_the_full_answer_whose_point_and_place_are_the_cores(
    sample: Dataset, crs: str
) -> None:
    """The fast path (cached JSON parts) writes exactly the dict path's answer, and the
    point and place members of that answer are the core's LookupResult.to_dict()."""
    from gridgeo.api.lookup_service import HIDDEN, lookup_one, lookup_one_json, parse_posts

    see_all = type(HIDDEN)(names=True, contacts=True)
    grids = sample.grids.geometries[sample.grids.levels == 4]
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids)
    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(xmin, xmax, 40).tolist(), rng.uniform(ymin, ymax, 40).tolist()
    points = [*zip(xs, ys, strict=True), (100.0, 30.0), (110.2965, 25.2775)]
    shift = {"wgs84": lambda x, y: (x, y), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[crs]
    for i, (x, y) in enumerate(points):
        lon, lat = (float(v) for v in shift(x, y))
        posts = parse_posts("leader") if i % 2 else None
        see = see_all if i % 3 else HIDDEN
        full = lookup_one(sample, lon, lat, crs, posts=posts, see=see)
        assert list(full) == ANSWER_KEYS
        fast = lookup_one_json(sample, lon, lat, crs, posts=posts, see=see)
        assert fast == json.dumps(full, ensure_ascii=False, separators=(",", ":")).encode()
        core = sample.lookup(lon, lat, crs).to_dict()
        assert {key: full[key] for key in core} == core
