"""What a caller may see of people: staff names and phone numbers, by role.

``GRIDGEO_STAFF_NAMES_ROLE`` and ``GRIDGEO_STAFF_CONTACT_ROLE`` name the lowest roles
that see the names of responsible staff and the phone numbers (staff and partner
contacts); answers are redacted for the others (docs/SECURITY.md).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

from fastapi import Request

from gridgeo.api.auth import caller_role
from gridgeo.roles import Role
from gridgeo.settings import Settings


class StaffAccess(NamedTuple):
    """What the caller may see of people: names, phone numbers (a tuple: it keys the
    lookup's answer cache on every request, and hashes in C)."""

    names: bool
    contacts: bool


def may_see_staff(role: Role | None, settings: Settings) -> bool:
    """Whether ``role`` sees the names of responsible staff."""
    return access_of(role, settings).names


def may_see_contacts(role: Role | None, settings: Settings) -> bool:
    """Whether ``role`` sees phone numbers (staff and partner contacts)."""
    return access_of(role, settings).contacts


def staff_access(request: Request) -> StaffAccess:
    """Dependency: the caller's view of staff (anonymous acts as its configured role)."""
    settings: Settings = request.app.state.settings
    return access_of(caller_role(request), settings)


def access_of(role: Role | None, settings: Settings) -> StaffAccess:
    """What ``role`` may see of people under ``settings``."""
    return _access(role, settings.api.staff_names_role, settings.api.staff_contact_role)


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
