"""Partner units and the routing table as store versions (kinds ``partners`` and ``routing``).

Like boundaries and rosters they are imported as drafts (checked against the
published boundaries), published and rolled back. A partner's zone is kept as
the planners gave it (polygon, grid codes or a buffer around a line, in the
row's attributes) and, in the geometry column, resolved against the
boundaries published at import time, for spatial queries and maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shapely
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gridgeo.categories import Category, CategorySource
from gridgeo.deadlines import TimeLimit
from gridgeo.findings import Finding, Severity
from gridgeo.model import GridSet
from gridgeo.partners import PartnerType, PartnerUnit, Zone, ZoneKind, resolve_zones
from gridgeo.responsibility_coverage import validate_partners
from gridgeo.routing import RoutingRule, RoutingTable, limits_to_dict, validate_routing
from gridgeo.store import schema as t
from gridgeo.store.codec import to_multipolygon, to_wkb
from gridgeo.store.core import Store
from gridgeo.store.snapshots import load_grids, published_version, stored_source
from gridgeo.store.versions import VersionInfo, new_version

LOCAL_CATEGORY = "__local__"  # routing_rules rows that define a local category, not a rule
DEFAULTS = "__defaults__"  # the routing_rules row holding the table's default time limits


def import_partners(
    store: Store,
    partners: Sequence[PartnerUnit],
    *,
    author: str,
    note: str = "",
    source: tuple[str, str] = ("", ""),
    commit: bool = False,
    area_tolerance_m2: float = 1.0,
) -> tuple[list[Finding], VersionInfo | None]:
    """Check partner zones against the published boundaries; with ``commit`` store a draft.

    ``source`` is (file name, SHA-256). Returns the findings and the draft (None on a dry run).
    """
    grids = _published_grids(store)
    resolved = resolve_zones(list(partners), grids)
    findings = validate_partners(
        resolved, grids, source=source[0], area_tolerance_m2=area_tolerance_m2
    )
    if not commit:
        return findings, None
    with store.transaction() as session:
        version = _draft(
            session,
            t.VersionKind.PARTNERS,
            author=author,
            note=note,
            source=source,
            items=partners,
            findings=findings,
        )
        rows = [
            {
                "version_id": version.id,
                "unit_id": unit.code,
                "type": unit.type.value,
                "name": unit.name,
                "contact": unit.contact,
                "attributes": {
                    "phone": unit.phone,
                    "note": unit.note,
                    "illustrative": unit.illustrative,
                    "row": unit.row,
                    "zone": _zone_dict(unit.zone),
                },
                "geom": to_wkb(to_multipolygon(geom)),
            }
            for unit, geom in zip(resolved.partners, resolved.geometries, strict=True)
        ]
        if rows:
            session.execute(insert(t.PartnerUnit), rows)
        return findings, VersionInfo.of(version)


def import_routing(
    store: Store,
    table: RoutingTable,
    *,
    author: str,
    note: str = "",
    source: tuple[str, str] = ("", ""),
    commit: bool = False,
) -> tuple[list[Finding], VersionInfo | None]:
    """Check a routing table (categories, partner types the published partners have);
    with ``commit`` store it as a draft."""
    with store.reading() as session:
        partners = published_version(session, t.VersionKind.PARTNERS)
        available = (
            set(
                session.scalars(
                    select(t.PartnerUnit.type).where(t.PartnerUnit.version_id == partners.id)
                )
            )
            if partners
            else None
        )
    types = {PartnerType(v) for v in available} if available is not None else None
    findings = validate_routing(table, table.category_table(), types)
    if not commit:
        return findings, None
    with store.transaction() as session:
        version = _draft(
            session,
            t.VersionKind.ROUTING,
            author=author,
            note=note,
            source=source,
            items=table.rules,
            findings=findings,
        )
        rows: list[dict[str, Any]] = [
            {
                "version_id": version.id,
                "category": r.category,
                "attributes": {**r.to_dict(), "row": r.row},
            }
            for r in table.rules
        ]
        rows += [
            {"version_id": version.id, "category": LOCAL_CATEGORY, "attributes": _category_dict(c)}
            for c in table.local_categories
        ]
        rows.append(
            {
                "version_id": version.id,
                "category": DEFAULTS,
                "attributes": {"default_limits": limits_to_dict(table.default_limits)},
            }
        )
        if rows:
            session.execute(insert(t.RoutingRule), rows)
        return findings, VersionInfo.of(version)


def _published_grids(store: Store) -> GridSet:
    with store.reading() as session:
        current = published_version(session)
        if current is None:
            return GridSet.from_records([], [])
        return load_grids(session, current.id)


def _draft(
    session: Session,
    kind: str,
    *,
    author: str,
    note: str,
    source: tuple[str, str],
    items: Sequence[object],
    findings: list[Finding],
) -> t.Version:
    errors = sum(f.severity == Severity.ERROR for f in findings)
    return new_version(
        session,
        kind,
        author=author,
        note=note,
        source=source,
        count=len(items),
        findings=(errors, len(findings) - errors),
        report={"findings": [f.to_dict() for f in findings]},
    )


def _zone_dict(zone: Zone) -> dict[str, Any]:
    # WKB keeps every bit of the coordinates (WKT text could round them)
    wkb = shapely.to_wkb(zone.geometry, hex=True) if zone.geometry is not None else None
    return {
        "kind": zone.kind.value,
        "wkb": wkb,
        "grid_codes": list(zone.grid_codes),
        "buffer_m": zone.buffer_m,
    }


def _category_dict(category: Category) -> dict[str, Any]:
    return {
        "code": category.code,
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "source": category.source.value,
        "confirmed": category.confirmed,
    }


def load_partners(session: Session, version_id: int) -> list[PartnerUnit]:
    """The partner units of a partners version, zones as the planners gave them."""
    rows = session.scalars(
        select(t.PartnerUnit)
        .where(t.PartnerUnit.version_id == version_id)
        .order_by(t.PartnerUnit.id)
    ).all()
    return [_partner(r) for r in rows]


def _partner(row: t.PartnerUnit) -> PartnerUnit:
    attrs = row.attributes or {}
    zone = attrs.get("zone") or {}
    wkb = zone.get("wkb")
    return PartnerUnit(
        code=row.unit_id,
        type=PartnerType(row.type),
        name=row.name,
        zone=Zone(
            ZoneKind(zone.get("kind", "polygon")),
            shapely.from_wkb(wkb) if wkb else None,
            tuple(zone.get("grid_codes") or ()),
            float(zone.get("buffer_m") or 0.0),
        ),
        contact=row.contact,
        phone=str(attrs.get("phone", "")),
        note=str(attrs.get("note", "")),
        illustrative=bool(attrs.get("illustrative", False)),
        row=int(attrs.get("row", 0)),
    )


def load_routing(session: Session, version_id: int) -> RoutingTable:
    """The routing table of a routing version (rules, local categories, default time limits).

    A version stored before time limits existed has none: its table takes the defaults.
    """
    rows = session.scalars(
        select(t.RoutingRule)
        .where(t.RoutingRule.version_id == version_id)
        .order_by(t.RoutingRule.id)
    ).all()
    rules, local = [], []
    defaults: dict[str, TimeLimit] = {}
    for row in rows:
        a = row.attributes or {}
        if row.category == DEFAULTS:
            defaults = _limits(a.get("default_limits"))
            continue
        if row.category == LOCAL_CATEGORY:
            local.append(
                Category(
                    a["code"],
                    a["name_zh"],
                    a["name_en"],
                    CategorySource(a["source"]),
                    bool(a.get("confirmed", True)),
                )
            )
            continue
        rules.append(
            RoutingRule(
                row.category,
                tuple(PartnerType(v) for v in a.get("partner_types", [])),
                bool(a.get("grid", True)),
                str(a.get("note", "")),
                int(a.get("row", 0)),
                _limits(a.get("limits")),
            )
        )
    return RoutingTable(
        tuple(rules),
        source=stored_source(version_id),
        local_categories=tuple(local),
        default_limits=defaults,
    )


def _limits(stored: Any) -> dict[str, TimeLimit]:
    """Limits stored as ``{"normal": "2wd"}`` (the canonical text), or none."""
    return {str(k): TimeLimit.parse(v) for k, v in (stored or {}).items()}
