"""The work loop over HTTP, on SQLite and PostGIS, with a key of each role.

A case of each major class of the published categories is reported, registered,
dispatched to its suggested units, worked by each unit's own key (accept, an
extension asked and granted, handling with a photo, a failed verification and
rework), verified by the grid inspector and closed; one unit gives its task
back and the street office re-dispatches it. Refusals are checked on the way:
another unit's key, an inspector outside its grids, an action out of order.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gridgeo.api.app import create_app
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import api_keys
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset

POINT = {"lon": 110.2965, "lat": 25.2775}  # in 文明社区, grid 450302001001002's area
PILOT_GRIDS = ("450302001001",)  # 文明社区: the inspector's grids


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (30, 160, 30)).save(out, format="PNG")
    return out.getvalue()


class Loop:
    """A client with one key per role (handlers: one per unit, made on demand)."""

    def __init__(self, client: TestClient, store: Store) -> None:
        self.client, self.store = client, store
        self.keys = {
            role: api_keys.create_key(store, f"{role.value}-key", role, actor="test")
            for role in (Role.VIEWER, Role.REPORTER, Role.DISPATCHER)
        }
        self.keys[Role.INSPECTOR] = api_keys.create_key(
            store, "inspector-key", Role.INSPECTOR, actor="test", grids=PILOT_GRIDS
        )
        self.keys[Role.ADMIN] = api_keys.create_key(store, "admin-key", Role.ADMIN, actor="t")
        self.units: dict[str, str] = {}

    def unit_key(self, unit: str) -> str:
        if unit not in self.units:
            self.units[unit] = api_keys.create_key(
                self.store, f"unit-{unit}", Role.HANDLER, actor="test", unit=unit
            )
        return self.units[unit]

    def as_(self, key: str) -> dict[str, str]:
        return {"X-API-Key": key}

    def act(self, key: str, case_id: int, **body: Any) -> httpx.Response:
        r: httpx.Response = self.client.post(
            f"/v1/cases/{case_id}/actions", json=body, headers=self.as_(key)
        )
        return r

    def ok(self, key: str, case_id: int, **body: Any) -> dict[str, Any]:
        r = self.act(key, case_id, **body)
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
def loop(store_url: str) -> Iterator[Loop]:
    app = create_app(Settings(store=StoreSettings(database_url=store_url)))
    store = Store(store_url)
    # the case core's refusals in English, the words these tests name
    headers = {"Accept-Language": "en"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield Loop(client, store)
    store.close()


def _categories(store: Store) -> list[str]:
    """One minor class of each major class of the published categories."""
    data = load_dataset(store, Settings())
    table = data.categories
    return [table.minors(m.code)[0].code for m in table.majors() if table.minors(m.code)]


def test_every_category_through_the_whole_loop(loop: Loop) -> None:
    office, inspector = loop.keys[Role.DISPATCHER], loop.keys[Role.INSPECTOR]
    categories = _categories(loop.store)
    assert len(categories) >= 6
    for category in categories:
        r = loop.client.post(
            "/v1/cases",
            json=POINT | {"category": category, "description": f"测试 {category}"},
            headers=loop.as_(loop.keys[Role.REPORTER]),
        )
        assert r.status_code == 201, r.text
        case = r.json()
        assert case["state"] == "reported" and case["state_zh"] == "上报"
        assert [e["action"] for e in case["events"]] == ["report"]
        units = [u["code"] for u in case["partner_units"]]
        assert units, f"category {category}: no suggested unit"
        cid = case["id"]

        # a handler may not register; the office may not close yet (409 names what it may)
        refused = loop.act(loop.unit_key(units[0]), cid, action="register")
        assert refused.status_code == 403, refused.text
        early = loop.act(office, cid, action="close")
        assert early.status_code == 409 and early.json()["allowed"] == ["register", "reject"]

        assert loop.ok(office, cid, action="立案")["state"] == "registered"
        case = loop.ok(office, cid, action="dispatch", note="按建议派遣")
        assert case["state"] == "dispatched"
        assert sorted(x["unit"] for x in case["tasks"]) == sorted(units)
        for task in case["tasks"]:
            assert datetime.fromisoformat(task["deadline"]) > datetime.fromisoformat(
                task["dispatched_at"]
            )
        _work_first_unit(loop, cid, case["tasks"][0], other=case["tasks"][1:])
        for task in case["tasks"][1:]:
            key = loop.unit_key(task["unit"])
            loop.ok(key, cid, action="handle", unit=task["unit"], note="已处理")
            loop.ok(inspector, cid, action="verify_pass", unit=task["unit"])
        closed = loop.ok(office, cid, action="close", public_note="已处理完毕")
        assert closed["state"] == "closed" and closed["status"] == "closed"
        actions = [e["action"] for e in closed["events"]]
        assert actions[:3] == ["report", "register", "dispatch"]
        assert {"verify_fail", "extend", "request_extension", "close"} <= set(actions)
        assert actions.count("handle") == len(units) + 1  # the first unit handled twice

        # Open311 sees it closed, with the public note and the deadline in force
        o = loop.client.get(f"/open311/v2/requests/{cid}.json").json()[0]
        assert o["status"] == "closed" and o["status_notes"] == "已处理完毕"
        assert o["expected_datetime"] is not None


def _work_first_unit(loop: Loop, cid: int, task: dict[str, Any], other: list[Any]) -> None:
    """accept, ask for more time (granted), handle with a photo, fail, rework, pass."""
    unit, office = task["unit"], loop.keys[Role.DISPATCHER]
    key = loop.unit_key(unit)
    if other:  # another unit's key may neither act on this task nor see it in its queue
        stranger = loop.unit_key(other[0]["unit"])
        denied = loop.client.post(
            f"/v1/tasks/{task['id']}/actions", json={"action": "accept"}, headers=loop.as_(stranger)
        )
        assert denied.status_code == 403 and unit in denied.json()["detail"]
        queue = loop.client.get("/v1/tasks", headers=loop.as_(stranger)).json()["tasks"]
        assert task["id"] not in {x["id"] for x in queue}
    queue = loop.client.get("/v1/tasks?state=dispatched", headers=loop.as_(key)).json()
    assert task["id"] in {x["id"] for x in queue["tasks"]}
    assert all(x["unit"] == unit for x in queue["tasks"])

    accepted = loop.client.post(
        f"/v1/tasks/{task['id']}/actions", json={"action": "签收"}, headers=loop.as_(key)
    )
    assert accepted.status_code == 200, accepted.text
    old = datetime.fromisoformat(task["deadline"])
    wanted = (old + timedelta(days=2)).isoformat()
    loop.ok(key, cid, action="request_extension", unit=unit, deadline=wanted, note="材料未到")
    asks = loop.client.get("/v1/tasks?extension=requested", headers=loop.as_(office)).json()
    assert task["id"] in {x["id"] for x in asks["tasks"]}
    granted = loop.ok(office, cid, action="extend", unit=unit)
    moved = next(x for x in granted["tasks"] if x["id"] == task["id"])
    assert datetime.fromisoformat(moved["deadline"]) == datetime.fromisoformat(wanted)

    photo = {"photo": ("after.png", png(), "image/png")}
    form = {"action": "handle", "unit": unit, "note": "已清理"}
    r = loop.client.post(f"/v1/cases/{cid}/actions", data=form, files=photo, headers=loop.as_(key))
    assert r.status_code == 200, r.text
    handled = r.json()
    assert handled["media_ids"], "the handling photo is stored with the case"
    assert handled["events"][-1]["detail"]["media_ids"] == handled["media_ids"][-1:]

    inspector = loop.keys[Role.INSPECTOR]
    failed = loop.ok(inspector, cid, action="verify_fail", unit=unit, note="仍有残留")
    assert next(x for x in failed["tasks"] if x["id"] == task["id"])["state"] == "rework"
    assert failed["state"] == "dispatched"
    loop.ok(key, cid, action="handle", unit=unit, note="返工完成")
    loop.ok(inspector, cid, action="verify_pass", unit=unit)


def test_redispatch_when_a_unit_says_it_is_not_theirs(loop: Loop) -> None:
    office = loop.keys[Role.DISPATCHER]
    case = loop.client.post(
        "/v1/cases",
        json=POINT | {"category": "0505", "urgency": "紧急"},
        headers=loop.as_(loop.keys[Role.REPORTER]),
    ).json()
    assert case["urgency"] == "urgent"
    loop.ok(office, case["id"], action="register")
    case = loop.ok(office, case["id"], action="dispatch", units=["TP-450302"])
    task = case["tasks"][0]
    key = loop.unit_key("TP-450302")
    returned = loop.ok(key, case["id"], action="return", unit="TP-450302", note="非本单位职责")
    assert returned["tasks"][0]["state"] == "returned"
    waiting = loop.client.get("/v1/tasks?state=returned", headers=loop.as_(office)).json()
    assert [x["id"] for x in waiting["tasks"]] == [task["id"]]
    # the new unit must exist; then the old task is cancelled and the new one dispatched
    bad = loop.act(office, case["id"], action="redispatch", unit="TP-450302", units=["NOPE"])
    assert bad.status_code == 400 and "NOPE" in bad.json()["detail"]
    moved = loop.ok(
        office, case["id"], action="redispatch", unit="TP-450302", units=["ENF-450302001"]
    )
    states = {x["unit"]: x["state"] for x in moved["tasks"]}
    assert states == {"TP-450302": "cancelled", "ENF-450302001": "dispatched"}
    new = next(x for x in moved["tasks"] if x["unit"] == "ENF-450302001")
    assert new["suggested"] is False  # an override of the suggestion, recorded
    assert moved["events"][-1]["detail"]["redispatch_of"] == task["id"]
    # the old unit's key no longer sees it as work; the new unit's does
    mine = loop.client.get("/v1/tasks?state=dispatched,accepted", headers=loop.as_(key)).json()
    assert mine["tasks"] == []
    theirs = loop.client.get("/v1/tasks", headers=loop.as_(loop.unit_key("ENF-450302001"))).json()
    assert [x["id"] for x in theirs["tasks"]] == [new["id"]]


def test_refusals_name_the_problem(loop: Loop) -> None:
    office = loop.keys[Role.DISPATCHER]
    reporter = loop.as_(loop.keys[Role.REPORTER])
    cid = loop.client.post("/v1/cases", json=POINT | {"category": "0101"}, headers=reporter).json()[
        "id"
    ]
    assert loop.act(office, 999999, action="register").status_code == 404
    unknown = loop.act(office, cid, action="fly")
    assert unknown.status_code == 400 and "fly" in unknown.json()["detail"]
    loop.ok(office, cid, action="register")
    past = (datetime.now().astimezone() - timedelta(hours=1)).isoformat()
    r = loop.act(office, cid, action="dispatch", units=["ENF-450302001"], deadline=past)
    assert r.status_code == 400 and "must lie ahead" in r.json()["detail"]
    r = loop.act(office, cid, action="dispatch", units=["ENF-450302001"], deadline="2030-01-01")
    assert r.status_code == 400 and "time zone" in r.json()["detail"]
    loop.ok(office, cid, action="dispatch", units=["ENF-450302001"])
    # an inspector outside the case's grids may not verify; a viewer may not act at all
    far = api_keys.create_key(loop.store, "far", Role.INSPECTOR, actor="t", grids=("450303",))
    key = loop.unit_key("ENF-450302001")
    loop.ok(key, cid, action="handle", unit="ENF-450302001")
    denied = loop.act(far, cid, action="verify_pass", unit="ENF-450302001")
    assert denied.status_code == 403 and "outside" in denied.json()["detail"]
    assert loop.act(loop.keys[Role.VIEWER], cid, action="close").status_code == 403
    twice = loop.act(key, cid, action="handle", unit="ENF-450302001")
    assert twice.status_code == 409 and "handled" in twice.json()["detail"]
    # bad category on report: named, with nothing stored
    bad = loop.client.post("/v1/cases", json=POINT | {"category": "乱停车x"}, headers=reporter)
    assert bad.status_code == 400 and "乱停车x" in bad.json()["detail"]
    # the photo checks of Open311 apply: a text file is refused by its content
    r = loop.client.post(
        f"/v1/cases/{cid}/actions",
        data={"action": "verify_pass", "unit": "ENF-450302001"},
        files={"photo": ("x.png", b"hello, not an image", "image/png")},
        headers=loop.as_(loop.keys[Role.INSPECTOR]),
    )
    assert r.status_code == 400 and "x.png" in r.json()["detail"]
    after = loop.client.get(f"/v1/cases/{cid}").json()
    assert after["tasks"][0]["state"] == "handled"  # the refused verification wrote nothing


def test_task_queue_filters(loop: Loop) -> None:
    office = loop.keys[Role.DISPATCHER]
    reporter = loop.as_(loop.keys[Role.REPORTER])
    ids = []
    for _ in range(3):
        cid = loop.client.post("/v1/cases", json=POINT | {"category": "0101"}, headers=reporter)
        ids.append(cid.json()["id"])
    for cid in ids:
        loop.ok(office, cid, action="register")
    soon = (datetime.now().astimezone() + timedelta(hours=2)).isoformat()
    later = (datetime.now().astimezone() + timedelta(days=20)).isoformat()
    loop.ok(office, ids[0], action="dispatch", units=["ENF-450302001"], deadline=soon)
    loop.ok(office, ids[1], action="dispatch", units=["ENF-450302001"], deadline=later)
    key = loop.as_(loop.unit_key("ENF-450302001"))
    due = loop.client.get("/v1/tasks?due_within_hours=24", headers=key).json()
    assert [x["case_id"] for x in due["tasks"]] == [ids[0]]
    both = loop.client.get("/v1/tasks?count=true", headers=key).json()
    assert [x["case_id"] for x in both["tasks"]] == ids[:2]  # earliest deadline first
    assert both["total"] == 2 and not any(x["overdue"] for x in both["tasks"])
    assert loop.client.get("/v1/tasks?overdue=true", headers=key).json()["tasks"] == []
    box = loop.client.get("/v1/tasks?bbox=110.0,25.0,110.1,25.1", headers=key).json()
    assert box["tasks"] == []
    other = loop.client.get("/v1/tasks?unit=TP-450302", headers=key)
    assert other.status_code == 403
    assert loop.client.get("/v1/tasks", headers=reporter).status_code == 403
    bad = loop.client.get("/v1/tasks?state=flying", headers=key)
    assert bad.status_code == 400 and "flying" in bad.json()["detail"]
    reg = loop.client.get("/v1/cases?state=registered").json()["cases"]
    assert [c["id"] for c in reg] == [ids[2]]  # the dispatch queue
