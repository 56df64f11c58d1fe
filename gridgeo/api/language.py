"""The language of a request: ``Accept-Language``, else the service's ``GRIDGEO_LANG``.

Text people read in an answer (error messages, Open311 notices) is written with
:func:`gridgeo.i18n.tr` in the language of the request: the first of Chinese
(``zh``, ``zh-CN``, ``zh-Hans``, ...) and English (``en``, ``en-US``, ...) that the
client's ``Accept-Language`` accepts, q-values honoured; without the header, or
when it accepts neither (``fr``, ``*``, a malformed value), the service's
``lang`` setting (``GRIDGEO_LANG``, Chinese by default). Every answer says which
in ``Content-Language``, and ``Vary: Accept-Language`` tells caches that it
depends on the header.

:class:`RequestLanguage` is a pure ASGI middleware, outermost of the app's own,
so that the refusals of the body-size limit and every exception handler write in
the request's language too; the worker threads of the thread and costly pools
run in a copy of the request's context, so they see it as well. A request
without ``Accept-Language`` costs one pass over its headers and no parsing.

Examples
--------
>>> accepted_lang(b"en-US,en;q=0.9,zh-CN;q=0.8")
'en'
>>> accepted_lang(b"fr, en;q=0.5"), accepted_lang(b"fr"), accepted_lang(b"zh-Hans")
('en', None, 'zh')

Choices in messages follow the language too:

>>> from gridgeo.i18n import use_lang
>>> with use_lang("zh"):
...     alternatives(["json", "geojson", "html"])
'json、geojson 或 html'
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridgeo.i18n import LANGS, Lang, current_lang, set_lang, tr
from gridgeo.wording import listing

HEADER = b"accept-language"
MAX_HEADER = 500  # bytes: a browser sends a few dozen; a longer value is not parsed
_LANG_OF: dict[str, Lang] = {lang: lang for lang in LANGS}
_SAID = {lang: (b"content-language", lang.encode("ascii")) for lang in LANGS}
_VARY = (b"vary", b"Accept-Language")


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct values
def accepted_lang(value: bytes) -> Lang | None:
    """The first of the service's languages that an ``Accept-Language`` value accepts.

    Ranges are taken by descending q-value, in the order given among equal ones; a
    range's primary subtag decides (``zh-TW`` is Chinese, ``en-GB`` English). None
    when the value accepts neither language, names only ``*``, or is malformed.
    """
    if len(value) > MAX_HEADER:
        return None
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    ranked: list[tuple[float, int, Lang]] = []
    for position, item in enumerate(text.split(",")):
        tag, _, params = item.partition(";")
        primary = tag.strip().lower().replace("_", "-").split("-")[0]
        quality = _quality(params)
        if quality is None:
            return None
        if quality > 0 and primary in _LANG_OF:
            ranked.append((-quality, position, _LANG_OF[primary]))
    return min(ranked)[2] if ranked else None


def _quality(params: str) -> float | None:
    """The q-value of a range's parameters (1 when absent); None when malformed."""
    quality = 1.0
    for param in params.split(";"):
        name, _, number = param.partition("=")
        if name.strip().lower() != "q":
            continue
        try:
            quality = float(number.strip())
        except ValueError:
            return None
        if not 0 <= quality <= 1:
            return None
    return quality


def alternatives(items: Iterable[object]) -> str:
    """``items`` as choices in a message: ``a, b or c`` in English, ``a、b 或 c`` in Chinese."""
    *rest, last = [str(i) for i in items] or [""]
    return tr("{choices} or {last}", choices=listing(rest), last=last) if rest else last


class RequestLanguage:
    """ASGI middleware: each HTTP request runs in its language (see the module), and its
    answer carries ``Content-Language`` and ``Vary: Accept-Language``."""

    def __init__(self, app: ASGIApp, *, default: Lang) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lang = self.default
        for name, value in scope["headers"]:
            if name == HEADER:
                lang = accepted_lang(bytes(value)) or self.default
                break
        said = _SAID[lang]

        def send_with_language(message: Message) -> Awaitable[None]:
            # a plain function handing on send's awaitable: no coroutine of its own
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), said, _VARY]
            return send(message)

        previous = current_lang()
        if lang == previous:  # the common case: a request's task starts in the default
            await self.app(scope, receive, send_with_language)
            return
        set_lang(lang)  # by hand rather than use_lang: a microsecond less per request
        try:
            await self.app(scope, receive, send_with_language)
        finally:
            set_lang(previous)
