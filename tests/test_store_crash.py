"""SIGKILL in the middle of an import: the published version stays intact and served.

A real service (``gridgeo serve`` in its own process) serves version 1 while a
second process imports version 2; that process is killed with SIGKILL after
some of the grid rows went into its open transaction. Nothing of the draft may
remain, the service keeps answering from version 1, and the store takes the
next import as if nothing happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import free_port
from sqlalchemy import func, select, text

from gridgeo.io.dataset import load
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.versions import import_boundaries, list_versions, publish

# Run by the doomed process: the import core with small insert batches, pausing (inside
# the open transaction) once three batches of grid rows are written, so the kill lands
# mid-write every time.
IMPORTER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import event
    from gridgeo.io.dataset import load
    from gridgeo.store import versions
    from gridgeo.store.core import Store

    store = Store(sys.argv[1])
    versions.INSERT_BATCH = 10
    batches = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def pause(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO GRIDS"):
            batches.append(1)
            if len(batches) == 3:
                print("mid-write", flush=True)
                time.sleep(120)

    data = load()
    versions.import_boundaries(store, data.grids, author="doomed", commit=True)
    print("committed", flush=True)
    """
)


@pytest.fixture
def serving(store_url: str) -> Iterator[tuple[Store, str]]:
    """Version 1 published, and ``gridgeo serve`` answering from it."""
    store = Store(store_url)
    data = load()
    first = import_boundaries(
        store, data.grids, author="p", workstations=data.workstations, commit=True
    )
    assert first.version is not None
    publish(store, first.version.id, actor="p")
    port = free_port()
    env = {**os.environ, "GRIDGEO_DATABASE_URL": store_url, "GRIDGEO_RELOAD_INTERVAL_S": "0.2"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gridgeo.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base)
        yield store, base
    finally:
        server.kill()
        server.wait()


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gridgeo serve did not come up")


def _leaf(base: str) -> tuple[str, int]:
    body = httpx.get(f"{base}/v1/lookup", params={"lon": 110.3005, "lat": 25.2785}).json()
    return body["grids"][0]["code"], body["version"]


def test_sigkill_mid_import_leaves_the_published_version_serving(
    serving: tuple[Store, str], store_url: str, tmp_path: Path
) -> None:
    store, base = serving
    assert _leaf(base) == ("450302001001002", 1)
    script = tmp_path / "importer.py"
    script.write_text(IMPORTER, encoding="utf-8")
    doomed = subprocess.Popen(
        [sys.executable, str(script), store_url], stdout=subprocess.PIPE, text=True
    )
    assert doomed.stdout is not None
    line = doomed.stdout.readline()
    assert line.strip() == "mid-write", line
    if store.backend == "postgresql":  # the rows really are in the open transaction
        with store.engine.connect() as conn:
            active = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
            ).scalar_one()
        assert active >= 1
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait(timeout=30) == -signal.SIGKILL

    # the service never stopped answering from version 1
    assert _leaf(base) == ("450302001001002", 1)
    # nothing of the draft remains
    assert [(v.id, v.status) for v in list_versions(store)] == [(1, "published")]
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(t.Grid)) == 79
        if store.backend == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    # and the store takes the next import and publication, which the service follows
    data = load()
    again = import_boundaries(store, data.grids, author="p", commit=True)
    assert again.version is not None
    publish(store, again.version.id, actor="p")
    deadline = time.monotonic() + 20
    while _leaf(base)[1] != again.version.id and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _leaf(base) == ("450302001001002", again.version.id)
