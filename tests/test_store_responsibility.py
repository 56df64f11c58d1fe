"""Roster, partners and routing as store versions: seeded, loaded back equal, dispatching."""

from __future__ import annotations

import pytest

from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.responsibility import import_partners, import_roster, import_routing
from gridgeo.store.seed import seed_if_empty
from gridgeo.store.versions import list_versions


@pytest.fixture(scope="module")
def files() -> Dataset:
    return load()


def test_seeded_store_serves_what_the_files_say(store_url: str, files: Dataset) -> None:
    store = Store(store_url)
    assert seed_if_empty(store, Settings(store=StoreSettings(database_url=store_url)))
    assert not seed_if_empty(
        store, Settings(store=StoreSettings(database_url=store_url))
    )  # never twice
    kinds = {(v.kind, v.status) for v in list_versions(store)}
    assert kinds == {
        ("boundaries", "published"),
        ("roster", "published"),
        ("partners", "published"),
        ("routing", "published"),
    }
    data = load_dataset(store, Settings(store=StoreSettings(database_url=store_url)))
    assert data.staff == files.staff
    assert data.partners == files.partners and len(data.partners) == 14
    assert data.routing is not None and files.routing is not None
    assert data.routing.rules == files.routing.rules
    assert data.routing.local_categories == files.routing.local_categories
    # dispatch from the store gives the same parties as from the files
    for category in ("0505", "0101"):
        a = data.dispatch(110.3005, 25.2785, category).to_dict()
        b = files.dispatch(110.3005, 25.2785, category).to_dict()
        assert a["partners"] == b["partners"] and a["teams"] == b["teams"]
        assert a["partners"] or category != "0505"


def test_partner_zone_outside_the_district_is_an_error(store_url: str, files: Dataset) -> None:
    store = Store(store_url)
    seed_if_empty(store, Settings(store=StoreSettings(database_url=store_url)))
    import shapely

    from gridgeo.partners import Zone, ZoneKind

    far = files.partners[0].__class__(
        code="FAR-1",
        type=files.partners[0].type,
        name="远处单位",
        zone=Zone(ZoneKind.POLYGON, shapely.box(111.5, 26.5, 111.6, 26.6)),
    )
    findings, draft = import_partners(store, [far], author="p", commit=True)
    assert draft is not None and draft.errors >= 1
    assert any(f.rule == "zone_outside_district" and "FAR-1" in f.message for f in findings)


def test_routing_naming_missing_partner_types_is_reported(store_url: str, files: Dataset) -> None:
    store = Store(store_url)
    seed_if_empty(store, Settings(store=StoreSettings(database_url=store_url)))
    assert files.routing is not None
    findings, draft = import_routing(store, files.routing, author="p")
    assert draft is None  # dry run
    assert not [f for f in findings if f.severity == "error"]


def test_the_three_imports_take_one_set_of_options(store_url: str, files: Dataset) -> None:
    store = Store(store_url)
    seed_if_empty(store, Settings(store=StoreSettings(database_url=store_url)))
    assert files.routing is not None
    imports = (
        ("roster", lambda **o: import_roster(store, files.staff, **o), len(files.staff)),
        ("partners", lambda **o: import_partners(store, files.partners, **o), 14),
        ("routing", lambda **o: import_routing(store, files.routing, **o), None),
    )
    before = len(list_versions(store))
    for kind, run, count in imports:
        checked, draft = run(author="p", note="n", source=("f.csv", "ab12"))
        assert draft is None  # a dry run by default
        findings, draft = run(author="p", note="n", source=("f.csv", "ab12"), commit=True)
        assert findings == checked
        assert draft is not None and (draft.kind, draft.status) == (kind, "draft")
        assert (draft.author, draft.note, draft.source_name, draft.source_sha256) == (
            "p",
            "n",
            "f.csv",
            "ab12",
        )
        assert count is None or draft.feature_count == count
        assert draft.errors + draft.warnings == len(findings)
    assert len(list_versions(store)) == before + 3
