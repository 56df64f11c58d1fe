"""Boundary versions: import into a draft, publish (atomic switch), roll back.

One core behind the CLI (``gridgeo import/publish/rollback/versions``) and the
API. The pattern is MapIt's generations with gates: an import validates and
writes a *draft* in one transaction (all rows or none); a draft with
validation errors cannot be published unless forced, and the force is written
to the audit log; publishing retires the previous version and activates the
new one in one transaction, which PostgreSQL announces with ``NOTIFY`` so
every service process reloads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gridgeo.errors import ConflictError, FeatureError
from gridgeo.i18n import tr
from gridgeo.model import CORE_COLUMNS, GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.store import schema as t
from gridgeo.store.audit import record
from gridgeo.store.codec import jsonable, to_multipolygon, to_wkb
from gridgeo.store.core import Store
from gridgeo.store.snapshots import (
    get_version,
    load_workstations,
    published_version,
    version_label,
)
from gridgeo.validation import ValidationReport, validate
from gridgeo.workstation import Workstation

NOTIFY_CHANNEL = "gridgeo_versions"
INSERT_BATCH = 2000


@dataclass(frozen=True)
class VersionInfo:
    """What ``gridgeo versions`` shows of one version."""

    id: int
    kind: str
    status: str
    author: str
    note: str
    source_name: str
    source_sha256: str
    feature_count: int
    errors: int
    warnings: int
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None
    based_on: int | None = None
    superseded_by: int | None = None

    @classmethod
    def of(cls, row: t.Version) -> VersionInfo:
        return cls(
            row.id,
            row.kind,
            row.status,
            row.author,
            row.note,
            row.source_name,
            row.source_sha256,
            row.feature_count,
            row.errors,
            row.warnings,
            row.created_at,
            row.published_at,
            row.retired_at,
            row.based_on,
            row.superseded_by,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.__dict__)
        for key in ("created_at", "published_at", "retired_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


@dataclass(frozen=True)
class ImportResult:
    """The outcome of an import: the validation report and the draft (None on a dry run)."""

    source_name: str
    source_sha256: str
    feature_count: int
    report: ValidationReport
    version: VersionInfo | None
    carried_workstations: bool = False

    @property
    def dry_run(self) -> bool:
        return self.version is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "source_name": self.source_name,
            "source_sha256": self.source_sha256,
            "feature_count": self.feature_count,
            "errors": len(self.report.errors),
            "warnings": len(self.report.warnings),
            "version": self.version.to_dict() if self.version else None,
            "carried_workstations": self.carried_workstations,
            "report": self.report.to_dict(),
        }


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a source file, recorded with the version it became."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_boundaries(
    store: Store,
    grids: GridSet,
    *,
    author: str,
    workstations: Sequence[Workstation] | None = None,
    note: str = "",
    source_name: str = "",
    source_sha256: str = "",
    commit: bool = False,
    validation: ValidationSettings | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Validate ``grids`` and, with ``commit=True``, write them as a new draft version.

    Dry run by default: the report is computed and nothing is written. The
    write is one transaction, so a failure or a killed process leaves no
    partial draft. ``workstations=None`` carries over the published version's
    workstations (a redraw of boundaries does not move them).
    """
    report = validate(grids, validation)
    if not commit:
        return ImportResult(source_name, source_sha256, len(grids), report, None)
    check_writable(grids)  # before the version row: its report would hold the NaN too
    with store.transaction() as session:
        version, carried = write_draft(
            session,
            grids,
            report,
            author=author,
            workstations=workstations,
            note=note,
            source=(source_name, source_sha256),
            on_progress=on_progress,
        )
        info = VersionInfo.of(version)
    return ImportResult(source_name, source_sha256, len(grids), report, info, carried)


def write_draft(
    session: Session,
    grids: GridSet,
    report: ValidationReport,
    *,
    author: str,
    workstations: Sequence[Workstation] | None,
    note: str,
    source: tuple[str, str],
    on_progress: Callable[[str], None] | None = None,
) -> tuple[t.Version, bool]:
    """Write validated ``grids`` as a new draft in the session's transaction.

    ``workstations=None`` carries over the published version's; the second value
    says whether it did.
    """
    carried = workstations is None
    if workstations is None:
        current = published_version(session)
        workstations = load_workstations(session, current.id) if current else []
    version = new_version(
        session,
        t.VersionKind.BOUNDARIES,
        author=author,
        note=note,
        source=source,
        count=len(grids),
        findings=(len(report.errors), len(report.warnings)),
        report=report.to_dict(),
    )
    if on_progress:
        on_progress(
            tr(
                "writing {count:,} grids into draft version {id}",
                count=len(grids),
                id=version.id,
            )
        )
    _insert_grids(session, version.id, grids)
    _insert_workstations(session, version.id, workstations)
    return version, carried


def new_version(
    session: Session,
    kind: str,
    *,
    author: str,
    note: str,
    source: tuple[str, str],
    count: int,
    findings: tuple[int, int],
    report: dict[str, Any],
) -> t.Version:
    """Add a draft version row and its audit entry to the session's transaction."""
    version = t.Version(
        kind=kind,
        status=t.VersionStatus.DRAFT,
        author=author,
        note=note,
        source_name=source[0],
        source_sha256=source[1],
        feature_count=count,
        errors=findings[0],
        warnings=findings[1],
        report=report,
        created_at=t.utcnow(),
    )
    session.add(version)
    session.flush()
    record(
        session,
        actor=author,
        action="import",
        entity="version",
        entity_id=version.id,
        kind=kind,
        source=source[0],
        sha256=source[1],
        features=count,
        errors=findings[0],
        warnings=findings[1],
    )
    return version


def _grid_rows(version_id: int, grids: GridSet) -> list[dict[str, Any]]:
    frame = grids.frame
    extra = [c for c in frame.columns if c not in (*CORE_COLUMNS, frame.geometry.name)]
    attrs = frame[extra].to_dict("records") if extra else [{}] * len(frame)
    return [
        {
            "version_id": version_id,
            "code": code or f"(no code){ref}",
            "name": name,
            "level": int(level),
            "parent_code": parent,
            "ref": ref,
            "attributes": {k: jsonable(v) for k, v in attr.items()},
            "geom": to_wkb(to_multipolygon(geom)),
        }
        for code, name, level, parent, ref, attr, geom in zip(
            grids.codes,
            grids.names,
            grids.levels,
            grids.parent_codes,
            grids.refs,
            attrs,
            grids.geometries,
            strict=True,
        )
    ]


def _insert_grids(session: Session, version_id: int, grids: GridSet) -> None:
    rows = _grid_rows(version_id, grids)
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(t.Grid), rows[start : start + INSERT_BATCH])
    _check_stored(session, version_id, rows, grids)


def check_writable(grids: GridSet) -> None:
    """Every grid has a polygon of finite coordinates: a draft may carry validation
    findings, but not a geometry that no store can hold (FeatureError naming it)."""
    shapes = np.asarray(grids.geometries, dtype=object)
    missing = shapely.is_missing(shapes) | shapely.is_empty(shapes)
    # a NaN or infinite coordinate makes area or length non-finite: no copy of every vertex
    with np.errstate(invalid="ignore"):
        infinite = ~np.isfinite(shapely.area(shapes)) | ~np.isfinite(shapely.length(shapes))
    # a ring of fewer than four points is no ring: PostGIS refuses to parse it ("geometry
    # requires more points", a failed insert) where SpatiaLite would keep it
    rings, owner = shapely.get_rings(shapes, return_index=True)
    short = np.zeros(len(shapes), dtype=bool)
    short[owner[shapely.get_num_coordinates(rings) < 4]] = True
    bad = np.flatnonzero(missing | infinite | short)
    if len(bad):
        n = bad[0]
        if missing[n]:
            problem = tr("has no geometry: a grid needs its polygon")
        elif infinite[n]:
            problem = tr("has a coordinate that is not a finite number (NaN or infinite)")
        else:
            problem = tr("has a ring of fewer than four points (three corners and the first again)")
        raise FeatureError(
            grids.refs[n] or tr("the import"), grids.codes[n] or tr("(no code)"), problem
        )


def _check_stored(
    session: Session, version_id: int, rows: list[dict[str, Any]], grids: GridSet
) -> None:
    """Each grid's geometry as the store holds it has the vertices written (in the
    import's transaction: a failure rolls it all back).

    SpatiaLite's WKB parser gives up on polygons of about 500,000 vertices and more
    ("Parser stack overflow") and stores NULL without an error; a version committed so
    would be published with holes and stop a restarted service. Refused here, naming
    the feature, before anything is committed.
    """
    counts = shapely.get_num_coordinates(np.asarray(grids.geometries, dtype=object))
    written = {row["code"]: (int(n), row["ref"]) for row, n in zip(rows, counts, strict=True)}
    # to_multipolygon keeps every vertex: the counts written are those of the input
    stored = session.execute(
        select(t.Grid.code, func.ST_NPoints(t.Grid.geom)).where(t.Grid.version_id == version_id)
    ).all()
    for code, points in stored:
        count, ref = written[code]
        if points != count:
            raise FeatureError(
                ref or tr("the import"),
                code,
                tr(
                    "the store could not hold its geometry ({count:,} vertices written, "
                    "{stored:,} stored; SpatiaLite gives up on polygons of about 500,000 "
                    "vertices and more): simplify or split it, or use PostGIS",
                    count=count,
                    stored=points or 0,
                ),
            )


def _insert_workstations(
    session: Session, version_id: int, workstations: Sequence[Workstation]
) -> None:
    rows = [
        {
            "version_id": version_id,
            "code": ws.code,
            "name": ws.name,
            "community_codes": list(ws.community_codes),
            "address": ws.address,
            "illustrative": ws.illustrative,
            "note": ws.note,
            "geom": to_wkb(shapely.Point(ws.lon, ws.lat)),
        }
        for ws in workstations
    ]
    if rows:
        session.execute(insert(t.Workstation), rows)


def publish(
    store: Store, version_id: int, *, actor: str, force: bool = False, rollback: bool = False
) -> VersionInfo:
    """Make ``version_id`` the published version of its kind, retiring the previous one.

    A draft with validation errors is refused unless ``force`` (recorded in the
    audit log). ``rollback=True`` re-publishes a retired version instead of a
    draft. One transaction; PostgreSQL sends ``NOTIFY gridgeo_versions`` on commit.
    """
    try:
        return _publish(store, version_id, actor=actor, force=force, rollback=rollback)
    except IntegrityError:
        # two publishes of one kind at the same moment (PostgreSQL; SQLite runs them one
        # after the other): both retired the same version, the database's one-published
        # index let the first through
        raise ConflictError(
            tr(
                "version {id} was not published: another version was published at the same "
                "moment; look at the versions and publish again if still wanted",
                id=version_id,
            )
        ) from None


def _publish(
    store: Store, version_id: int, *, actor: str, force: bool, rollback: bool
) -> VersionInfo:
    with store.transaction() as session:
        version = locked_version(session, version_id)
        _check_can_publish(version, force=force, rollback=rollback)
        previous = published_version(session, version.kind)
        if not rollback and not force:
            _check_not_behind(session, version, previous)
        now = t.utcnow()
        if previous is not None:
            previous.status = t.VersionStatus.RETIRED
            previous.retired_at = now
            for pub in session.scalars(
                select(t.Publication).where(
                    t.Publication.version_id == previous.id, t.Publication.ended_at.is_(None)
                )
            ):
                pub.ended_at = now
            session.flush()  # the one-published index must see the retirement first
        version.status = t.VersionStatus.PUBLISHED
        version.published_at = now
        version.retired_at = None
        forced = bool(force and version.errors)
        session.add(
            t.Publication(
                kind=version.kind,
                version_id=version.id,
                started_at=now,
                actor=actor,
                forced=forced,
                rollback=rollback,
            )
        )
        record(
            session,
            actor=actor,
            action="rollback" if rollback else "publish",
            entity="version",
            entity_id=version.id,
            kind=version.kind,
            previous=previous.id if previous else None,
            forced=forced,
            errors=version.errors,
        )
        notify(session, version.kind, version.id)
        return VersionInfo.of(version)


def rollback(store: Store, version_id: int, *, actor: str, force: bool = False) -> VersionInfo:
    """Re-publish an earlier (retired) version; the current one is retired.

    A version with validation errors (it was force-published) is restored only with
    ``force``, as publishing it needed: whoever may not force past the errors may not
    bring them back either.
    """
    return publish(store, version_id, actor=actor, force=force, rollback=True)


def locked_version(session: Session, version_id: int) -> t.Version:
    """The version row, locked for this transaction and read *after* the lock is held.

    Row lock on PostgreSQL so two publishers or two editors serialise; SQLite has one
    writer anyway. ``populate_existing``: the row may already be in the session (loaded
    before the lock was granted); without it the ORM would hand back those stale
    columns, and a save on a draft superseded meanwhile would pass as a draft.
    """
    get_version(session, version_id)
    return session.scalars(
        select(t.Version)
        .where(t.Version.id == version_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _check_can_publish(version: t.Version, *, force: bool, rollback: bool) -> None:
    label = version_label(version.id, version.kind)
    if version.status == t.VersionStatus.PUBLISHED:
        raise ConflictError(tr("{version} is already published", version=label))
    if version.status == t.VersionStatus.SUPERSEDED:
        raise ConflictError(
            tr(
                "{version} was saved again as draft {draft}: publish that one",
                version=label,
                draft=version.superseded_by,
            )
        )
    if rollback and version.status != t.VersionStatus.RETIRED:
        raise ConflictError(
            tr(
                "{version} is a draft that was never published: publish it instead of rolling back",
                version=label,
            )
        )
    if not rollback and version.status == t.VersionStatus.RETIRED:
        raise ConflictError(
            tr(
                "{version} was published before: use `gridgeo rollback {id}`",
                version=label,
                id=version.id,
            )
        )
    if version.errors and not force:
        if rollback:
            message = tr(
                "{version} has {errors} validation error(s) (`gridgeo versions --show {id}` "
                "lists them); roll back with --force (force=true over HTTP, recorded in the "
                "audit log)",
                version=label,
                errors=version.errors,
                id=version.id,
            )
        else:
            message = tr(
                "{version} has {errors} validation error(s) (`gridgeo versions --show {id}` "
                "lists them); fix the file and import it again, or publish with --force "
                "(recorded in the audit log)",
                version=label,
                errors=version.errors,
                id=version.id,
            )
        raise ConflictError(message)


def _check_not_behind(session: Session, version: t.Version, published: t.Version | None) -> None:
    """Refuse a draft edited from a version that is no longer the published one: publishing
    it would undo, without a word, what was published since."""
    origin = version.based_on
    # back through the drafts the edits were saved over, to the version edited first; a
    # chain that starts at an imported draft has no published origin to fall behind
    while origin is not None:
        row = session.get(t.Version, origin)
        if row is None or row.status != t.VersionStatus.SUPERSEDED:
            break
        origin = row.based_on
    if origin is None or published is None or origin == published.id:
        return
    raise ConflictError(
        tr(
            "draft {draft} was edited from version {origin}, but version {published} has been "
            "published since: publishing it would undo those changes. Compare them (`gridgeo "
            "diff {published} {draft}`), make the edits on version {published}, or publish "
            "with --force (force=true over HTTP)",
            draft=version.id,
            origin=origin,
            published=published.id,
        )
    )


def notify(session: Session, kind: str, version_id: int) -> None:
    """Tell listening service processes (PostgreSQL only; delivered at commit)."""
    if session.get_bind().dialect.name == "postgresql":
        payload = json.dumps({"kind": kind, "version": version_id})
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {
                "channel": NOTIFY_CHANNEL,
                "payload": payload,
            },
        )


def list_versions(store: Store, kind: str | None = None) -> list[VersionInfo]:
    """Every version (of ``kind``), newest first."""
    with store.reading() as session:
        stmt = select(t.Version).order_by(t.Version.id.desc())
        if kind:
            if kind not in {k.value for k in t.VersionKind}:
                return []  # no version is of another kind (and PostgreSQL refuses a NUL)
            stmt = stmt.where(t.Version.kind == kind)
        return [VersionInfo.of(v) for v in session.scalars(stmt)]


def version_report(store: Store, version_id: int) -> dict[str, Any]:
    """The validation report stored with a version."""
    with store.reading() as session:
        return dict(get_version(session, version_id).report)
