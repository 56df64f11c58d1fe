"""Deliver the outbox: webhooks (at-least-once, signed, retried) and the event stream.

Every case change writes, in its own transaction, one row of the ``outbox``
table (``gridgeo.store.case_events``). This package sends those rows on,
afterwards and never in the way of the change itself:

* **webhooks**: each configured URL has a cursor (``webhook_cursors``): the id
  of the last message it acknowledged with a 2xx. A delivery pass
  (:func:`deliver_once`) POSTs the messages after the cursor in id order, one
  request per message, and moves the cursor after each success. A failure
  (non-2xx, timeout, connection error) stops that URL's pass and schedules a
  retry with exponential backoff; the other URLs go on. Delivery is
  at-least-once: a crash between the POST and the cursor's commit sends that
  one message again, with the same ``Idempotency-Key``.
* **event stream**: :func:`event_stream` yields Server-Sent Events frames of the
  messages after an id, polling the table (``GET /v1/events``).

On PostgreSQL a URL's cursor row is locked (``FOR UPDATE SKIP LOCKED``) while
one of its messages is being posted, so two workers never deliver to one URL
at the same time. On SQLite the POST runs outside any transaction and the
cursor is then advanced in a short write transaction of its own: holding
SQLite's single write lock through an HTTP request would make every case
action wait for the webhook. Two processes delivering from one SQLite file
may therefore both send a message; the idempotency key makes that harmless.
Neither reader goes past an id gap that a running PostgreSQL transaction may
still fill (:class:`OutboxGaps`). docs/NOTIFY.md.

Modules: ``outbox`` (reading), ``webhooks`` (the delivery pass and status),
``worker`` (the service's loop), ``stream`` (Server-Sent Events).
"""

from gridgeo.notify.outbox import (
    EVENTS_PAGE,
    OutboxGaps,
    OutboxRecord,
    final_rows,
    newest_outbox_id,
    read_outbox,
)
from gridgeo.notify.stream import KEEPALIVE_FRAME, event_frame, event_stream
from gridgeo.notify.webhooks import (
    EVENT_HEADER,
    IDEMPOTENCY_PREFIX,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryReport,
    OutboxStatus,
    Outcome,
    WebhookConfigError,
    WebhookResult,
    WebhookStatus,
    backoff_s,
    deliver_once,
    outbox_status,
    redact,
    sign,
    verify_signature,
    webhook_body,
    webhook_headers,
    webhook_urls,
)
from gridgeo.notify.worker import WebhookWorker

__all__ = [
    "EVENTS_PAGE",
    "EVENT_HEADER",
    "IDEMPOTENCY_PREFIX",
    "KEEPALIVE_FRAME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryReport",
    "OutboxGaps",
    "OutboxRecord",
    "OutboxStatus",
    "Outcome",
    "WebhookConfigError",
    "WebhookResult",
    "WebhookStatus",
    "WebhookWorker",
    "backoff_s",
    "deliver_once",
    "event_frame",
    "event_stream",
    "final_rows",
    "newest_outbox_id",
    "outbox_status",
    "read_outbox",
    "redact",
    "sign",
    "verify_signature",
    "webhook_body",
    "webhook_headers",
    "webhook_urls",
]
