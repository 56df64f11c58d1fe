"""HTTP route matching: ``GatedRouter``, an APIRouter the app passes over in one string
test when no route of it can match the request's path; the path routes match against;
the methods a path takes (a 405's ``Allow``).

(Not :mod:`gridgeo.routing`, the routing table that sends report categories to units.)

FastAPI (0.16x) keeps each included router as a unit and, for every request, asks
each router in turn to match the path against each of its routes (about 2 µs a
route here). A tile or Open311 request, whose router comes late in the table,
paid some 80-100 µs of matching before its handler ran (docs/BENCHMARKS.md).
The gate answers "no match" at once for a path that is neither one of the
router's fixed paths nor starts with the fixed part (up to the first ``{``) of
one of its parametrised paths: no route of the router could match it anyway.
Any other path goes through FastAPI's own matching, so path parameters, 405
Method Not Allowed and the trailing-slash redirect behave exactly as before.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match, Mount
from starlette.types import Scope


def route_path(scope: Scope) -> str:
    """The path routes match against: the ASGI ``path`` without the ``root_path`` the app
    is mounted at (the ASGI spec: ``path`` includes it), as Starlette's routing takes it.

    Examples
    --------
    >>> route_path({"path": "/gridgeo/v1/lookup", "root_path": "/gridgeo"})
    '/v1/lookup'
    >>> route_path({"path": "/gridgeo", "root_path": "/gridgeo"})
    ''
    >>> route_path({"path": "/gridgeox/v1", "root_path": "/gridgeo"})  # not under it
    '/gridgeox/v1'
    >>> route_path({"path": "/v1/lookup"})
    '/v1/lookup'
    """
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


class Gate:
    """The paths a set of routes can match: fixed paths, and the fixed starts of the others.

    ``None`` for ``prefixes`` means "anything" (a route whose path is unknown,
    such as a nested router): then the gate lets every path through.
    """

    def __init__(self, routes: list[Any]) -> None:
        exact: set[str] = set()
        prefixes: set[str] = set()
        self.open = False
        for route in routes:
            path = getattr(route, "path", None)
            if not isinstance(path, str):
                self.open = True
                continue
            if isinstance(route, Mount):
                prefixes.add(path)
            elif "{" in path:
                prefixes.add(path[: path.index("{")])
            else:
                exact.add(path)
        self.exact = frozenset(exact)
        self.prefixes = tuple(sorted(prefixes))
        self.size = len(routes)

    def admits(self, path: str) -> bool:
        """Whether some route might match ``path`` (never False for a path one matches)."""
        return self.open or path in self.exact or path.startswith(self.prefixes)


class GatedRouter(APIRouter):
    """An ``APIRouter`` whose ``matches`` first asks its :class:`Gate`.

    Include it in the app without an extra ``prefix`` and not inside a router that
    has one (give the prefix to this router itself): the gate knows the routes' own
    paths, not a prefix added at inclusion (tests/test_api_route_match.py checks the
    app's wiring). The gate is rebuilt when routes are added; replacing a route by
    another after inclusion is not supported.
    """

    _gate: Gate | None = None

    def gate(self) -> Gate:
        """The gate of the current routes (rebuilt when routes were added)."""
        gate = self._gate
        if gate is None or gate.size != len(self.routes):
            gate = self._gate = Gate(self.routes)
        return gate

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and not self.gate().admits(route_path(scope)):
            return Match.NONE, {}
        return super().matches(scope)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(routes: list[Any], scope: Scope) -> list[str]:
    """The methods some route answers on the request's path: a 405's ``Allow``.

    Starlette answers a 405 from the first route whose path matches, so a path served
    by several routes (GET and POST of ``/v1/cases`` in separate handlers) would name
    only the first one's methods; asking every route, method by method, names them all.
    """
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]
