"""The writer pool: case actions run in worker threads, at most ``store_writers`` at once."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from gridgeo.api.deps import in_writer_pool
from gridgeo.settings import Settings, StoreSettings


def fake_request(writers: int) -> Any:
    return SimpleNamespace(
        app=SimpleNamespace(
            state=SimpleNamespace(settings=Settings(store=StoreSettings(store_writers=writers)))
        )
    )


@pytest.mark.parametrize("writers", [1, 3])
def test_at_most_store_writers_run_at_once(writers: int) -> None:
    request = fake_request(writers)
    lock = threading.Lock()
    running, most, threads = 0, 0, set()

    def work(n: int, *, pause: float) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.get_ident())
        time.sleep(pause)
        with lock:
            running -= 1
        return n * 2

    async def main() -> list[int]:
        calls = (in_writer_pool(request, work, n, pause=0.05) for n in range(8))
        return await asyncio.gather(*calls)

    assert asyncio.run(main()) == [n * 2 for n in range(8)]  # every call answered, in order
    assert most == writers
    assert threading.get_ident() not in threads  # off the event loop's thread
    # a second event loop (a second TestClient, a restarted server) gets its own limiter
    most = 0
    assert asyncio.run(main()) == [n * 2 for n in range(8)]
    assert most == writers


def test_an_error_in_the_pool_reaches_the_caller_and_frees_the_slot() -> None:
    request = fake_request(1)

    def fail() -> None:
        raise LookupError("case 7 does not exist")

    async def main() -> str:
        with pytest.raises(LookupError, match="case 7"):
            await in_writer_pool(request, fail)
        return await in_writer_pool(request, lambda: "next")

    assert asyncio.run(main()) == "next"
