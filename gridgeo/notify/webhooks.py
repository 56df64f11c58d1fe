"""Webhooks: what each receives and the delivery pass that sends it (at-least-once).

Each configured URL has a cursor (``webhook_cursors``): the id of the last
message it acknowledged with a 2xx. A pass (:func:`deliver_once`) POSTs the
messages after the cursor in id order, one request per message, and moves the
cursor after each success. A failure (non-2xx, timeout, connection error) stops
that URL's pass and schedules a retry with exponential backoff; the other URLs
go on. A crash between the POST and the cursor's commit sends that one message
again, with the same ``Idempotency-Key``.

On PostgreSQL a URL's cursor row is locked (``FOR UPDATE SKIP LOCKED``) while
one of its messages is being posted, so two workers never deliver to one URL
at the same time. On SQLite the POST runs outside any transaction and the
cursor is then advanced in a short write transaction of its own: holding
SQLite's single write lock through an HTTP request would make every case
action wait for the webhook. Two processes delivering from one SQLite file
may therefore both send a message; the idempotency key makes that harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gridgeo import __version__
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.notify.outbox import OutboxRecord, final_rows
from gridgeo.settings import Settings
from gridgeo.store import schema as t

if TYPE_CHECKING:  # imported where a message is sent: a service without webhooks never needs it
    import httpx
from gridgeo.store.core import Store

SIGNATURE_HEADER = "X-Gridgeo-Signature"
EVENT_HEADER = "X-Gridgeo-Event"
TIMESTAMP_HEADER = "X-Gridgeo-Timestamp"
IDEMPOTENCY_PREFIX = "gridgeo-outbox-"
MAX_URL_LENGTH = 1000  # webhook_cursors.url is String(1000)
MAX_ERROR_CHARS = 500  # of last_error: enough to name the failure, bounded whatever a peer sends
ERROR_BODY_BYTES = 2048  # of a refusing receiver's answer, kept in last_error

_jitter = random.Random()


class WebhookConfigError(GridgeoError):
    """A configured webhook URL is not usable (``GRIDGEO_WEBHOOKS``)."""


# --- configuration -------------------------------------------------------------------------


def webhook_urls(settings: Settings) -> tuple[str, ...]:
    """The configured webhook URLs, in order, without blanks and duplicates.

    Raises
    ------
    WebhookConfigError
        A URL that is not http(s) with a host, or longer than the store keeps.
    """
    urls: list[str] = []
    for part in settings.notify.webhooks.split(","):
        url = part.strip()
        if url and url not in urls:
            _check_url(url)
            urls.append(url)
    return tuple(urls)


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise WebhookConfigError(
            tr("webhook URL {url!r}: {error}", url=redact(url), error=exc)
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookConfigError(
            tr(
                "webhook URL {url!r}: give an http:// or https:// URL with a host "
                "(GRIDGEO_WEBHOOKS, comma-separated)",
                url=redact(url),
            )
        )
    if len(url) > MAX_URL_LENGTH:
        raise WebhookConfigError(
            tr(
                "webhook URL {url!r}...: {length} characters, at most {limit} are kept",
                url=redact(url)[:80],
                length=len(url),
                limit=MAX_URL_LENGTH,
            )
        )


def redact(url: str) -> str:
    """``url`` with its password and query hidden, for logs and listings (tokens live there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def webhook_body(record: OutboxRecord) -> bytes:
    """The exact bytes POSTed (compact UTF-8 JSON, keys sorted: a retry sends the same bytes)."""
    text = json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8")


def sign(body: bytes, secret: str) -> str:
    """The ``X-Gridgeo-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time)."""
    return hmac.compare_digest(sign(body, secret), header.strip())


def webhook_headers(record: OutboxRecord, body: bytes, secret: str, at: datetime) -> dict[str, str]:
    """The headers of one delivery; ``at`` is the send time (``X-Gridgeo-Timestamp``)."""
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": f"{IDEMPOTENCY_PREFIX}{record.id}",
        EVENT_HEADER: record.topic,
        TIMESTAMP_HEADER: str(int(at.timestamp())),
        "User-Agent": f"gridgeo/{__version__}",
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return headers


def backoff_s(attempts: int, max_backoff_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failure in a row.

    ``min(max_backoff_s, 2**attempts)`` times a jitter in [0.5, 1.0], so that
    many workers retrying one receiver do not all come back at the same instant.
    """
    base = min(max_backoff_s, 2.0 ** min(attempts, 62))
    return base * (rng or _jitter).uniform(0.5, 1.0)


# --- a delivery pass -----------------------------------------------------------------------


class Outcome(StrEnum):
    """Why a URL's part of a pass ended."""

    CAUGHT_UP = "caught_up"  # every message delivered
    MORE = "more"  # webhook_batch messages sent; the next pass goes on
    WAITING = "waiting"  # backing off after a failure: not tried
    BUSY = "busy"  # another worker is delivering to this URL
    FAILED = "failed"  # a message was refused or not answered: retry scheduled
    STOPPED = "stopped"  # the service is shutting down


@dataclass(frozen=True)
class WebhookResult:
    """One URL's part of a delivery pass."""

    url: str
    outcome: Outcome
    sent: int = 0
    delivered_id: int = 0
    attempts: int = 0
    next_attempt_at: datetime | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": redact(self.url),
            "outcome": self.outcome.value,
            "sent": self.sent,
            "delivered_id": self.delivered_id,
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at),
            "error": self.error,
        }


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery pass did, per configured URL."""

    webhooks: tuple[WebhookResult, ...]

    @property
    def sent(self) -> int:
        """Messages acknowledged in this pass, over all URLs."""
        return sum(r.sent for r in self.webhooks)

    @property
    def failed(self) -> tuple[WebhookResult, ...]:
        """The URLs whose delivery failed in this pass."""
        return tuple(r for r in self.webhooks if r.outcome is Outcome.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "webhooks": [r.to_dict() for r in self.webhooks]}


@dataclass(frozen=True)
class _Step:
    outcome: Outcome
    delivered_id: int
    attempts: int = 0
    next_attempt_at: datetime | None = None
    error: str = ""


def deliver_once(
    store: Store,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    now: datetime | None = None,
    halt: threading.Event | None = None,
) -> DeliveryReport:
    """One delivery pass over the configured webhooks.

    Parameters
    ----------
    store
        The store whose outbox is delivered.
    settings
        ``webhooks``, ``webhook_secret``, ``webhook_timeout_s``,
        ``webhook_max_backoff_s`` and ``webhook_batch``.
    client
        The HTTP client to send with (the service keeps one for its connections);
        default: a new one for this pass.
    now
        The time of the pass (tests; default: the clock, read at each step).
    halt
        Set to end the pass after the message being sent (service shutdown).

    Returns
    -------
    DeliveryReport
        Per URL: how many messages were acknowledged, and why its part ended.
    """
    urls = webhook_urls(settings)
    if not urls:
        return DeliveryReport(())
    fixed = now.replace(tzinfo=UTC) if now is not None and now.tzinfo is None else now
    clock: Callable[[], datetime] = (lambda: fixed) if fixed is not None else t.utcnow
    _ensure_cursors(store, urls, clock())
    # A read first, so that an idle pass locks and writes nothing.
    with store.reading() as session:
        cursors = {
            c.url: c
            for c in session.scalars(select(t.WebhookCursor).where(t.WebhookCursor.url.in_(urls)))
        }
        newest = int(session.scalar(select(func.max(t.OutboxMessage.id))) or 0)
    import httpx

    own = client is None
    http = client or httpx.Client(timeout=settings.notify.webhook_timeout_s)
    try:
        results = []
        for url in urls:
            cursor = cursors[url]
            if cursor.next_attempt_at is not None and cursor.next_attempt_at > clock():
                results.append(_result(url, 0, _waiting(cursor)))
            elif cursor.delivered_id >= newest:
                results.append(_result(url, 0, _Step(Outcome.CAUGHT_UP, cursor.delivered_id)))
            else:
                results.append(
                    _deliver_url(store, settings, url, client=http, clock=clock, halt=halt)
                )
        return DeliveryReport(tuple(results))
    finally:
        if own:
            http.close()


def _ensure_cursors(store: Store, urls: Sequence[str], now: datetime) -> None:
    """A cursor row for each URL (a new URL starts before the first message)."""
    with store.reading() as session:
        known = set(
            session.scalars(select(t.WebhookCursor.url).where(t.WebhookCursor.url.in_(urls)))
        )
    missing = [u for u in urls if u not in known]
    if not missing:
        return
    insert = pg_insert if store.backend == "postgresql" else sqlite_insert
    rows = [
        {
            "url": u,
            "delivered_id": 0,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": "",
            "updated_at": now,
        }
        for u in missing
    ]
    # another worker may create the same rows at the same moment: the unique url decides
    statement = insert(t.WebhookCursor).values(rows).on_conflict_do_nothing(index_elements=["url"])
    with store.transaction() as session:
        session.execute(statement)


def _deliver_url(
    store: Store,
    settings: Settings,
    url: str,
    *,
    client: httpx.Client,
    clock: Callable[[], datetime],
    halt: threading.Event | None,
) -> WebhookResult:
    sent = 0
    while True:
        if halt is not None and halt.is_set():
            step = _Step(Outcome.STOPPED, _delivered_id(store, url))
            break
        step = _step(store, settings, url, client=client, clock=clock)
        if step.outcome is not Outcome.MORE:  # MORE from _step: one message acknowledged
            break
        sent += 1
        if sent >= settings.notify.webhook_batch:
            break
    return _result(url, sent, step)


def _result(url: str, sent: int, step: _Step) -> WebhookResult:
    return WebhookResult(
        url=url,
        outcome=step.outcome,
        sent=sent,
        delivered_id=step.delivered_id,
        attempts=step.attempts,
        next_attempt_at=step.next_attempt_at,
        error=step.error,
    )


def _delivered_id(store: Store, url: str) -> int:
    with store.reading() as session:
        found = session.scalar(
            select(t.WebhookCursor.delivered_id).where(t.WebhookCursor.url == url)
        )
        return int(found or 0)


def _cursor(url: str) -> Select[t.WebhookCursor]:
    return select(t.WebhookCursor).where(t.WebhookCursor.url == url)


def _step(
    store: Store,
    settings: Settings,
    url: str,
    *,
    client: httpx.Client,
    clock: Callable[[], datetime],
) -> _Step:
    """Send the next message to ``url``: ``MORE`` when acknowledged, else why not."""
    if store.backend == "postgresql":
        # the row lock is held through the POST: no other worker posts to this URL meanwhile
        with store.transaction() as session:
            cursor = session.scalars(_cursor(url).with_for_update(skip_locked=True)).one_or_none()
            if cursor is None:
                return _Step(Outcome.BUSY, _delivered_id(store, url))
            due = _due(session, cursor, clock())
            if isinstance(due, _Step):
                return due
            error = _post(client, url, due, settings, clock())
            return _record(session, url, due.id, error, settings=settings, now=clock())
    with store.reading() as session:
        cursor = session.scalars(_cursor(url)).one()
        due = _due(session, cursor, clock())
    if isinstance(due, _Step):
        return due
    error = _post(client, url, due, settings, clock())  # outside any transaction: see above
    with store.transaction() as session:
        return _record(session, url, due.id, error, settings=settings, now=clock())


def _due(session: Session, cursor: t.WebhookCursor, now: datetime) -> OutboxRecord | _Step:
    """The next message for ``cursor``, or the step that says why there is none to send."""
    if cursor.next_attempt_at is not None and cursor.next_attempt_at > now:
        return _waiting(cursor)  # another worker failed on it since the pass began
    rows = final_rows(session, cursor.delivered_id, 1)
    if not rows:  # nothing more, or a gap a running transaction may still fill
        return _Step(Outcome.CAUGHT_UP, cursor.delivered_id)
    return OutboxRecord.of(rows[0])


def _waiting(cursor: t.WebhookCursor) -> _Step:
    return _Step(
        Outcome.WAITING,
        cursor.delivered_id,
        attempts=cursor.attempts,
        next_attempt_at=cursor.next_attempt_at,
        error=cursor.last_error,
    )


def _record(
    session: Session,
    url: str,
    message_id: int,
    error: str | None,
    *,
    settings: Settings,
    now: datetime,
) -> _Step:
    """Write the outcome of posting ``message_id`` to ``url``'s cursor (the caller commits).

    UPDATE statements, not read-modify-write: on SQLite a transaction whose first
    statement writes waits for the write lock, whereas one that read first fails at
    once ("database is locked") if a case action committed in between.
    """
    cursors = t.WebhookCursor
    row = cursors.url == url
    if error is None:
        # never backwards: on SQLite another process may have gone further meanwhile
        furthest = case((cursors.delivered_id < message_id, message_id), else_=cursors.delivered_id)
        delivered = session.execute(
            update(cursors)
            .where(row)
            .values(
                delivered_id=furthest,
                attempts=0,
                next_attempt_at=None,
                last_error="",
                updated_at=now,
            )
            .returning(cursors.delivered_id)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        return _Step(Outcome.MORE, delivered)
    message = tr("message {id}: {error}", id=message_id, error=error)[:MAX_ERROR_CHARS]
    attempts, delivered = session.execute(
        update(cursors)
        .where(row)
        .values(attempts=cursors.attempts + 1, last_error=message, updated_at=now)
        .returning(cursors.attempts, cursors.delivered_id)
        .execution_options(synchronize_session=False)
    ).one()
    next_at = now + timedelta(seconds=backoff_s(attempts, settings.notify.webhook_max_backoff_s))
    session.execute(
        update(cursors)
        .where(row)
        .values(next_attempt_at=next_at)
        .execution_options(synchronize_session=False)
    )
    return _Step(
        Outcome.FAILED, delivered, attempts=attempts, next_attempt_at=next_at, error=message
    )


def _post(
    client: httpx.Client, url: str, record: OutboxRecord, settings: Settings, now: datetime
) -> str | None:
    """POST one message; None when acknowledged (2xx), else what went wrong."""
    import httpx

    body = webhook_body(record)
    headers = webhook_headers(record, body, settings.notify.webhook_secret, now)
    request = client.build_request(
        "POST", url, content=body, headers=headers, timeout=settings.notify.webhook_timeout_s
    )
    try:
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException as exc:
        return tr(
            "no answer within {seconds:g} s ({error})",
            seconds=settings.notify.webhook_timeout_s,
            error=type(exc).__name__,
        )
    except httpx.HTTPError as exc:  # refused connection, unknown host, broken protocol
        return f"{type(exc).__name__}: {exc}"
    try:
        answer = _read_some(response, ERROR_BODY_BYTES)
    finally:
        response.close()
    if response.is_success:
        return None
    text = " ".join(answer.decode("utf-8", errors="replace").split())
    return f"HTTP {response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")


def _read_some(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the answer (reading it lets the connection be reused)."""
    import httpx

    data = b""
    try:
        for chunk in response.iter_raw():
            data += chunk
            if len(data) >= limit:
                break
    except httpx.HTTPError:  # the status is what counts; a broken body changes nothing
        pass
    return data[:limit]


# --- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookStatus:
    """How far one webhook has got, and its retry state."""

    url: str
    delivered_id: int
    pending: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    updated_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": redact(self.url),
            "delivered_id": self.delivered_id,
            "pending": self.pending,
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at),
            "last_error": self.last_error,
            "updated_at": iso(self.updated_at),
        }


@dataclass(frozen=True)
class OutboxStatus:
    """The outbox and each configured webhook's cursor."""

    messages: int
    newest_id: int
    webhooks: tuple[WebhookStatus, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "newest_id": self.newest_id,
            "webhooks": [w.to_dict() for w in self.webhooks],
        }


def outbox_status(store: Store, settings: Settings) -> OutboxStatus:
    """Per configured URL: delivered id, pending messages, attempts, next attempt, last error.

    Read-only: a URL never delivered to yet shows its whole outbox as pending.
    """
    urls = webhook_urls(settings)
    with store.reading() as session:
        messages = int(session.scalar(select(func.count()).select_from(t.OutboxMessage)) or 0)
        newest = int(session.scalar(select(func.max(t.OutboxMessage.id))) or 0)
        cursors = {
            c.url: c
            for c in session.scalars(select(t.WebhookCursor).where(t.WebhookCursor.url.in_(urls)))
        }
        rows = []
        for url in urls:
            cursor = cursors.get(url)
            done = cursor.delivered_id if cursor else 0
            pending = session.scalar(
                select(func.count()).select_from(t.OutboxMessage).where(t.OutboxMessage.id > done)
            )
            rows.append(
                WebhookStatus(
                    url=url,
                    delivered_id=done,
                    pending=int(pending or 0),
                    attempts=cursor.attempts if cursor else 0,
                    next_attempt_at=cursor.next_attempt_at if cursor else None,
                    last_error=cursor.last_error if cursor else "",
                    updated_at=cursor.updated_at if cursor else None,
                )
            )
    return OutboxStatus(messages, newest, tuple(rows))


def iso(at: datetime | None) -> str | None:
    """``at`` in ISO 8601, or None."""
    return at.isoformat() if at is not None else None
