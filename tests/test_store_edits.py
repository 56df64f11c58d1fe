"""Saving edits in the store: locks read after they are held, drafts that fell behind the
published version, codes that were ever published never issued again."""

from __future__ import annotations

import pytest
from conftest import SAMPLE

from gridgeo.editing import Merge, Split
from gridgeo.errors import ConflictError
from gridgeo.io.boundaries import read_boundaries
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.core import Store
from gridgeo.store.edits import save_edits
from gridgeo.store.snapshots import get_version, issued_grid_codes
from gridgeo.store.versions import import_boundaries, locked_version, publish

ONE, TWO, THREE = "450302001001001", "450302001001002", "450302001001003"


@pytest.fixture
def store(store_url: str) -> Store:
    store = Store(store_url)
    grids = read_boundaries([SAMPLE / "boundaries.gpkg"])
    result = import_boundaries(store, grids, author="t", workstations=[], commit=True)
    assert result.version is not None
    publish(store, result.version.id, actor="t")
    return store


def line_across(store: Store, version: int, code: str) -> list[tuple[float, float]]:
    from gridgeo.store.snapshots import load_grids

    with store.reading() as session:
        grids = load_grids(session, version)
    geom = grids.geometries[grids.position_of[code]]
    _, y0, _, y1 = geom.bounds
    x = geom.representative_point().x
    return [(x, y0 - 0.001), (x, y1 + 0.001)]


def test_the_lock_reads_the_row_as_it_is_once_held(postgis_url: str) -> None:
    """A version row already in the session is re-read when the lock is granted: a draft
    another planner superseded meanwhile is seen as superseded (no second fork)."""
    store = Store(postgis_url)
    grids = read_boundaries([SAMPLE / "boundaries.gpkg"])
    draft = import_boundaries(store, grids, author="t", workstations=[], commit=True).version
    assert draft is not None
    with store.transaction() as session:
        assert get_version(session, draft.id).status == "draft"  # now in the identity map
        with Store(postgis_url).transaction() as other:  # the other planner's save commits
            other.get(t.Version, draft.id).status = t.VersionStatus.SUPERSEDED  # type: ignore[union-attr]
        assert locked_version(session, draft.id).status == "superseded"


def test_a_draft_edited_from_a_version_no_longer_published_is_not_published_silently(
    store: Store,
) -> None:
    settings = Settings()
    edited = save_edits(
        store, 1, [Split(ONE, line_across(store, 1, ONE))], author="li", settings=settings
    ).version
    # meanwhile another planner publishes a change of their own
    other = save_edits(store, 1, [Merge([TWO, THREE])], author="wang", settings=settings)
    publish(store, other.version.id, actor="wang")
    with pytest.raises(ConflictError, match=f"was edited from version 1, but version "
                       f"{other.version.id} has been published since"):  # fmt: skip
        publish(store, edited.id, actor="li")
    assert publish(store, edited.id, actor="li", force=True).status == "published"


def test_codes_once_published_are_never_issued_again(store: Store) -> None:
    settings = Settings()
    # version 2 merges THREE into TWO: THREE is retired with version 1 once 2 is published
    merged = save_edits(store, 1, [Merge([TWO, THREE])], author="li", settings=settings)
    publish(store, merged.version.id, actor="li")
    with store.reading() as session:
        assert THREE in issued_grid_codes(session)
    split = save_edits(
        store,
        merged.version.id,
        [Split(ONE, line_across(store, merged.version.id, ONE))],
        author="li",
        settings=settings,
    )
    [new] = split.applied[0].added
    assert new == "450302001001004"  # after THREE, which version 2 no longer has
