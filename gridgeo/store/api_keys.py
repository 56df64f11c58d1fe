"""API keys in the store: create, revoke, list, and find the active key a request presents.

Keys are random 256-bit tokens stored as their SHA-256 in the store's ``api_keys``
table. A slow password hash (scrypt, PBKDF2) protects guessable human passwords; a
256-bit random key cannot be guessed, so one SHA-256 is as safe and lets every
request find its key by an indexed equality lookup. The HTTP API (``gridgeo.api.auth``)
and ``gridgeo keys`` both use this module.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select

from gridgeo.errors import ConflictError, InputFileError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.roles import Role
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.core import Store
from gridgeo.wording import listing

KEY_PREFIX = "ggk_"
KEY_CACHE_SECONDS = 5.0  # a key revoked by another process is refused within this time
KEY_MISS_SECONDS = 0.5  # an unknown key re-reads the keys at most this often


@dataclass(frozen=True)
class KeyHolder:
    """Who holds an active key: its name, role and scope."""

    name: str
    role: Role
    unit: str | None = None  # a handler key's unit
    grids: tuple[str, ...] = ()  # an inspector key's grids


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


def parse_role(value: str) -> Role:
    """The role named ``value`` (any case), or InputFileError listing the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = listing(r.value for r in Role)
        raise InputFileError(
            tr("unknown role {role!r}: use one of {allowed}", role=value, allowed=allowed)
        ) from None


# --- the active keys held in memory -------------------------------------------------------


@dataclass
class _KeyDirectory:
    """Every active key of a store, by hash, as read at ``loaded_at`` (one query)."""

    loaded_at: float
    holders: dict[str, KeyHolder]

    def answer(self, hashed: str, now: float) -> tuple[bool, KeyHolder | None]:
        """(True, the holder or None) when this read may answer for ``hashed``: it is
        fresh, and for an unknown key, fresh enough that a key created meanwhile by
        another process would not be missed for long."""
        age = now - self.loaded_at
        found = self.holders.get(hashed)
        if age > KEY_CACHE_SECONDS or (found is None and age > KEY_MISS_SECONDS):
            return False, None
        return True, found


_directories: WeakKeyDictionary[Store, _KeyDirectory] = WeakKeyDictionary()


def find_key(store: Store, key: str) -> KeyHolder | None:
    """The holder of the active key ``key``, or None (unknown or revoked).

    Keys are few (one per person, terminal or application): each process holds all
    of a store's active keys, read in one query and read again after
    :data:`KEY_CACHE_SECONDS`, or after :data:`KEY_MISS_SECONDS` when a key is not
    among them (one created meanwhile by another process). So a terminal's every
    request costs no query, and neither does each of a flood of bogus keys: at
    most two reads a second, whatever the flood. A key created or revoked in this
    process is seen at once; other processes see a revocation within
    :data:`KEY_CACHE_SECONDS`.
    """
    known, found = remembered_key(store, key)
    if known:
        return found
    return _read_keys(store).holders.get(hash_key(key))


def remembered_key(store: Store, key: str) -> tuple[bool, KeyHolder | None]:
    """(True, the answer) when the keys held in memory may answer for ``key``, else
    (False, None): asked on the event loop, which must not wait for the store."""
    directory = _directories.get(store)
    if directory is None:
        return False, None
    return directory.answer(hash_key(key), time.monotonic())


def _read_keys(store: Store) -> _KeyDirectory:
    with store.reading() as session:
        rows = session.scalars(select(t.ApiKey).where(t.ApiKey.revoked_at.is_(None)))
        holders = {
            row.key_hash: KeyHolder(
                row.name, Role(row.role), row.unit_code, tuple(row.grid_codes or ())
            )
            for row in rows
        }
    directory = _KeyDirectory(time.monotonic(), holders)
    _directories[store] = directory
    return directory


def forget_keys() -> None:
    """Drop the keys held in this process (a key was created or revoked here, perhaps
    through another ``Store`` object): the next request reads them again."""
    _directories.clear()
