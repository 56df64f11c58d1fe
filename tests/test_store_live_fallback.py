"""A published version that cannot be loaded: the service starts on the last version that
loads, keeps serving it when a new publication fails, and says so on /health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLE
from fastapi.testclient import TestClient
from sqlalchemy import text

import gridgeo.store.live as live_module
from gridgeo.api.app import create_app
from gridgeo.io.boundaries import read_boundaries
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.versions import import_boundaries, publish

POINT = {"lon": 110.3005, "lat": 25.2785, "crs": "cgcs2000"}


def publish_sample(store: Store) -> int:
    grids = read_boundaries([SAMPLE / "boundaries.gpkg"])
    draft = import_boundaries(store, grids, author="t", commit=True).version
    assert draft is not None
    publish(store, draft.id, actor="t", force=True)
    return draft.id


def test_the_service_starts_on_the_last_version_that_loads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    settings = Settings(store=StoreSettings(database_url=url))
    create_app(settings)  # seeds and publishes the sample as version 1
    store = Store(url)
    broken = publish_sample(store)
    with store.engine.begin() as conn:  # a row the store can no longer read back
        conn.execute(
            text("UPDATE grids SET attributes = '{broken' WHERE version_id = :v"), {"v": broken}
        )
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert health["boundaries_version"] == 1
        assert health["problem"]["version"] == broken
        assert "JSON" in health["problem"]["error"] or "Expecting" in health["problem"]["error"]
        assert client.get("/v1/lookup", params=POINT).json()["version"] == 1

        fixed = publish_sample(store)  # a good version published: back to normal
        assert client.app.state.live.refresh()
        health = client.get("/health").json()
        assert (health["status"], health["boundaries_version"]) == ("ok", fixed)
        assert "problem" not in health


def test_a_new_version_that_fails_to_load_leaves_the_old_one_served(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(store=StoreSettings(database_url=store_url))
    with TestClient(create_app(settings)) as client:
        live = client.app.state.live
        assert client.get("/health").json()["status"] == "ok"
        failing = publish_sample(live.store)

        def load(store: Store, cfg: Settings, version: int | None = None, **kw: Any) -> Any:
            if version == failing:  # the store drops the connection while reading it
                raise ConnectionError("server closed the connection unexpectedly")
            return load_dataset(store, cfg, version, **kw)

        monkeypatch.setattr(live_module, "load_dataset", load)
        assert live.refresh() is False
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["boundaries_version"] == 1
        assert health["problem"]["version"] == failing
        assert "server closed the connection" in health["problem"]["error"]
        assert client.get("/v1/lookup", params=POINT).json()["version"] == 1
        assert live.refresh() is False  # no rebuild storm: retried after RETRY_FAILED_S

        monkeypatch.setattr(live_module, "RETRY_FAILED_S", 0.0)
        monkeypatch.setattr(live_module, "load_dataset", load_dataset)  # the store is back
        assert live.refresh() is True
        health = client.get("/health").json()
        assert (health["status"], health["boundaries_version"]) == ("ok", failing)
