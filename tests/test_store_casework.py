"""The work loop in the store, on SQLite and PostGIS: one transaction per action, exactly
one winner when two terminals act on one task at once, and nothing half-written when the
process is killed in the middle of an action."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gridgeo.caseflow import Action, Actor, CaseState, IllegalActionError
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.notify.outbox import read_outbox
from gridgeo.roles import Role
from gridgeo.store import schema as t
from gridgeo.store.case_queries import case_detail
from gridgeo.store.cases import NewCase, report_case
from gridgeo.store.casework import ActionRequest, act
from gridgeo.store.core import Store

OFFICE = Actor("office", Role.DISPATCHER)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load()


def dispatched_case(store: Store, data: Dataset, unit: str = "TP-450302") -> int:
    case = report_case(store, data, NewCase(lon=110.3005, lat=25.2785, category="0505"), actor="t")
    act(store, case.id, ActionRequest(Action.REGISTER), OFFICE)
    act(store, case.id, ActionRequest(Action.DISPATCH, units=(unit,)), OFFICE, data=data)
    return case.id


def counts(store: Store) -> tuple[int, int]:
    with store.reading() as session:
        events = session.scalar(select(func.count()).select_from(t.CaseEvent))
        outbox = session.scalar(select(func.count()).select_from(t.OutboxMessage))
    return int(events or 0), int(outbox or 0)


def test_each_event_has_its_outbox_message(store_url: str, sample: Dataset) -> None:
    store = Store(store_url)
    cid = dispatched_case(store, sample)
    events, outbox = counts(store)
    assert events == outbox == 3  # report, register, dispatch
    with store.reading() as session:
        rows = session.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)).all()
        assert [r.payload["action"] for r in rows] == ["report", "register", "dispatch"]
        assert rows[-1].payload["case_id"] == cid and rows[-1].payload["unit"] == "TP-450302"
        assert rows[-1].payload["case_state"] == "dispatched"
        # each message names its event (the case's three, in order); readers see its id
        events = session.scalars(select(t.CaseEvent.id).order_by(t.CaseEvent.id)).all()
        assert [r.event_id for r in rows] == list(events)
    assert [m.payload["event_id"] for m in read_outbox(store, 0)] == list(events)
    store.close()


def test_two_terminals_one_task_exactly_one_wins(store_url: str, sample: Dataset) -> None:
    store = Store(store_url)
    cid = dispatched_case(store, sample)
    unit = Actor("tp", Role.HANDLER, unit="TP-450302")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def handle(note: str) -> None:
        barrier.wait()
        try:
            act(store, cid, ActionRequest(Action.HANDLE, unit="TP-450302", note=note), unit)
            outcomes.append("ok")
        except IllegalActionError as exc:
            outcomes.append(f"409 {exc}")

    threads = [threading.Thread(target=handle, args=(n,)) for n in ("a", "b")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert sorted(o[:3] for o in outcomes) == ["409", "ok"], outcomes
    detail = case_detail(store, cid)
    assert [e.action for e in detail.events].count(Action.HANDLE) == 1
    assert detail.case.state == CaseState.HANDLED.value
    store.close()


def _handle(
    store: Store,
    case_id: int,
    unit: str,
    barrier: threading.Barrier,
    failures: list[BaseException],
) -> None:
    barrier.wait()
    try:
        handler = Actor(unit, Role.HANDLER, unit)
        act(store, case_id, ActionRequest(Action.HANDLE, unit=unit), handler)
    except Exception as exc:  # a thread's exception is lost: the test reports it
        failures.append(exc)


def test_parallel_units_leave_the_case_handled(store_url: str, sample: Dataset) -> None:
    """Two units finishing at the same moment: the case's state sees both, every time.

    The second action waits for the first's lock and must then read the tasks as the
    first left them (on PostgreSQL a statement that waited for a lock re-reads only the
    locked row: the lock is taken by a statement of its own)."""
    store = Store(store_url)
    units = ("TP-450302", "ENF-450302001")
    for _ in range(8):
        case = report_case(
            store, sample, NewCase(lon=110.3005, lat=25.2785, category="0505"), actor="t"
        )
        act(store, case.id, ActionRequest(Action.REGISTER), OFFICE)
        act(store, case.id, ActionRequest(Action.DISPATCH, units=units), OFFICE, data=sample)
        barrier = threading.Barrier(2)
        failures: list[BaseException] = []
        threads = [
            threading.Thread(target=_handle, args=(store, case.id, u, barrier, failures))
            for u in units
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert failures == []
        assert case_detail(store, case.id).case.state == CaseState.HANDLED.value
    store.close()


def test_extension_moves_the_deadline_and_history_keeps_both(
    store_url: str, sample: Dataset
) -> None:
    store = Store(store_url)
    at = datetime(2026, 10, 30, 7, 0, tzinfo=UTC)  # Friday 15:00 in Beijing
    case = report_case(
        store, sample, NewCase(lon=110.3005, lat=25.2785, category="0505", at=at), actor="t"
    )
    act(store, case.id, ActionRequest(Action.REGISTER, at=at), OFFICE)
    act(
        store,
        case.id,
        ActionRequest(Action.DISPATCH, units=("TP-450302",), at=at),
        OFFICE,
        data=sample,
    )
    task = case_detail(store, case.id).tasks[0]
    limit = sample.routing.time_limit("0505", "normal") if sample.routing else None
    assert limit is not None
    from gridgeo.deadlines import deadline_after

    assert task.deadline == deadline_after(at, limit)  # from the routing table, at dispatch
    unit = Actor("tp", Role.HANDLER, unit="TP-450302")
    with pytest.raises(Exception, match="not after"):
        act(
            store,
            case.id,
            ActionRequest(
                Action.REQUEST_EXTENSION, unit="TP-450302", deadline=task.deadline, at=at
            ),
            unit,
        )
    wanted = task.deadline + timedelta(days=3)
    act(
        store,
        case.id,
        ActionRequest(Action.REQUEST_EXTENSION, unit="TP-450302", deadline=wanted, at=at),
        unit,
    )
    act(store, case.id, ActionRequest(Action.EXTEND, unit="TP-450302", at=at), OFFICE)
    detail = case_detail(store, case.id)
    assert detail.tasks[0].deadline == wanted and detail.tasks[0].extension_until is None
    extend = detail.events[-1]
    assert extend.action is Action.EXTEND and extend.deadline == wanted
    assert extend.detail["previous_deadline"] == task.deadline.isoformat()
    store.close()


KILLER = textwrap.dedent(
    """
    import sys, time
    from gridgeo.store import casework
    from gridgeo.store.core import Store
    from gridgeo.store.casework import ActionRequest, act
    from gridgeo.caseflow import Action, Actor
    from gridgeo.roles import Role

    original = casework.add_event

    def stall(session, event, **kw):
        original(session, event, **kw)
        session.flush()  # the rows are written, the transaction is not committed
        print("WRITTEN", flush=True)
        time.sleep(120)

    casework.add_event = stall
    store = Store(sys.argv[1])
    act(store, int(sys.argv[2]), ActionRequest(Action.HANDLE, unit="TP-450302"),
        Actor("tp", Role.HANDLER, unit="TP-450302"))
    """
)


def test_sigkill_during_an_action_leaves_the_case_as_it_was(
    store_url: str, sample: Dataset, tmp_path: Path
) -> None:
    store = Store(store_url)
    cid = dispatched_case(store, sample)
    before = counts(store), case_detail(store, cid).to_dict(datetime.now(UTC))
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    child = subprocess.Popen(
        [sys.executable, str(script), store_url, str(cid)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "WRITTEN"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    after = counts(store), case_detail(store, cid).to_dict(datetime.now(UTC))
    assert after[0] == before[0]  # no orphan event nor outbox message
    assert after[1]["tasks"] == before[1]["tasks"] and after[1]["state"] == "dispatched"
    # and the case goes on normally afterwards
    act(
        store,
        cid,
        ActionRequest(Action.HANDLE, unit="TP-450302"),
        Actor("tp", Role.HANDLER, unit="TP-450302"),
    )
    assert case_detail(store, cid).case.state == CaseState.HANDLED.value
    store.close()
