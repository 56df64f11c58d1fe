"""Domain exceptions to HTTP status: the one table, and its handler."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from gridgeo.api.lookup_service import TooManyPointsError
from gridgeo.api.media import MediaError
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import allowed_methods, route_path
from gridgeo.assessment import AssessmentError
from gridgeo.caseflow import ActionInputError, ForbiddenActionError, IllegalActionError
from gridgeo.errors import (
    CodeError,
    ConflictError,
    CoordinateError,
    CRSError,
    FeatureError,
    GridgeoError,
    InputFileError,
    NotFoundError,
    RateLimitError,
    StoreError,
    TooLargeError,
)
from gridgeo.i18n import tr
from gridgeo.pydantic_words import problem_words
from gridgeo.wording import clauses

STATUS_BY_ERROR: dict[type[GridgeoError], int] = {
    CoordinateError: 400,
    CRSError: 400,
    CodeError: 400,
    FeatureError: 422,
    InputFileError: 422,
    NotFoundError: 404,
    TooLargeError: 413,
    TooManyPointsError: 413,
    ConflictError: 409,
    ForbiddenActionError: 403,
    ActionInputError: 400,
    MediaError: 400,
    AssessmentError: 400,
    StoreError: 503,
    RateLimitError: 429,
    GridgeoError: 400,
}


def status_for(exc: GridgeoError) -> int:
    """The status of the nearest class of ``exc`` in the table."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def headers_for(exc: GridgeoError) -> dict[str, str]:
    """The headers an answer to ``exc`` carries in any format: ``Retry-After`` for the
    store out of reach (503) and for a caller over its rate (429)."""
    if isinstance(exc, StoreError):
        return {"Retry-After": str(RETRY_AFTER_S)}
    if isinstance(exc, RateLimitError):
        return {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
    return {}


ProtocolAnswer = Callable[[Request, int, str], Response]
"""An error answer in a protocol's own format: (request, status, message) to a response."""

Protocols = Sequence[tuple[Callable[[str], bool], ProtocolAnswer]]
"""Path families with their own error format: (is the path one of the family, answer)."""


def install(app: FastAPI, protocols: Protocols = ()) -> None:
    """Register the handler that turns any GridgeoError into a JSON 4xx, and the one that
    answers HTTP errors raised outside a route (an unknown path, a method a path does not
    take, a router's key check) in the format of the path's protocol (``protocols``)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GridgeoError)
        # raised before a protocol's route could answer (a dependency: the caller's key
        # looked up in a store that is gone): the protocol's format, the one table's status
        answer = in_protocol(request, protocols, status_for(exc), str(exc), headers_for(exc))
        if answer is not None:
            return answer
        body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
        if isinstance(exc, IllegalActionError):  # a terminal shows what it may do instead
            body["allowed"] = [a.value for a in exc.allowed]
        if isinstance(exc, StoreError):
            return _unavailable(str(exc))
        return SafeJSONResponse(body, status_code=status_for(exc), headers=headers_for(exc))

    app.add_exception_handler(GridgeoError, handle)
    app.add_exception_handler(StarletteHTTPException, protocol_http_errors(protocols))
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(ClientDisconnect, handle_disconnect)
    on_database = database_errors(protocols)
    for raw in (OperationalError, InterfaceError, IntegrityError):
        app.add_exception_handler(raw, on_database)


def in_protocol(
    request: Request,
    protocols: Protocols,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
) -> Response | None:
    """The error in the format of the protocol whose path ``request`` is on, with
    ``headers``; None off every protocol's paths (the caller answers in JSON)."""
    path = route_path(request.scope)
    answer = next((answer for belongs, answer in protocols if belongs(path)), None)
    if answer is None:
        return None
    response = answer(request, status, detail)
    response.headers.update(headers or {})
    return response


def protocol_http_errors(
    protocols: Protocols,
) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    """A handler of HTTP errors: FastAPI's ``{"detail": ...}``, except on the paths of a
    protocol, which answers in its own format (an Open311 client parses an error list
    even for a 405, an OGC client an exception document), keeping the error's headers
    (``Allow``, ``WWW-Authenticate``)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = http_detail(exc)
        if exc.status_code == 405:  # every route of the path, not only the first's
            allow = ", ".join(allowed_methods(request.app.router.routes, request.scope))
            exc = StarletteHTTPException(405, exc.detail, {**(exc.headers or {}), "Allow": allow})
        answer = in_protocol(request, protocols, exc.status_code, detail, exc.headers)
        if answer is not None:
            return answer
        if detail != str(exc.detail):  # Starlette's own words, translated
            exc = StarletteHTTPException(exc.status_code, detail, exc.headers)
        return await http_exception_handler(request, exc)

    return handle


def http_detail(exc: StarletteHTTPException) -> str:
    """The detail of an HTTP error, in the request's language when Starlette or FastAPI
    wrote it (an unknown path, a method a path does not take, a body that does not
    parse); the API's own refusals are written in it already."""
    detail = str(exc.detail)
    if detail == "Not Found":
        return tr("Not Found")
    if detail == "Method Not Allowed":
        return tr("Method Not Allowed")
    if detail == "There was an error parsing the body":
        return tr("There was an error parsing the body")
    return detail


RETRY_AFTER_S = 5  # what a client should wait after a 503 (the store out of reach)


def database_errors(
    protocols: Protocols,
) -> Callable[[Request, Exception], Coroutine[Any, Any, Response]]:
    """A handler of the database errors no rule caught: the store out of reach
    (connection refused, database gone, server restarting) is a 503 with Retry-After,
    while what is served from memory keeps answering; a constraint violated by a
    concurrent write is a 409. On a protocol's paths, in the protocol's format."""

    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, IntegrityError):
            status, error, headers = 409, "ConflictError", {}
            detail = tr(
                "the change conflicts with another made at the same moment; reload and try again"
            )
        else:
            status, error = 503, "StoreUnavailable"
            headers = {"Retry-After": str(RETRY_AFTER_S)}
            detail = tr("the store cannot be reached: {reason}", reason=_first_line(exc))
        answer = in_protocol(request, protocols, status, detail, headers)
        if answer is not None:
            return answer
        body = {"detail": detail, "error": error}
        return SafeJSONResponse(body, status_code=status, headers=headers)

    return handle


def _unavailable(detail: str) -> SafeJSONResponse:
    body = {"detail": detail, "error": "StoreUnavailable"}
    headers = {"Retry-After": str(RETRY_AFTER_S)}
    return SafeJSONResponse(body, status_code=503, headers=headers)


def _first_line(exc: Exception) -> str:
    """The driver's own message, first line, without SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [tr("unknown error")])[0][:300]


async def handle_disconnect(_: Request, __: Exception) -> Response:
    """A client that left while its body was being read: nothing was done and nobody
    waits for an answer. Answered quietly (499, nginx's "client closed request"),
    not logged as a server error."""
    return Response(status_code=499)


async def handle_validation(_: Request, exc: Exception) -> SafeJSONResponse:
    """FastAPI's 422 body, plus ``message``: one sentence naming each bad parameter."""
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    return SafeJSONResponse(
        {
            "detail": jsonable_encoder(problems),
            "error": "RequestValidationError",
            "message": validation_message(problems),
        },
        status_code=422,
    )


def validation_message(problems: Any) -> str:
    """One sentence naming each bad parameter of a RequestValidationError's ``errors()``,
    in the request's language (pydantic's words as
    :func:`~gridgeo.pydantic_words.problem_words` gives them)."""
    return clauses(_describe(p) for p in problems) or tr("invalid request")


def _describe(problem: Any) -> str:
    """``query parameter 'lat': Field required`` from one pydantic error."""
    loc = [str(part) for part in problem.get("loc", ())]
    if len(loc) >= 2 and loc[0] == "query":
        name = tr("query parameter {name!r}", name=loc[1])
    elif len(loc) >= 2 and loc[0] == "path":
        name = tr("path parameter {name!r}", name=loc[1])
    elif len(loc) >= 2 and loc[0] == "header":
        name = tr("header {name!r}", name=loc[1])
    elif loc and loc[0] == "body":
        name = tr("body{fields}", fields="".join(f"[{p}]" for p in loc[1:]))
    else:
        name = ".".join(loc) or tr("request")
    said = problem_words(problem)
    # a missing parameter's "input" is the whole query: nothing of its own to show
    if "input" in problem and loc[:1] != ["body"] and problem.get("type") != "missing":
        return tr(
            "{parameter}: {problem} (got {value!r})",
            parameter=name,
            problem=said,
            value=problem["input"],
        )
    return tr("{parameter}: {problem}", parameter=name, problem=said)


class ProtocolRoute(APIRoute):
    """A route that answers its errors in its own protocol's format (OGC exception
    documents, Open311 error lists) instead of the API's JSON: the exceptions listed in
    ``answered`` go to :meth:`answer`, the others to the app's handlers."""

    answered: ClassVar[tuple[type[Exception], ...]] = (RequestValidationError,)

    def answer(self, request: Request, exc: Exception) -> Response:
        raise NotImplementedError

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except self.answered as exc:
                return self.answer(request, exc)

        return handler
