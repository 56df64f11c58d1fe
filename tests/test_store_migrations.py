"""Alembic migrations on both backends: 0001 -> 0002 (case media) -> 0003 (the work loop)
and back, keeping the cases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import inspect, text

from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.settings import Settings
from gridgeo.store import migrate
from gridgeo.store.cases import MediaUpload, create_case
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.versions import import_boundaries, publish


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load()


def _layout(store: Store) -> tuple[bool, bool]:
    """Whether the store has the ``case_media`` table and the ``cases.media_url`` column."""
    found = inspect(store.engine)
    columns = {c["name"] for c in found.get_columns("cases")}
    return "case_media" in found.get_table_names(), "media_url" in columns


def _loop_layout(store: Store) -> tuple[bool, bool]:
    """Whether the store has the work loop's tables and the ``cases.state`` column."""
    found = inspect(store.engine)
    columns = {c["name"] for c in found.get_columns("cases")}
    tables = set(found.get_table_names())
    return {"case_tasks", "case_events", "outbox", "webhook_cursors"} <= tables, "state" in columns


def _edit_columns(store: Store) -> bool:
    """Whether versions record browser edits (``based_on``, ``superseded_by``)."""
    columns = {c["name"] for c in inspect(store.engine).get_columns("versions")}
    return {"based_on", "superseded_by"} <= columns


def test_upgrade_downgrade_round_trip(store_url: str, sample: Dataset) -> None:
    store = Store(store_url)  # opening upgrades to head
    assert migrate.head() == "0004" and migrate.current(store.engine) == "0004"
    assert _layout(store) == (True, True) and _loop_layout(store) == (True, True)
    assert _edit_columns(store)
    result = import_boundaries(
        store, sample.grids, author="t", workstations=sample.workstations, commit=True
    )
    assert result.version is not None
    publish(store, result.version.id, actor="t")
    data = load_dataset(store, Settings(), result.version.id)
    photo = MediaUpload("image/gif", b"GIF89a" + b"\0" * 32, "a.gif")
    case = create_case(store, data, lon=110.3005, lat=25.2785, actor="t", media=[photo])

    migrate.downgrade(store.engine, "0003")
    assert not _edit_columns(store) and _loop_layout(store) == (True, True)
    migrate.downgrade(store.engine, "0002")
    assert _loop_layout(store) == (False, False) and _layout(store) == (True, True)
    migrate.downgrade(store.engine, "0001")
    assert migrate.current(store.engine) == "0001"
    assert _layout(store) == (False, False)
    with store.engine.connect() as conn:  # the case and its point survive the downgrade
        x = conn.execute(text("SELECT ST_X(geom) FROM cases WHERE id = :i"), {"i": case.id})
        assert x.scalar() == pytest.approx(case.lon)

    migrate.upgrade(store.engine)
    assert migrate.current(store.engine) == "0004" and _layout(store) == (True, True)
    assert _edit_columns(store)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT media_url FROM cases")).scalar() is None
        assert conn.execute(text("SELECT count(*) FROM case_media")).scalar() == 0
        # a case from before the work loop waits for registration
        assert conn.execute(text("SELECT state FROM cases")).scalar() == "reported"

    migrate.downgrade(store.engine, "base")
    assert migrate.current(store.engine) is None
    assert not {"cases", "case_media", "versions"} & set(inspect(store.engine).get_table_names())
    store.close()


def test_head_constant_is_alembics_head_and_a_current_store_opens_without_alembic(
    store_url: str,
) -> None:
    """``migrate.HEAD`` names Alembic's head (a new migration must move it); a store at
    it opens in a fresh interpreter without importing Alembic; one behind it is upgraded."""
    assert migrate.HEAD == migrate.head()
    store = Store(store_url)  # new: upgraded by Alembic
    assert migrate.is_current(store.engine)
    script = (
        "import sys\nfrom gridgeo.store.core import Store\n"
        f"Store({store_url!r}).ping()\nprint('alembic' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
    migrate.downgrade(store.engine, "0003")
    assert not migrate.is_current(store.engine)
    Store(store_url).close()  # behind: opening upgrades it again
    assert migrate.current(store.engine) == migrate.HEAD
    store.close()
