"""Saving planners' edits as a draft version, through the same import core as files.

One save is one transaction: the version edited is locked and checked, the
operations (:mod:`gridgeo.editing`) applied to its grids, the result validated
and written as a new draft (:func:`gridgeo.store.versions.write_draft`) that
records the version it was ``based_on``. Editing a draft supersedes it: the
draft points to its successor, so a second planner saving edits made on the
old draft gets a :class:`~gridgeo.errors.ConflictError` (HTTP 409) naming the
new one, and keeps their edits to apply again. Editing the published version
starts a new draft and leaves the published one as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridgeo.editing import Applied, Operation, apply_edits
from gridgeo.errors import ConflictError
from gridgeo.i18n import tr
from gridgeo.settings import Settings
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.core import Store
from gridgeo.store.snapshots import (
    issued_grid_codes,
    load_grids,
    load_workstations,
    version_label,
)
from gridgeo.store.versions import (
    VersionInfo,
    check_writable,
    locked_version,
    write_draft,
)
from gridgeo.validation import ValidationReport, validate


@dataclass(frozen=True)
class EditResult:
    """The new draft, its validation report, and what each operation did."""

    version: VersionInfo
    report: ValidationReport
    applied: list[Applied]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version.to_dict(),
            "applied": [a.to_dict() for a in self.applied],
            "report": self.report.to_dict(),
        }


def save_edits(
    store: Store,
    version_id: int,
    operations: Sequence[Operation],
    *,
    author: str,
    settings: Settings,
    note: str = "",
) -> EditResult:
    """Apply ``operations`` to version ``version_id`` and save the result as a new draft.

    Raises
    ------
    ConflictError
        The version was superseded by another save (stale), or is retired, or
        is not a boundaries version.
    EditError
        An operation is refused; nothing is written.
    """
    with store.transaction() as session:
        base = locked_version(session, version_id)
        _check_editable(base)
        grids = load_grids(session, base.id, settings.scheme)
        workstations = load_workstations(session, base.id)
        taken = issued_grid_codes(session)
        edited, applied = apply_edits(grids, operations, taken=taken, settings=settings.validation)
        report = validate(edited, settings.validation)
        check_writable(edited)
        summary = "; ".join(a.message for a in applied)
        version, _ = write_draft(
            session,
            edited,
            report,
            author=author,
            workstations=workstations,
            note=note or summary[:2000],
            source=(tr("version {id}, edited in the viewer", id=base.id), ""),
        )
        version.based_on = base.id
        if base.status == t.VersionStatus.DRAFT:
            base.status = t.VersionStatus.SUPERSEDED
            base.superseded_by = version.id
        record(
            session,
            actor=author,
            action="edit",
            entity="version",
            entity_id=version.id,
            kind=t.VersionKind.BOUNDARIES,
            based_on=base.id,
            operations=[a.to_dict() for a in applied],
        )
        session.flush()
        return EditResult(VersionInfo.of(version), report, applied)


def _check_editable(base: t.Version) -> None:
    if base.kind != t.VersionKind.BOUNDARIES:
        raise ConflictError(
            tr(
                "{version} holds no boundaries: nothing to draw",
                version=version_label(base.id, base.kind),
            )
        )
    if base.status == t.VersionStatus.SUPERSEDED:
        raise ConflictError(
            tr(
                "draft {draft} was saved again as draft {newer} by another edit; load draft "
                "{newer} and apply your edits again",
                draft=base.id,
                newer=base.superseded_by,
            )
        )
    if base.status == t.VersionStatus.RETIRED:
        raise ConflictError(
            tr(
                "{version} is retired: edit the published version or a draft",
                version=version_label(base.id),
            )
        )
