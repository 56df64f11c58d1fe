"""What the app holds for every request: its settings, and its store (none for a service
of one fixed dataset). One accessor each, so that every route answers alike when the
store is missing: :class:`~gridgeo.errors.NoStoreError`, a 404 naming what needs it.
"""

from __future__ import annotations

from fastapi import Request

from gridgeo.errors import NoStoreError
from gridgeo.settings import Settings
from gridgeo.store.core import Store


def app_settings(request: Request) -> Settings:
    """The settings the app was made with."""
    settings: Settings = request.app.state.settings
    return settings


def app_store_or_none(request: Request) -> Store | None:
    """The app's store, or None when it serves a fixed dataset."""
    store: Store | None = getattr(request.app.state, "store", None)
    return store


def app_store(request: Request, missing: str) -> Store:
    """The app's store; without one, :class:`NoStoreError` with the message ``missing``
    (what this route would have kept in it, in the request's language)."""
    store = app_store_or_none(request)
    if store is None:
        raise NoStoreError(missing)
    return store
