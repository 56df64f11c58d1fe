"""Live reload: a running service follows publications without restart or torn reads."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample

from gridgeo.dataset import Dataset
from gridgeo.errors import NotFoundError
from gridgeo.io.dataset import load
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.live import LiveDataset
from gridgeo.store.schema import utcnow
from gridgeo.store.versions import import_boundaries, publish, rollback


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load()


def draft(store: Store, data: Dataset, redrawn: bool) -> int:
    grids = redrawn_sample(data.grids) if redrawn else data.grids
    result = import_boundaries(
        store, grids, author="p", workstations=data.workstations, commit=True
    )
    assert result.version is not None
    return result.version.id


@pytest.fixture
def two_versions(store_url: str, sample: Dataset) -> tuple[Store, int, int]:
    """A store with v1 (the sample) published and v2 (redrawn) as a draft."""
    store = Store(store_url)
    v1 = draft(store, sample, False)
    publish(store, v1, actor="p")
    return store, v1, draft(store, sample, True)


@pytest.fixture
def live(two_versions: tuple[Store, int, int]) -> Iterator[LiveDataset]:
    store, _, _ = two_versions
    follower = LiveDataset(Store(store.url), Settings(store=StoreSettings(reload_interval_s=0.2)))
    yield follower
    follower.stop()


def wait_for(predicate: object, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_refresh_picks_up_a_publication_from_another_process(
    two_versions: tuple[Store, int, int], live: LiveDataset
) -> None:
    store, v1, v2 = two_versions
    assert live.current.version == v1 and not live.refresh()
    publish(store, v2, actor="p")
    assert live.refresh() and live.current.version == v2
    rollback(store, v1, actor="p")
    assert live.refresh() and live.current.version == v1


def test_background_watcher_follows_without_restart(
    two_versions: tuple[Store, int, int], live: LiveDataset
) -> None:
    store, _, v2 = two_versions
    live.start()
    publish(store, v2, actor="p")
    assert wait_for(lambda: live.current.version == v2)


def test_postgres_notify_reloads_at_once(postgis_url: str, sample: Dataset) -> None:
    """With a one-minute fallback interval, only NOTIFY can explain a reload within seconds."""
    store = Store(postgis_url)
    v1 = draft(store, sample, False)
    publish(store, v1, actor="p")
    v2 = draft(store, sample, True)
    follower = LiveDataset(Store(postgis_url), Settings(store=StoreSettings(reload_interval_s=60)))
    follower.start()
    try:
        time.sleep(1.0)  # the listener connects and runs its first check
        publish(store, v2, actor="p")
        assert wait_for(lambda: follower.current.version == v2, seconds=10)
    finally:
        follower.stop()


def test_no_request_sees_a_half_built_version(
    two_versions: tuple[Store, int, int], live: LiveDataset, sample: Dataset
) -> None:
    """Readers hammer lookups while versions switch; every answer matches its Dataset."""
    store, v1, v2 = two_versions
    point = redraw_strip(sample.grids).representative_point()
    expected = {v1: REDRAWN_GRIDS[1], v2: REDRAWN_GRIDS[0]}
    seen: set[int] = set()
    wrong: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = live.current  # once per "request"
            leaf = data.lookup(point.x, point.y, "cgcs2000").leaf
            assert data.version is not None
            seen.add(data.version)
            if leaf is None or leaf.code != expected[data.version]:
                wrong.append(f"version {data.version}: {leaf}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    try:
        publish(store, v2, actor="p")
        live.refresh()
        for target in [v1, v2] * 3:
            rollback(store, target, actor="p")
            live.refresh()
            time.sleep(0.02)
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert wrong == []
    assert seen == {v1, v2}
    assert live.reloads == 7


def test_lookup_as_of_a_version_or_a_date(
    two_versions: tuple[Store, int, int], live: LiveDataset, sample: Dataset
) -> None:
    store, v1, v2 = two_versions
    before = utcnow()
    time.sleep(0.05)
    publish(store, v2, actor="p")
    live.refresh()
    point = redraw_strip(sample.grids).representative_point()
    assert (
        live.as_of(version=v1).lookup(point.x, point.y, "cgcs2000").leaf.code
        == (  # type: ignore[union-attr]
            REDRAWN_GRIDS[1]
        )
    )
    assert live.as_of(at=before).version == v1
    assert live.as_of(at=utcnow()).version == v2
    with pytest.raises(NotFoundError, match="no boundaries version was published at"):
        live.as_of(at=before.replace(year=2000))
    with pytest.raises(NotFoundError, match="version 999"):
        live.as_of(version=999)


def test_a_new_version_is_warmed_before_it_is_served(
    two_versions: tuple[Store, int, int],
) -> None:
    # the HTTP API builds its point index in `warm`: it must run on the new Dataset
    # while the old one is still being served, so no request pays for the build
    store, _, v2 = two_versions
    seen: list[tuple[int | None, int | None]] = []
    follower: LiveDataset | None = None

    def warm(data: Dataset) -> None:
        serving = follower.current.version if follower is not None else None
        seen.append((data.version, serving))

    follower = LiveDataset(Store(store.url), Settings(), warm=warm)
    v1 = follower.current.version
    assert seen == [(v1, None)]  # the first Dataset, before anything was served
    publish(store, v2, actor="p")
    assert follower.refresh()
    assert seen[-1] == (v2, v1)  # built while v1 was still the one served
    assert follower.current.version == v2
