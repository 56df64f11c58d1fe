"""Every route declares the role it needs through the one mechanism (``auth.require``, by
the aliases of ``gridgeo.api.deps`` or a router's dependencies), or is public on purpose:
a new route cannot forget its check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from gridgeo.api.app import create_app
from gridgeo.api.auth import required_role
from gridgeo.io.dataset import load
from gridgeo.roles import Role
from gridgeo.settings import ApiSettings, Settings

PUBLIC = {
    "/health",  # probes of load balancers and orchestrators carry no key
    "/health/noop",
    "/openapi.json",  # the API's description, like /docs
    "/docs",
    "/docs/oauth2-redirect",
    "/docs/static/{name}",
    "/redoc",
}
"""Paths any caller may read, whatever ``GRIDGEO_ANONYMOUS_ROLE`` says."""

CHECKED_IN_HANDLER = {("GET", "/v1/lookup"): Role.VIEWER, ("POST", "/v1/lookup"): Role.VIEWER}
"""The lookup's handlers call ``auth.authorize`` themselves: a dependency costs more than
the lookup (docs/BENCHMARKS.md). Checked below by asking them."""

ROLES = {
    ("GET", "/v1/versions"): Role.VIEWER,
    ("POST", "/v1/versions"): Role.PLANNER,
    ("POST", "/v1/versions/{version_id}/publish"): Role.PLANNER,
    ("GET", "/v1/versions/{old}/diff/{new}"): Role.PLANNER,
    ("POST", "/v1/cases"): Role.REPORTER,
    ("POST", "/v1/cases/{case_id}/actions"): Role.HANDLER,
    ("GET", "/collections"): Role.VIEWER,
    ("GET", "/map/staff"): Role.VIEWER,
    ("GET", "/open311/v2/services.{fmt}"): Role.VIEWER,
    ("POST", "/open311/v2/requests.{fmt}"): Role.REPORTER,
    ("GET", "/v1/events"): Role.VIEWER,
    ("GET", "/v1/assessment"): Role.VIEWER,
}
"""A sample of what routes need (docs/SECURITY.md), so that a role lowered by mistake shows."""


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(data=load())


def routes(app: FastAPI) -> Iterator[BaseRoute]:
    """Every route of the app, its routers' included."""
    for entry in app.router.routes:
        router = getattr(entry, "original_router", None)
        yield from getattr(router, "routes", [entry])


def declared_roles(dependant: Dependant) -> set[Role]:
    """The roles the dependencies of ``dependant`` (at any depth) let through."""
    found = set()
    for sub in dependant.dependencies:
        role = required_role(sub.call)
        if role is not None:
            found.add(role)
        found |= declared_roles(sub)
    return found


def route_roles(app: FastAPI) -> tuple[dict[tuple[str, str], Role], list[object]]:
    """The role of each (method, path) with exactly one role check, and the routes without."""
    seen: dict[tuple[str, str], Role] = {}
    undeclared: list[object] = []
    for route in routes(app):
        path = getattr(route, "path", "")
        if not isinstance(route, APIRoute):  # /openapi.json
            if path not in PUBLIC:
                undeclared.append(path)
            continue
        roles = declared_roles(route.dependant)
        for method in route.methods:
            if path in PUBLIC or (method, path) in CHECKED_IN_HANDLER:
                assert not roles, (method, path, roles)  # a public route checks nothing
            elif len(roles) != 1:
                undeclared.append((method, path, roles))
            else:
                (seen[(method, path)],) = roles
    return seen, undeclared


def test_every_route_declares_its_role_or_is_public(app: FastAPI) -> None:
    seen, undeclared = route_roles(app)
    assert not undeclared, f"routes without exactly one role check (auth.require): {undeclared}"
    assert len(seen) > 40
    for endpoint, role in ROLES.items():
        assert seen[endpoint] is role, endpoint
    declared = {p for r in routes(app) if isinstance(p := getattr(r, "path", None), str)}
    assert PUBLIC <= declared, PUBLIC - declared  # the public list names real paths only


def test_a_route_that_forgets_its_role_is_caught() -> None:
    app = create_app(data=load())

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    assert route_roles(app)[1] == [("GET", "/v1/forgotten", set())]


def test_the_routes_checked_in_their_handlers_refuse(app: FastAPI) -> None:
    """The lookup's own check is the one decision: 401 when anonymous callers have no role."""
    settings = Settings(api=ApiSettings(anonymous_role="none"))
    with TestClient(create_app(settings, data=load())) as client:
        for method, path in CHECKED_IN_HANDLER:
            r = client.request(method, path, params={"lon": 110.2965, "lat": 25.2775}, json=[])
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"].startswith("ApiKey")
        assert client.get("/health").status_code == 200
