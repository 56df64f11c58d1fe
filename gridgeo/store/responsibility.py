"""Rosters, partner units and routing tables as store versions (kinds ``roster``,
``partners`` and ``routing``): who answers for each grid and each kind of report.

Like boundaries they are imported as drafts, each checked against what is
published (:func:`gridgeo.store.versioned_import.import_checked`, the one recipe
of the three), then published and rolled back. A partner's zone is kept as
the planners gave it (polygon, grid codes or a buffer around a line, in the
row's attributes) and, in the geometry column, resolved against the
boundaries published at import time, for spatial queries and maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from gridgeo.categories import Category, CategorySource
from gridgeo.deadlines import TimeLimit
from gridgeo.findings import Finding
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.partners import PartnerType, PartnerUnit, Zone, ZoneKind, resolve_zones
from gridgeo.responsibility_coverage import validate_partners
from gridgeo.routing import RoutingRule, RoutingTable, limits_to_dict, validate_routing
from gridgeo.staffing import StaffMember, roster_findings
from gridgeo.store import schema as t
from gridgeo.store.codec import to_multipolygon, to_wkb
from gridgeo.store.core import Store
from gridgeo.store.snapshots import load_grids, published_version, stored_source
from gridgeo.store.versioned_import import ImportOptions, import_checked
from gridgeo.store.versions import VersionInfo

LOCAL_CATEGORY = "__local__"  # routing_rules rows that define a local category, not a rule
DEFAULTS = "__defaults__"  # the routing_rules row holding the table's default time limits


def import_roster(
    store: Store, staff: Sequence[StaffMember], **options: Unpack[ImportOptions]
) -> tuple[list[Finding], VersionInfo | None]:
    """Check a staff roster against the published boundaries; with ``commit`` store a draft.

    Options as for every checked import (:class:`ImportOptions`). Returns the
    findings and the draft (None on a dry run).
    """
    with store.reading() as session:
        current = published_version(session)
        levels = (
            {
                c: Level(lv)
                for c, lv in session.execute(
                    select(t.Grid.code, t.Grid.level).where(t.Grid.version_id == current.id)
                ).all()
            }
            if current
            else {}
        )
    findings = roster_findings(list(staff), levels, source=_source_name(options))

    def rows(version_id: int) -> list[dict[str, Any]]:
        return [
            {
                "version_id": version_id,
                "person_id": p.person_id,
                "name": p.name,
                "role": p.role.value,
                "employment": p.employment.value,
                "grid_code": p.grid_code,
                "title": p.title,
                "phone": p.phone,
            }
            for p in staff
        ]

    return import_checked(
        store, t.VersionKind.ROSTER, findings, count=len(staff), table=t.Staff, rows=rows, **options
    )


def import_partners(
    store: Store,
    partners: Sequence[PartnerUnit],
    *,
    area_tolerance_m2: float = 1.0,
    **options: Unpack[ImportOptions],
) -> tuple[list[Finding], VersionInfo | None]:
    """Check partner zones against the published boundaries; with ``commit`` store a draft.

    ``area_tolerance_m2`` is the validation's area tolerance; the other options as
    for every checked import (:class:`ImportOptions`). Returns the findings and the
    draft (None on a dry run).
    """
    grids = _published_grids(store)
    resolved = resolve_zones(list(partners), grids)
    findings = validate_partners(
        resolved, grids, source=_source_name(options), area_tolerance_m2=area_tolerance_m2
    )

    def rows(version_id: int) -> list[dict[str, Any]]:
        return [
            {
                "version_id": version_id,
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

    kind = t.VersionKind.PARTNERS
    return import_checked(
        store, kind, findings, count=len(partners), table=t.PartnerUnit, rows=rows, **options
    )


def import_routing(
    store: Store, table: RoutingTable, **options: Unpack[ImportOptions]
) -> tuple[list[Finding], VersionInfo | None]:
    """Check a routing table (categories, partner types the published partners have);
    with ``commit`` store it as a draft.

    Options as for every checked import (:class:`ImportOptions`). Returns the
    findings and the draft (None on a dry run).
    """
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

    def rows(version_id: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {
                "version_id": version_id,
                "category": r.category,
                "attributes": {**r.to_dict(), "row": r.row},
            }
            for r in table.rules
        ]
        out += [
            {"version_id": version_id, "category": LOCAL_CATEGORY, "attributes": _category_dict(c)}
            for c in table.local_categories
        ]
        out.append(
            {
                "version_id": version_id,
                "category": DEFAULTS,
                "attributes": {"default_limits": limits_to_dict(table.default_limits)},
            }
        )
        return out

    kind = t.VersionKind.ROUTING
    return import_checked(
        store, kind, findings, count=len(table.rules), table=t.RoutingRule, rows=rows, **options
    )


def _source_name(options: ImportOptions) -> str:
    """The imported file's name, which the findings name (empty when not given)."""
    return options.get("source", ("", ""))[0]


def _published_grids(store: Store) -> GridSet:
    with store.reading() as session:
        current = published_version(session)
        if current is None:
            return GridSet.from_records([], [])
        return load_grids(session, current.id)


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
