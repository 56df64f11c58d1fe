"""The store out of reach: 503 with Retry-After from what needs it, answers from memory
from what does not (PostgreSQL gone under a running service)."""

from __future__ import annotations

from conftest import _drop_postgis_database, _fresh_postgis_database
from fastapi.testclient import TestClient

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

POINT = "/v1/lookup?lon=110.2965&lat=25.2775"


def test_database_gone_is_503_while_lookups_answer_from_memory() -> None:
    name, url = _fresh_postgis_database()
    try:
        app = create_app(Settings(store=StoreSettings(database_url=url)))
        store = Store(url)
        key = api_keys.create_key(store, "office", Role.DISPATCHER, actor="test")
        store.close()
        with TestClient(app, raise_server_exceptions=False) as http:
            office = {"X-API-Key": key}
            assert http.get("/v1/cases", headers=office).status_code == 200
            grid = http.get(POINT).json()
            _drop_postgis_database(name)  # the database disappears under the service
            for path in ("/v1/cases", "/v1/versions", "/v1/tasks"):
                r = http.get(path, headers=office)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["Retry-After"] == "5"
                body = r.json()
                assert body["error"] == "StoreUnavailable"
                assert body["detail"].startswith("无法连接数据库：")
                assert url not in body["detail"]  # no connection string in the answer
            r = http.post(
                "/v1/cases",
                json={"lon": 110.2965, "lat": 25.2775, "category": "0505"},
                headers=office,
            )
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            # Open311 answers in its own document, with the status from the same table
            r = http.get("/open311/v2/requests.json", headers=office)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert isinstance(r.json(), list), r.text
            assert r.json()[0]["code"] == 503, r.text
            # the published grids are in memory: lookups go on as before
            for _ in range(3):
                r = http.get(POINT)
                assert r.status_code == 200 and r.json() == grid
    finally:
        _drop_postgis_database(name)


def test_ogc_routes_take_the_status_and_retry_after_from_the_one_table() -> None:
    """No OGC resource reads the store today (the grids are in memory), so the route's
    error answer is called directly, as FastAPI would on a StoreError."""
    from starlette.requests import Request

    from gridgeo.api.ogc.errors import OGCRoute
    from gridgeo.errors import CoordinateError, StoreError

    route = OGCRoute("/collections", endpoint=lambda: None)
    request = Request({"type": "http", "method": "GET", "path": "/collections", "headers": []})
    r = route.answer(request, StoreError("无法连接数据库：连接被拒绝"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert b'"code":"ServiceUnavailable"' in r.body.replace(b" ", b"")
    r = route.answer(request, CoordinateError("lon 200 is out of range"))
    assert r.status_code == 400 and "Retry-After" not in r.headers
    assert b'"code":"InvalidParameterValue"' in r.body.replace(b" ", b"")
