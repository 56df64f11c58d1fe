"""Request dependencies: the caller's role, the data being served, the store writers.

Every route declares the role it needs with one of the aliases below (a parameter
``who: Planner``, or ``_: Viewer`` when the route does not use the caller), or, for a
router whose routes all need the same role, ``dependencies=[Depends(require(...))]``
on the router; all are :func:`gridgeo.api.auth.require` (tests/test_api_auth_routes.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import to_thread
from fastapi import Depends, Path, Request

from gridgeo.api.auth import Caller, require
from gridgeo.api.limits import LoopLimiters, limited, loop_limiter
from gridgeo.api.state import app_settings, app_store
from gridgeo.dataset import Dataset
from gridgeo.i18n import tr
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.schema import MAX_ID

T = TypeVar("T")

Viewer = Annotated[Caller, Depends(require(Role.VIEWER))]
Reporter = Annotated[Caller, Depends(require(Role.REPORTER))]
Handler = Annotated[Caller, Depends(require(Role.HANDLER))]
Planner = Annotated[Caller, Depends(require(Role.PLANNER))]
CostlyPlanner = Annotated[Caller, Depends(limited(Role.PLANNER))]
"""A planner whose request is costly (counted against its limit: ``gridgeo.api.limits``)."""
FormReporter = Annotated[Caller, Depends(require(Role.REPORTER, form=True))]
"""A reporter whose key may also come in the form body's ``api_key`` (Open311 POST)."""


def boundary_store(request: Request) -> Store:
    """The store of the boundary versions and edits (:func:`gridgeo.api.state.app_store`)."""
    return app_store(
        request, tr("boundary management needs the store: this service serves a fixed dataset")
    )


BoundaryStore = Annotated[Store, Depends(boundary_store)]
SettingsDep = Annotated[Settings, Depends(app_settings)]

# A row id in a path: what the store's integer columns can hold (larger is a 422, not
# an overflow in the database).
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def current_dataset(request: Request) -> Dataset:
    """The published data, read once per request: a new version swaps it whole."""
    data: Dataset = request.app.state.live.current
    return data


async def dataset(request: Request) -> Dataset:
    """:func:`current_dataset` as a dependency. ``async``: a plain ``def`` dependency
    costs a hop to the thread pool on every request, for one attribute read."""
    return current_dataset(request)


async def in_writer_pool(request: Request, fn: Callable[..., T], /, *args: Any, **kw: Any) -> T:
    """``fn(*args, **kw)`` in a worker thread, at most ``settings.store.store_writers`` at once
    per process (per event loop); the others wait their turn.

    Store writes are short bursts of Python between database round trips: more threads
    than that only contend for the interpreter's lock, each handing it over at every
    round trip, and every write gets slower (docs/BENCHMARKS.md, the work loop).
    """
    state = request.app.state
    limiters: LoopLimiters | None = getattr(state, "writer_limiters", None)
    if limiters is None:
        limiters = state.writer_limiters = WeakKeyDictionary()
    limiter = loop_limiter(limiters, state.settings.store.store_writers)
    return await to_thread.run_sync(functools.partial(fn, *args, **kw), limiter=limiter)
