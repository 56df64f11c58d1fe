"""Cases keep the boundary version they were assigned under until reassigned explicitly;
their media are written in the same transaction; listings filter and page in SQL; the
photos of long-closed cases can be pruned."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
from casehelpers import ADMIN, close_case
from geometries import REDRAWN_GRIDS, redraw_strip, redrawn_sample
from sqlalchemy import func, insert, select

from gridgeo.caseflow import Action, IllegalActionError
from gridgeo.coords import from_cgcs2000
from gridgeo.dataset import Dataset
from gridgeo.errors import CoordinateError, GridgeoError, NotFoundError
from gridgeo.io.dataset import load
from gridgeo.settings import Settings
from gridgeo.store import cases
from gridgeo.store import schema as t
from gridgeo.store.cases import (
    CaseQuery,
    MediaUpload,
    create_case,
    get_case,
    get_media,
    list_cases,
    prune_media,
    reassign,
)
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.versions import import_boundaries, publish


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load()


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(store_url)


def publish_version(store: Store, data: Dataset, redrawn: bool = False) -> int:
    grids = redrawn_sample(data.grids) if redrawn else data.grids
    result = import_boundaries(
        store, grids, author="p", workstations=data.workstations, commit=True
    )
    assert result.version is not None
    publish(store, result.version.id, actor="p")
    return result.version.id


def test_case_is_assigned_and_stored_with_its_version(store: Store, sample: Dataset) -> None:
    v1 = publish_version(store, sample)
    data = load_dataset(store, Settings(), v1)
    lon, lat = (float(v[0]) for v in from_cgcs2000([110.3005], [25.2785], "gcj02"))
    case = create_case(
        store, data, lon=lon, lat=lat, crs="gcj02", category="0101", description="垃圾", actor="app"
    )
    assert case.grid_code == "450302001001002" and case.boundary_version == v1
    assert case.codes[4] == "450302001001" and case.codes[1] == "450300"
    assert case.workstation_code == "WS450302001001"
    assert case.lon == pytest.approx(110.3005, abs=1e-7)  # normalised to CGCS2000
    assert case.source == {"lon": lon, "lat": lat, "crs": "gcj02"}
    assert get_case(store, case.id) == case


def test_bad_coordinates_write_nothing(store: Store, sample: Dataset) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    with pytest.raises(CoordinateError):
        create_case(store, data, lon=25.2785, lat=110.3005, actor="app")  # swapped
    assert list_cases(store) == []
    with pytest.raises(NotFoundError, match="case 42"):
        get_case(store, 42)


def test_case_keeps_its_grid_until_reassigned(store: Store, sample: Dataset) -> None:
    v1 = publish_version(store, sample)
    strip = redraw_strip(sample.grids)
    inside = strip.representative_point()  # in grid 2 under v1, in grid 1 under v2
    elsewhere = (110.3005, 25.2785)
    data1 = load_dataset(store, Settings(), v1)
    moving = create_case(store, data1, lon=inside.x, lat=inside.y, crs="cgcs2000", actor="a")
    staying = create_case(store, data1, lon=elsewhere[0], lat=elsewhere[1], actor="a")
    closed = create_case(store, data1, lon=inside.x, lat=inside.y, crs="cgcs2000", actor="a")
    close_case(store, closed.id)
    assert moving.grid_code == REDRAWN_GRIDS[1]

    v2 = publish_version(store, sample, redrawn=True)
    assert get_case(store, moving.id).grid_code == REDRAWN_GRIDS[1]  # publishing moves nothing
    assert get_case(store, moving.id).boundary_version == v1

    report = reassign(store, load_dataset(store, Settings(), v2), actor="dispatcher")
    assert report.open_cases == 2
    assert [(m.case_id, m.old_code, m.new_code) for m in report.moved] == [
        (moving.id, REDRAWN_GRIDS[1], REDRAWN_GRIDS[0])
    ]
    assert get_case(store, moving.id).grid_code == REDRAWN_GRIDS[0]
    assert get_case(store, staying.id).boundary_version == v2
    assert get_case(store, closed.id).boundary_version == v1  # closed cases are history
    with store.reading() as session:
        entry = session.scalars(
            select(t.AuditEntry).where(t.AuditEntry.action == "case.reassign")
        ).one()
    assert entry.actor == "dispatcher" and entry.detail["moved"] == 1


def test_listing_filters(store: Store, sample: Dataset) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    a = create_case(store, data, lon=110.3005, lat=25.2785, category="A", actor="x")
    b = create_case(store, data, lon=110.2915, lat=25.2800, category="B", actor="x")
    close_case(store, b.id)
    assert [c.id for c in list_cases(store)] == [b.id, a.id]
    assert [c.id for c in list_cases(store, CaseQuery(status="open"))] == [a.id]
    assert [c.id for c in list_cases(store, CaseQuery(category="B"))] == [b.id]
    assert [c.id for c in list_cases(store, CaseQuery(ids=[a.id]))] == [a.id]
    community = a.codes[4]
    assert community is not None
    assert [c.id for c in list_cases(store, CaseQuery(grid_code=community))] == [a.id]
    assert list_cases(store, CaseQuery(start=b.created_at, end=b.updated_at))[0].id == b.id


def test_case_and_media_in_one_transaction(
    store: Store, sample: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    photo = MediaUpload("image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "p.png")
    case = create_case(
        store, data, lon=110.3005, lat=25.2785, actor="app", media_url=None, media=[photo]
    )
    (media_id,) = case.media_ids
    assert get_case(store, case.id) == case
    stored = get_media(store, media_id)
    assert (stored.case_id, stored.content_type, stored.filename) == (case.id, "image/png", "p.png")
    assert stored.data == photo.data and stored.size == len(photo.data)
    assert stored.sha256 == hashlib.sha256(photo.data).hexdigest()
    with pytest.raises(NotFoundError, match="media 999"):
        get_media(store, 999)

    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("simulated failure after the case and media inserts")

    monkeypatch.setattr(cases, "record", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        create_case(store, data, lon=110.3005, lat=25.2785, actor="app", media=[photo, photo])
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(t.Case)) == 1
        assert session.scalar(select(func.count()).select_from(t.CaseMedia)) == 1


def test_listing_any_of_several_values_pages_in_sql(store: Store, sample: Dataset) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    made = [
        create_case(store, data, lon=110.3005, lat=25.2785, category="ABC"[i % 3], actor="x").id
        for i in range(12)
    ]
    for case_id in made[::3]:  # every category "A" case
        close_case(store, case_id)
    wanted = [i for n, i in enumerate(made) if "ABC"[n % 3] in "AB"]
    query = CaseQuery(category=["A", "B"], status=["open", "closed"], limit=3)
    pages = [list_cases(store, replace(query, offset=o)) for o in range(0, 12, 3)]
    assert [c.id for p in pages for c in p] == sorted(wanted, reverse=True)
    assert [len(p) for p in pages] == [3, 3, 2, 0]
    only_closed = list_cases(store, CaseQuery(status=["closed"], category=("A", "C")))
    assert [c.id for c in only_closed] == sorted(made[::3], reverse=True)
    assert list_cases(store, CaseQuery(category=[])) == list_cases(store)  # empty: no filter


def test_prune_media_of_long_closed_cases_only(store: Store, sample: Dataset) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    photo = MediaUpload("image/jpeg", b"\xff\xd8\xff" + bytes(100), "p.jpg")

    def new_case(n: int, url: str | None = None) -> int:
        point = {"lon": 110.3005, "lat": 25.2785}
        record = create_case(store, data, **point, actor="app", media_url=url, media=[photo] * n)
        return record.id

    long_closed, recently_closed, still_open = (
        new_case(2, "https://img.example.cn/1.jpg"),
        new_case(1),
        new_case(1),
    )
    close_case(store, long_closed, at=t.utcnow() - timedelta(days=40))  # closed 40 days ago
    close_case(store, recently_closed)
    with store.transaction() as session:  # open for 400 days
        row = session.get(t.Case, still_open)
        assert row is not None
        row.updated_at = t.utcnow() - timedelta(days=400)

    dry = prune_media(store, older_than=timedelta(days=30), actor="admin")
    assert (dry.media, dry.cases, dry.bytes, dry.removed) == (2, 1, 2 * len(photo.data), False)
    assert len(get_case(store, long_closed).media_ids) == 2  # a dry run deletes nothing

    done = prune_media(store, older_than=timedelta(days=30), actor="admin", commit=True)
    assert (done.media, done.cases, done.removed) == (2, 1, True)
    pruned = get_case(store, long_closed)
    assert pruned.media_ids == () and pruned.media_url == "https://img.example.cn/1.jpg"
    assert len(get_case(store, recently_closed).media_ids) == 1  # closed 0 days ago
    assert len(get_case(store, still_open).media_ids) == 1  # open cases keep theirs
    with store.reading() as session:
        entry = session.scalars(
            select(t.AuditEntry).where(t.AuditEntry.action == "media.prune")
        ).one()
        assert entry.actor == "admin" and entry.detail["media"] == 2
    again = prune_media(store, older_than=timedelta(days=30), actor="admin", commit=True)
    assert (again.media, again.removed) == (0, False)
    everything = prune_media(store, older_than=timedelta(0), actor="admin", commit=True)
    assert everything.media == 1 and get_case(store, recently_closed).media_ids == ()
    with pytest.raises(GridgeoError, match="negative"):
        prune_media(store, older_than=timedelta(days=-1), actor="admin")


def test_closing_a_closed_case_keeps_its_prune_clock(store: Store, sample: Dataset) -> None:
    data = load_dataset(store, Settings(), publish_version(store, sample))
    case = create_case(store, data, lon=110.3005, lat=25.2785, actor="app")
    closed = close_case(store, case.id)
    with pytest.raises(IllegalActionError, match=r"case \d+ is closed .*no action is allowed now"):
        act(store, case.id, ActionRequest(Action.CLOSE), ADMIN)
    again = get_case(store, case.id)
    assert again.closed_at == closed.closed_at is not None  # the prune clock did not restart
    assert again.updated_at == closed.updated_at and again.status == "closed"
    with store.reading() as session:
        entries = session.scalars(
            select(t.CaseEvent).where(
                t.CaseEvent.case_id == case.id, t.CaseEvent.action == Action.CLOSE.value
            )
        ).all()
        assert len(entries) == 1  # the second close changed nothing


def test_prune_media_takes_any_number_of_photos(store: Store, sample: Dataset) -> None:
    # more than PostgreSQL's 65,535 bound parameters: the delete selects in SQL, not by ids
    data = load_dataset(store, Settings(), publish_version(store, sample))
    case = create_case(store, data, lon=110.3005, lat=25.2785, actor="app")
    close_case(store, case.id)
    n = 70_000
    row = {"case_id": case.id, "content_type": "image/png", "size": 1, "sha256": "0" * 64}
    with store.transaction() as session:
        session.execute(insert(t.CaseMedia), [row | {"data": b"x"} for _ in range(n)])
    found = prune_media(store, older_than=timedelta(0), actor="admin", commit=True)
    assert (found.media, found.cases, found.bytes, found.removed) == (n, 1, n, True)
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(t.CaseMedia)) == 0
