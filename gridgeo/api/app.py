"""The FastAPI application factory (``create_app(settings)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from gridgeo import __version__
from gridgeo.api import errors, lookup_service, openapi_doc
from gridgeo.api.auth import KEY_HEADER, redact_keys_in_access_log
from gridgeo.api.body_limit import BodySizeLimit
from gridgeo.api.language import RequestLanguage
from gridgeo.api.limits import CallerLimits, CostlyPool
from gridgeo.api.ogc import errors as ogc_errors
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.routers import (
    assessment,
    cases,
    docs,
    edits,
    events,
    features,
    health,
    lookup,
    ogc_tiles,
    open311,
    tiles,
    versions,
    viewer,
)
from gridgeo.dataset import Dataset
from gridgeo.notify import WebhookWorker
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.live import LiveDataset, StaticData
from gridgeo.store.seed import seed_if_empty


def create_app(settings: Settings | None = None, data: Dataset | None = None) -> FastAPI:
    """Build the app.

    With ``data`` the app serves that fixed Dataset. Without, it opens the store
    at ``settings.store.database_url`` (seeding an empty one with the sample data when
    ``seed_sample``), serves the published versions and follows new
    publications (``gridgeo.store.live``).
    """
    settings = settings or Settings()
    live: LiveDataset | StaticData
    if data is not None:
        live = StaticData(data)
    else:
        store = Store(settings.store.database_url)
        if settings.store.seed_sample:
            seed_if_empty(store, settings)
        live = LiveDataset(store, settings, warm=lookup_service.warm)
    # outbox to webhooks (gridgeo.notify); checks GRIDGEO_WEBHOOKS now, runs only if set
    webhooks = WebhookWorker(live.store, settings) if live.store is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        live.start()
        lookup_service.warm(live.current)  # the first lookup should not pay the index build
        if webhooks is not None:
            webhooks.start()
        try:
            yield
        finally:
            if webhooks is not None:
                await webhooks.stop()
            live.stop()

    app = FastAPI(
        title="gridgeo",
        version=__version__,
        description="Spatial service for urban grid management (城市网格化管理).",
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,  # renders whatever a request held
        docs_url=None,  # FastAPI's pages load from a CDN: routers/docs.py serves them offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.live = live
    app.state.store = live.store
    app.state.webhooks = webhooks
    app.state.costly_limits = CallerLimits(
        settings.api.costly_per_minute, settings.api.costly_per_minute_by_role
    )
    app.state.costly_pool = CostlyPool(settings.api.costly_workers, settings.api.costly_queue)
    # HTTP errors outside a route (404 path, 405 method) in each protocol's own format
    protocols = [
        (open311.is_open311_path, open311.http_error),
        (ogc_errors.is_ogc_path, ogc_errors.http_error),
    ]
    errors.install(app, protocols)
    _install_limits(app, settings)
    # outermost of the app's own: the body limit's refusals and every handler write in the
    # request's language (Accept-Language, else GRIDGEO_LANG)
    app.add_middleware(RequestLanguage, default=settings.lang)
    # First in the route table: matching is linear and each router passed over costs a few
    # microseconds, a tenth of a lookup's own work. The lookup checks the viewer role itself,
    # on the event loop (docs/BENCHMARKS.md).
    app.include_router(lookup.router)
    app.include_router(health.router)
    app.include_router(docs.router)  # /docs and /redoc with local assets, public like /api
    # Every route declares the role it needs (gridgeo.api.deps: Viewer, Planner, ...; the
    # read-only routers once for all their routes); anonymous callers act as
    # GRIDGEO_ANONYMOUS_ROLE. tests/test_api_auth_routes.py checks that none forgets.
    app.include_router(features.router)
    app.include_router(tiles.router)
    app.include_router(ogc_tiles.router)
    app.include_router(viewer.router)
    app.include_router(versions.router)
    app.include_router(edits.router)
    app.include_router(assessment.router)
    app.include_router(cases.router)  # the case core checks the caller's scope
    app.include_router(open311.router)  # answers refusals as Open311 error lists
    app.include_router(events.router)  # the event stream
    openapi_doc.install(app)  # links between operations, the 422 refusal body
    return app


def _install_limits(app: FastAPI, settings: Settings) -> None:
    """Add the body size limit and (when configured) CORS to ``app``; keep keys given in
    the query string out of the access log."""
    redact_keys_in_access_log()
    origins = [o.strip() for o in settings.api.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[KEY_HEADER, "Content-Type", "Accept"],
            expose_headers=["Content-Crs", "Link"],
        )
    app.add_middleware(
        BodySizeLimit,
        max_body=settings.api.max_body_bytes,
        max_upload=settings.api.max_upload_bytes,
        max_media=settings.api.max_media_bytes,
    )


def app_from_env() -> FastAPI:
    """Factory for uvicorn: settings from the environment."""
    return create_app(Settings())
