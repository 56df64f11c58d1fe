"""CRS of OGC API Features Part 2: URIs, axis order, reprojection of geometries and bboxes.

Stored geometries are CGCS2000 lon/lat (EPSG:4490). Responses default to OGC
CRS84 (lon/lat, WGS84); CGCS2000 and WGS84 agree to a few centimetres, the
same ballpark identity PROJ applies. A client may ask for EPSG:4490, EPSG:4326
or a CGCS2000 Gauss-Kruger zone (EPSG:4491-4554). Coordinates are then written
in the axis order the EPSG definition gives, as Part 2 requires: latitude
first for EPSG:4490 and 4326, northing first for the Gauss-Kruger zones.

For the web maps of China, ``crs`` (and ``bbox-crs``) may also name **GCJ-02**
(Amap, Tencent, WeChat) or **BD-09** (Baidu): ``gcj02``, ``bd09`` or this
service's URNs :data:`GCJ02_URN` and :data:`BD09_URN`, written back in
``Content-Crs``. They have no EPSG code (they are deliberate distortions of
WGS84, not datums), so the collections do not list them; coordinates are
lon/lat.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gridgeo.api.ogc.errors import invalid_parameter
from gridgeo.api.output_crs import output_system
from gridgeo.coords import (
    CoordSystem,
    geometries_from_cgcs2000,
    geometries_to_cgcs2000,
)
from gridgeo.crs import GK_EPSG_RANGE, STORAGE_EPSG, WGS84_EPSG, transform_geometries
from gridgeo.errors import CoordinateError
from gridgeo.i18n import tr

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GCJ02_URN = "urn:gridgeo:def:crs:GCJ-02"
BD09_URN = "urn:gridgeo:def:crs:BD-09"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
STORAGE_CRS = EPSG_URI.format(STORAGE_EPSG)
SUPPORTED_EPSG: tuple[int, ...] = (STORAGE_EPSG, WGS84_EPSG, *GK_EPSG_RANGE)

_EPSG_FORMS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d+)$", re.IGNORECASE),
    re.compile(r"^\[?EPSG:(\d+)\]?$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d+)$", re.IGNORECASE),
)
_CRS84_FORMS = {
    CRS84.lower(),
    "https://www.opengis.net/def/crs/ogc/1.3/crs84",
    "ogc:crs84",
    "[ogc:crs84]",
    "crs84",
    "urn:ogc:def:crs:ogc:1.3:crs84",
}


@dataclass(frozen=True)
class OgcCrs:
    """A CRS a client may name in ``crs`` or ``bbox-crs``.

    Attributes
    ----------
    uri
        The canonical OGC URI (written in ``Content-Crs`` and ``crs`` lists).
    epsg
        EPSG code of the datum and projection (4326 for CRS84).
    north_first
        True when the first axis is latitude or northing (authority order).
    """

    uri: str
    epsg: int
    north_first: bool
    shifted: CoordSystem | None = None  # "gcj02" or "bd09": a Chinese web map's lon/lat

    @property
    def geographic(self) -> bool:
        return self.epsg in (STORAGE_EPSG, WGS84_EPSG)


CRS84_CRS = OgcCrs(CRS84, WGS84_EPSG, north_first=False)
_SHIFTED = {
    GCJ02_URN.lower(): OgcCrs(GCJ02_URN, WGS84_EPSG, north_first=False, shifted="gcj02"),
    BD09_URN.lower(): OgcCrs(BD09_URN, WGS84_EPSG, north_first=False, shifted="bd09"),
}


def supported_uris() -> list[str]:
    """Every CRS URI the service accepts, CRS84 first (the collections' ``crs`` list)."""
    return [CRS84, *(EPSG_URI.format(code) for code in SUPPORTED_EPSG)]


@cache
def _north_first(epsg: int) -> bool:
    """Whether the EPSG axis order starts with latitude or northing (pyproj says)."""
    return CRS.from_epsg(epsg).axis_info[0].direction in ("north", "south")


def parse_crs(value: str | None, parameter: str) -> OgcCrs:
    """The CRS a ``crs`` or ``bbox-crs`` value names; CRS84 when absent.

    Raises
    ------
    OGCError
        400 naming the parameter and listing the accepted forms.
    """
    if value is None or value.strip().lower() in _CRS84_FORMS:
        return CRS84_CRS
    text = value.strip()
    if text.lower() in _SHIFTED:
        return _SHIFTED[text.lower()]
    with contextlib.suppress(CoordinateError):
        system = output_system(text)
        if system is not None:
            return _SHIFTED[(GCJ02_URN if system == "gcj02" else BD09_URN).lower()]
    for form in _EPSG_FORMS:
        match = form.match(text)
        if match and int(match.group(1)) in SUPPORTED_EPSG:
            code = int(match.group(1))
            return OgcCrs(EPSG_URI.format(code), code, _north_first(code))
    raise invalid_parameter(
        parameter,
        value,
        tr(
            "unsupported CRS; use {crs84}, {storage} (CGCS2000), {wgs84}, a CGCS2000 "
            "Gauss-Kruger zone {first} ... {last}, or for Chinese web maps gcj02 (Amap, "
            "Tencent) or bd09 (Baidu)",
            crs84=CRS84,
            storage=STORAGE_CRS,
            wgs84=EPSG_URI.format(WGS84_EPSG),
            first=EPSG_URI.format("4491"),
            last=EPSG_URI.format("4554"),
        ),
    )


def _swap_xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.ascontiguousarray(coords[:, ::-1])


def to_output(geoms: npt.NDArray[np.object_], crs: OgcCrs) -> npt.NDArray[np.object_]:
    """Stored (EPSG:4490 lon/lat) geometries in ``crs``, in its axis order."""
    if crs.shifted is not None:
        return geometries_from_cgcs2000(geoms, crs.shifted)
    if not crs.geographic:  # CGCS2000 <-> WGS84 is the identity at PROJ's ballpark
        geoms = transform_geometries(geoms, STORAGE_EPSG, crs.epsg)
    if crs.north_first:
        geoms = np.asarray(shapely.transform(geoms, _swap_xy), dtype=object)
    return geoms


PROJECTED_LIMIT_M = 1e8
"""Gauss-Kruger coordinates beyond this (metres) are outside any zone: refused early."""


def bbox_polygon(values: list[float], crs: OgcCrs) -> BaseGeometry:
    """The stored-CRS (EPSG:4490) polygon covered by a ``bbox`` given in ``crs``.

    ``values`` are 4 or 6 numbers (min, min[, zmin], max, max[, zmax]) in the
    axis order of ``crs``. A projected box is densified before reprojection,
    so its curved outline in lon/lat is followed, not just its corners.

    Raises
    ------
    OGCError
        400 for reversed or out-of-range corners.
    """
    text = ",".join(f"{v:.12g}" for v in values)
    if len(values) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights ignored
        values = [values[0], values[1], values[3], values[4]]
    a0, b0, a1, b1 = values
    x0, y0, x1, y1 = (b0, a0, b1, a1) if crs.north_first else (a0, b0, a1, b1)
    if crs.geographic:
        if not (-90 <= y0 <= 90 and -90 <= y1 <= 90 and -180 <= x0 <= 180 and -180 <= x1 <= 180):
            raise invalid_parameter("bbox", text, tr("longitude or latitude out of range"))
        if x0 > x1:
            raise invalid_parameter(
                "bbox", text, tr("boxes across the antimeridian are not supported")
            )
    if x0 > x1 or y0 > y1:
        raise invalid_parameter("bbox", text, tr("minimum corner is above or right of the maximum"))
    area = _box(x0, y0, x1, y1)
    if crs.shifted is not None:  # a box on the web map: its outline, shifted back
        if area.geom_type == "Polygon":
            area = shapely.segmentize(area, max(x1 - x0, y1 - y0) / 32)
        back: BaseGeometry = geometries_to_cgcs2000([area], crs.shifted)[0]
        return back
    if crs.geographic:
        return area
    if max(abs(v) for v in values) > PROJECTED_LIMIT_M:
        raise invalid_parameter("bbox", text, _outside(crs))
    if area.geom_type != "Point":
        area = shapely.segmentize(area, max(x1 - x0, y1 - y0) / 32)
    projected = transform_geometries(np.array([area], dtype=object), crs.epsg, STORAGE_EPSG)[0]
    if not np.isfinite(shapely.get_coordinates(projected)).all():
        raise invalid_parameter("bbox", text, _outside(crs))
    valid: BaseGeometry = shapely.make_valid(projected)
    return valid


def _outside(crs: OgcCrs) -> str:
    return tr("outside the area of EPSG:{epsg}", epsg=crs.epsg)


def _box(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """The box, or the line or point it collapses to when it has no width or height."""
    if x0 == x1 and y0 == y1:
        return shapely.Point(x0, y0)
    if x0 == x1 or y0 == y1:
        return shapely.LineString([(x0, y0), (x1, y1)])
    return box(x0, y0, x1, y1)
