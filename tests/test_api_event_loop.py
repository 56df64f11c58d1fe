"""Work proportional to the data never runs on the event loop: while an old version is
being loaded for one caller, or a 10,000-point batch is being answered, single lookups
go on."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from gridgeo.api.app import create_app
from gridgeo.settings import Settings, StoreSettings

POINT = "/v1/lookup?lon=110.2965&lat=25.2775"


async def finish_order(app: Any, slow: tuple[str, str, Any], quick: str) -> list[str]:
    """Start the slow request, then the quick one; the order in which they finish."""
    done: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as http:

        async def run(label: str, method: str, url: str, body: Any = None) -> None:
            r = await http.request(method, url, json=body)
            assert r.status_code == 200, r.text
            done.append(label)

        async def quick_after_start() -> None:
            await asyncio.sleep(0.2)  # the slow one has started
            await run("quick", "GET", quick)

        await asyncio.gather(run("slow", *slow), quick_after_start())
    return done


@pytest.fixture
def app(sqlite_url: str) -> Any:
    return create_app(
        Settings(store=StoreSettings(database_url=sqlite_url))
    )  # lookups need no lifespan


def test_loading_an_old_version_does_not_block_other_lookups(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = app.state.live
    current = live.current
    loading = threading.Event()

    def slow_as_of(version: int | None = None, at: Any = None) -> Any:
        loading.set()
        time.sleep(1.5)  # as a large old version would take to load
        return current

    monkeypatch.setattr(live, "as_of", slow_as_of)
    monkeypatch.setattr(live, "cached", lambda version: None)  # not held: to be loaded
    order = asyncio.run(finish_order(app, ("GET", POINT + "&version=1", None), POINT))
    assert loading.is_set() and order == ["quick", "slow"]


def test_a_large_batch_does_not_block_single_lookups(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridgeo.api.routers import lookup as lookup_router

    real = lookup_router.lookup_many

    def slow_many(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)  # a 10,000-point batch on a loaded machine
        return real(*args, **kwargs)

    monkeypatch.setattr(lookup_router, "lookup_many", slow_many)
    body = [{"lon": 110.2965, "lat": 25.2775}] * 10
    order = asyncio.run(finish_order(app, ("POST", "/v1/lookup", body), POINT))
    assert order == ["quick", "slow"]
