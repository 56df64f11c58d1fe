"""Case events and their notifications: the rows every case change writes.

A change to a case writes one :class:`~gridgeo.store.schema.CaseEvent` per
step (the audit entry: who, when, from, to, note) and, in the same
transaction, one outbox message carrying the event, which ``gridgeo.notify``
delivers to webhooks and the event stream afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from gridgeo.caseflow import Action, CaseState
from gridgeo.store import schema as t

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

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id"}


EVENTS = cast(Table, t.CaseEvent.__table__)
OUTBOX = cast(Table, t.OutboxMessage.__table__)


_ADD_EVENT = insert(EVENTS).returning(EVENTS.c.id)
_ADD_OUTBOX = insert(OUTBOX)


def add_event(session: Session, event: EventRow) -> EventRow:
    """Insert ``event``; it gets its id."""
    event.id = session.connection().execute(_ADD_EVENT, event.values()).scalar_one()
    return event


def add_outbox(
    session: Session, event: EventRow, *, case_state: str, case_before: str = ""
) -> None:
    """The outbox message announcing ``event`` (written: it has its id)."""
    payload = event_payload(event, case_state=case_state, case_before=case_before)
    session.connection().execute(
        _ADD_OUTBOX,
        {"created_at": event.at, "topic": EVENT_TOPIC, "event_id": event.id, "payload": payload},
    )


def event_payload(event: EventRow, *, case_state: str, case_before: str = "") -> dict[str, Any]:
    """An event as notifications carry it (webhooks and the event stream)."""
    return {
        "event_id": event.id,
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
    add_event(session, report)
    add_outbox(session, report, case_state=CaseState.REPORTED.value)
    return report
