"""Checks of Open311 media: a ``media_url`` given by the reporter, and uploaded photos
(the ``media`` field of a form: :func:`photo_from_form`).

An upload is recognised by its first bytes (its magic number), never by the
content type or file name the client sends: a phone app may say ``image/png``
of anything, and the bytes are what a browser would render when the file is
served again. Only raster images that browsers show inline are accepted
(JPEG, PNG, GIF, WebP); SVG is refused since it can carry script.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile

from gridgeo.errors import GridgeoError, TooLargeError
from gridgeo.i18n import tr
from gridgeo.store.cases import MediaUpload
from gridgeo.wording import listing

ACCEPTED = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
}
MAX_MEDIA_URL = 2000  # characters; the limit most browsers and servers keep to

# Prefix signatures, checked in order; the first match names the type.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
)
_FTYP = {b"heic": "image/heic", b"heix": "image/heic", b"avif": "image/avif", b"mif1": "image/heif"}
_MARKUP = re.compile(rb"^\s*(<\?xml|<svg|<!doctype html|<html|<script)", re.IGNORECASE)


def sniff(data: bytes) -> str:
    """The content type ``data`` really has, from its first bytes.

    Parameters
    ----------
    data : bytes
        The file, or at least its first 64 bytes.

    Returns
    -------
    str
        A MIME type: one of ``ACCEPTED`` for the images served, another name
        for what is recognised and refused (``text/plain``, ``image/svg+xml``,
        ``application/pdf``, ...), ``application/x-empty`` for no bytes and
        ``application/octet-stream`` for anything else.
    """
    if not data:
        return "application/x-empty"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[4:8] == b"ftyp":
        return _FTYP.get(data[8:12], "video/mp4")
    head = data[:1024]
    if markup := _MARKUP.match(head):
        return "text/html" if b"html" in markup.group(1).lower() else "image/svg+xml"
    return "text/plain" if _is_text(head) else "application/octet-stream"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a character cut at the end of the sample
    return True


def media_url_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable as a ``media_url``, or None when it is.

    Only absolute http and https URLs with a host are kept: the URL is handed
    to every client that lists the request, and another scheme (``javascript:``,
    ``data:``, ``file:``, ``ftp:``) would be a link clients should not follow.
    """
    shown = repr(value if len(value) <= 100 else value[:100] + "...")
    if len(value) > MAX_MEDIA_URL:
        return tr(
            "media_url {url} has {length} characters; at most {most} are allowed",
            url=shown,
            length=len(value),
            most=MAX_MEDIA_URL,
        )
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return tr("media_url {url} contains spaces or control characters", url=shown)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 address
        return tr("media_url {url} is not a URL", url=shown)
    if parts.scheme.lower() not in ("http", "https"):
        return tr("media_url {url} must be an http or https URL", url=shown)
    if not host:
        return tr("media_url {url} has no host", url=shown)
    return None


class MediaError(GridgeoError):
    """An uploaded file that is not an accepted image, or empty (400)."""


IMAGE_TYPES = ", ".join(ACCEPTED.values())


def checked_media_url(text: str) -> str | None:
    """A reporter's ``media_url``, stripped; None when blank.

    Raises
    ------
    MediaError
        Naming what is wrong (:func:`media_url_problem`).
    """
    value = text.strip()
    if not value:
        return None
    problem = media_url_problem(value)
    if problem:
        raise MediaError(problem)
    return value


def checked_photo(data: bytes, name: str, sent_type: str | None, limit: int) -> MediaUpload:
    """An uploaded photo, checked by its bytes (``data`` may hold one byte over ``limit``).

    Raises
    ------
    TooLargeError
        Over ``limit`` bytes (413), naming the file and GRIDGEO_MAX_MEDIA_BYTES.
    MediaError
        Empty, or not a JPEG, PNG, GIF or WebP image by its content (400).
    """
    if len(data) > limit:
        raise TooLargeError(
            tr(
                "photo {name!r} is larger than {limit} bytes, the limit (GRIDGEO_MAX_MEDIA_BYTES)",
                name=name,
                limit=limit,
            )
        )
    if not data:
        raise MediaError(tr("photo {name!r} is empty", name=name))
    kind = sniff(data)
    if kind not in ACCEPTED:
        if sent_type:
            raise MediaError(
                tr(
                    "photo {name!r} is {kind} by its content, sent as {sent}: only {accepted} "
                    "images are accepted",
                    name=name,
                    kind=kind,
                    sent=sent_type,
                    accepted=listing(ACCEPTED.values()),
                )
            )
        raise MediaError(
            tr(
                "photo {name!r} is {kind} by its content: only {accepted} images are accepted",
                name=name,
                kind=kind,
                accepted=listing(ACCEPTED.values()),
            )
        )
    return MediaUpload(content_type=kind, data=data, filename=name)


def photo_from_form(given: list[UploadFile | str], limit: int) -> MediaUpload | None:
    """The photo of a form's ``media`` field, checked by its bytes; None when no file was sent.

    Raises
    ------
    MediaError
        For more than one file, a text value, an empty file or a file that is not a
        JPEG, PNG, GIF or WebP image (the message names the type found).
    TooLargeError
        For a file over ``limit`` bytes.
    """
    files = [g for g in given if not (isinstance(g, str) and not g)]
    if not files:
        return None
    if len(files) > 1:
        raise MediaError(tr("media: send one file, not {count}", count=len(files)))
    upload = files[0]
    if isinstance(upload, str):
        raise MediaError(tr("media must be a file sent as multipart/form-data, not text"))
    name = upload.filename or ""
    upload.file.seek(0)
    data = upload.file.read(limit + 1)  # one byte more tells "over the limit"
    if not data and not name:
        return None  # a browser form with no file chosen
    try:
        return checked_photo(data, name, upload.content_type, limit)
    except TooLargeError as exc:
        raise TooLargeError(tr("media: {problem}", problem=exc)) from None
    except MediaError as exc:
        raise MediaError(tr("media: {problem}", problem=exc)) from None
