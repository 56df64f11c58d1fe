"""Validation findings and the report that holds them (text, JSON, GeoJSON).

JSON schema (documented in docs/VALIDATION.md)::

    {"summary": {"features": int, "errors": int, "warnings": int,
                 "by_rule": {rule: count}, "metric_crs": "EPSG:4546"},
     "errors":   [BoundaryFinding, ...],
     "warnings": [BoundaryFinding, ...]}

    BoundaryFinding = {"rule": str, "severity": "error"|"warning", "level": int|null,
               "level_name": str|null, "codes": [str, ...], "message": str,
               "area_m2": float (only where an area applies),
               "location": [lon, lat] (only where GEOS gives a point)}
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.findings import Severity, severity_word
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.wording import level_name


@dataclass(frozen=True)
class BoundaryFinding:
    """One problem of the boundaries: the rule that found it, the features involved, where
    and how big (a planner's tables have :class:`gridgeo.findings.Finding` instead).

    ``geometry`` is in EPSG:4490 and is what ``--format geojson`` writes.
    """

    rule: str
    severity: Severity
    level: Level | None
    codes: tuple[str, ...]
    message: str
    area_m2: float | None = None
    geometry: BaseGeometry | None = None
    location: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without geometry)."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "level": int(self.level) if self.level is not None else None,
            "level_name": self.level.label if self.level is not None else None,
            "codes": list(self.codes),
            "message": self.message,
        }
        if self.area_m2 is not None:
            out["area_m2"] = round(self.area_m2, 3)
        if self.location is not None:
            out["location"] = [round(self.location[0], 9), round(self.location[1], 9)]
        return out


@dataclass
class ValidationReport:
    """Findings of one validation run."""

    features: int
    metric_epsg: int
    findings: list[BoundaryFinding] = field(default_factory=list)

    @property
    def errors(self) -> list[BoundaryFinding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[BoundaryFinding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not fail validation)."""
        return not self.errors

    def rules(self) -> Counter[str]:
        return Counter(f.rule for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": {
                "features": self.features,
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "by_rule": dict(sorted(self.rules().items())),
                "metric_crs": f"EPSG:{self.metric_epsg}",
            },
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def to_geojson(self) -> dict[str, Any]:
        """Findings with a geometry (or a location) as a GeoJSON FeatureCollection."""
        features = []
        for f in self.findings:
            geom = f.geometry
            if geom is None and f.location is not None:
                geom = shapely.Point(f.location)
            if geom is None or geom.is_empty:
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": f.to_dict() | {"codes": ",".join(f.codes)},
                    "geometry": shapely.geometry.mapping(geom),
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def to_text(self) -> str:
        """A summary line, then one line per finding, in the current language."""
        lines = [
            tr(
                "{features} features checked; {errors} errors, {warnings} warnings "
                "(areas in m² in EPSG:{epsg})",
                features=self.features,
                errors=len(self.errors),
                warnings=len(self.warnings),
                epsg=self.metric_epsg,
            )
        ]
        for f in [*self.errors, *self.warnings]:
            severity = severity_word(f.severity, 7)
            if f.level is None:
                lines.append(
                    tr(
                        "{severity} {rule}: {message}",
                        severity=severity,
                        rule=f.rule,
                        message=f.message,
                    )
                )
                continue
            lines.append(
                tr(
                    "{severity} {rule} level {level} {name}: {message}",
                    severity=severity,
                    rule=f.rule,
                    level=int(f.level),
                    name=level_name(f.level),
                    message=f.message,
                )
            )
        if self.ok:
            lines.append(tr("OK: no errors"))
        return "\n".join(lines)
