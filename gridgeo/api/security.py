"""Roles, API keys and request limits of the HTTP API.

Roles (:mod:`gridgeo.roles`) are ordered ``viewer < reporter < handler < inspector
< dispatcher < planner < admin`` where a rule asks for a role or above; the work loop
asks for specific roles (docs/SECURITY.md). A caller sends an API key in the
``X-API-Key`` header (or the ``api_key`` query parameter, which Open311
clients use); a request without a key acts as ``GRIDGEO_ANONYMOUS_ROLE``.

Keys are random 256-bit tokens stored as their SHA-256 in the store's
``api_keys`` table. A slow password hash (scrypt, PBKDF2) protects guessable
human passwords; a 256-bit random key cannot be guessed, so one SHA-256 is as
safe and lets every request find its key by an indexed equality lookup.

Refusals: 401 (no key where one is needed, unknown or revoked key; with
``WWW-Authenticate``), 403 (the key's role is too low), 413 (body, upload,
Open311 photo, features or vertices over the limits). Each names the problem.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import shutil
import time
import zipfile
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware

from gridgeo.caseflow import Actor
from gridgeo.errors import (
    ConflictError,
    InputFileError,
    NotFoundError,
    TooLargeError,
)
from gridgeo.i18n import current_lang, tr
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.core import Store
from gridgeo.wording import labelled, listing

KEY_HEADER = "X-API-Key"
KEY_QUERY = "api_key"
KEY_PREFIX = "ggk_"
AUTHENTICATE = f'ApiKey header="{KEY_HEADER}", query="{KEY_QUERY}"'
UPLOAD_PATH_PREFIX = "/v1/versions"  # boundary uploads get the upload limit, not the body limit
MEDIA_PATH_PREFIX = "/open311/v2/requests."  # Open311 POSTs may carry a photo (media)
MEDIA_FORM_HEADROOM = 1024 * 1024  # room for the other form fields beside a photo


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's name and role, or ``anonymous``."""

    name: str
    role: Role | None
    authenticated: bool
    unit: str | None = None  # a handler key's unit
    grids: tuple[str, ...] = ()  # an inspector key's grids

    @property
    def actor(self) -> str:
        """Name for the audit log."""
        return self.name if self.authenticated else "anonymous"

    def as_actor(self) -> Actor:
        """The caller as the case flow sees it (its role and scope decide what it may do)."""
        if self.role is None:
            raise AccessDenied(
                401, tr("an API key is needed (send it in the {header} header)", header=KEY_HEADER)
            )
        return Actor(self.actor, self.role, self.unit, self.grids)


class AccessDenied(HTTPException):
    """A 401 or 403 with a message saying what is missing."""

    def __init__(self, status_code: int, message: str) -> None:
        headers = {"WWW-Authenticate": AUTHENTICATE} if status_code == 401 else None
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message


# --- keys in the store --------------------------------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    """An API key as listed (never the key itself)."""

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    unit: str | None = None
    grids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "unit": self.unit,
            "grids": list(self.grids),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_key(key: str) -> str:
    """The stored form of a key (hex SHA-256; see the module docstring for why not scrypt)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    store: Store,
    name: str,
    role: Role | str,
    *,
    actor: str,
    unit: str | None = None,
    grids: tuple[str, ...] = (),
) -> str:
    """Create a key called ``name`` with ``role``; returns the plain key (shown once only).

    A ``handler`` key acts for one ``unit`` (its code), an ``inspector`` key in its
    ``grids`` (codes; each covers its descendants); other roles take neither.
    """
    role = parse_role(str(role))
    name = name.strip()
    if not name:
        raise InputFileError(tr("an API key needs a name"))
    unit = (unit or "").strip() or None
    grids = tuple(g.strip() for g in grids if g.strip())
    if (role is Role.HANDLER) != (unit is not None):
        raise InputFileError(
            tr("a handler key needs its unit (--unit CODE); other roles take none")
        )
    if (role is Role.INSPECTOR) != bool(grids):
        raise InputFileError(
            tr("an inspector key needs its grids (--grids CODE[,CODE]); other roles take none")
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as session:
        if session.scalars(select(t.ApiKey).where(t.ApiKey.name == name)).first() is not None:
            raise ConflictError(
                tr("an API key named {name!r} exists already (names are unique)", name=name)
            )
        session.add(
            t.ApiKey(
                name=name,
                key_hash=hash_key(key),
                role=role.value,
                unit_code=unit,
                grid_codes=list(grids),
            )
        )
        record(
            session,
            actor=actor,
            action="key.create",
            entity="api_key",
            entity_id=name,
            role=role.value,
            unit=unit,
            grids=list(grids),
        )
    forget_keys()
    return key


def revoke_key(store: Store, name: str, *, actor: str) -> KeyInfo:
    """Revoke the key ``name``: requests with it are refused from now on (audit-logged)."""
    with store.transaction() as session:
        row = session.scalars(select(t.ApiKey).where(t.ApiKey.name == name)).first()
        if row is None:
            raise NotFoundError(tr("no API key named {name!r}", name=name))
        if row.revoked_at is not None:
            raise ConflictError(tr("API key {name!r} was revoked already", name=name))
        row.revoked_at = t.utcnow()
        record(session, actor=actor, action="key.revoke", entity="api_key", entity_id=name)
        info = _info(row)
    forget_keys()  # once committed: a read before would still see the key active
    return info


def _info(row: t.ApiKey) -> KeyInfo:
    grids = tuple(row.grid_codes or ())
    return KeyInfo(row.name, row.role, row.created_at, row.revoked_at, row.unit_code, grids)


def list_keys(store: Store) -> list[KeyInfo]:
    """Every key, active and revoked, by name."""
    with store.reading() as session:
        rows = session.scalars(select(t.ApiKey).order_by(t.ApiKey.name))
        return [_info(r) for r in rows]


KEY_CACHE_SECONDS = 5.0  # a key revoked by another process is refused within this time
KEY_MISS_SECONDS = 0.5  # an unknown key re-reads the keys at most this often


@dataclass
class _KeyDirectory:
    """Every active key of a store, by hash, as read at ``loaded_at`` (one query)."""

    loaded_at: float
    callers: dict[str, Caller]

    def answer(self, hashed: str, now: float) -> tuple[bool, Caller | None]:
        """(True, the caller or None) when this read may answer for ``hashed``: it is
        fresh, and for an unknown key, fresh enough that a key created meanwhile by
        another process would not be missed for long."""
        age = now - self.loaded_at
        found = self.callers.get(hashed)
        if age > KEY_CACHE_SECONDS or (found is None and age > KEY_MISS_SECONDS):
            return False, None
        return True, found


_directories: WeakKeyDictionary[Store, _KeyDirectory] = WeakKeyDictionary()


def find_key(store: Store, key: str) -> Caller | None:
    """The active key matching ``key``, or None (unknown or revoked).

    Keys are few (one per person, terminal or application): each process holds all
    of a store's active keys, read in one query and read again after
    :data:`KEY_CACHE_SECONDS`, or after :data:`KEY_MISS_SECONDS` when a key is not
    among them (one created meanwhile by another process). So a terminal's every
    request costs no query, and neither does each of a flood of bogus keys: at
    most two reads a second, whatever the flood. A key created or revoked in this
    process is seen at once; other processes see a revocation within
    :data:`KEY_CACHE_SECONDS`.
    """
    hashed = hash_key(key)
    known, found = remembered_key(store, key)
    if known:
        return found
    directory = _read_keys(store)
    return directory.callers.get(hashed)


def remembered_key(store: Store, key: str) -> tuple[bool, Caller | None]:
    """(True, the answer) when the keys held in memory may answer for ``key``, else
    (False, None): asked on the event loop, which must not wait for the store."""
    directory = _directories.get(store)
    if directory is None:
        return False, None
    return directory.answer(hash_key(key), time.monotonic())


def _read_keys(store: Store) -> _KeyDirectory:
    with store.reading() as session:
        rows = session.scalars(select(t.ApiKey).where(t.ApiKey.revoked_at.is_(None)))
        callers = {
            row.key_hash: Caller(
                row.name, Role(row.role), True, row.unit_code, tuple(row.grid_codes or ())
            )
            for row in rows
        }
    directory = _KeyDirectory(time.monotonic(), callers)
    _directories[store] = directory
    return directory


def forget_keys() -> None:
    """Drop the keys held in this process (a key was created or revoked here, perhaps
    through another ``Store`` object): the next request reads them again."""
    _directories.clear()


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = listing(r.value for r in Role)
        raise InputFileError(
            tr("unknown role {role!r}: use one of {allowed}", role=value, allowed=allowed)
        ) from None


# --- request dependencies -----------------------------------------------------------------


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def presented_key(request: Request) -> str | None:
    """The key sent with the request (header first, then ``api_key``), if any."""
    return request.headers.get(KEY_HEADER) or request.query_params.get(KEY_QUERY) or None


def caller(request: Request) -> Caller:
    """Who is calling; 401 for a key that is unknown or revoked (never silently anonymous).

    Worked out once per request: the role check and the staff filter both ask,
    and a key costs a store query.
    """
    known: Caller | None = getattr(request.state, "gridgeo_caller", None)
    if known is None:
        known = _caller(request, presented_key(request))
        request.state.gridgeo_caller = known
    return known


def _caller(request: Request, key: str | None) -> Caller:
    if key is None:
        return anonymous(_settings(request))
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise AccessDenied(401, tr("API keys cannot be checked: this service runs without a store"))
    found = find_key(store, key)
    if found is None:
        raise AccessDenied(401, tr("the API key is unknown or has been revoked"))
    return found


def anonymous(settings: Settings) -> Caller:
    """The caller without a key: it acts as ``GRIDGEO_ANONYMOUS_ROLE``."""
    return _anonymous(settings.anonymous_role)


@functools.cache
def _anonymous(role: str) -> Caller:
    return Caller("anonymous", None if role == "none" else Role(role), authenticated=False)


def caller_role(request: Request) -> Role | None:
    """The role the request acts with (anonymous: ``GRIDGEO_ANONYMOUS_ROLE``; None = no role)."""
    return caller(request).role


def authorize(request: Request, needed: Role, *, form_key: str | None = None) -> Caller:
    """The caller if its role is ``needed`` or above; else AccessDenied (401 or 403).

    ``form_key`` is an ``api_key`` sent in a form body (Open311 POST), used when
    neither the header nor the query string carries one.
    """
    if presented_key(request) is None and form_key:
        who = _caller(request, form_key)
    else:
        who = caller(request)
    return check_role(who, needed)


def check_role(who: Caller, needed: Role) -> Caller:
    """``who`` if its role is ``needed`` or above; else AccessDenied (401 or 403)."""
    if who.role is None:
        raise AccessDenied(
            401,
            tr(
                "an API key with role {role} or above is needed (send it in the {header} header)",
                role=role_label(needed),
                header=KEY_HEADER,
            ),
        )
    if not who.role.allows(needed):
        if not who.authenticated:
            raise AccessDenied(
                401,
                tr(
                    "anonymous callers may not do this: an API key with role {role} or above "
                    "is needed (send it in the {header} header)",
                    role=role_label(needed),
                    header=KEY_HEADER,
                ),
            )
        raise AccessDenied(
            403,
            tr(
                "the API key {name!r} has role {role}; this needs role {needed} or above",
                name=who.name,
                role=role_label(who.role),
                needed=role_label(needed),
            ),
        )
    return who


def role_label(role: Role | str) -> str:
    """A role as a message names it: its code (what the settings and ``gridgeo keys``
    take), after its Chinese name in Chinese text.

    >>> from gridgeo.i18n import use_lang
    >>> with use_lang("zh"):
    ...     role_label(Role.PLANNER), role_label("anonymous")
    ('规划员（planner）', '匿名调用方（anonymous）')
    """
    code = str(role)
    if current_lang() != "zh":
        return code
    if code == "anonymous":
        return tr("anonymous caller ({role})", role=code)
    if code not in _ROLES:
        return code
    return labelled(code, Role(code).label_zh)


_ROLES = frozenset(r.value for r in Role)


async def authorize_on_loop(request: Request, needed: Role, key: str | None) -> Caller:
    """:func:`authorize` for a request that presents ``key``: an anonymous caller, and a
    key answered lately (:func:`remembered_key`), are checked on the event loop; any
    other key is looked up in the store (a blocking query) in the thread pool."""
    if key is None:
        return check_role(anonymous(_settings(request)), needed)
    store: Store | None = getattr(request.app.state, "store", None)
    if store is not None and presented_key(request) == key:
        known, found = remembered_key(store, key)
        if known:  # a terminal's every request: no hop to the thread pool
            if found is None:
                raise AccessDenied(401, tr("the API key is unknown or has been revoked"))
            request.state.gridgeo_caller = found
            return check_role(found, needed)
    return await run_in_threadpool(authorize, request, needed)


def require(needed: Role) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency that lets through callers with role ``needed`` or above.

    ``async``, so that an anonymous caller is checked on the event loop; only a
    presented key, looked up in the store (a blocking query), goes to the thread
    pool. A plain ``def`` dependency would pay that hop on every request.
    """

    async def dependency(request: Request) -> Caller:
        return await authorize_on_loop(request, needed, presented_key(request))

    dependency.__name__ = f"require_{needed.value}"
    return dependency


require_viewer = require(Role.VIEWER)  # router-level guard of the read-only routers


# --- what a role may see ------------------------------------------------------------------


def may_see_staff(role: Role | None, settings: Settings) -> bool:
    """Whether ``role`` sees the names of responsible staff."""
    return access_of(role, settings).names


def may_see_contacts(role: Role | None, settings: Settings) -> bool:
    """Whether ``role`` sees phone numbers (staff and partner contacts)."""
    return access_of(role, settings).contacts


class StaffAccess(NamedTuple):
    """What the caller may see of people: names, phone numbers (a tuple: it keys the
    lookup's answer cache on every request, and hashes in C)."""

    names: bool
    contacts: bool


def staff_access(request: Request) -> StaffAccess:
    """Dependency: the caller's view of staff (anonymous acts as its configured role)."""
    return access_of(caller_role(request), _settings(request))


def access_of(role: Role | None, settings: Settings) -> StaffAccess:
    """What ``role`` may see of people under ``settings``."""
    return _access(role, settings.staff_names_role, settings.staff_contact_role)


@functools.cache  # a handful of role combinations; asked on every lookup
def _access(role: Role | None, names_role: str, contact_role: str) -> StaffAccess:
    if role is None:
        return StaffAccess(names=False, contacts=False)
    return StaffAccess(role.allows(Role(names_role)), role.allows(Role(contact_role)))


PERSON_FIELDS = ("name", "contact")
CONTACT_FIELDS = ("phone",)


def redact_people(value: Any, access: StaffAccess) -> Any:
    """``value`` (nested dicts/lists) without names and phones the caller may not see."""
    drop = (() if access.names else PERSON_FIELDS) + (() if access.contacts else CONTACT_FIELDS)
    if not drop:
        return value
    return _redact(value, frozenset(drop))


def _redact(value: Any, drop: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: _redact(v, drop) for k, v in value.items() if not (k in drop and _is_person(value))
        }
    if isinstance(value, list):
        return [_redact(v, drop) for v in value]
    return value


def _is_person(obj: dict[str, Any]) -> bool:
    # Only people and partner units lose fields: a grid's or workstation's "name" stays.
    return "person_id" in obj or "phone" in obj or "contact" in obj


# --- upload limits ------------------------------------------------------------------------


def unsafe_member(name: str) -> str | None:
    """Why a zip entry name is unsafe to extract (zip slip), or None."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return tr("is an absolute path")
    if ".." in PurePosixPath(normal).parts:
        return tr("climbs out of the archive with '..'")
    return None


MAX_ZIP_ENTRIES = 1000  # a zipped Shapefile holds a handful; thousands are an attack
MAX_ZIP_RATIO = 200  # unpacked/packed size of an entry: GIS files deflate 5 to 30 times
_RATIO_FLOOR = 1 << 20  # entries smaller than this may deflate as they like
_EOCD = b"PK\x05\x06"  # end of central directory record


def _central_directory_bytes(archive: Path) -> int | None:
    """The size the zip's end record gives its central directory (None: no end record).

    Read before ``zipfile`` parses the directory into an object per entry: a small upload
    listing millions of entries would take gigabytes there.
    """
    size = archive.stat().st_size
    with archive.open("rb") as f:
        f.seek(max(0, size - (22 + 65535)))  # the record, after at most a 64 KiB comment
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        return None
    return int.from_bytes(tail[at + 12 : at + 16], "little")


def extract_zip_safely(archive: Path, dest: Path, *, max_total_bytes: int) -> list[Path]:
    """Extract ``archive`` into ``dest``, refusing zip slip and zip bombs.

    Bombs are refused on the headers first (more than :data:`MAX_ZIP_ENTRIES` entries,
    sizes adding up to more than ``max_total_bytes``, an entry over 1 MiB unpacking to
    more than :data:`MAX_ZIP_RATIO` times its packed size), then on the bytes really
    written, since a header can lie.

    Raises
    ------
    InputFileError
        Not a zip file, or an entry with an absolute path or ``..``, or a link.
    TooLargeError
        The entries' uncompressed sizes add up to more than ``max_total_bytes``
        (checked on the headers first, then on the bytes really written, since a
        header can lie).
    """
    listed = _central_directory_bytes(archive)
    if listed is not None and listed > MAX_ZIP_ENTRIES * 1024:
        raise TooLargeError(
            tr(
                "the zip file's directory takes {size} bytes: more entries than the "
                "{most} an upload may hold; refused",
                size=listed,
                most=MAX_ZIP_ENTRIES,
            )
        )
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise InputFileError(tr("the upload is not a valid zip file")) from None
    except (NotImplementedError, OSError) as exc:  # a zip feature Python cannot read
        raise InputFileError(
            tr("the upload is a zip file that cannot be read ({reason})", reason=exc)
        ) from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            why = unsafe_member(info.filename)
            if why:
                raise InputFileError(
                    tr("zip entry {name!r} {problem}: refused", name=info.filename, problem=why)
                )
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputFileError(
                    tr("zip entry {name!r} is a symbolic link: refused", name=info.filename)
                )
        if len(infos) > MAX_ZIP_ENTRIES:
            raise TooLargeError(
                tr(
                    "the zip file holds {count} entries; an upload may hold at most {most}: "
                    "refused",
                    count=len(infos),
                    most=MAX_ZIP_ENTRIES,
                )
            )
        declared = sum(i.file_size for i in infos)
        if declared > max_total_bytes:
            raise TooLargeError(_bomb_message(declared, max_total_bytes))
        for info in infos:
            if info.file_size > _ratio_limit(info):
                raise TooLargeError(_ratio_message(info.filename, info.file_size, info))
        return _extract(zf, infos, dest, max_total_bytes)


def _extract(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path, limit: int
) -> list[Path]:
    written, out = 0, []
    root = dest.resolve()
    for info in infos:
        target = (root / info.filename).resolve()
        if not target.is_relative_to(root):  # belt and braces after unsafe_member
            raise InputFileError(
                tr("zip entry {name!r} lands outside the archive", name=info.filename)
            )
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            entry, most = 0, _ratio_limit(info)
            with zf.open(info) as src, target.open("wb") as dst:
                while block := src.read(1 << 20):
                    written += len(block)
                    entry += len(block)
                    if written > limit:
                        raise TooLargeError(_bomb_message(written, limit))
                    if entry > most:  # its header understated it
                        raise TooLargeError(_ratio_message(info.filename, entry, info))
                    dst.write(block)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            # a damaged entry, a header that lies about its size, checksum or place (OSError:
            # a seek before the file's start)
            raise InputFileError(
                tr(
                    "zip entry {name!r} is damaged or its header does not match its content "
                    "({reason}): refused",
                    name=info.filename,
                    reason=exc,
                )
            ) from None
        except (NotImplementedError, RuntimeError) as exc:
            # an unknown compression method, or an encrypted entry (no password is asked)
            raise InputFileError(
                tr(
                    "zip entry {name!r} cannot be read ({reason}): send a plain zip "
                    "(deflate or stored, no password)",
                    name=info.filename,
                    reason=exc,
                )
            ) from None
        out.append(target)
    return out


def _ratio_limit(info: zipfile.ZipInfo) -> int:
    """The most bytes entry ``info`` may unpack to (:data:`MAX_ZIP_RATIO` times its packed
    size, or 1 MiB)."""
    return max(MAX_ZIP_RATIO * info.compress_size, _RATIO_FLOOR)


def _ratio_message(name: str, size: int, info: zipfile.ZipInfo) -> str:
    return tr(
        "zip entry {name!r} unpacks to {size} bytes from {packed}: more than {ratio} times "
        "its packed size, as zip bombs do; refused",
        name=name,
        size=size,
        packed=info.compress_size,
        ratio=MAX_ZIP_RATIO,
    )


def _bomb_message(size: int, limit: int) -> str:
    return tr(
        "the zip file unpacks to more than {limit} bytes ({size}; GRIDGEO_MAX_UNZIPPED_BYTES): "
        "refused",
        limit=limit,
        size=size,
    )


def copy_limited(src: Any, dst: Path, limit: int) -> int:
    """Copy a file-like upload to ``dst``, refusing it once it passes ``limit`` bytes (413)."""
    size = 0
    with dst.open("wb") as out:
        while block := src.read(1 << 20):
            size += len(block)
            if size > limit:
                raise TooLargeError(
                    tr(
                        "the upload is larger than {limit} bytes (GRIDGEO_MAX_UPLOAD_BYTES)",
                        limit=limit,
                    )
                )
            out.write(block)
    return size


# --- middleware: body size and CORS -------------------------------------------------------

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
    import json
    from xml.sax.saxutils import escape

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


_KEY_IN_QUERY = re.compile(rf"([?&]{KEY_QUERY}=)[^&#\s]*")


def redact_key(text: str) -> str:
    """``text`` (a URL or a path with its query) with the value of ``api_key`` hidden.

    >>> redact_key("/v1/cases?limit=5&api_key=ggk_secret&x=1")
    '/v1/cases?limit=5&api_key=***&x=1'
    """
    return _KEY_IN_QUERY.sub(r"\1***", text)


class KeyRedactingFilter(logging.Filter):
    """Hides ``api_key`` values in the access log's request lines (uvicorn's access
    records carry the path with its query string as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_key(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_key(record.msg)
        return True


def install(app: FastAPI, settings: Settings) -> None:
    """Add the body size limit and (when configured) CORS to ``app``; keep keys given in
    the query string out of the access log."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, KeyRedactingFilter) for f in access.filters):
        access.addFilter(KeyRedactingFilter())
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=[KEY_HEADER, "Content-Type", "Accept"],
            expose_headers=["Content-Crs", "Link"],
        )
    app.add_middleware(
        BodySizeLimit,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        max_media=settings.max_media_bytes,
    )


def remove_tree(path: Path) -> None:
    """Remove a temporary upload directory."""
    shutil.rmtree(path, ignore_errors=True)
