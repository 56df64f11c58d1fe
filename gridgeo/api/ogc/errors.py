"""OGC exception documents (``{"code", "description"}``) and the route class returning them.

OGC API Features wants 400 for an invalid parameter and 404 for an unknown
collection or feature, with a JSON exception body. FastAPI answers its own
parameter validation with 422, and the app-wide handler writes
``{"detail", "error"}``; :class:`OGCRoute` turns both into OGC exceptions for
the Features and tiles routes only, so other routers keep their behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError

from gridgeo.api.errors import ProtocolRoute, headers_for, status_for
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.wording import clauses, listing

EXCEPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code"],
    "properties": {
        "code": {"type": "string"},
        "description": {"type": "string"},
        "detail": {"type": "string"},
    },
}
"""The OGC exception schema (``exception.yaml``); ``detail`` repeats the
description under the name the rest of the gridgeo API uses."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "A parameter is invalid; the description names it.",
        "content": {"application/json": {"schema": EXCEPTION_SCHEMA}},
    },
    404: {
        "description": "No such collection, feature or tile.",
        "content": {"application/json": {"schema": EXCEPTION_SCHEMA}},
    },
}
"""OpenAPI ``responses`` entries for the routes using :class:`OGCRoute`."""


class OGCError(Exception):
    """An error answered as an OGC exception document.

    Parameters
    ----------
    status
        HTTP status (400 invalid parameter, 404 not found).
    code
        OGC exception code, e.g. ``InvalidParameterValue`` or ``NotFound``.
    description
        Message for people; names the bad parameter or resource.
    """

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


def invalid_parameter(name: str, value: object, problem: str) -> OGCError:
    """A 400 naming the parameter and the value given."""
    return OGCError(
        400,
        "InvalidParameterValue",
        tr("parameter {name!r} = {value!r}: {problem}", name=name, value=value, problem=problem),
    )


def not_found(description: str) -> OGCError:
    """A 404 for an unknown collection, feature or tile."""
    return OGCError(404, "NotFound", description)


def no_collection(collection_id: str, known: Iterable[str] = ()) -> OGCError:
    """A 404 for an unknown collection, listing the ``known`` ones when given."""
    names = listing(known)
    if names:
        return not_found(
            tr(
                "no collection {collection!r}; collections: {known}",
                collection=collection_id,
                known=names,
            )
        )
    return not_found(tr("no collection {collection!r}", collection=collection_id))


def exception_response(
    status: int, code: str, description: str, headers: Mapping[str, str] | None = None
) -> SafeJSONResponse:
    """The JSON exception document."""
    body = {"code": code, "description": description, "detail": description}
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _code(status: int) -> str:
    """The exception code of a status: the OGC names for 400 and 404, else the status's
    own name without spaces (``ServiceUnavailable``, ``TooManyRequests``)."""
    codes = {400: "InvalidParameterValue", 404: "NotFound"}
    try:
        return codes.get(status) or "".join(HTTPStatus(status).phrase.split())
    except ValueError:  # a status without a standard name
        return f"HTTP{status}"


def _validation_message(errors: Sequence[Any]) -> str:
    """One line per invalid parameter: ``parameter 'limit' = '0': ...``."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path")]
        parts.append(
            tr(
                "parameter {name!r} = {value!r}: {problem}",
                name=".".join(loc) or tr("request"),
                value=err.get("input"),
                problem=err.get("msg") or tr("invalid"),
            )
        )
    return clauses(parts) or tr("invalid request")


OGC_PATHS = ("/", "/api", "/conformance", "/collections", "/tileMatrixSets")
"""The OGC API paths (landing page, definition, conformance, Features and Tiles)."""


def is_ogc_path(path: str) -> bool:
    """Whether ``path`` is one of the OGC API's, or under one (``/tiles/`` included)."""
    return path in OGC_PATHS or path.startswith(("/collections/", "/tileMatrixSets/", "/tiles/"))


def http_error(_: Request, status: int, message: str) -> Response:
    """An HTTP error on an OGC path (an unknown collection path, a method it does not
    take, a missing key) as an exception document; the code is the status's name."""
    return exception_response(status, _code(status), message)


class OGCRoute(ProtocolRoute):
    """A route whose errors are OGC exception documents with 400/404 statuses."""

    answered = (RequestValidationError, OGCError, GridgeoError)

    def answer(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestValidationError):
            message = _validation_message(exc.errors())
            return exception_response(400, "InvalidParameterValue", message)
        if isinstance(exc, OGCError):
            return exception_response(exc.status, exc.code, exc.description)
        if not isinstance(exc, GridgeoError):  # not in `answered`: cannot happen
            raise exc
        status = status_for(exc)  # the one table: 503 for the store out of reach, ...
        return exception_response(status, _code(status), str(exc), headers_for(exc))
