"""Request dependencies: the data being served, the store and settings held by the app."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from fastapi import Path, Request

from gridgeo.dataset import Dataset
from gridgeo.store.schema import MAX_ID

T = TypeVar("T")

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
    """``fn(*args, **kw)`` in a worker thread, at most ``settings.store_writers`` at once
    per process (per event loop); the others wait their turn.

    Store writes are short bursts of Python between database round trips: more threads
    than that only contend for the interpreter's lock, each handing it over at every
    round trip, and every write gets slower (docs/BENCHMARKS.md, the work loop).
    """
    state = request.app.state
    limiters: LoopLimiters | None = getattr(state, "writer_limiters", None)
    if limiters is None:
        limiters = state.writer_limiters = WeakKeyDictionary()
    limiter = loop_limiter(limiters, state.settings.store_writers)
    return await to_thread.run_sync(functools.partial(fn, *args, **kw), limiter=limiter)


LoopLimiters = WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter]


def loop_limiter(limiters: LoopLimiters, size: int) -> CapacityLimiter:
    """The limiter of ``size`` threads of the running event loop, made on first use: one
    per loop, as a limiter belongs to one (a test client's loop is not the server's)."""
    loop = asyncio.get_running_loop()
    limiter = limiters.get(loop)
    if limiter is None:
        limiter = limiters[loop] = CapacityLimiter(size)
    return limiter
