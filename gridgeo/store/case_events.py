"""Case events and their notifications: the rows every case change writes.

A change to a case writes one :class:`~gridgeo.store.schema.CaseEvent` per
step (the audit entry: who, when, from, to, note) and, in the same
transaction, one outbox message carrying the event, which ``gridgeo.notify``
delivers to webhooks and the event stream afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from gridgeo.caseflow import Action, CaseState
from gridgeo.store import schema as t
from gridgeo.store.case_rows import RowUpdate, run_updates, update_statement

EVENT_TOPIC = "case.event"


@dataclass
class EventRow:
    """One ``case_events`` row: built by an action, then written (it gets its id)."""

    case_id: int
    task_id: int | None
    at: datetime
    action: str
    actor: str
    unit: str = ""
    deadline: datetime | None = None
    note: str = ""
    from_state: str = ""
    to_state: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int = 0

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "case_id", "task_id", "at", "action", "actor", "unit", "deadline", "note",
        "from_state", "to_state", "detail",
    )  # fmt: skip

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COLUMNS}


EVENTS = cast(Table, t.CaseEvent.__table__)
OUTBOX = cast(Table, t.OutboxMessage.__table__)


_ADD_EVENT = insert(EVENTS).returning(EVENTS.c.id)
_ADD_OUTBOX = insert(OUTBOX)
_OUTBOX_COLUMNS = ("created_at", "topic", "payload")


@functools.cache
def _event_statement(updates: tuple[tuple[Table, frozenset[str]], ...]) -> Any:
    """PostgreSQL: ``updates``, the event and its message in one statement (data-modifying
    CTEs: one round trip instead of four); the message takes the event's new id. Built
    once per shape of ``updates``."""
    event = (
        insert(EVENTS)
        .values({c: bindparam(f"e_{c}", type_=EVENTS.c[c].type) for c in EventRow.COLUMNS})
        .returning(EVENTS.c.id)
        .cte("event")
    )
    message = select(
        *(bindparam(f"m_{c}", type_=OUTBOX.c[c].type) for c in _OUTBOX_COLUMNS), event.c.id
    )
    stmt = (
        insert(OUTBOX)
        .from_select([*_OUTBOX_COLUMNS, "event_id"], message)
        .returning(OUTBOX.c.event_id)
    )
    for i, (table, columns) in enumerate(updates):
        stmt = stmt.add_cte(update_statement(table, columns, f"u{i}_").cte(f"u{i}"))
    return stmt


def add_event(
    session: Session,
    event: EventRow,
    *,
    case_state: str,
    case_before: str = "",
    updates: Sequence[RowUpdate] = (),
) -> EventRow:
    """Insert ``event`` and the outbox message announcing it, after writing ``updates``
    (the rows the event records the change of); the event gets its id.

    On PostgreSQL all of it is one statement, on SQLite one statement each. The
    message's payload leaves out the event's id: readers of the outbox take it from
    the message's ``event_id`` column (:class:`gridgeo.notify.outbox.OutboxRecord`).
    """
    conn = session.connection()
    message = {
        "created_at": event.at,
        "topic": EVENT_TOPIC,
        "payload": event_payload(event, case_state=case_state, case_before=case_before),
    }
    if conn.dialect.name == "postgresql":
        # prefixed names: an UPDATE takes a parameter named like a column as a SET value
        params = {f"e_{k}": v for k, v in event.values().items()}
        params |= {f"m_{k}": v for k, v in message.items()}
        for i, u in enumerate(updates):
            params |= u.params(f"u{i}_")
        stmt = _event_statement(tuple(u.shape for u in updates))
        event.id = conn.execute(stmt, params).scalar_one()
    else:
        run_updates(session, list(updates))
        event.id = conn.execute(_ADD_EVENT, event.values()).scalar_one()
        conn.execute(_ADD_OUTBOX, message | {"event_id": event.id})
    return event


def event_payload(event: EventRow, *, case_state: str, case_before: str = "") -> dict[str, Any]:
    """An event as notifications carry it (webhooks and the event stream), all but its
    id, which readers take from the message's ``event_id`` column."""
    return {
        "case_id": event.case_id,
        "task_id": event.task_id,
        "action": event.action,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "unit": event.unit or None,
        "from": event.from_state,
        "to": event.to_state,
        "deadline": event.deadline.isoformat() if event.deadline else None,
        "note": event.note,
        "case_state": case_state,
        "case_state_before": case_before,
    }


def record_report(session: Session, case_id: int, actor: str, at: datetime) -> EventRow:
    """The ``report`` event and its outbox message of a new case (its creation's transaction)."""
    report = EventRow(
        case_id=case_id,
        task_id=None,
        at=at,
        action=Action.REPORT.value,
        actor=actor,
        to_state=CaseState.REPORTED.value,
    )
    return add_event(session, report, case_state=CaseState.REPORTED.value)
