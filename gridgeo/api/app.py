"""The FastAPI application factory (``create_app(settings)``)."""

from __future__ import annotations

from fastapi import FastAPI

from gridgeo import __version__
from gridgeo.api import errors
from gridgeo.api.routers import features, health, lookup, tiles
from gridgeo.io.dataset import Dataset, load
from gridgeo.settings import Settings


def create_app(settings: Settings | None = None, data: Dataset | None = None) -> FastAPI:
    """Build the app; the dataset is loaded once here (default: the configured source)."""
    settings = settings or Settings()
    app = FastAPI(
        title="gridgeo",
        version=__version__,
        description="Spatial service for urban grid management (城市网格化管理).",
    )
    app.state.settings = settings
    app.state.dataset = data or load(settings=settings)
    errors.install(app)
    for router in (health.router, lookup.router, features.router, tiles.router):
        app.include_router(router)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn: settings from the environment."""
    return create_app(Settings())
