"""Who covers each grid: partner zones checked against the boundaries, and the coverage
report of staff and partner zones (pure core).

* :func:`validate_partners`: zones naming unknown grid codes, empty zones,
  zones reaching outside the districts of the boundaries.
* :func:`coverage_report`: over a scope of fifth-level grids, the grids
  without staff, same-type partner zones that overlap, and the parts of the
  scope that an area-wide partner type (enforcement team, police, traffic
  police, sanitation) leaves uncovered.

Areas are measured in the Gauss-Kruger zone of the data (square metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from shapely.geometry.base import BaseGeometry

from gridgeo.findings import Finding, Severity, severity_word
from gridgeo.geometry import difference, intersection, make_valid_polygonal, union
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.partners import AREA_WIDE_TYPES, PartnerType, PartnerUnit, ResolvedZones
from gridgeo.staffing import StaffMember
from gridgeo.wording import bilingual, level_name, listing, pad


def validate_partners(
    zones: ResolvedZones, grids: GridSet, *, source: str = "", area_tolerance_m2: float = 1.0
) -> list[Finding]:
    """Findings of the partner file against the boundaries.

    Returns
    -------
    list of Finding
        Errors ``unknown_grid_code``, ``empty_zone``, ``zone_outside_district``.
    """
    findings: list[Finding] = []
    districts = _districts(grids)
    metric = grids.metric
    for unit, geom in zip(zones.partners, zones.geometries, strict=True):
        for code in zones.unknown_codes.get(unit.code, ()):
            message = tr("grid code {code} is not in the boundaries", code=code)
            findings.append(_unit_error("unknown_grid_code", unit, message, source))
        if geom.is_empty:
            message = tr("its zone is empty; it can match no report")
            findings.append(_unit_error("empty_zone", unit, message, source))
            continue
        if districts is None:
            continue
        outside = float(metric.area(difference(geom, districts))[0])
        if outside > area_tolerance_m2:
            total = float(metric.area(geom)[0])
            message = tr(
                "{outside:,.0f} m² of its zone ({share:.0f}%) lies outside "
                "the districts (区) of the boundaries",
                outside=outside,
                share=100 * outside / total,
            )
            findings.append(_unit_error("zone_outside_district", unit, message, source))
    return findings


def _unit_error(rule: str, unit: PartnerUnit, message: str, source: str) -> Finding:
    text = tr("unit {code} {name}: {message}", code=unit.code, name=unit.name, message=message)
    return Finding(rule, Severity.ERROR, text, source, unit.row, unit.code)


def _districts(grids: GridSet) -> BaseGeometry | None:
    mask = grids.levels == int(Level.DISTRICT)
    if not mask.any():
        return None
    return union(make_valid_polygonal(grids.geometries[mask]))


@dataclass(frozen=True)
class ZoneOverlap:
    """Two units of the same type whose zones overlap."""

    type: PartnerType
    first: str
    second: str
    area_m2: float


@dataclass(frozen=True)
class ZoneGap:
    """Part of the scope an area-wide partner type leaves uncovered."""

    type: PartnerType
    area_m2: float
    share: float
    grid_codes: tuple[str, ...]


@dataclass(frozen=True)
class UnstaffedGrid:
    """A grid in the scope with nobody on the roster."""

    code: str
    level: Level
    name: str


@dataclass
class CoverageReport:
    """Grids without staff, zone overlaps and gaps, and the files' findings."""

    scope: tuple[str, ...]
    scope_area_m2: float
    unstaffed: list[UnstaffedGrid] = field(default_factory=list)
    overlaps: list[ZoneOverlap] = field(default_factory=list)
    gaps: list[ZoneGap] = field(default_factory=list)
    covered: dict[PartnerType, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No unstaffed grid, no gap and no error finding (overlaps are warnings)."""
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        return not self.unstaffed and not self.gaps and not errors

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per item for CSV (columns: :data:`CSV_COLUMNS`)."""
        out: list[dict[str, Any]] = []
        for g in self.unstaffed:
            out.append(
                _row(
                    "unstaffed_grid", g.code, "", "", None, None, f"{level_name(g.level)} {g.name}"
                )
            )
        for t, share in sorted(self.covered.items()):
            out.append(
                _row(
                    "type_coverage",
                    "",
                    t.value,
                    "",
                    None,
                    share,
                    tr(
                        "{type} covers {share} of the scope",
                        type=_type_name(t),
                        share=f"{100 * share:.1f}%",
                    ),
                )
            )
        for o in self.overlaps:
            msg = tr(
                "{type} zones {first} and {second} overlap",
                type=_type_name(o.type),
                first=o.first,
                second=o.second,
            )
            out.append(_row("zone_overlap", o.first, o.type.value, o.second, o.area_m2, None, msg))
        for gap in self.gaps:
            msg = tr(
                "{type} leaves part of grids {codes} uncovered",
                type=_type_name(gap.type),
                codes=listing(gap.grid_codes),
            )
            out.append(_row("zone_gap", "", gap.type.value, "", gap.area_m2, gap.share, msg))
        for f in self.findings:
            out.append(_row(f"finding:{f.rule}", f.subject, "", f.where, None, None, f.message))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": list(self.scope),
            "scope_area_m2": round(self.scope_area_m2, 1),
            "unstaffed": [
                {"code": g.code, "level": int(g.level), "level_name": g.level.label, "name": g.name}
                for g in self.unstaffed
            ],
            "covered": {t.value: round(s, 4) for t, s in sorted(self.covered.items())},
            "overlaps": [
                {"type": o.type.value, "first": o.first, "second": o.second, "area_m2": o.area_m2}
                for o in self.overlaps
            ],
            "gaps": [
                {
                    "type": g.type.value,
                    "area_m2": g.area_m2,
                    "share": round(g.share, 4),
                    "grid_codes": list(g.grid_codes),
                }
                for g in self.gaps
            ],
            "findings": [f.to_dict() for f in self.findings],
            "ok": self.ok,
        }

    def to_text(self) -> str:
        """The report in the current language."""
        lines = [
            tr(
                "scope: {grids} fifth-level grids (五级网格), {area:.3f} km²",
                grids=len(self.scope),
                area=self.scope_area_m2 / 1e6,
            )
        ]
        lines += [
            tr(
                "UNSTAFFED {code} {level} {name}",
                code=g.code,
                level=level_name(g.level),
                name=g.name,
            )
            for g in self.unstaffed
        ]
        lines += [
            tr("covered   {type} {share:6.1f}%", type=pad(_type_name(t), 48), share=100 * s)
            for t, s in sorted(self.covered.items())
        ]
        lines += [
            tr(
                "OVERLAP   {type}: {first} and {second} share {area:,.0f} m²",
                type=_type_name(o.type),
                first=o.first,
                second=o.second,
                area=o.area_m2,
            )
            for o in self.overlaps
        ]
        lines += [
            tr(
                "GAP       {type}: {area:,.0f} m² ({share:.1f}%) uncovered, in grids {codes}",
                type=_type_name(g.type),
                area=g.area_m2,
                share=100 * g.share,
                codes=listing(g.grid_codes),
            )
            for g in self.gaps
        ]
        lines += [f"{severity_word(f.severity, 9)} {f}" for f in self.findings]
        lines.append(tr("OK: staffed, covered, files clean") if self.ok else tr("problems found"))
        return "\n".join(lines)


def _type_name(ptype: PartnerType) -> str:
    """``traffic police (交警)`` in English, ``交警`` in Chinese."""
    return bilingual(ptype.en, ptype.zh)


CSV_COLUMNS = ("kind", "subject", "partner_type", "other", "area_m2", "share", "message")


def _row(  # noqa: PLR0917 -- one positional per CSV column, in column order
    kind: str,
    subject: str,
    ptype: str,
    other: str,
    area: float | None,
    share: float | None,
    message: str,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": subject,
        "partner_type": ptype,
        "other": other,
        "area_m2": "" if area is None else round(area, 1),
        "share": "" if share is None else round(share, 4),
        "message": message,
    }


def scope_leaves(
    grids: GridSet, staff: Sequence[StaffMember], within: Sequence[str] | None = None
) -> list[int]:
    """Positions of the leaf grids in scope.

    ``within`` codes select their leaves; by default the scope is the leaves
    that have staff (the managed area), or every leaf when nobody has staff.
    """
    leaves = np.flatnonzero(~grids.has_children() & (grids.levels > 0))
    codes = grids.codes
    if within:
        chosen = [
            int(p)
            for p in leaves
            if any(c in within for c in (codes[q] for q in grids.chain(int(p))) if c is not None)
        ]
        return chosen
    staffed = {p.grid_code for p in staff}
    chosen = [int(p) for p in leaves if codes[int(p)] in staffed]
    return chosen or [int(p) for p in leaves]


def coverage_report(
    grids: GridSet,
    staff: Sequence[StaffMember],
    zones: ResolvedZones,
    *,
    within: Sequence[str] | None = None,
    area_tolerance_m2: float = 1.0,
    findings: Sequence[Finding] = (),
) -> CoverageReport:
    """Grids without staff, same-type zone overlaps and area-wide gaps over a scope.

    Parameters
    ----------
    grids, staff, zones
        Boundaries, roster, resolved partner zones.
    within
        Grid codes whose fifth-level grids form the scope (default: the
        staffed leaves; see :func:`scope_leaves`).
    area_tolerance_m2
        Overlaps and gaps at or below this area are noise.
    findings
        Validation findings of the files, carried into the report.
    """
    leaves = scope_leaves(grids, staff, within)
    metric = grids.metric
    scope_geom = union(make_valid_polygonal(grids.geometries[leaves])) if leaves else None
    scope_area = float(metric.area(scope_geom)[0]) if scope_geom is not None else 0.0
    report = CoverageReport(
        tuple(str(grids.codes[p]) for p in leaves), scope_area, findings=list(findings)
    )
    report.unstaffed = _unstaffed(grids, staff, leaves)
    if scope_geom is None:
        return report
    in_scope = [
        (u, g)
        for u, g in zip(zones.partners, zones.geometries, strict=True)
        if not g.is_empty and g.intersects(scope_geom)
    ]
    report.overlaps = _overlaps(in_scope, grids, area_tolerance_m2)
    types = sorted({u.type for u, _ in in_scope} | set(AREA_WIDE_TYPES))
    for t in types:
        covered = union([intersection(g, scope_geom) for u, g in in_scope if u.type is t])
        share = float(metric.area(covered)[0]) / scope_area if scope_area else 0.0
        report.covered[t] = min(share, 1.0)
        if t in AREA_WIDE_TYPES:
            gap = _gap(
                t,
                scope_geom,
                covered,
                grids,
                leaves,
                tolerance=area_tolerance_m2,
                scope_area=scope_area,
            )
            if gap is not None:
                report.gaps.append(gap)
    return report


def _unstaffed(
    grids: GridSet, staff: Sequence[StaffMember], leaves: list[int]
) -> list[UnstaffedGrid]:
    staffed = {p.grid_code for p in staff}
    positions = sorted({q for p in leaves for q in grids.chain(p)})
    out = []
    for p in positions:
        code = grids.codes[p]
        if code is not None and code not in staffed:
            out.append(UnstaffedGrid(code, Level(int(grids.levels[p])), grids.names[p]))
    return sorted(out, key=lambda g: (int(g.level), g.code))


def _overlaps(
    units: list[tuple[PartnerUnit, BaseGeometry]], grids: GridSet, tolerance: float
) -> list[ZoneOverlap]:
    out = []
    for i, (a, ga) in enumerate(units):
        for b, gb in units[i + 1 :]:
            if a.type is not b.type or not ga.intersects(gb):
                continue
            area = float(grids.metric.area(intersection(ga, gb))[0])
            if area > tolerance:
                first, second = sorted((a.code, b.code))
                out.append(ZoneOverlap(a.type, first, second, round(area, 1)))
    return sorted(out, key=lambda o: (o.type.value, o.first, o.second))


def _gap(
    ptype: PartnerType,
    scope: BaseGeometry,
    covered: BaseGeometry,
    grids: GridSet,
    leaves: list[int],
    *,
    tolerance: float,
    scope_area: float,
) -> ZoneGap | None:
    rest = difference(scope, covered)
    area = float(grids.metric.area(rest)[0])
    if area <= tolerance:
        return None
    hit = [
        str(grids.codes[p])
        for p in leaves
        if float(grids.metric.area(intersection(grids.geometries[p], rest))[0]) > tolerance
    ]
    return ZoneGap(ptype, round(area, 1), area / scope_area if scope_area else 1.0, tuple(hit))
