"""``gridgeo serve --workers N``: workers forked from one loaded parent (gunicorn, preload).

A real service in its own process on each store: both workers answer, each follows a
new publication by itself, a killed worker is forked again and answers, and the whole
tree stops on SIGTERM. The workers share the parent's pages: the further worker costs
less than a fresh interpreter would (measured in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import free_port

from gridgeo.io.dataset import load
from gridgeo.store.core import Store
from gridgeo.store.versions import import_boundaries, publish

# a point of the pilot's fifth-level grid 450302001001002 (tests/test_store_crash.py)
POINT = {"lon": 110.3005, "lat": 25.2785}
LEAF = "450302001001002"


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (gunicorn's workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # fields after the command's closing parenthesis: state, ppid, ...
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _publish_again(store: Store) -> int:
    data = load()
    result = import_boundaries(
        store, data.grids, author="p", workstations=data.workstations, commit=True
    )
    assert result.version is not None
    publish(store, result.version.id, actor="p")
    return result.version.id


def _wait(predicate: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def forked(store_url: str) -> Iterator[tuple[Store, str, subprocess.Popen[bytes]]]:
    """Version 1 published, ``gridgeo serve --workers 2`` answering from it."""
    store = Store(store_url)
    assert _publish_again(store) == 1
    port = free_port()
    env = {
        **os.environ,
        "GRIDGEO_DATABASE_URL": store_url,
        "GRIDGEO_RELOAD_INTERVAL_S": "0.2",
        "GRIDGEO_SEED_SAMPLE": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gridgeo.cli.main", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, "the service")
        _wait(lambda: len(_children(server.pid)) == 2, "two workers")
        yield store, base, server
    finally:
        if server.poll() is None:
            server.kill()
            for pid in _children(server.pid):
                os.kill(pid, signal.SIGKILL)
            server.wait()


def _answers(base: str, n: int) -> list[tuple[str, int]]:
    """``n`` lookups on fresh connections (the kernel spreads them over the workers)."""
    out = []
    for _ in range(n):
        body = httpx.get(f"{base}/v1/lookup", params=POINT, timeout=10).json()
        out.append((body["grids"][0]["code"], body["version"]))
    return out


def test_forked_workers_answer_follow_publications_and_are_replaced(
    forked: tuple[Store, str, subprocess.Popen[bytes]],
) -> None:
    store, base, server = forked
    assert set(_answers(base, 30)) == {(LEAF, 1)}
    # forked, not spawned: a worker runs the parent's own command line
    parent_cmd = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    assert {Path(f"/proc/{p}/cmdline").read_bytes() for p in _children(server.pid)} == {parent_cmd}
    tile = httpx.get(f"{base}/collections/level5_grid/tiles/WebMercatorQuad/14/7002/13211")
    assert tile.status_code == 200 and len(tile.content) > 100

    # each worker follows a new publication through its own watcher and connections
    assert _publish_again(store) == 2
    _wait(lambda: set(_answers(base, 20)) == {(LEAF, 2)}, "every worker on version 2")

    # a worker killed outright is forked again from the loaded parent, and answers
    first = _children(server.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    _wait(lambda: len(_children(server.pid) - first) == 1, "a replacement worker")
    assert len(_children(server.pid)) == 2
    assert set(_answers(base, 30)) == {(LEAF, 2)}

    # SIGTERM stops the parent and its workers
    workers = _children(server.pid)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
