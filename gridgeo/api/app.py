"""The FastAPI application factory (``create_app(settings)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from gridgeo import __version__
from gridgeo.api import errors, lookup_service, openapi_doc, security
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
    at ``settings.database_url`` (seeding an empty one with the sample data when
    ``seed_sample``), serves the published versions and follows new
    publications (``gridgeo.store.live``).
    """
    settings = settings or Settings()
    live: LiveDataset | StaticData
    if data is not None:
        live = StaticData(data)
    else:
        store = Store(settings.database_url)
        if settings.seed_sample:
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
        settings.costly_per_minute, settings.costly_per_minute_by_role
    )
    app.state.costly_pool = CostlyPool(settings.costly_workers, settings.costly_queue)
    # HTTP errors outside a route (404 path, 405 method) in each protocol's own format
    protocols = [
        (open311.is_open311_path, open311.http_error),
        (ogc_errors.is_ogc_path, ogc_errors.http_error),
    ]
    errors.install(app, protocols)
    security.install(app, settings)
    # outermost of the app's own: the body limit's refusals and every handler write in the
    # request's language (Accept-Language, else GRIDGEO_LANG)
    app.add_middleware(RequestLanguage, default=settings.lang)
    # First in the route table: matching is linear and each router passed over costs a few
    # microseconds, a tenth of a lookup's own work. The lookup checks the viewer role itself,
    # on the event loop (docs/BENCHMARKS.md).
    app.include_router(lookup.router)
    app.include_router(health.router)
    app.include_router(docs.router)  # /docs and /redoc with local assets, public like /api
    # Reads of grids need role viewer; anonymous callers have GRIDGEO_ANONYMOUS_ROLE.
    read = [Depends(security.require_viewer)]
    for router in (features.router, tiles.router, ogc_tiles.router, viewer.router):
        app.include_router(router, dependencies=read)
    app.include_router(versions.router)  # checks roles per operation
    app.include_router(edits.router)  # planner role, checked per operation
    app.include_router(assessment.router)
    app.include_router(cases.router)  # checks roles per operation; the case core checks scope
    app.include_router(open311.router)  # answers refusals as Open311 error lists
    app.include_router(events.router)  # the event stream; viewer role, checked per operation
    openapi_doc.install(app)  # links between operations, the 422 refusal body
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn: settings from the environment."""
    return create_app(Settings())
