"""Coordinate reference systems of boundary data, and the metric zone for areas.

Boundaries are stored in CGCS2000 geographic coordinates (EPSG:4490). Files
may come in EPSG:4490, EPSG:4326 (WGS84; centimetres from CGCS2000) or a
projected CGCS2000 Gauss-Kruger zone (EPSG:4491-4554: 6-degree and 3-degree
zones, with or without the zone number in the false easting). Areas and
distances are computed in the 3-degree Gauss-Kruger zone (EPSG:4534-4554,
false easting 500 000 m, no zone prefix) whose central meridian is nearest
the data, where scale error stays below about 0.03 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.errors import CRSError
from gridgeo.i18n import tr

if TYPE_CHECKING:  # pyproj (40 ms) is imported where a CRS is read or a transform made:
    from pyproj import CRS, Transformer  # a batch of lon/lat points needs neither

STORAGE_EPSG = 4490
"""EPSG code of stored boundaries: CGCS2000 geographic, lon/lat."""

WGS84_EPSG = 4326
GK_EPSG_RANGE = range(4491, 4555)
"""CGCS2000 Gauss-Kruger zones: 4491-4512 6-degree, 4513-4554 3-degree."""

_GK3_FIRST_EPSG = 4534  # 3-degree zone, CM 75E, no zone prefix
_GK3_FIRST_CM = 75
_GK3_LAST_CM = 135

# Rough extent of China, for telling swapped or projected numbers apart.
CHINA_LON = (72.0, 138.0)
CHINA_LAT = (0.8, 56.0)


def parse_crs(value: object) -> CRS:
    """A pyproj CRS from ``"EPSG:4490"``, ``4490``, ``"cgcs2000"``, WKT or a CRS.

    Raises
    ------
    CRSError
        If the value is no CRS pyproj knows.
    """
    aliases = {"cgcs2000": STORAGE_EPSG, "wgs84": WGS84_EPSG, "crs84": WGS84_EPSG}
    if isinstance(value, str) and value.strip().lower() in aliases:
        value = aliases[value.strip().lower()]
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return CRS.from_user_input(value)
    except ProjCRSError as exc:
        raise CRSError(tr("unknown CRS {value!r}: {reason}", value=value, reason=exc)) from None


def accepted_epsg(crs: CRS) -> int:
    """The EPSG code of ``crs`` if gridgeo accepts it as boundary input.

    Accepted: EPSG:4490, EPSG:4326 (also OGC:CRS84) and the CGCS2000
    Gauss-Kruger zones EPSG:4491-4554.

    Raises
    ------
    CRSError
        For any other CRS, naming it and the accepted ones.
    """
    epsg = crs.to_epsg(min_confidence=70)
    if epsg is None and crs.to_string().upper() in ("OGC:CRS84", "CRS84"):
        epsg = WGS84_EPSG
    if epsg is None and crs.is_geographic and crs.ellipsoid and "WGS 84" in crs.ellipsoid.name:
        epsg = WGS84_EPSG
    if epsg in (STORAGE_EPSG, WGS84_EPSG) or (epsg is not None and epsg in GK_EPSG_RANGE):
        return epsg
    raise CRSError(
        tr(
            "unsupported CRS {name!r} (EPSG:{epsg}); use EPSG:4490 (CGCS2000), "
            "EPSG:4326 (WGS84) or a CGCS2000 Gauss-Kruger zone EPSG:4491-4554",
            name=crs.name,
            epsg=epsg,
        )
    )


def gk_zone_epsg(lon: float) -> int:
    """The 3-degree CGCS2000 Gauss-Kruger zone (EPSG:4534-4554) for a longitude.

    The central meridian is the multiple of 3 nearest ``lon``, clamped to the
    zones defined for China (75E-135E). Guilin (110.3E) gives EPSG:4546.
    """
    if not np.isfinite(lon):
        raise CRSError(tr("cannot choose a Gauss-Kruger zone for longitude {lon!r}", lon=lon))
    cm = int(np.clip(3 * round(lon / 3), _GK3_FIRST_CM, _GK3_LAST_CM))
    return _GK3_FIRST_EPSG + (cm - _GK3_FIRST_CM) // 3


@lru_cache(maxsize=64)
def transformer(src_epsg: int, dst_epsg: int) -> Transformer:
    """A cached lon/lat-ordered transformer (``always_xy``; GK zones are N/E in EPSG)."""
    from pyproj import Transformer

    return Transformer.from_crs(src_epsg, dst_epsg, always_xy=True)


def transform_geometries(
    geoms: npt.NDArray[np.object_], src_epsg: int, dst_epsg: int
) -> npt.NDArray[np.object_]:
    """Transform an array of shapely geometries between EPSG codes (x = easting/lon)."""
    if src_epsg == dst_epsg:
        return geoms
    forward = transformer(src_epsg, dst_epsg)

    def _xy(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, _xy), dtype=object)


class MetricFrame:
    """Areas and lengths in metres for geometries stored in EPSG:4490.

    Parameters
    ----------
    lon
        A longitude representative of the data (for example the centre of its
        bounds); it picks the 3-degree Gauss-Kruger zone.
    """

    def __init__(self, lon: float) -> None:
        self.epsg = gk_zone_epsg(lon)

    @classmethod
    def for_geometries(cls, geoms: npt.NDArray[np.object_]) -> MetricFrame:
        """The frame for the centre of the bounds of ``geoms`` (EPSG:4490)."""
        bounds = shapely.total_bounds(geoms)
        lon = float((bounds[0] + bounds[2]) / 2) if np.all(np.isfinite(bounds)) else 111.0
        return cls(lon)

    def project(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Geometries in the zone's metres."""
        return transform_geometries(np.asarray(geoms, dtype=object), STORAGE_EPSG, self.epsg)

    def unproject(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Geometries back from the zone's metres to EPSG:4490."""
        return transform_geometries(np.asarray(geoms, dtype=object), self.epsg, STORAGE_EPSG)

    def area(self, geoms: object) -> npt.NDArray[np.float64]:
        """Area in m² of EPSG:4490 geometries (one value per geometry)."""
        arr = np.atleast_1d(np.asarray(geoms, dtype=object))
        return np.asarray(shapely.area(self.project(arr)), dtype=float)

    def xy(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Project lon/lat (EPSG:4490) to the zone's easting/northing in metres."""
        x, y = transformer(STORAGE_EPSG, self.epsg).transform(
            np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        )
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


# CGCS2000 ellipsoid (the GRS80 figure to well below a millimetre)
_A = 6378137.0
_F = 1 / 298.257222101
_E2 = _F * (2 - _F)


def metres_per_degree(
    lat: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Metres per degree of longitude and of latitude at ``lat`` on the CGCS2000 ellipsoid.

    Examples
    --------
    >>> east, north = metres_per_degree(25.0)
    >>> round(float(east)), round(float(north))
    (100950, 110773)
    """
    phi = np.radians(np.asarray(lat, dtype=float))
    w = 1 - _E2 * np.sin(phi) ** 2
    meridian = _A * (1 - _E2) / w**1.5  # radius of curvature along the meridian
    normal = _A / np.sqrt(w)  # radius of curvature in the prime vertical
    return normal * np.cos(phi) * np.pi / 180, meridian * np.pi / 180


def local_metres(
    geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_],
) -> npt.NDArray[np.object_]:
    """Each EPSG:4490 geometry in metres about its own centre, by an affine map.

    Every geometry is scaled by the ellipsoid's metres per degree at the
    centre of its bounds. The map is affine, so a line straight in lon/lat
    stays straight: a piece that overlays found between a parent's long edge
    and its children's extra vertices on that edge keeps its true (tiny)
    width, where a map projection would bend the edge and make it centimetres
    wide. Areas are within 0.001 % of the ellipsoidal (geodesic) area for
    pieces a few kilometres across and within 0.03 % for a whole city.

    Examples
    --------
    >>> import shapely
    >>> square = shapely.box(110.0, 25.0, 110.001, 25.001)
    >>> round(float(shapely.area(local_metres([square])[0])))
    11182
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    bounds = shapely.bounds(arr)
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2
    east, north = metres_per_degree(np.nan_to_num(cy))
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    if len(coords) == 0:
        return arr.copy()
    local = np.column_stack(
        [(coords[:, 0] - cx[owner]) * east[owner], (coords[:, 1] - cy[owner]) * north[owner]]
    )
    return np.asarray(shapely.set_coordinates(arr.copy(), local), dtype=object)


def area_m2(geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """Area in m² on the CGCS2000 ellipsoid of each EPSG:4490 geometry (by
    :func:`local_metres`: the measure of validation, repair and diff).

    Examples
    --------
    >>> import shapely
    >>> [round(a) for a in area_m2([shapely.box(110.0, 25.0, 110.001, 25.001)]).tolist()]
    [11182]
    """
    if len(geoms) == 0:
        return np.zeros(0)
    return np.asarray(shapely.area(local_metres(geoms)), dtype=float)
