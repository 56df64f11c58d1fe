"""Domain exceptions to HTTP status: the one table, and its handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gridgeo.api.security import TooLargeError
from gridgeo.errors import (
    CodeError,
    ConflictError,
    CoordinateError,
    CRSError,
    FeatureError,
    GridgeoError,
    InputFileError,
    NotFoundError,
)

STATUS_BY_ERROR: dict[type[GridgeoError], int] = {
    CoordinateError: 400,
    CRSError: 400,
    CodeError: 400,
    FeatureError: 422,
    InputFileError: 422,
    NotFoundError: 404,
    TooLargeError: 413,
    ConflictError: 409,
    GridgeoError: 400,
}


def status_for(exc: GridgeoError) -> int:
    """The status of the nearest class of ``exc`` in the table."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def install(app: FastAPI) -> None:
    """Register the handler that turns any GridgeoError into a JSON 4xx."""

    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GridgeoError)
        return JSONResponse(
            {"detail": str(exc), "error": type(exc).__name__}, status_code=status_for(exc)
        )

    app.add_exception_handler(GridgeoError, handle)
