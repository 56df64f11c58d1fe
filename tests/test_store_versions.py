"""Boundary versions on both backends: import as draft, publish, gates, rollback, export."""

from __future__ import annotations

import contextvars
import threading
from pathlib import Path
from typing import Any

import pytest
from geometries import REDRAWN_GRIDS, redrawn_sample
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from gridgeo.dataset import Dataset
from gridgeo.diff import diff_grids
from gridgeo.errors import ConflictError, NotFoundError
from gridgeo.i18n import use_lang
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.dataset import load
from gridgeo.io.writers import write_grids
from gridgeo.model import GridSet
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.responsibility import import_roster
from gridgeo.store.snapshots import (
    get_version,
    load_grids,
    load_workstations,
    published_version,
)
from gridgeo.store.versions import (
    import_boundaries,
    list_versions,
    publish,
    rollback,
)

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "guilin_districts.geojson"


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load()


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def commit(store: Store, grids: GridSet, data: Dataset | None = None, note: str = "") -> int:
    result = import_boundaries(
        store,
        grids,
        author="planner",
        workstations=data.workstations if data else None,
        note=note,
        commit=True,
    )
    assert result.version is not None
    return result.version.id


def count(store: Store, table: type[t.Base]) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_dry_run_writes_nothing(store: Store, sample: Dataset) -> None:
    result = import_boundaries(store, sample.grids, author="planner")
    assert result.dry_run and result.report.ok and result.feature_count == 79
    assert count(store, t.Version) == 0 and count(store, t.Grid) == 0
    assert count(store, t.AuditEntry) == 0


def test_import_round_trips_every_grid_and_attribute(store: Store, sample: Dataset) -> None:
    version = commit(store, sample.grids, sample, note="first")
    with store.reading() as session:
        row = session.get(t.Version, version)
        assert row is not None and row.status == "draft" and row.note == "first"
        back = load_grids(session, version)
        stations = load_workstations(session, version)
    assert back.codes == sample.grids.codes
    assert back.names == sample.grids.names
    assert list(back.levels) == list(sample.grids.levels)
    assert back.parent_codes == sample.grids.parent_codes
    assert list(back.frame["pilot"]) == list(sample.grids.frame["pilot"])  # extra attribute
    for a, b in zip(back.geometries, sample.grids.geometries, strict=True):
        assert a.equals(b)
    assert stations == sample.workstations
    assert diff_grids(sample.grids, back).is_empty


def test_publish_switches_and_records(store: Store, sample: Dataset) -> None:
    v1 = commit(store, sample.grids, sample)
    publish(store, v1, actor="chief")
    v2 = commit(store, redrawn_sample(sample.grids))
    info = publish(store, v2, actor="chief")
    assert info.status == "published" and info.published_at is not None
    by_id = {v.id: v for v in list_versions(store)}
    assert by_id[v1].status == "retired" and by_id[v1].retired_at is not None
    with store.reading() as session:
        assert published_version(session) is not None
        stations = load_workstations(session, v2)  # carried over from the published v1
        actions = session.scalars(select(t.AuditEntry.action).order_by(t.AuditEntry.id)).all()
    assert stations == sample.workstations
    assert actions == ["import", "publish", "import", "publish"]


def test_two_versions_diff_publish_and_roll_back(store: Store, sample: Dataset) -> None:
    v1 = commit(store, sample.grids, sample)
    v2 = commit(store, redrawn_sample(sample.grids))
    with store.reading() as session:
        diff = diff_grids(load_grids(session, v1), load_grids(session, v2))
    assert sorted(c.code for c in diff.reshaped) == sorted(REDRAWN_GRIDS)
    assert not diff.added and not diff.removed and not diff.renamed
    publish(store, v1, actor="chief")
    publish(store, v2, actor="chief")
    rollback(store, v1, actor="chief")
    with store.reading() as session:
        current = published_version(session)
        assert current is not None and current.id == v1
        pubs = session.scalars(select(t.Publication).order_by(t.Publication.id)).all()
    assert [(p.version_id, p.rollback, p.ended_at is None) for p in pubs] == [
        (v1, False, False),
        (v2, False, False),
        (v1, True, True),
    ]


def test_publishing_errors_is_refused_unless_forced(store: Store) -> None:
    bad = read_boundaries([REAL])
    version = commit(store, bad)
    with pytest.raises(ConflictError, match=rf"version {version} has \d+ validation error"):
        publish(store, version, actor="planner")
    with store.reading() as session:
        assert published_version(session) is None
    publish(store, version, actor="chief", force=True)
    with store.reading() as session:
        entry = session.scalars(select(t.AuditEntry).where(t.AuditEntry.action == "publish")).one()
        pub = session.scalars(select(t.Publication)).one()
    assert entry.actor == "chief" and entry.detail["forced"] is True and pub.forced


def test_state_errors_name_the_version(store: Store, sample: Dataset) -> None:
    v1 = commit(store, sample.grids, sample)
    with pytest.raises(ConflictError, match="never published"):
        rollback(store, v1, actor="x")
    publish(store, v1, actor="x")
    with pytest.raises(ConflictError, match=f"version {v1} is already published"):
        publish(store, v1, actor="x")
    with pytest.raises(NotFoundError, match="version 999 does not exist"):
        publish(store, 999, actor="x")


def test_state_errors_read_in_chinese_and_still_name_the_version(
    store: Store, sample: Dataset
) -> None:
    """The CLI and the service write Chinese by default: the store's errors too, with the
    version's id, its kind and the command to run kept as they are."""
    v1 = commit(store, sample.grids, sample)
    with use_lang("zh"):
        with pytest.raises(ConflictError) as never:
            rollback(store, v1, actor="x")
        publish(store, v1, actor="x")
        with pytest.raises(ConflictError) as twice:
            publish(store, v1, actor="x")
        with pytest.raises(NotFoundError) as unknown:
            publish(store, 999, actor="x")
        with pytest.raises(NotFoundError) as unknown_kind, store.reading() as session:
            get_version(session, 998, t.VersionKind.ROSTER)
    assert str(never.value) == f"边界版本 {v1} 是从未发布过的草稿：请直接发布，而不是回滚"
    assert str(twice.value) == f"边界版本 {v1} 已发布"
    assert str(unknown.value) == "版本 999 不存在（见 `gridgeo versions`）"
    assert str(unknown_kind.value) == "人员名册版本 998 不存在（见 `gridgeo versions`）"
    with pytest.raises(ConflictError, match=f"^boundaries version {v1} is already published$"):
        publish(store, v1, actor="x")  # English outside the block (this test's default)


def test_database_allows_one_published_version_per_kind(store: Store, sample: Dataset) -> None:
    v1 = commit(store, sample.grids, sample)
    v2 = commit(store, sample.grids, sample)
    publish(store, v1, actor="x")
    with pytest.raises(IntegrityError), store.transaction() as session:
        session.execute(update(t.Version).where(t.Version.id == v2).values(status="published"))


def test_failed_import_leaves_nothing(store: Store, sample: Dataset) -> None:
    def boom(_: str) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        import_boundaries(store, sample.grids, author="x", commit=True, on_progress=boom)
    assert count(store, t.Version) == 0 and count(store, t.Grid) == 0
    assert count(store, t.AuditEntry) == 0


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".zip"])
def test_export_then_import_unchanged_is_an_empty_diff(
    store: Store, sample: Dataset, tmp_path: Path, suffix: str
) -> None:
    v1 = commit(store, sample.grids, sample)
    with store.reading() as session:
        exported = write_grids(load_grids(session, v1), tmp_path / f"edit{suffix}")
    v2 = commit(store, read_boundaries([exported]))
    with store.reading() as session:
        diff = diff_grids(load_grids(session, v1), load_grids(session, v2))
    assert diff.is_empty, diff.to_text()


def test_roster_is_checked_against_published_grids(store: Store, sample: Dataset) -> None:
    publish(store, commit(store, sample.grids, sample), actor="x")
    findings, draft = import_roster(store, sample.staff, author="x", commit=True)
    assert not [f for f in findings if f.severity == "error"]
    assert draft is not None and draft.kind == "roster" and draft.feature_count == 51
    publish(store, draft.id, actor="x")
    stray = [*sample.staff[:3]]
    stray[0] = type(stray[0])(**{**stray[0].__dict__, "grid_code": "450302999999999"})
    findings, _ = import_roster(store, stray, author="x")
    unknown = [f for f in findings if f.rule == "unknown_grid_code"]
    assert len(unknown) == 1 and "450302999999999" in unknown[0].message


def test_the_loser_of_two_simultaneous_publishes_gets_a_conflict(
    postgis_url: str, sample: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: two planners publish two drafts at the same moment. Both pass the
    checks before either retires the published version; the database's one-published
    index lets one through, the other is a ConflictError (409), never an IntegrityError
    (500), and the store is as the winner left it."""
    from gridgeo.store import versions

    store = Store(postgis_url)
    first = commit(store, sample.grids, sample)
    publish(store, first, actor="x")
    drafts = [commit(store, sample.grids, sample) for _ in range(2)]
    both_checked = threading.Barrier(2, timeout=30)
    check = versions._check_can_publish

    def check_then_wait(*args: Any, **kwargs: Any) -> None:
        check(*args, **kwargs)
        both_checked.wait()  # both transactions have locked their draft and passed

    monkeypatch.setattr(versions, "_check_can_publish", check_then_wait)
    outcomes: dict[int, str] = {}

    def attempt(version_id: int) -> None:
        try:
            publish(store, version_id, actor=f"planner-{version_id}")
            outcomes[version_id] = "published"
        except ConflictError as exc:
            outcomes[version_id] = str(exc)

    # each thread in a copy of this context: the language (English in tests) goes along
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(attempt, v)) for v in drafts
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(outcomes) == sorted(drafts)
    (winner,) = [v for v, o in outcomes.items() if o == "published"]
    (loser,) = [v for v in drafts if v != winner]
    assert "another version was published at the same moment" in outcomes[loser]
    with store.reading() as session:
        published = published_version(session, "boundaries")
        assert published is not None and published.id == winner
    statuses = {v.id: v.status for v in list_versions(store)}
    assert statuses[loser] == "draft" and statuses[first] == "retired"
    store.close()
