"""Partner units of the "1+2+N" model and their responsibility zones (pure core).

The "1" is the street's law-enforcement team (街道综合行政执法队), the "N" are
the partners the pilot plan names: police, traffic police, the deputies'
liaison station, enterprises and property managers (门前三包 frontage duty),
volunteers (each given a service range), sanitation workers, parking-fee
collectors, the digital urban-management platform and the media. (The "2",
community grids and Party building, are the grid staff of
:mod:`gridgeo.staffing`.)

A unit's zone is one of

* ``polygon``: an area drawn by the planners (EPSG:4490);
* ``grids``: a set of grid codes; the zone is the union of those grids;
* ``buffer``: a line (a street frontage) or a point (a volunteer post) and a
  distance in metres; the zone is the set of points within that distance,
  measured in the 3-degree Gauss-Kruger zone of the data
  (:class:`gridgeo.crs.MetricFrame`). Line buffers end square at the line's
  ends, as a frontage does.

:func:`resolve_zones` turns every zone into a polygon in EPSG:4490. A zone
**covers** a point on its boundary as well as inside (GEOS ``covers``), the
same rule as the grid lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import MetricFrame
from gridgeo.geometry import make_valid_polygonal, union
from gridgeo.i18n import tr
from gridgeo.model import GridSet
from gridgeo.wording import listing

_NAMES: dict[str, tuple[str, str, str]] = {
    # value: (zh, en, group in "1+2+N")
    "enforcement_team": ("街道综合行政执法队", "street law-enforcement team", "1"),
    "police": ("公安派出所", "police station", "N"),
    "traffic_police": ("交警", "traffic police", "N"),
    "deputies_liaison": ("人大代表联络站", "people's congress deputies' liaison station", "N"),
    "enterprise": ("企业商户（门前三包）", "enterprise or shop (frontage duty)", "N"),
    "property_manager": ("物业（门前三包）", "property manager (frontage duty)", "N"),
    "volunteer": ("志愿者", "volunteer", "N"),
    "sanitation": ("环卫", "sanitation workers", "N"),
    "parking_collector": ("车辆收费员", "parking-fee collector", "N"),
    "platform": ("数字化城市管理信息平台", "digital urban-management platform", "N"),
    "media": ("媒体网络", "media", "N"),
}


class PartnerType(StrEnum):
    """Kind of partner unit; ``zh``/``en`` names, ``group`` "1" or "N"."""

    ENFORCEMENT_TEAM = "enforcement_team"
    POLICE = "police"
    TRAFFIC_POLICE = "traffic_police"
    DEPUTIES_LIAISON = "deputies_liaison"
    ENTERPRISE = "enterprise"
    PROPERTY_MANAGER = "property_manager"
    VOLUNTEER = "volunteer"
    SANITATION = "sanitation"
    PARKING_COLLECTOR = "parking_collector"
    PLATFORM = "platform"
    MEDIA = "media"

    @property
    def zh(self) -> str:
        return _NAMES[self.value][0]

    @property
    def en(self) -> str:
        return _NAMES[self.value][1]

    @property
    def group(self) -> str:
        """``"1"`` for the enforcement team, ``"N"`` for the partners."""
        return _NAMES[self.value][2]

    @property
    def label(self) -> str:
        return f"{self.en} ({self.zh})"

    @property
    def area_wide(self) -> bool:
        """Units of this type are expected to cover the whole managed area together.

        Gaps between their zones are reported by the coverage report; frontage,
        volunteer and parking zones cover parts of it by nature.
        """
        return self in AREA_WIDE_TYPES


AREA_WIDE_TYPES = frozenset(
    {
        PartnerType.ENFORCEMENT_TEAM,
        PartnerType.POLICE,
        PartnerType.TRAFFIC_POLICE,
        PartnerType.SANITATION,
    }
)

PARTNER_TYPE_WORDS: dict[str, PartnerType] = {
    **{t.value: t for t in PartnerType},
    **{t.zh: t for t in PartnerType},
    "派出所": PartnerType.POLICE,
    "公安": PartnerType.POLICE,
    "交警大队": PartnerType.TRAFFIC_POLICE,
    "执法队": PartnerType.ENFORCEMENT_TEAM,
    "企业商户(门前三包)": PartnerType.ENTERPRISE,  # the half-width form of older files
    "物业(门前三包)": PartnerType.PROPERTY_MANAGER,
    "企业": PartnerType.ENTERPRISE,
    "商户": PartnerType.ENTERPRISE,
    "物业": PartnerType.PROPERTY_MANAGER,
    "环卫工人": PartnerType.SANITATION,
    "停车收费员": PartnerType.PARKING_COLLECTOR,
    "媒体": PartnerType.MEDIA,
}


def parse_partner_type(value: object) -> PartnerType | None:
    """The partner type for an English value or a Chinese word, or None."""
    return PARTNER_TYPE_WORDS.get(str(value).strip().lower()) or PARTNER_TYPE_WORDS.get(
        str(value).strip()
    )


class ZoneKind(StrEnum):
    """How a responsibility zone is given."""

    POLYGON = "polygon"
    GRIDS = "grids"
    BUFFER = "buffer"


@dataclass(frozen=True)
class Zone:
    """A responsibility zone as the planners gave it.

    Attributes
    ----------
    kind
        ``polygon``, ``grids`` or ``buffer``.
    geometry
        The polygon, or the line/point to buffer (EPSG:4490); None for ``grids``.
    grid_codes
        The grids whose union is the zone (``grids`` only).
    buffer_m
        Distance in metres around ``geometry`` (``buffer`` only).
    """

    kind: ZoneKind
    geometry: BaseGeometry | None = None
    grid_codes: tuple[str, ...] = ()
    buffer_m: float = 0.0

    def describe(self) -> str:
        """A short description in the current language, e.g. ``"15 m around a line"``."""
        if self.kind is ZoneKind.GRIDS:
            return tr("grids {codes}", codes=listing(self.grid_codes))
        if self.kind is ZoneKind.BUFFER:
            if self.geometry is not None and self._is_line():
                return tr("{distance:g} m around a line", distance=self.buffer_m)
            return tr("{distance:g} m around a point", distance=self.buffer_m)
        return tr("a polygon")

    def _is_line(self) -> bool:
        return self.geometry is not None and self.geometry.geom_type in (
            "LineString",
            "MultiLineString",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "wkt": self.geometry.wkt if self.geometry is not None else None,
            "grid_codes": list(self.grid_codes),
            "buffer_m": self.buffer_m,
        }


@dataclass(frozen=True)
class PartnerUnit:
    """One partner unit ("1" or "N") with its responsibility zone.

    Attributes
    ----------
    code
        Unique identifier in the partner file, e.g. ``PS-XF-01``.
    type
        The kind of unit.
    name
        Its name, e.g. ``阳桥派出所``.
    contact
        Contact person or duty line, free text.
    zone
        Where it is responsible.
    phone, note
        Free text.
    illustrative
        True when the unit or its zone is made up (sample data).
    row
        Where the unit came from in its file (feature index or CSV line), for
        error messages; 0 when not read from a file. Not part of equality.
    """

    code: str
    type: PartnerType
    name: str
    zone: Zone
    contact: str = ""
    phone: str = ""
    note: str = ""
    illustrative: bool = False
    row: int = field(default=0, compare=False)

    def to_dict(self, with_contact: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "type": self.type.value,
            "type_zh": self.type.zh,
            "type_en": self.type.en,
            "group": self.type.group,
            "name": self.name,
            "zone": self.zone.to_dict(),
            "zone_description": self.zone.describe(),
            "illustrative": self.illustrative,
            "note": self.note,
        }
        if with_contact:
            out |= {"contact": self.contact, "phone": self.phone}
        return out


@dataclass(frozen=True)
class ResolvedZones:
    """Every partner's zone as a polygon in EPSG:4490, and what could not be resolved.

    Attributes
    ----------
    partners
        The units, in input order.
    geometries
        One (possibly empty) polygonal geometry per unit.
    unknown_codes
        Per unit code, the grid codes of its zone that are not in the boundaries.
    """

    partners: tuple[PartnerUnit, ...]
    geometries: tuple[BaseGeometry, ...]
    unknown_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def geometry_of(self, code: str) -> BaseGeometry:
        for unit, geom in zip(self.partners, self.geometries, strict=True):
            if unit.code == code:
                return geom
        raise KeyError(code)


def resolve_zones(
    partners: list[PartnerUnit] | tuple[PartnerUnit, ...], grids: GridSet
) -> ResolvedZones:
    """Resolve every zone to a polygon in EPSG:4490.

    Parameters
    ----------
    partners
        The units.
    grids
        The boundaries, for ``grids`` zones (union of the named grids; codes not
        in the boundaries are skipped and reported in ``unknown_codes``).
    """
    geoms: list[BaseGeometry] = []
    unknown: dict[str, tuple[str, ...]] = {}
    for unit in partners:
        zone = unit.zone
        if zone.kind is ZoneKind.GRIDS:
            geom, missing = _grid_union(zone.grid_codes, grids)
            if missing:
                unknown[unit.code] = missing
        elif zone.kind is ZoneKind.BUFFER:
            geom = buffer_metres(zone.geometry, zone.buffer_m)
        else:
            geom = _polygonal(zone.geometry)
        geoms.append(geom)
    return ResolvedZones(tuple(partners), tuple(geoms), unknown)


def _grid_union(codes: tuple[str, ...], grids: GridSet) -> tuple[BaseGeometry, tuple[str, ...]]:
    positions = [grids.position_of[c] for c in codes if c in grids.position_of]
    missing = tuple(c for c in codes if c not in grids.position_of)
    if not positions:
        return shapely.Polygon(), missing
    parts = make_valid_polygonal(grids.geometries[positions])
    return union(parts), missing


def _polygonal(geometry: BaseGeometry | None) -> BaseGeometry:
    if geometry is None or geometry.is_empty:
        return shapely.Polygon()
    fixed = make_valid_polygonal(np.array([geometry], dtype=object))[0]
    return fixed  # type: ignore[no-any-return]


def buffer_metres(geometry: BaseGeometry | None, distance_m: float) -> BaseGeometry:
    """The points within ``distance_m`` metres of an EPSG:4490 line or point, in EPSG:4490.

    Buffered in the Gauss-Kruger zone of the geometry (metres), then brought
    back; line ends are square (flat caps), corners round.
    """
    if geometry is None or geometry.is_empty or distance_m <= 0:
        return shapely.Polygon()
    frame = MetricFrame(float(shapely.centroid(geometry).x))
    projected = frame.project(np.array([geometry], dtype=object))[0]
    is_line = projected.geom_type in ("LineString", "MultiLineString")
    buffered = shapely.buffer(
        projected, distance_m, quad_segs=8, cap_style="flat" if is_line else "round"
    )
    return frame.unproject(np.array([buffered], dtype=object))[0]  # type: ignore[no-any-return]
