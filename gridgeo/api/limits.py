"""Per-caller limits on the costly requests (diffs of whole versions, uploads, edits).

One token bucket per caller (its API key's name; the client address for anonymous
callers) and per process: ``GRIDGEO_COSTLY_PER_MINUTE`` requests a minute, with a
burst of as many. A caller over it gets 429 with ``Retry-After`` (the seconds
until a token is back), and the request costs nothing: it is refused before any
work. Cheap reads (lookups, features, tiles, cached answers) are not limited here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from gridgeo.api.security import Caller
from gridgeo.errors import RateLimitError

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


def costly(who: Caller, request: Request) -> None:
    """Refuse (429) a costly request over its caller's limit; see the module docstring."""
    buckets: TokenBuckets | None = request.app.state.costly_limits
    if buckets is None:
        return
    client = request.client.host if request.client else "unknown"
    key = who.name if who.authenticated else f"address {client}"
    wait = buckets.wait(key)
    if wait > 0:
        raise RateLimitError(
            f"too many costly requests from {key}: at most {int(buckets.burst)} a minute "
            f"(GRIDGEO_COSTLY_PER_MINUTE); try again in {wait:.0f} s",
            wait,
        )


def limited(
    check: Callable[[Request], Awaitable[Caller]],
) -> Callable[[Request], Awaitable[Caller]]:
    """A role dependency (``require(...)``) that also counts the request as costly."""

    async def dependency(request: Request) -> Caller:
        who = await check(request)
        costly(who, request)
        return who

    return dependency
