"""Costly requests: a bounded pool with a bounded queue (429 beyond), per-role rates, and
loads of older versions counted as costly while versions held in memory are not."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from keyhelpers import role_keys

import gridgeo
from gridgeo.api.app import create_app
from gridgeo.api.limits import CallerLimits, CostlyPool
from gridgeo.api.routers import versions as versions_router
from gridgeo.errors import RateLimitError
from gridgeo.settings import ApiSettings, Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.versions import import_boundaries, publish

POINT = "/v1/lookup?lon=110.2965&lat=25.2775"


def test_the_pool_runs_so_many_queues_so_many_and_refuses_the_rest() -> None:
    pool = CostlyPool(workers=1, queue=1)
    release = threading.Event()
    ran: list[str] = []

    def job(name: str) -> str:
        if name == "first":
            assert release.wait(10)
        ran.append(name)
        return name

    async def scenario() -> tuple[list[str], RateLimitError]:
        first = asyncio.create_task(pool.run(job, "first"))
        await asyncio.sleep(0.05)  # holds the one worker
        second = asyncio.create_task(pool.run(job, "second"))
        await asyncio.sleep(0.05)  # waits in the queue
        with pytest.raises(RateLimitError) as refused:
            await pool.run(job, "third")
        release.set()
        return [await first, await second], refused.value

    done, refused = asyncio.run(scenario())
    assert done == ["first", "second"] and ran == ["first", "second"]
    assert refused.retry_after_s >= 1
    assert "GRIDGEO_COSTLY_QUEUE 1" in str(refused) and "2 costly requests" in str(refused)


def test_rates_per_role() -> None:
    limits = CallerLimits(2, {"planner": 0, "anonymous": 1})
    assert limits.wait("address 10.0.0.1", "anonymous") == 0.0
    assert limits.wait("address 10.0.0.1", "anonymous") > 0  # one a minute
    assert all(limits.wait("planner-li", "planner") == 0.0 for _ in range(100))  # no limit
    assert [limits.wait("viewer-wang", "viewer") > 0 for _ in range(3)] == [False, False, True]


def test_an_upload_beyond_the_queue_is_refused_with_retry_after(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(
        Settings(
            store=StoreSettings(database_url=store_url),
            api=ApiSettings(costly_workers=1, costly_queue=0),
        )
    )
    keys = role_keys(Store(store_url))
    real = versions_router._import_upload

    def slow_import(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)  # as a city-sized file takes
        return real(*args, **kwargs)

    monkeypatch.setattr(versions_router, "_import_upload", slow_import)
    body = json.dumps(gridgeo.load().grids.frame.iloc[:3].drop(columns=["ref"]).to_geo_dict())

    async def two_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def send(delay: float) -> httpx.Response:
                await asyncio.sleep(delay)
                return await client.post(
                    "/v1/versions",
                    files={"file": ("g.geojson", body.encode())},
                    headers={"X-API-Key": keys["planner"]},
                )

            return list(await asyncio.gather(send(0), send(0.3)))

    first, second = asyncio.run(two_at_once())
    assert first.status_code == 200, first.text
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    assert "GRIDGEO_COSTLY_WORKERS 1" in second.json()["detail"]


def test_loading_an_older_version_is_costly_a_held_one_is_not(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    app = create_app(
        Settings(
            store=StoreSettings(database_url=url),
            api=ApiSettings(costly_per_minute_by_role={"anonymous": 1}),
        )
    )
    sample = gridgeo.load()
    store = Store(url)
    draft = import_boundaries(
        store, sample.grids, author="t", workstations=sample.workstations, commit=True
    )
    assert draft.version is not None
    publish(store, draft.version.id, actor="t")
    live = app.state.live
    assert live.refresh()
    with TestClient(app) as client:
        assert client.get(POINT + "&version=1").status_code == 200  # loaded: one token
        assert client.get(POINT + "&version=1").status_code == 200  # held: free
        live._history.clear()  # as if other versions had pushed it out of memory
        refused = client.get(POINT + "&version=1")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "匿名调用方（anonymous）角色每分钟至多 1 次" in refused.json()["detail"]
        # the published version, and a key of its own, are not held back
        assert client.get(POINT).status_code == 200
        assert client.get(POINT + f"&version={draft.version.id}").status_code == 200
