"""The store out of reach: 503 with Retry-After from what needs it, answers from memory
from what does not (PostgreSQL gone under a running service)."""

from __future__ import annotations

from conftest import _drop_postgis_database, _fresh_postgis_database
from fastapi.testclient import TestClient

from gridgeo.api import security
from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store.core import Store

POINT = "/v1/lookup?lon=110.2965&lat=25.2775"


def test_database_gone_is_503_while_lookups_answer_from_memory() -> None:
    name, url = _fresh_postgis_database()
    try:
        app = create_app(Settings(database_url=url))
        store = Store(url)
        key = security.create_key(store, "office", Role.DISPATCHER, actor="test")
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
            # the published grids are in memory: lookups go on as before
            for _ in range(3):
                r = http.get(POINT)
                assert r.status_code == 200 and r.json() == grid
    finally:
        _drop_postgis_database(name)
