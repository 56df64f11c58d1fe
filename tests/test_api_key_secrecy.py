"""A key given in the query string (``api_key``, as QGIS and Open311 apps send it) works
on every protocol, is never echoed in an error, and never reaches the access log.

A successful OGC page keeps the caller's own query in its ``self`` and ``next`` links,
key included: a client that pages by following ``next`` needs it there."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from gridgeo.api.app import create_app
from gridgeo.api.auth import KeyRedactingFilter, redact_key
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store

URLS = [
    "/collections/level5_grid/items?limit=2",
    "/collections/level5_grid/items?limit=abc",  # a 400 that names the bad parameter
    "/collections/level5_grid/items?f=xml",
    "/collections/level5_grid/items?bogus=1",
    "/collections/level5_grid/items/450302001001002",
    "/collections/level5_grid",
    "/v1/lookup?lon=110.2965&lat=25.2775",
    "/v1/lookup?lon=abc&lat=1",
    "/v1/cases?limit=abc",
    "/open311/v2/requests.json?page=abc",
    "/open311/v2/services.xml",
]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('keys') / 's.sqlite'}"
    app = create_app(
        Settings(store=StoreSettings(database_url=url), api=ApiSettings(anonymous_role="none"))
    )
    key = api_keys.create_key(Store(url), "qgis", Role.VIEWER, actor="test")
    return TestClient(app), key


@pytest.mark.parametrize("url", URLS)
def test_query_key_works_and_is_never_echoed(keyed: tuple[TestClient, str], url: str) -> None:
    http, key = keyed
    join = "&" if "?" in url else "?"
    with http:
        r = http.get(f"{url}{join}api_key={key}")
    assert r.status_code != 401 and r.status_code < 500, r.text
    assert key not in str(r.headers)
    if r.status_code >= 400:
        assert key not in r.text
    if "limit=2" in url:
        assert r.status_code == 200 and len(r.json()["features"]) == 2  # OGC takes the key
    if "bogus" in url:
        assert "'bogus'" in r.text and "api_key" not in r.text


def test_access_log_hides_the_key(
    keyed: tuple[TestClient, str], caplog: pytest.LogCaptureFixture
) -> None:
    assert redact_key("/a?api_key=k1&b=2") == "/a?api_key=***&b=2"
    assert redact_key("/a?b=2&api_key=k1") == "/a?b=2&api_key=***"
    assert redact_key("/a?my_api_key=k1") == "/a?my_api_key=k1"  # another parameter
    access = logging.getLogger("uvicorn.access")
    create_app(keyed[0].app.state.settings)  # a second app: still one filter
    assert sum(isinstance(f, KeyRedactingFilter) for f in access.filters) == 1
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        # uvicorn's own access line: client, method, path with query, version, status
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/v1/x?api_key=s3cret", "1.1", 200
        )
    assert "s3cret" not in caplog.text and "api_key=***" in caplog.text
