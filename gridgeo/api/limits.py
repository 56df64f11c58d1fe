"""Limits on the costly requests (diffs of whole versions, uploads, edits, loads of an
older version, large batches): how often a caller may ask, and how many run at once.

**Rate, per caller.** One token bucket per caller (its API key's name; the client
address for anonymous callers) and per process: ``GRIDGEO_COSTLY_PER_MINUTE`` requests
a minute (or its role's figure in ``GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE``), with a burst
of as many. A caller over it gets 429 with ``Retry-After`` (the seconds until a token
is back), and the request costs nothing: it is refused before any work.

**Concurrency, per process.** Costly work runs in a pool of ``GRIDGEO_COSTLY_WORKERS``
threads (:func:`in_costly_pool`), never on the event loop and never more at once than
that: each holds its data in memory and competes with every lookup for the cores. Up
to ``GRIDGEO_COSTLY_QUEUE`` more wait their turn; beyond, 429 with a ``Retry-After``
estimated from how long the recent ones took. Cheap reads (lookups, features, tiles,
cached answers) are not limited here.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request

from gridgeo.api.auth import Caller, require, role_label
from gridgeo.errors import RateLimitError
from gridgeo.i18n import tr
from gridgeo.roles import Role

T = TypeVar("T")

MAX_CALLERS = 10_000  # buckets kept; beyond, the least recently seen are dropped


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """``rate`` requests a minute per key, bursts up to ``rate``; thread-safe.

    Examples
    --------
    >>> clock = iter([0.0, 0.0, 0.0, 30.0]).__next__
    >>> buckets = TokenBuckets(2, clock=clock)
    >>> [buckets.wait("planner-li") for _ in range(4)]
    [0.0, 0.0, 30.0, 0.0]
    """

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(per_minute)
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def wait(self, key: str) -> float:
        """Take a token for ``key``: 0 when there was one, else the seconds until one."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            self._buckets[key] = bucket  # most recent last: the oldest go first
            if len(self._buckets) > MAX_CALLERS:
                del self._buckets[next(iter(self._buckets))]
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


class CallerLimits:
    """Token buckets per caller at the rate of its role (see the module docstring).

    Examples
    --------
    >>> limits = CallerLimits(2, {"planner": 0})
    >>> limits.rate_of("anonymous"), limits.rate_of("planner"), limits.rate_of("viewer")
    (2, 0, 2)
    """

    def __init__(self, per_minute: int, by_role: Mapping[str, int]) -> None:
        self.per_minute = per_minute
        self.by_role = dict(by_role)
        self._buckets: dict[int, TokenBuckets] = {}  # one set per rate
        self._lock = threading.Lock()

    def rate_of(self, role: str) -> int:
        """Costly requests a minute for ``role`` (``anonymous`` for callers without a key)."""
        return self.by_role.get(role, self.per_minute)

    def wait(self, key: str, role: str) -> float:
        """Take a token for caller ``key`` of ``role``: 0, or the seconds until one."""
        rate = self.rate_of(role)
        if rate == 0:
            return 0.0
        with self._lock:
            buckets = self._buckets.get(rate) or self._buckets.setdefault(rate, TokenBuckets(rate))
        return buckets.wait(key)


def costly(who: Caller, request: Request) -> None:
    """Refuse (429) a costly request over its caller's limit; see the module docstring."""
    limits: CallerLimits = request.app.state.costly_limits
    client = request.client.host if request.client else "unknown"
    key = who.name if who.authenticated else f"address {client}"  # the bucket's, any language
    role = who.role.value if who.authenticated and who.role is not None else "anonymous"
    wait = limits.wait(key, role)
    if wait > 0:
        setting = (
            "GRIDGEO_COSTLY_PER_MINUTE_BY_ROLE"
            if role in limits.by_role
            else "GRIDGEO_COSTLY_PER_MINUTE"
        )
        raise RateLimitError(
            tr(
                "too many costly requests from {caller}: at most {rate} a minute for role "
                "{role} ({setting}); try again in {wait:.0f} s",
                caller=who.name if who.authenticated else tr("address {address}", address=client),
                rate=limits.rate_of(role),
                role=role_label(role),
                setting=setting,
                wait=wait,
            ),
            wait,
        )


class CostlyPool:
    """At most ``workers`` costly jobs at once in threads, ``queue`` more waiting; one per
    event loop (a test client's loop is not the server's).

    ``Retry-After`` for a refused job is the recent jobs' mean duration (an exponential
    moving average) times the jobs ahead of it per worker, at least a second.
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self.mean_s = 1.0
        self._limiters: LoopLimiters = WeakKeyDictionary()

    async def run(self, fn: Callable[..., T], /, *args: Any, **kw: Any) -> T:
        """``fn(*args, **kw)`` in a pool thread once one is free; RateLimitError when the
        queue is full."""
        limiter = loop_limiter(self._limiters, self.workers)
        stats = limiter.statistics()
        if stats.borrowed_tokens >= self.workers and stats.tasks_waiting >= self.queue:
            ahead = stats.borrowed_tokens + stats.tasks_waiting
            wait = max(1.0, self.mean_s * ahead / self.workers)
            raise RateLimitError(
                tr(
                    "the service is busy with {count} costly requests (GRIDGEO_COSTLY_WORKERS "
                    "{workers}, GRIDGEO_COSTLY_QUEUE {queue}); try again in {wait:.0f} s",
                    count=ahead,
                    workers=self.workers,
                    queue=self.queue,
                    wait=wait,
                ),
                wait,
            )
        job = functools.partial(self._timed, fn, *args, **kw)
        return await to_thread.run_sync(job, limiter=limiter)

    def _timed(self, fn: Callable[..., T], /, *args: Any, **kw: Any) -> T:
        start = time.monotonic()
        try:
            return fn(*args, **kw)
        finally:
            self.mean_s = 0.8 * self.mean_s + 0.2 * (time.monotonic() - start)
            release_free_memory()


async def in_costly_pool(request: Request, fn: Callable[..., T], /, *args: Any, **kw: Any) -> T:
    """``fn(*args, **kw)`` in the app's :class:`CostlyPool` (see the module docstring)."""
    pool: CostlyPool = request.app.state.costly_pool
    return await pool.run(fn, *args, **kw)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: its allocator returns memory its own way
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Hand the memory a costly job freed back to the system.

    glibc keeps freed heap memory for reuse: after a large upload or diff the process
    would stay at its peak size for good. ``malloc_trim`` returns the free pages.
    """
    if _TRIM is not None:
        _TRIM(0)


SLOW_WORK_S = 0.2  # work this long builds large temporaries (a tile layer, a zoom's shapes)


def release_after(spent_s: float) -> None:
    """:func:`release_free_memory` after work that took ``spent_s`` seconds, when that is
    at least :data:`SLOW_WORK_S`: the first tiles of a zoom leave tens of MB of freed
    temporaries in the heap at 20,000 grids, which glibc would keep (docs/BENCHMARKS.md).
    A trim costs ~1-25 ms, growing with what it returns; after a fast request, which frees
    little, it would cost more than it gives."""
    if spent_s >= SLOW_WORK_S:
        release_free_memory()


@functools.cache  # one dependency per role, as require's
def limited(needed: Role) -> Callable[[Request, Caller], Awaitable[Caller]]:
    """The dependency ``require(needed)`` that also counts the request as costly."""

    # the role check as a default, not in the annotation: the annotation is read as a
    # string in this module's globals, where ``needed`` is not
    role_check = Depends(require(needed))

    async def dependency(request: Request, who: Caller = role_check) -> Caller:
        costly(who, request)
        return who

    dependency.__name__ = f"costly_{needed.value}"
    return dependency


LoopLimiters = WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter]


def loop_limiter(limiters: LoopLimiters, size: int) -> CapacityLimiter:
    """The limiter of ``size`` threads of the running event loop, made on first use: one
    per loop, as a limiter belongs to one (a test client's loop is not the server's)."""
    loop = asyncio.get_running_loop()
    limiter = limiters.get(loop)
    if limiter is None:
        limiter = limiters[loop] = CapacityLimiter(size)
    return limiter
