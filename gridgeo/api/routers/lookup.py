"""``/v1/lookup``: the grid chain, workstation, staff and partners of a point, or of many.

Both handlers are ``async`` on purpose: their work is a few microseconds of
index lookup plus cached dicts, cheaper than a hop to the thread pool that a
plain ``def`` handler (or dependency) costs on every request.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from gridgeo.api import lookup_models as m
from gridgeo.api.auth import KEY_HEADER, Caller, authorize, caller, presented_key
from gridgeo.api.limits import costly, in_costly_pool
from gridgeo.api.lookup_service import (
    TooManyPointsError,
    lookup_many,
    lookup_one,
    lookup_one_json,
    parse_batch,
    parse_posts,
)
from gridgeo.api.output_crs import OutCrs, in_output_system, output_system
from gridgeo.api.redaction import access_of
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import GatedRouter
from gridgeo.dataset import Dataset
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.roles import Role
from gridgeo.store.schema import MAX_ID


async def viewer_role(request: Request) -> Caller:
    """The viewer-role check (:func:`~gridgeo.api.auth.authorize`) of the key presented."""
    return await authorize(request, Role.VIEWER, presented_key(request))


_KEY = KEY_HEADER.lower().encode("latin-1")


def _header_key(scope: Scope) -> str | None:
    """The X-API-Key header, read from the raw ASGI headers (their names are lower case)."""
    for name, value in scope["headers"]:
        if name == _KEY:
            return bytes(value).decode("latin-1") or None
    return None


def plain_point(raw: bytes) -> tuple[float, float] | None:
    """(lon, lat) of a query string (the ASGI scope's raw ``query_string``) that is exactly
    ``lon=X&lat=Y`` (either order) with plain numbers; None for anything else, which
    :func:`parse_query` checks. The fast path of the commonest request: validating the
    query model costs more than the lookup itself (docs/BENCHMARKS.md)."""
    first, sep, second = raw.partition(b"&")
    if not sep or b"&" in second or b"%" in raw:
        return None
    if first[:4] == b"lat=" and second[:4] == b"lon=":
        first, second = second, first
    if first[:4] != b"lon=" or second[:4] != b"lat=":
        return None
    try:
        return float(first[4:]), float(second[4:])
    except ValueError:
        return None


# The viewer check runs inside the handlers: a router-level dependency costs FastAPI's
# dependency resolution on every request, more than the lookup itself.
router = GatedRouter(prefix="/v1", tags=["lookup"])

LARGE_BATCH = 1000  # points: a batch above runs in the costly pool (gridgeo.api.limits)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": m.ErrorOut, "description": "bad coordinate, CRS, post, category or body"},
    404: {"model": m.ErrorOut, "description": "no such version, or nothing published then"},
    422: {"model": m.ErrorOut, "description": "a parameter failed validation"},
}


async def _data(request: Request, version: int | None, at: datetime | None) -> Dataset:
    """The published data, or (``version``, ``at``) an earlier version's. One held in
    memory answers at once; loading one queries the store and builds its index (seconds,
    memory): a costly request, counted against the caller's limit and run in the costly
    pool, never on the event loop that every other request waits on."""
    if version is not None and at is not None:
        raise GridgeoError(tr("give either version or at, not both"))
    live = request.app.state.live
    if version is None and at is None:
        current: Dataset = live.current
        return current
    if version is None:
        assert at is not None
        version = await run_in_threadpool(live.version_at, at)
    held: Dataset | None = live.cached(version)
    if held is not None:
        return held
    costly(caller(request), request)
    data: Dataset = await in_costly_pool(request, live.as_of, version)
    return data


def _json(content: Any) -> Response:
    # Dicts straight to JSON: response_model stays for the OpenAPI document, the tests and
    # schemathesis check conformance, and requests skip a second validation pass.
    return SafeJSONResponse(content)


def parse_query(request: Request) -> m.LookupQuery:
    """The query of ``GET /v1/lookup``, validated by its model in the handler: declared as
    a FastAPI query model it costs some 50 µs a request more, ten times the lookup
    (docs/BENCHMARKS.md). A problem raises FastAPI's own 422, pydantic's errors under
    ``query``, answered like any route's (:func:`gridgeo.api.errors.handle_validation`).
    The last of repeated values counts, as in ``request.query_params.get``.
    """
    try:
        return m.LookupQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        problems = [{**p, "loc": ("query", *p["loc"])} for p in exc.errors(include_url=False)]
        raise RequestValidationError(problems) from None


@router.get(
    "/lookup",
    summary="Grid chain (五级网格 ... 市), workstation, staff and partners of a point",
    response_model=m.LookupResponse,
    responses={
        **_ERRORS,
        200: {"content": {"application/json": {"example": m.LOOKUP_EXAMPLE}}},
    },
    openapi_extra={"parameters": m.query_parameters(m.LookupQuery)},
)
async def lookup(request: Request) -> Response:
    """Which grid holds the point, at every level, and who is responsible there.

    Names of staff are given to callers whose API role may see them, phone
    numbers to those who may see contacts (``GRIDGEO_STAFF_NAMES_ROLE``,
    ``GRIDGEO_STAFF_CONTACT_ROLE``); otherwise those fields are null.
    """
    scope = request.scope
    point = plain_point(scope.get("query_string", b""))
    if point is not None and _header_key(scope) is None:  # the common request, anonymous
        settings = scope["app"].state.settings
        who = await authorize(request, Role.VIEWER, None)
        see = access_of(who.role, settings)
        body = lookup_one_json(scope["app"].state.live.current, *point, "wgs84", see=see)
        return Response(body, media_type="application/json")
    who = await viewer_role(request)
    query = parse_query(request)
    posts = parse_posts(query.role) if query.role else None
    see = access_of(who.role, request.app.state.settings)
    data = await _data(request, query.version, query.at)
    system = output_system(query.out_crs)
    if query.category is None and system is None:  # the hot path: cached JSON parts
        body = lookup_one_json(data, query.lon, query.lat, query.crs, posts=posts, see=see)
        return Response(body, media_type="application/json")
    answer = lookup_one(
        data, query.lon, query.lat, query.crs, posts=posts, see=see, category=query.category
    )
    return _json(in_output_system(answer, system))


@router.post(
    "/lookup",
    summary=f"Grid chain and workstation of up to {m.MAX_BATCH_POINTS:,} points",
    response_model=m.BatchResponse,
    responses={
        **_ERRORS,
        200: {"content": {"application/json": {"example": m.BATCH_EXAMPLE}}},
        413: {"model": m.ErrorOut, "description": "more points than a request may carry"},
    },
    openapi_extra=m.BATCH_REQUEST_OPENAPI,
)
async def lookup_batch(
    request: Request,
    crs: Annotated[
        str,
        Query(
            description=m.CRS_HELP,
            max_length=40,
            openapi_examples={"wgs84": {"value": "wgs84"}, "gcj02": {"value": "gcj02"}},
        ),
    ] = "wgs84",
    version: Annotated[
        int | None,
        Query(
            description=m.VERSION_HELP,
            ge=1,
            le=MAX_ID,  # what the store's id column holds: larger is a 422, not an overflow
            openapi_examples={"first": {"value": 1}},
        ),
    ] = None,
    at: Annotated[
        datetime | None,
        Query(
            description=m.AT_HELP, openapi_examples={"new year": {"value": "2026-01-01T00:00:00Z"}}
        ),
    ] = None,
    out_crs: OutCrs = None,
) -> Response:
    """Answer each point in input order; a bad point gets ``status: bad_input`` and an
    ``error``, the others are answered all the same.

    Body: a JSON array of ``{"lon", "lat", "id"?}`` objects or a GeoJSON
    FeatureCollection of Points. More than 10,000 points is refused with 413:
    use ``gridgeo assign`` (files of any size) or ``gridgeo.scaleout.assign_dask``
    (docs/SCALING.md).
    """
    await viewer_role(request)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, a 5,000-digit number
        return SafeJSONResponse(
            {
                "detail": tr("body is not valid JSON: {reason}", reason=exc),
                "error": "MalformedBody",
            },
            status_code=400,
        )
    points = parse_batch(body)
    system = output_system(out_crs)
    if len(points.lon) > m.MAX_BATCH_POINTS:
        raise TooManyPointsError(
            tr(
                "{count} points: a request takes at most {most:,}. For more, use `gridgeo "
                "assign FILE -o OUT` (CSV, GeoJSON, GeoParquet of any size) or "
                "gridgeo.scaleout.assign_dask on a Dask cluster (docs/SCALING.md)",
                count=len(points.lon),
                most=m.MAX_BATCH_POINTS,
            )
        )
    data = await _data(request, version, at)
    # off the event loop, so that single lookups go on meanwhile; large batches in the
    # costly pool, so that a few of them at once cannot starve those lookups of the cores
    if len(points.lon) > LARGE_BATCH:
        answer = await in_costly_pool(request, lookup_many, data, points, crs)
    else:
        answer = await run_in_threadpool(lookup_many, data, points, crs)
    if system is not None:
        answer["results"] = [in_output_system(item, system) for item in answer["results"]]
    return _json(answer)
