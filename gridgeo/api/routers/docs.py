"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, with no CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so on an intranet they
stay blank. These serve the same pages with the scripts and styles shipped in
the ``fastapi-offline`` package (Swagger UI 5, ReDoc; its static files only, not
its app factory), from ``/docs/static/``; the one image ReDoc's bundle fetches from
its CDN is pointed at a local file.
"""

from __future__ import annotations

import functools
from pathlib import Path

import fastapi_offline
from fastapi import Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, Response

from gridgeo.api.responses import file_inside
from gridgeo.api.route_match import GatedRouter

router = GatedRouter(include_in_schema=False)
ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
OPENAPI = "/openapi.json"


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs", response_class=HTMLResponse)
def swagger(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{OPENAPI}",
        title="gridgeo API (Swagger UI)",
        oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
        swagger_js_url=f"{root}/docs/static/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs/static/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs/static/favicon.png",
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{OPENAPI}",
        title="gridgeo API (ReDoc)",
        redoc_js_url=f"{root}/docs/static/redoc.standalone.js",
        redoc_favicon_url=f"{root}/docs/static/favicon.png",
        with_google_fonts=False,  # a font CDN is a CDN too
    )


# ReDoc's bundle fetches one image from its CDN (the "powered by" logo); served with
# that address pointed at the local favicon, the page makes no request off the machine.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _redoc_bundle(root: str) -> bytes:
    bundle = (ASSETS / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO, f"{root}/docs/static/favicon.png".encode())


@router.get("/docs/static/{name}", response_model=None)
def asset(request: Request, name: str) -> FileResponse | Response:
    if name == "redoc.standalone.js":
        return Response(_redoc_bundle(_root(request)), media_type="text/javascript")
    return FileResponse(file_inside(ASSETS, name))
