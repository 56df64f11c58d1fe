"""The event stream: outbox messages as Server-Sent Events frames (``GET /v1/events``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from gridgeo.notify.outbox import EVENTS_PAGE, OutboxRecord, read_outbox
from gridgeo.settings import Settings
from gridgeo.store.core import Store

KEEPALIVE_FRAME = b": keepalive\n\n"


def event_frame(record: OutboxRecord) -> bytes:
    """One message as an SSE frame: ``id``, ``event`` (the topic), ``data`` (the payload).

    The payload is one line of JSON: ``json.dumps`` escapes every newline.
    """
    data = json.dumps(record.payload, ensure_ascii=False, separators=(",", ":"))
    return f"id: {record.id}\nevent: {record.topic}\ndata: {data}\n\n".encode()


async def event_stream(
    store: Store,
    settings: Settings,
    after: int,
    *,
    is_disconnected: Callable[[], Awaitable[bool]],
    case_id: int | None = None,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[bytes]:
    """SSE frames of the messages after ``after``, polling the outbox until disconnected.

    Parameters
    ----------
    store, settings
        The outbox, ``events_poll_s`` and ``events_keepalive_s``.
    after
        The id of the last message the client has (``Last-Event-ID``).
    is_disconnected
        Tells whether the client has gone (checked before every poll).
    case_id
        Only the messages about this case.
    clock
        Monotonic seconds (default ``loop.time``).
    """
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    yield f": gridgeo events after {after}\n\n".encode()
    quiet_since = now()
    while not await is_disconnected():
        records = await asyncio.to_thread(read_outbox, store, after, limit=EVENTS_PAGE)
        for record in records:
            after = record.id
            if case_id is not None and record.payload.get("case_id") != case_id:
                continue
            yield event_frame(record)
            quiet_since = now()
        if len(records) == EVENTS_PAGE:
            continue  # a backlog: read on at once
        if now() - quiet_since >= settings.notify.events_keepalive_s:
            yield KEEPALIVE_FRAME  # keeps proxies from closing an idle connection
            quiet_since = now()
        await asyncio.sleep(settings.notify.events_poll_s)
