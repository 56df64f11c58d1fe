"""The case event log: a hand-written log replayed through the work loop's core, every problem
of a bad log listed with its line and nothing written, dry runs, and the round trip
export -> import -> export; on SpatiaLite and on PostGIS."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from casehelpers import ADMIN, EVENT_LOG, published_store
from conftest import _drop_postgis_database as drop_postgis_database
from conftest import _fresh_postgis_database as fresh_postgis_database
from sqlalchemy import func, select

from gridgeo.caseflow import Action, Actor
from gridgeo.dataset import Dataset
from gridgeo.i18n import use_lang
from gridgeo.roles import Role
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store import schema as t
from gridgeo.store.case_queries import case_detail
from gridgeo.store.cases import NewCase, report_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.event_log import (
    COLUMNS,
    EventLogError,
    export_events,
    format_time,
    import_events,
)

BEIJING_TIME = "+08:00"


@pytest.fixture
def store(store_url: str) -> Store:
    return published_store(store_url)


@pytest.fixture
def data(store: Store, store_url: str) -> Dataset:
    return load_dataset(store, Settings(store=StoreSettings(database_url=store_url)))


@pytest.fixture
def other_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty store on the same backend as ``store_url``."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'copy.sqlite'}"
        return
    name, url = fresh_postgis_database()
    yield url
    drop_postgis_database(name)


def write(tmp_path: Path, text: str, name: str = "events.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def counts(store: Store) -> dict[str, int]:
    tables = {
        "cases": t.Case,
        "tasks": t.CaseTask,
        "events": t.CaseEvent,
        "outbox": t.OutboxMessage,
        "audit": t.AuditEntry,
    }
    with store.reading() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.items()
        }


def rows_of(store: Store) -> list[dict[str, str]]:
    out = io.StringIO()
    export_events(store, out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_hand_written_log_is_replayed_state_by_state(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    before = counts(store)
    found = import_events(
        store, write(tmp_path, EVENT_LOG), data=data, actor="importer", commit=True
    )
    assert found.ok and found.committed, found.problems
    assert (found.rows, found.cases, found.events, found.implied_requests) == (15, 3, 16, 1)
    assert found.states == {"rejected": 1, "dispatched": 1, "closed": 1}
    assert list(found.mapping) == ["A-001", "B-002", "C-003"]  # first appearance in the file
    assert found.mapping["A-001"] < found.mapping["B-002"] < found.mapping["C-003"]
    after = counts(store)
    assert after["cases"] - before["cases"] == 3
    assert after["events"] - before["events"] == 16
    assert after["outbox"] - before["outbox"] == 16  # every event announced, as live ones are

    closed = case_detail(store, found.mapping["A-001"])
    assert closed.case.state == "closed" and closed.case.status == "closed"
    assert closed.case.closed_at == at("2026-11-08T16:30+08:00")
    assert closed.case.attributes == {"import": {"case_id": "A-001"}}
    assert closed.case.description == "文明路口占道违章搭建"
    assert closed.case.grid_code == "450302001001002" and closed.case.category == "0101"
    assert closed.case.created_at == at("2026-11-03T09:15+08:00")
    (task,) = closed.tasks
    assert (task.unit, task.state.value) == ("ENF-450302001", "verified")
    assert task.deadline == at("2026-11-10T17:00+08:00")  # the extension moved it
    assert task.dispatched_at == at("2026-11-03T10:00+08:00")
    assert task.unit_name == "秀峰街道综合行政执法队"  # resolved with the published partners
    timeline = [(e.action.value, e.actor, e.to_state) for e in closed.events]
    assert timeline == [
        ("report", "市民热线", "reported"),
        ("register", "街道李", "registered"),
        ("dispatch", "街道李", "dispatched"),
        ("accept", "执法队王", "accepted"),
        ("request_extension", "街道李", "accepted"),  # implied by the one-row extend
        ("extend", "街道李", "accepted"),
        ("handle", "执法队王", "handled"),
        ("verify_fail", "监督员张", "rework"),
        ("handle", "执法队王", "handled"),
        ("verify_pass", "监督员张", "verified"),
        ("close", "街道李", "closed"),
    ]
    extend = closed.events[5]
    assert extend.deadline == at("2026-11-10T17:00+08:00") and extend.note == "需协调业主"
    assert at(extend.detail["previous_deadline"]) == at("2026-11-06T17:00+08:00")
    assert [e.at for e in closed.events] == sorted(e.at for e in closed.events)

    rejected = case_detail(store, found.mapping["B-002"])
    assert rejected.case.state == "rejected" and rejected.case.status == "closed"
    assert rejected.tasks == () and rejected.events[-1].note == "重复上报"
    assert rejected.case.closed_at is None  # rejected is not closed (结案)

    waiting = case_detail(store, found.mapping["C-003"])
    assert waiting.case.state == "dispatched" and waiting.case.status == "open"
    (task,) = waiting.tasks
    assert (task.unit, task.state.value) == ("TP-450302", "dispatched")
    assert task.deadline == at("2026-11-25T17:00+08:00")
    assert waiting.to_dict()["overdue"] is True  # by the clock now, as queues count it
    with store.reading() as session:
        entry = session.scalars(
            select(t.AuditEntry).where(t.AuditEntry.action == "case.import")
        ).one()
        assert entry.actor == "importer" and entry.detail["cases"] == 3


def test_a_bad_log_lists_every_problem_and_writes_nothing(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    bad = """\
case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note
X-1,2026-11-03T09:15+08:00,report,,,a,abc,25.2785,wgs84,0101,
X-2,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,
X-2,2026-11-03T09:20+08:00,register,,,a,,,,,
X-2,2026-11-03T09:30+08:00,dispatch,ENF-450302001,,a,,,,,
X-3,2026-11-03T09:15,report,,,a,110.3005,25.2785,wgs84,0101,
X-4,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,utm,0101,
X-5,2026-11-03T09:15+08:00,fly,,,a,110.3005,25.2785,wgs84,0101,
X-6,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,
X-6,2026-11-03T09:30+08:00,close,,,a,,,,,
X-7,2026-11-03T09:30+08:00,register,,,a,110.3005,25.2785,wgs84,0101,
X-8,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,9999,
X-9,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,
X-9,2026-11-03T09:20+08:00,register,,,a,,,,,
X-9,2026-11-03T09:30+08:00,dispatch,ENF-450302001,2026-11-03T08:00+08:00,a,,,,,
G-1,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,fine on its own
X-10,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,
X-10,2026-11-03T09:16+08:00,register,,,a,110.31,25.2785,wgs84,0101,
"""
    before = counts(store)
    found = import_events(store, write(tmp_path, bad), data=data, actor="i", commit=True)
    assert not found.ok and not found.committed
    by_line = {p.line: p for p in found.problems}
    assert sorted(by_line) == [2, 5, 6, 7, 8, 10, 11, 12, 15, 18]
    assert len(found.problems) == 10
    assert "lon 'abc' is not a number" in by_line[2].message
    assert "dispatch needs the deadline" in by_line[5].message
    assert "须填写 deadline" in by_line[5].message_zh
    assert "has no UTC offset: write it as 2026-11-03T09:15+08:00" in by_line[6].message
    assert "unknown coordinate system 'utm'" in by_line[7].message
    assert "unknown action 'fly'" in by_line[8].message
    assert "close (结案) is not allowed; allowed now: register, reject" in by_line[10].message
    assert "case X-6 is reported (上报)" in by_line[10].message  # the file's id, not a new one
    assert "has no report row" in by_line[11].message
    assert "'9999'" in by_line[12].message
    assert "is not after" in by_line[15].message and "dispatch at" in by_line[15].message
    assert "lon 110.31 differs from the case's report (line 17: 110.3005)" in by_line[18].message
    assert by_line[10].text("en").startswith("line 10 (case X-6): close at 2026-11-03T09:30+08:00")
    assert (
        by_line[10]
        .text("zh")
        .startswith("第 10 行（案件 X-6）：结案（close）于 2026-11-03T09:30+08:00 被拒绝：")
    )
    assert by_line[5].text("zh") == "第 5 行（案件 X-2）：派遣（dispatch）须填写 deadline"
    assert by_line[2].message_zh == "lon 'abc' 不是数字"
    assert by_line[2].text() == by_line[2].text("en")  # the current language: English here
    assert counts(store) == before  # not even the good case G-1
    assert found.mapping == {} or not found.committed


def test_the_problems_of_an_import_in_chinese_name_the_file_s_case(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    """Run in Chinese (the CLI's default), the work loop refuses in Chinese, and the case
    is replayed once more for its English reason: both name the file's case id, not the id
    the rolled-back insert had, and the replays leave nothing behind."""
    log = """\
case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note
X-6,2026-11-03T09:15+08:00,report,,,a,110.3005,25.2785,wgs84,0101,
X-6,2026-11-03T09:30+08:00,close,,,a,,,,,
X-6,2026-11-03T09:40+08:00,register,,,a,,,,,
"""
    before = counts(store)
    with use_lang("zh"):
        found = import_events(store, write(tmp_path, log), data=data, actor="i", commit=True)
        [problem] = found.problems
        text = problem.text()
    assert text.startswith("第 3 行（案件 X-6）：结案（close）于 2026-11-03T09:30+08:00 被拒绝：")
    assert text.endswith("；其后 1 条事件未回放")
    reason = problem.message_zh.split("被拒绝：", 1)[1]
    assert re.search(r"(case |案件 ?)X-6\b", reason)
    assert not re.search(r"(case |案件 ?)\d", reason)
    assert problem.message.startswith("close at 2026-11-03T09:30+08:00 refused: case X-6 is ")
    assert "not allowed; allowed now: register, reject" in problem.message
    assert problem.message.endswith("; its 1 later event(s) were not replayed")
    assert problem.to_dict()["message_zh"] == problem.message_zh
    assert counts(store) == before


def test_several_problems_of_one_row_are_all_listed(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    log = (
        "case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note\n"
        ",soon,register,U1,2026-11-03,a,200,x,wgs84,,\n"
    )
    found = import_events(store, write(tmp_path, log), data=data, actor="i")
    messages = [p.message for p in found.problems]
    assert all(p.line == 2 for p in found.problems)
    assert "case_id is empty" in messages
    assert "at 'soon' is not an ISO 8601 time such as 2026-11-03T09:15+08:00" in messages
    assert any("deadline '2026-11-03' has no UTC offset" in m for m in messages)
    assert any("register acts on the case: unit must be blank" in m for m in messages)
    assert any("lon '200' is outside -180..180" in m for m in messages)
    assert any("lat 'x' is not a number" in m for m in messages)
    assert any(m.startswith("register takes no deadline") for m in messages)


def test_a_file_whose_columns_are_missing_or_not_utf8_is_refused(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    path = write(tmp_path, "case_id,at,action,lon,lat\nA,2026-11-03T09:15+08:00,report,1,2\n")
    with pytest.raises(EventLogError, match=r"missing column\(s\) unit, deadline, crs, category"):
        import_events(store, path, data=data, actor="i")
    gbk = write(tmp_path, EVENT_LOG, "gbk.csv", encoding="gbk")
    with pytest.raises(EventLogError, match=r"not UTF-8.*CSV UTF-8"):
        import_events(store, gbk, data=data, actor="i")
    with pytest.raises(EventLogError, match="empty"):
        import_events(store, write(tmp_path, "", "empty.csv"), data=data, actor="i")


def test_a_log_with_a_bom_reordered_columns_and_no_actor_imports(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    log = (
        "\ufeffCategory,case_id,action,at,lon,lat,crs,unit,deadline,extra\n"
        "0101,K-1,report,2026-11-03T09:15+08:00,110.3005,25.2785,wgs84,,,x\n"
        "0101,K-1,register,2026-11-03T09:20+08:00,,,,,,y\n"
    )
    found = import_events(store, write(tmp_path, log), data=data, actor="imp", commit=True)
    assert found.ok and found.states == {"registered": 1}
    detail = case_detail(store, found.mapping["K-1"])
    assert [e.actor for e in detail.events] == ["imp", "imp"]  # no actor column: the importer


def test_a_dry_run_writes_nothing_and_says_what_it_would(
    store: Store, data: Dataset, tmp_path: Path
) -> None:
    path = write(tmp_path, EVENT_LOG)
    before = counts(store)
    dry = import_events(store, path, data=data, actor="i")
    assert dry.ok and not dry.committed and dry.to_dict()["dry_run"] is True
    assert (dry.cases, dry.events) == (3, 16)
    assert dry.states == {"rejected": 1, "dispatched": 1, "closed": 1}
    assert counts(store) == before
    done = import_events(store, path, data=data, actor="i", commit=True)
    assert done.committed and done.states == dry.states and not done.warnings
    again = import_events(store, path, data=data, actor="i")
    assert [w.case_id for w in again.warnings] == ["A-001", "B-002", "C-003"]
    assert f"imported before as case {done.mapping['A-001']}" in again.warnings[0].message


def test_export_writes_the_format(store: Store, data: Dataset, tmp_path: Path) -> None:
    import_events(store, write(tmp_path, EVENT_LOG), data=data, actor="i", commit=True)
    out = tmp_path / "out.csv"
    assert export_events(store, out) == 16
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf" + ",".join(COLUMNS).encode())  # BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["case_id"] for r in rows] == sorted((r["case_id"] for r in rows), key=int)
    report, *_ = rows
    assert report == {
        "case_id": report["case_id"],
        "at": "2026-11-03T09:15+08:00",
        "action": "report",
        "unit": "",
        "deadline": "",
        "actor": "市民热线",
        "lon": "110.3005",
        "lat": "25.2785",
        "crs": "wgs84",
        "category": "0101",
        "note": "文明路口占道违章搭建",
    }
    extend = next(r for r in rows if r["action"] == "extend")
    assert (extend["unit"], extend["deadline"]) == ("ENF-450302001", "2026-11-10T17:00+08:00")
    assert all(r["at"].endswith(BEIJING_TIME) for r in rows)
    first = int(report["case_id"])
    assert export_events(store, io.StringIO(), case_ids=[first]) == 11

    lines = tmp_path / "out.jsonl"
    export_events(store, lines, format="jsonl")
    objects = [json.loads(x) for x in lines.read_text(encoding="utf-8").splitlines()]
    assert len(objects) == 16 and objects[0]["lon"] == 110.3005 and objects[0]["deadline"] is None
    assert [o["action"] for o in objects] == [r["action"] for r in rows]


def _live_history(store: Store, data: Dataset) -> None:
    """Cases worked live (times now, with microseconds): a two-unit dispatch, a return and
    redispatch, a refused extension, a granted one, a photo."""
    office = Actor("街道派遣员", Role.DISPATCHER)
    unit = Actor("执法队", Role.HANDLER, unit="ENF-450302001")
    first = report_case(
        store, data, NewCase(110.3005, 25.2785, category="0101", description="A"), actor="app"
    ).id
    act(store, first, ActionRequest(Action.REGISTER, note="立案"), office, data=data)
    act(store, first, ActionRequest(Action.DISPATCH), office, data=data)  # the suggestion
    soon = t.utcnow() + timedelta(days=20)
    req = ActionRequest(Action.REQUEST_EXTENSION, unit="ENF-450302001", deadline=soon)
    act(store, first, req, unit, data=data)
    act(store, first, ActionRequest(Action.REFUSE_EXTENSION, unit="ENF-450302001"), office)
    act(store, first, ActionRequest(Action.RETURN, unit="ENF-450302001", note="非本单位"), unit)
    new = ActionRequest(
        Action.REDISPATCH, unit="ENF-450302001", units=("SAN-WENMING",), note="改派环卫"
    )
    act(store, first, new, office, data=data)
    act(store, first, ActionRequest(Action.ACCEPT, unit="SAN-WENMING"), ADMIN)
    req = ActionRequest(Action.REQUEST_EXTENSION, unit="SAN-WENMING", deadline=soon)
    act(store, first, req, ADMIN)
    act(store, first, ActionRequest(Action.EXTEND, unit="SAN-WENMING"), ADMIN)
    second = report_case(
        store, data, NewCase(110.2915, 25.2800, crs="gcj02", category="0505"), actor="app"
    )
    act(store, second.id, ActionRequest(Action.REJECT, note="不属实"), office)


def test_round_trip_export_import_export(
    store: Store, data: Dataset, tmp_path: Path, other_url: str
) -> None:
    import_events(store, write(tmp_path, EVENT_LOG), data=data, actor="i", commit=True)
    _live_history(store, data)
    exported = tmp_path / "first.csv"
    export_events(store, exported)
    original = rows_of(store)

    target = published_store(other_url)  # empty of cases, same published data
    target_data = load_dataset(target, Settings(store=StoreSettings(database_url=other_url)))
    found = import_events(target, exported, data=target_data, actor="copy", commit=True)
    assert found.ok and found.committed and found.implied_requests == 0, found.problems
    assert set(found.mapping) == {r["case_id"] for r in original}
    copied = rows_of(target)
    mapped = [r | {"case_id": str(found.mapping[r["case_id"]])} for r in original]
    assert copied == mapped
    for old, new in found.mapping.items():
        a, b = case_detail(store, int(old)), case_detail(target, new)
        assert (a.case.state, a.case.status, a.case.closed_at) == (
            b.case.state,
            b.case.status,
            b.case.closed_at,
        )
        assert [(x.unit, x.state, x.deadline) for x in a.tasks] == [
            (x.unit, x.state, x.deadline) for x in b.tasks
        ]
    assert any(r["action"] == "redispatch" for r in copied)
    assert format_time(datetime.fromisoformat(original[-1]["at"])) == original[-1]["at"]
