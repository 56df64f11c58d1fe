"""Validation findings and the report that holds them (text, JSON, GeoJSON).

JSON schema (documented in docs/VALIDATION.md)::

    {"summary": {"features": int, "errors": int, "warnings": int,
                 "by_rule": {rule: count}, "metric_crs": "EPSG:4546"},
     "errors":   [Finding, ...],
     "warnings": [Finding, ...]}

    Finding = {"rule": str, "severity": "error"|"warning", "level": int|null,
               "level_name": str|null, "codes": [str, ...], "message": str,
               "area_m2": float (only where an area applies),
               "location": [lon, lat] (only where GEOS gives a point)}
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.levels import Level

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One problem: the rule that found it, the features involved, where and how big.

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
            "severity": self.severity,
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
class Report:
    """Findings of one validation run."""

    features: int
    metric_epsg: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

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
        lines = [
            f"{self.features} features checked; {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings (areas in m² in EPSG:{self.metric_epsg})"
        ]
        for f in [*self.errors, *self.warnings]:
            where = f" level {int(f.level)} {f.level.label}" if f.level is not None else ""
            lines.append(f"{f.severity.upper():7} {f.rule}{where}: {f.message}")
        if self.ok:
            lines.append("OK: no errors")
        return "\n".join(lines)
