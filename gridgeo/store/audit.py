"""The audit log: every write to the store records who did what."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from gridgeo.store.schema import AuditEntry


def actor_name(configured: str = "") -> str:
    """Who is acting: the configured name (``GRIDGEO_ACTOR``, ``--actor``) or the login name."""
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int = "",
    **detail: Any,
) -> None:
    """Add one audit entry to the session's transaction (written with the change or not at all)."""
    session.add(
        AuditEntry(
            actor=actor, action=action, entity=entity, entity_id=str(entity_id), detail=detail
        )
    )
