"""The outbox as readers see it: messages in id order, never past an id still to come.

Shared by the webhook delivery and the event stream (``gridgeo.notify``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gridgeo.store import schema as t
from gridgeo.store.core import Store

EVENTS_PAGE = 500  # outbox rows read per poll of an event stream


@dataclass(frozen=True)
class OutboxRecord:
    """One outbox message, detached from its session."""

    id: int
    topic: str
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: t.OutboxMessage) -> OutboxRecord:
        """The message of ``row``; a case event's payload gets the event's id from the
        row's ``event_id`` (written beside the payload, not in it)."""
        payload = dict(row.payload or {})
        if row.event_id is not None:
            payload = {"event_id": row.event_id, **payload}
        return cls(row.id, row.topic, row.created_at, payload)

    def to_dict(self) -> dict[str, Any]:
        """The webhook body: the message with its outbox id."""
        return {
            "id": self.id,
            "topic": self.topic,
            "created_at": self.created_at.isoformat(),
            "payload": self.payload,
        }


def read_outbox(store: Store, after: int, *, limit: int = EVENTS_PAGE) -> list[OutboxRecord]:
    """The messages with an id above ``after``, oldest first, at most ``limit``.

    On PostgreSQL the list stops before an id gap that a running transaction may
    still fill (:class:`OutboxGaps`): a reader never moves past a message that is
    about to appear.
    """
    with store.reading() as session:
        return [OutboxRecord.of(r) for r in final_rows(session, after, limit)]


class OutboxGaps:
    """Which gaps between outbox ids may still be filled (PostgreSQL).

    An id is drawn from the sequence when a transaction inserts its message, not
    when it commits: a transaction holding id 10 may commit after one holding 11.
    A reader that went on from 11 would never see 10. So a reader stops before a
    gap until every transaction that could own a missing id has ended: the first
    time a gap after id ``low`` is seen, the snapshot's ``xmax`` taken after that
    read bounds the ids of those transactions (they inserted before it, and a case
    transaction has its id from its first write, which comes before its message);
    once the ``xmin`` of a snapshot taken before a later read has reached that
    bound, they have all ended and that read holds whatever they committed.

    SQLite has one writer at a time: ids are committed in order and nothing is
    held back. One instance serves every reader of a process (a gap belongs to
    the outbox, not to a reader).
    """

    MAX_REMEMBERED = 10_000  # gaps being waited on; the oldest are forgotten beyond this

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (database, gap after this id) -> xmax when first seen
        self._first_seen: dict[tuple[str, int], int] = {}

    def settled(self, database: str, low: int, xmin_before: int, xmax_after: int) -> bool:
        """Whether the ids just above ``low`` are final (see the class)."""
        key = (database, low)
        with self._lock:
            bound = self._first_seen.setdefault(key, xmax_after)
            if xmin_before >= bound:
                del self._first_seen[key]
                return True
            while len(self._first_seen) > self.MAX_REMEMBERED:
                del self._first_seen[next(iter(self._first_seen))]
            return False


_GAPS = OutboxGaps()


def final_rows(session: Session, after: int, limit: int) -> list[t.OutboxMessage]:
    """Outbox rows above ``after`` in id order, up to the first gap that may still be
    filled (PostgreSQL; :class:`OutboxGaps`), at most ``limit``."""
    bind = session.get_bind()
    postgres = bind.dialect.name == "postgresql"
    before = _snapshot(session) if postgres else (0, 0)
    rows = session.scalars(
        select(t.OutboxMessage)
        .where(t.OutboxMessage.id > after)
        .order_by(t.OutboxMessage.id)
        .limit(limit)
    ).all()
    if not postgres or not rows:
        return list(rows)
    out: list[t.OutboxMessage] = []
    xmax_after: int | None = None
    previous = after
    for row in rows:
        if row.id != previous + 1:
            if xmax_after is None:
                xmax_after = _snapshot(session)[1]
            if not _GAPS.settled(str(bind.engine.url), previous, before[0], xmax_after):
                break
        out.append(row)
        previous = row.id
    return out


def _snapshot(session: Session) -> tuple[int, int]:
    """``xmin`` and ``xmax`` of a fresh PostgreSQL snapshot (each statement has its own)."""
    xmin, xmax = session.execute(
        text(
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint "
            "FROM pg_current_snapshot() AS s"
        )
    ).one()
    return int(xmin), int(xmax)


def newest_outbox_id(store: Store) -> int:
    """The id of the newest message (0 for an empty outbox)."""
    with store.reading() as session:
        return int(session.scalar(select(func.max(t.OutboxMessage.id))) or 0)
