"""``GET /v1/events``: the outbox as Server-Sent Events (case changes, live).

Each message is one frame, ``id: <outbox id>``, ``event: <topic>``, ``data:
<payload JSON>``. A client that reconnects sends ``Last-Event-ID`` (browsers'
``EventSource`` does so by itself) and gets exactly what it missed; a new
client starts at the newest message. The stream polls the outbox
(``GRIDGEO_EVENTS_POLL_S``), so every worker of the service serves every
event whichever worker wrote it. docs/NOTIFY.md.

Not in the OpenAPI document: an endless ``text/event-stream`` has no schema
there, and schema-driven clients and tests would wait on it forever.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from gridgeo.api.deps import Viewer
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.state import app_settings, app_store
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.notify import event_stream, newest_outbox_id
from gridgeo.store.schema import MAX_ID

router = GatedRouter(prefix="/v1", tags=["events"])

MAX_OUTBOX_ID = 2**63 - 1  # outbox ids are 64-bit


class EventIdError(GridgeoError, ValueError):
    """A ``Last-Event-ID`` that is not an outbox id (400)."""


def _last_event_id(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise EventIdError(
            tr(
                "Last-Event-ID {value!r}: give the id of the last event received (an integer)",
                value=text,
            )
        ) from None
    if not 0 <= value <= MAX_OUTBOX_ID:
        raise EventIdError(
            tr(
                "Last-Event-ID {value!r}: must be between 0 and {most}",
                value=text,
                most=MAX_OUTBOX_ID,
            )
        )
    return value


@router.get(
    "/events",
    summary="Case events as Server-Sent Events (text/event-stream)",
    include_in_schema=False,
    response_class=StreamingResponse,
)
async def events(
    request: Request,
    _: Viewer,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_OUTBOX_ID, description="start after this outbox id")
    ] = None,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this case")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Stream the outbox messages after ``Last-Event-ID`` (or ``after``; default: only new
    ones), with a ``: keepalive`` comment after ``GRIDGEO_EVENTS_KEEPALIVE_S`` of quiet."""
    store = app_store(request, tr("this service runs without a store: it has no events"))
    settings = app_settings(request)
    # the header wins: a reconnecting EventSource repeats the first URL, with its ?after
    if last_event_id is not None and last_event_id.strip():
        start = _last_event_id(last_event_id)
    elif after is not None:
        start = after
    else:
        start = await run_in_threadpool(newest_outbox_id, store)
    frames = event_stream(
        store, settings, start, is_disconnected=request.is_disconnected, case_id=case_id
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},  # nginx: no buffering
    )
