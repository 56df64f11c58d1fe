"""GatedRouter: the gate never changes which route answers a request, only how fast the
routers that cannot answer it are passed over."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match, Mount

from gridgeo.api.app import create_app
from gridgeo.api.route_match import Gate, GatedRouter
from gridgeo.io.dataset import load

SAMPLE_PARAMS = {
    "collectionId": "level5_grid",
    "featureId": "450302001001001",
    "z": "14",
    "x": "13406",
    "y": "7041",
    "version_id": "1",
    "old": "1",
    "new": "1",
    "fmt": "json",
    "service_code": "0505",
    "service_request_id": "1",
    "media_id": "1",
    "case_id": "1",
    "task_id": "1",
    "path": "leaflet.js",
    "name": "swagger-ui.css",
    "tileMatrixSetId": "WebMercatorQuad",
    "tileMatrix": "14",
    "tileRow": "7002",
    "tileCol": "13211",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(data=load())


def route_paths(app: FastAPI) -> list[str]:
    """Every route path of the app's routers with sample values for its parameters."""
    paths = []
    for entry in app.router.routes:
        router = getattr(entry, "original_router", None)
        for route in getattr(router, "routes", [entry]):
            path = getattr(route, "path", None)
            if isinstance(path, str):
                paths.append(re.sub(r"{(\w+)(:\w+)?}", lambda m: SAMPLE_PARAMS[m[1]], path))
    return paths


def probes(app: FastAPI) -> list[str]:
    """Route paths, and near misses: trailing slashes, prefixes, case, junk."""
    out: set[str] = {"/", "", "/nothing", "/v1", "/v1/", "/v1/lookupx", "/tiles", "/map/"}
    for path in route_paths(app):
        out |= {path, path + "/", path.rstrip("/") or "/", path.upper(), path + "x"}
        out |= {path[:cut] for cut in range(1, len(path), 3)}
    return sorted(out)


def ungated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Gate, "admits", lambda self, path: True)


def outcome(app: FastAPI, path: str, method: str) -> tuple[str, int | None]:
    """Which route of the app's table takes (path, method), as FastAPI's loop decides."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    partial = None
    for position, route in enumerate(app.router.routes):
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return "full", position
        if match == Match.PARTIAL and partial is None:
            partial = position
    return ("partial", partial) if partial is not None else ("none", None)


def test_every_router_of_the_app_is_gated_and_included_without_prefix(app: FastAPI) -> None:
    # the gate knows its routes' own paths: a prefix added at inclusion (FastAPI's
    # include context) or by an enclosing router would make it refuse matching paths
    included = [r for r in app.router.routes if hasattr(r, "original_router")]
    assert len(included) >= 7
    for entry in included:
        assert isinstance(entry.original_router, GatedRouter)
        assert entry.include_context.prefix == ""
        assert not any(hasattr(r, "original_router") for r in entry.original_router.routes)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_gate_selects_the_same_route_as_fastapi(
    app: FastAPI, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = probes(app)
    gated = [outcome(app, p, method) for p in paths]
    ungated(monkeypatch)
    plain = [outcome(app, p, method) for p in paths]
    assert len(paths) > 200
    assert gated == plain
    assert sum(kind != "none" for kind, _ in gated) >= 25  # the probes do reach routes


def test_answers_are_the_same_with_and_without_the_gate(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status codes (200, 204, 307 redirects, 401, 404, 405, 422) of real requests."""
    paths = [p for p in probes(app) if p.startswith("/")]

    def statuses() -> Iterator[tuple[str, str, int]]:
        with TestClient(app) as client:
            for path in paths:
                for method in ("GET", "POST"):
                    r = client.request(method, path, follow_redirects=False)
                    yield path, method, r.status_code

    gated = list(statuses())
    ungated(monkeypatch)
    plain = list(statuses())
    assert gated == plain
    codes = {code for _, _, code in gated}
    assert {200, 404, 405}.issubset(codes)


def test_gate_of_fixed_and_parametrised_paths() -> None:
    router = GatedRouter(prefix="/tiles")

    @router.get("/{collectionId}/{z}/{x}/{y}.mvt")
    def tile() -> None: ...

    @router.get("/list")
    def listing() -> None: ...

    gate = router.gate()
    assert gate.exact == {"/tiles/list"}
    assert gate.prefixes == ("/tiles/",)
    assert gate.admits("/tiles/list") and gate.admits("/tiles/a/1/2/3.mvt")
    assert not gate.admits("/tiles") and not gate.admits("/tile/a") and not gate.admits("/")

    @router.get("")
    def root() -> None: ...

    assert router.gate().admits("/tiles")  # rebuilt when a route is added


def test_gate_of_mounts_and_unknown_routes() -> None:
    mount = Gate([Mount("/static", routes=[])])
    assert mount.admits("/static/a.js") and not mount.admits("/other")

    class Odd:  # a route with no path: the gate must let everything through
        pass

    assert Gate([Odd()]).admits("/anything")


def test_a_root_path_behind_a_proxy_still_reaches_the_routes(app: FastAPI) -> None:
    with TestClient(app, root_path="/gridgeo") as client:
        assert client.get("/gridgeo/health/noop").json() == {"status": "ok"}
        r = client.get("/gridgeo/v1/lookup", params={"lon": 110.2965, "lat": 25.2775})
        assert r.status_code == 200
        assert r.json()["grids"][0]["code"] == "450302001001001"
        # the error handlers see the path without the root path too: Open311's own format
        missing = client.get("/gridgeo/open311/v2/nothing.json")
        assert missing.status_code == 404 and missing.json()[0]["code"] == 404


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/cases", "GET, POST"),  # two handlers of one path: both named
        ("/open311/v2/requests.json", "GET, POST"),
        ("/v1/versions", "GET, POST"),
        ("/collections/level5_grid/items", "GET"),
    ],
)
def test_a_405_names_every_method_of_the_path(app: FastAPI, path: str, allowed: str) -> None:
    answer = TestClient(app).request("PATCH", path)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == allowed
