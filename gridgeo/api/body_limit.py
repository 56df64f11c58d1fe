"""``BodySizeLimit``: the ASGI middleware that answers 413 for a request body over its limit.

Limits (``GRIDGEO_MAX_BODY_BYTES``, ``GRIDGEO_MAX_UPLOAD_BYTES`` for boundary uploads,
``GRIDGEO_MAX_MEDIA_BYTES`` for an Open311 photo) are checked on Content-Length and
again as the body streams in; the refusal is written in the route family's format.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from xml.sax.saxutils import escape

from gridgeo.i18n import tr

UPLOAD_PATH_PREFIX = "/v1/versions"  # boundary uploads get the upload limit, not the body limit
MEDIA_PATH_PREFIX = "/open311/v2/requests."  # Open311 POSTs may carry a photo (media)
MEDIA_FORM_HEADROOM = 1024 * 1024  # room for the other form fields beside a photo

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: 413 for a body over the limit, by Content-Length or as it streams in.

    Boundary uploads have ``max_upload``; an Open311 request with a photo up to
    ``max_media`` bytes must reach the route, which answers the precise 413 for
    the photo itself, so that route allows ``max_media`` plus the form's headroom.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, max_media: int = 0) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.max_media_body = max(max_body, (max_media + MEDIA_FORM_HEADROOM) if max_media else 0)

    def limit_for(self, method: str, path: str) -> int:
        """The body limit of a request to ``path``."""
        if path.startswith(UPLOAD_PATH_PREFIX):
            return self.max_upload
        if method == "POST" and path.startswith(MEDIA_PATH_PREFIX):
            return self.max_media_body
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.limit_for(scope.get("method", ""), path)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_413(send, path, int(length), limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLargeError:
            if started:
                raise
            await _send_413(send, path, received, limit)


async def _send_413(send: Send, path: str, size: int, limit: int) -> None:
    message = tr(
        "the request body has more than {limit} bytes ({size}); the limit is {limit}",
        limit=limit,
        size=size,
    )
    body, media = refusal_body(path, 413, message, "PayloadTooLarge")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", media.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def refusal_body(path: str, status: int, message: str, error: str) -> tuple[bytes, str]:
    """A refusal in the format of the route family (Open311's error list, else JSON)."""
    if path.startswith("/open311/"):
        if path.endswith(".xml"):
            xml = (
                '<?xml version="1.0" encoding="utf-8"?>\n<errors><error>'
                f"<code>{status}</code><description>{escape(message)}</description>"
                "</error></errors>"
            )
            return xml.encode(), "text/xml; charset=utf-8"
        return json.dumps([{"code": status, "description": message}]).encode(), "application/json"
    return json.dumps({"detail": message, "error": error}).encode(), "application/json"
