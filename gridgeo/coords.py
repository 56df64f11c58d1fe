"""Coordinate intake: system names, validation and the Chinese datum shifts.

Chinese web maps do not publish WGS84 coordinates. Amap (Gaode), Tencent and
Google China use **GCJ-02** ("Mars coordinates"), a deliberately distorted
WGS84; Baidu adds a second distortion on top of it, **BD-09**. Grid data must
be stored in **CGCS2000** (EPSG:4490), the national datum.

**CGCS2000 and WGS84 are treated as the same coordinates.** Both are
geocentric, ITRF-aligned frames; their ellipsoids (GRS80 and WGS84) differ only
in the flattening, by about 1e-11, and at a common epoch the frames agree to a
few centimetres. (CGCS2000 is fixed at epoch 2000.0, so plate motion of a few
centimetres a year accumulates between it and current-epoch GPS fixes; that is
still below the metre-level accuracy of the consumer GPS and web-map sources
handled here.) No datum transformation is applied between the two: a WGS84
lon/lat *is* a CGCS2000 lon/lat for this package. Only GCJ-02 and BD-09 are
converted.

Conventions
-----------
* Longitude always comes first, as in GeoJSON and shapely.
* Every function accepts scalars or array-likes, ``lon`` and ``lat`` of the
  same shape, and returns new numpy ``float64`` arrays of that shape. A scalar
  input gives 0-d arrays back; use ``float(x)`` or ``x.item()`` to unwrap.
* The GCJ-02 shift applies only inside a rough bounding box of China
  (:func:`out_of_china`); outside it the GCJ-02 conversions are the identity,
  as in every published implementation. The BD-09 formulas apply everywhere,
  as Baidu's own service does. Each direction tests its own input against
  the box, so within about 1 km of the box edge (open sea or neighbouring
  countries, never a Chinese grid) a round trip need not close.
* The inverses (GCJ-02 to WGS84, BD-09 to GCJ-02) iterate the forward formula
  to a fixed point, so a round trip agrees to far better than 1 mm, instead of
  the one-step approximations (metre level) found in many libraries.
* The transforms do not validate their input: NaN propagates as NaN. Call
  :func:`check_lonlat` (raising) or :func:`bad_lonlat_mask` (marking) first.

Nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from gridgeo.errors import CoordinateError
from gridgeo.i18n import tr

__all__ = [
    "CoordSystem",
    "RawValues",
    "bad_lonlat_mask",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat",
    "from_cgcs2000",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "parse_coord_system",
    "to_cgcs2000",
    "to_cgcs2000_point",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

CoordSystem = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
Geometries: TypeAlias = Sequence[Any] | ObjectArray  # shapely geometries
# What the validators accept on top of ArrayLike: raw columns holding None or text.
RawValues: TypeAlias = npt.ArrayLike | Sequence[object]
_Forward: TypeAlias = Callable[[Any, Any, Any], tuple[Any, Any]]  # (x, y, xp) -> (x, y)

_ALIASES: Final[dict[str, CoordSystem]] = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "crs84": "wgs84",
    "ogc:crs84": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "mars": "gcj02",
    "amap": "gcj02",
    "tencent": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
    "bd09ll": "bd09",
}

# Krasovsky 1940 ellipsoid: GCJ-02 mixes it with WGS84 input on purpose.
_GCJ_A: Final = 6378245.0
_GCJ_EE: Final = 0.00669342162296594323

# Rough box of China used by every GCJ-02 implementation (lon, lat bounds).
_CHINA_LON: Final = (72.004, 137.8347)
_CHINA_LAT: Final = (0.8293, 55.8271)

# Baidu's constants (degrees): x_pi scales the wobble, the offsets shift the origin.
_X_PI: Final = math.pi * 3000.0 / 180.0
_BD_DLON: Final = 0.0065
_BD_DLAT: Final = 0.006

# Values that look like (lat, lon) for a place in China, i.e. swapped input.
_SWAP_LAT: Final = (72.0, 138.0)
_SWAP_LON: Final = (0.0, 56.0)


def parse_coord_system(name: str) -> CoordSystem:
    """Normalise a coordinate system name.

    Parameters
    ----------
    name
        Any accepted alias, case-insensitive, surrounding blanks ignored:
        ``wgs84``, ``wgs-84``, ``epsg:4326``, ``4326``, ``crs84``,
        ``ogc:crs84``; ``cgcs2000``, ``epsg:4490``, ``4490``; ``gcj02``,
        ``gcj-02``, ``gcj``, ``mars``, ``amap``, ``tencent``; ``bd09``,
        ``bd-09``, ``baidu``, ``bd09ll``.

    Returns
    -------
    CoordSystem
        One of ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"``.

    Raises
    ------
    CoordinateError
        If the name is unknown; the message lists the accepted names.
    """
    # str() lets a bare EPSG number such as 4326 through as well.
    key = str(name).strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        accepted = ", ".join(_ALIASES)
        raise CoordinateError(
            tr(
                "unknown coordinate system {name!r}; accepted (case-insensitive): {accepted}",
                name=name,
                accepted=accepted,
            )
        ) from None


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> BoolArray:
    """True where a point lies outside the rough China box used by GCJ-02.

    The box is lon [72.004, 137.8347], lat [0.8293, 55.8271]. It is the
    convention every GCJ-02 implementation shares, not a border: it includes
    parts of neighbouring countries.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, same shape.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as the input; NaN counts as outside.
    """
    x, y = _pair(lon, lat)
    return _outside(x, y)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 (or CGCS2000) longitude/latitude to GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, same shape.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``, same shape; unchanged outside the China box.
    """
    x, y = _pair(lon, lat)
    gx, gy = x.copy(), y.copy()
    inside = np.logical_not(_outside(x, y))
    dlon, dlat = _gcj_delta(x[inside], y[inside])
    gx[inside] += dlon
    gy[inside] += dlat
    return gx, gy


def gcj02_to_wgs84(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tolerance_deg: float = 1e-10,
    max_iter: int = 30,
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to WGS84 (or CGCS2000).

    Solves ``wgs84_to_gcj02(w) == g`` by fixed-point iteration. The shift
    moves by under 1 % of any change in position, so each step gains about
    two digits and the default tolerance (1e-10 degrees, about 0.01 mm) is
    reached in about five steps.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, same shape.
    tolerance_deg
        Stop once no point moves more than this in the last step.
    max_iter
        Upper bound on the number of refinement steps.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)``, same shape; unchanged where the GCJ-02 point
        lies outside the China box.
    """
    x, y = _pair(lon, lat)
    wx, wy = x.copy(), y.copy()
    # Iterate only on points inside the box: points elsewhere (poles, bad data)
    # could keep the whole batch from converging.
    inside = np.logical_not(_outside(x, y))
    gx, gy = x[inside], y[inside]

    wx[inside], wy[inside] = _fixed_point(
        _gcj_shift, gx, gy, gx, gy, tolerance_deg=tolerance_deg, max_iter=max_iter, xp=_ARRAY
    )
    return wx, wy


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu), everywhere.

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, same shape.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``, same shape.
    """
    x, y = _pair(lon, lat)
    return _bd_forward(x, y, _ARRAY)


def bd09_to_gcj02(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tolerance_deg: float = 1e-10,
    max_iter: int = 30,
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 (Baidu) longitude/latitude to GCJ-02, everywhere.

    Starts from the usual closed-form approximation (about 1e-7 degrees off)
    and iterates the forward formula to a fixed point.

    Parameters
    ----------
    lon, lat
        BD-09 degrees, same shape.
    tolerance_deg
        Stop once no point moves more than this in the last step.
    max_iter
        Upper bound on the number of refinement steps.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``, same shape.
    """
    x, y = _pair(lon, lat)
    gx, gy = _bd09_to_gcj02(x, y, tolerance_deg=tolerance_deg, max_iter=max_iter, xp=_ARRAY)
    return gx, gy


def _bd09_to_gcj02(x: Any, y: Any, *, tolerance_deg: float, max_iter: int, xp: Any) -> Any:
    # Closed-form approximation: undo the offset, then subtract the wobble.
    px, py = x - _BD_DLON, y - _BD_DLAT
    with xp.quiet():
        z = xp.hypot(px, py) - 0.00002 * xp.sin(py * _X_PI)
        theta = xp.arctan2(py, px) - 0.000003 * xp.cos(px * _X_PI)
    gx, gy = z * xp.cos(theta), z * xp.sin(theta)
    return _fixed_point(
        _bd_forward, x, y, gx, gy, tolerance_deg=tolerance_deg, max_iter=max_iter, xp=xp
    )


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 (or CGCS2000) longitude/latitude to BD-09.

    The GCJ-02 step is the identity outside the China box; the BD-09 step
    applies everywhere.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, same shape.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``, same shape.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 longitude/latitude to WGS84 (or CGCS2000).

    Composes the two precise inverses, :func:`bd09_to_gcj02` then
    :func:`gcj02_to_wgs84`, with their default tolerances.

    Parameters
    ----------
    lon, lat
        BD-09 degrees, same shape.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 ``(lon, lat)``, same shape.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_cgcs2000(
    lon: npt.ArrayLike, lat: npt.ArrayLike, system: CoordSystem | str
) -> tuple[FloatArray, FloatArray]:
    """Normalise coordinates in any supported system to CGCS2000.

    Parameters
    ----------
    lon, lat
        Degrees in ``system``, same shape.
    system
        A :data:`CoordSystem` or any alias :func:`parse_coord_system` accepts.

    Returns
    -------
    tuple of numpy.ndarray
        CGCS2000 ``(lon, lat)`` as new arrays, same shape. WGS84 input is
        copied unchanged (see the module docstring).

    Raises
    ------
    CoordinateError
        If ``system`` is unknown or a value is not a number.
    """
    kind = parse_coord_system(system)
    if kind == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if kind == "bd09":
        return bd09_to_wgs84(lon, lat)
    return _pair(lon, lat)


def from_cgcs2000(
    lon: npt.ArrayLike, lat: npt.ArrayLike, system: CoordSystem | str
) -> tuple[FloatArray, FloatArray]:
    """Convert CGCS2000 coordinates to ``system`` (the inverse of :func:`to_cgcs2000`).

    Parameters
    ----------
    lon, lat
        CGCS2000 degrees, same shape.
    system
        A :data:`CoordSystem` or any alias :func:`parse_coord_system` accepts.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in ``system`` as new arrays, same shape.

    Raises
    ------
    CoordinateError
        If ``system`` is unknown or a value is not a number.
    """
    kind = parse_coord_system(system)
    if kind == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if kind == "bd09":
        return wgs84_to_bd09(lon, lat)
    return _pair(lon, lat)


def geometries_from_cgcs2000(geoms: Geometries, system: CoordSystem | str) -> ObjectArray:
    """Shapely geometries stored in CGCS2000, with every vertex in ``system``.

    For the web maps of China: a grid drawn on an Amap, Tencent or WeChat base map
    must be in GCJ-02, on a Baidu one in BD-09, or it sits some 500 m off. The
    shift is smooth at grid scale, so shared edges stay shared and rings stay valid.

    Parameters
    ----------
    geoms
        Shapely geometries (an array or list) in CGCS2000 lon/lat.
    system
        A :data:`CoordSystem` or any alias :func:`parse_coord_system` accepts.

    Returns
    -------
    numpy.ndarray
        New geometries (object array); the input itself for wgs84 and cgcs2000.

    Examples
    --------
    >>> import shapely
    >>> [p] = geometries_from_cgcs2000([shapely.Point(110.2965, 25.2775)], "gcj02")
    >>> round(p.x, 6), round(p.y, 6)
    (110.301097, 25.274674)
    >>> back = geometries_to_cgcs2000([p], "gcj02")[0]
    >>> round(back.x, 7), round(back.y, 7)
    (110.2965, 25.2775)
    """
    return _transform(geoms, functools.partial(from_cgcs2000, system=system), system)


def geometries_to_cgcs2000(geoms: Geometries, system: CoordSystem | str) -> ObjectArray:
    """Shapely geometries in ``system`` brought to CGCS2000 (the inverse of
    :func:`geometries_from_cgcs2000`, to well under a millimetre inside China)."""
    return _transform(geoms, functools.partial(to_cgcs2000, system=system), system)


def _transform(geoms: Geometries, shift: Any, system: CoordSystem | str) -> ObjectArray:
    import shapely  # here: the point functions above serve the CLI, which starts lean

    array = np.asarray(geoms, dtype=object)
    if parse_coord_system(system) in ("wgs84", "cgcs2000"):
        return array

    def xy(coords: FloatArray) -> FloatArray:
        lon, lat = shift(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(array, xy), dtype=object)


def check_lonlat(lon: RawValues, lat: RawValues) -> tuple[FloatArray, FloatArray]:
    """Convert to float arrays, refusing any unusable coordinate.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, same shape. Numeric strings are
        accepted; ``None`` counts as missing.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` as ``float64`` arrays of the input shape (0-d for a
        single point).

    Raises
    ------
    CoordinateError
        At the first point (in C order) that is missing, not a number, not
        finite, or outside lon [-180, 180] / lat [-90, 90]. The message names
        the point's index (``point 3: ...``; a tuple for N-d input; no index
        for a single point) and the value, and says when the pair looks like
        a swapped (lat, lon) for China.
    """
    x, x_bad = _to_float(lon)
    y, y_bad = _to_float(lat)
    _require_same_shape(x, y)
    bad = x_bad | y_bad | _bad_values(x, y)
    if not bad.any():
        return x, y

    flat = int(np.flatnonzero(bad)[0])
    where = np.unravel_index(flat, bad.shape)
    if x_bad[where]:
        problem = tr("longitude {value!r} is not a number", value=_raw_item(lon, where))
    elif y_bad[where]:
        problem = tr("latitude {value!r} is not a number", value=_raw_item(lat, where))
    else:
        problem = _value_problem(float(x[where]), "lon")
        if not problem:
            problem = _value_problem(float(y[where]), "lat")
        if _looks_swapped(float(x[where]), float(y[where])):
            problem = tr(
                "{problem}; looks like (lat, lon) swapped: pass longitude first",
                problem=problem,
            )

    if bad.ndim == 0:
        raise CoordinateError(problem)
    label = str(where[0]) if bad.ndim == 1 else str(tuple(int(i) for i in where))
    raise CoordinateError(tr("point {label}: {problem}", label=label, problem=problem))


def bad_lonlat_mask(lon: RawValues, lat: RawValues) -> BoolArray:
    """Mark unusable coordinates without raising.

    Parameters
    ----------
    lon, lat
        Longitudes and latitudes in degrees, same shape; may hold ``None``,
        NaN or non-numeric values (for example an object column of a table).

    Returns
    -------
    numpy.ndarray of bool
        Same shape; True where either value is missing, not a number, not
        finite, or outside lon [-180, 180] / lat [-90, 90].

    Raises
    ------
    CoordinateError
        Only if ``lon`` and ``lat`` differ in shape.
    """
    x, x_bad = _to_float(lon)
    y, y_bad = _to_float(lat)
    _require_same_shape(x, y)
    return x_bad | y_bad | _bad_values(x, y)


# --- internals -------------------------------------------------------------------------------


def _pair(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Float arrays of equal shape, or CoordinateError."""
    x, x_bad = _to_float(lon)
    y, y_bad = _to_float(lat)
    if x_bad.any() or y_bad.any():
        raise CoordinateError(
            tr("coordinates must be numbers; use check_lonlat to find the offending point")
        )
    _require_same_shape(x, y)
    return x, y


def _to_float(values: RawValues) -> tuple[FloatArray, BoolArray]:
    """Convert to float64, marking (as NaN plus True) elements that are not numbers."""
    try:
        # np.array copies, so results never alias the caller's array.
        arr = np.array(values, dtype=np.float64)
        return arr, np.zeros(arr.shape, dtype=np.bool_)
    except (TypeError, ValueError):
        pass
    # Slow path only for mixed input such as ["121.5", "abc", None]: convert one by one.
    objs = np.asarray(values, dtype=object)
    out = np.full(objs.shape, np.nan, dtype=np.float64)
    bad = np.zeros(objs.shape, dtype=np.bool_)
    for idx, item in np.ndenumerate(objs):
        if item is None:
            continue
        try:
            out[idx] = float(item)
        except (TypeError, ValueError):
            bad[idx] = True
    return out, bad


def _require_same_shape(x: FloatArray, y: FloatArray) -> None:
    # No broadcasting: a length mismatch between lon and lat is a bug upstream.
    if x.shape != y.shape:
        raise CoordinateError(
            tr(
                "longitude and latitude differ in shape: {lon_shape} and {lat_shape}",
                lon_shape=x.shape,
                lat_shape=y.shape,
            )
        )


def _bad_values(x: FloatArray, y: FloatArray) -> BoolArray:
    # Written as "not inside" so that NaN (all comparisons False) counts as bad.
    good = (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
    return np.logical_not(good)


def _outside(x: FloatArray, y: FloatArray) -> BoolArray:
    inside = (
        (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
    )
    return np.logical_not(inside)


def _gcj_delta(lon: Any, lat: Any, xp: Any = np) -> tuple[Any, Any]:
    """GCJ-02 shift (degrees) to add to a WGS84 point, ignoring the China box.

    ``xp`` is numpy for arrays or :data:`_SCALAR` for one point (one formula for both
    paths: a numpy call on a Python float costs a microsecond, the math one 50 ns).
    """
    x = lon - 105.0
    y = lat - 35.0
    # Both polynomials are in metres of arc; the sine terms are the obfuscation.
    common = 20.0 * xp.sin(6.0 * x * xp.pi) + 20.0 * xp.sin(2.0 * x * xp.pi)
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * xp.sqrt(abs(x))
        + (common + 20.0 * xp.sin(y * xp.pi) + 40.0 * xp.sin(y / 3.0 * xp.pi)) * 2.0 / 3.0
        + (160.0 * xp.sin(y / 12.0 * xp.pi) + 320.0 * xp.sin(y * xp.pi / 30.0)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * xp.sqrt(abs(x))
        + (common + 20.0 * xp.sin(x * xp.pi) + 40.0 * xp.sin(x / 3.0 * xp.pi)) * 2.0 / 3.0
        + (150.0 * xp.sin(x / 12.0 * xp.pi) + 300.0 * xp.sin(x / 30.0 * xp.pi)) * 2.0 / 3.0
    )
    # Metres to degrees on the Krasovsky ellipsoid (meridian and parallel arc lengths).
    rad_lat = xp.radians(lat)
    magic = 1.0 - _GCJ_EE * xp.sin(rad_lat) ** 2
    sqrt_magic = xp.sqrt(magic)
    dlat = dlat_m * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * xp.pi)
    dlon = dlon_m * 180.0 / (_GCJ_A / sqrt_magic * xp.cos(rad_lat) * xp.pi)
    return dlon, dlat


_ARRAY = SimpleNamespace(  # the array path: numpy itself
    sin=np.sin,
    cos=np.cos,
    sqrt=np.sqrt,
    radians=np.radians,
    hypot=np.hypot,
    arctan2=np.arctan2,
    pi=np.pi,
    any=np.any,
    out=lambda values: np.asarray(values, dtype=np.float64),
    quiet=lambda: np.errstate(invalid="ignore"),
)
_SCALAR = SimpleNamespace(  # math's functions under numpy's names, for one point
    sin=math.sin,
    cos=math.cos,
    sqrt=math.sqrt,
    radians=math.radians,
    hypot=math.hypot,
    arctan2=math.atan2,
    pi=math.pi,
    any=bool,
    out=float,
    quiet=contextlib.nullcontext,  # finite input only: math raises where numpy gives NaN
)


def to_cgcs2000_point(lon: float, lat: float, system: CoordSystem | str) -> tuple[float, float]:
    """:func:`to_cgcs2000` for one point, in plain floats (the HTTP lookup's path).

    The same formulas and fixed-point iterations as the array functions, with
    ``math`` in place of numpy: about 20 times faster for one point. Results agree
    with :func:`to_cgcs2000` to 1e-11 degrees (1 mm): both stop at steps under
    1e-10 degrees, and an array keeps refining until its slowest point has.
    ``lon`` and ``lat`` must be finite (check them first, :func:`check_lonlat`).

    Raises
    ------
    CoordinateError
        If ``system`` is unknown.
    """
    kind = parse_coord_system(system)
    x, y = float(lon), float(lat)
    if kind == "bd09":
        x, y = _bd09_to_gcj02(x, y, tolerance_deg=1e-10, max_iter=30, xp=_SCALAR)
    if kind in ("gcj02", "bd09") and not _outside_point(x, y):
        x, y = _fixed_point(_gcj_shift, x, y, x, y, tolerance_deg=1e-10, max_iter=30, xp=_SCALAR)
    return x, y


def _outside_point(x: float, y: float) -> bool:
    return not (_CHINA_LON[0] <= x <= _CHINA_LON[1] and _CHINA_LAT[0] <= y <= _CHINA_LAT[1])


def _gcj_shift(x: Any, y: Any, xp: Any) -> tuple[Any, Any]:
    """WGS84 to GCJ-02 inside the China box (the forward step of the inverse)."""
    dx, dy = _gcj_delta(x, y, xp)
    return x + dx, y + dy


def _bd_forward(x: Any, y: Any, xp: Any) -> tuple[Any, Any]:
    # Unvalidated input may hold inf; it becomes NaN like NaN input, without a warning.
    with xp.quiet():
        z = xp.hypot(x, y) + 0.00002 * xp.sin(y * _X_PI)
        theta = xp.arctan2(y, x) + 0.000003 * xp.cos(x * _X_PI)
    # asarray: ufuncs turn 0-d arrays into numpy scalars; callers are promised arrays.
    return xp.out(z * xp.cos(theta) + _BD_DLON), xp.out(z * xp.sin(theta) + _BD_DLAT)


def _f64(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def _fixed_point(
    forward: _Forward,
    target_x: Any,
    target_y: Any,
    x: Any,
    y: Any,
    *,
    tolerance_deg: float,
    max_iter: int,
    xp: Any,
) -> Any:
    """Solve ``forward(x, y) == target`` starting at ``(x, y)``.

    Each step subtracts the residual. That converges because both forward
    transforms are the identity plus a shift whose derivative is far below 1.
    Returns the last iterate if ``max_iter`` is reached (it never is in
    practice for points on Earth).
    """
    for _ in range(max_iter):
        fx, fy = forward(x, y, xp)
        dx, dy = fx - target_x, fy - target_y
        x, y = x - dx, y - dy
        # "not any(> tol)" rather than "all(<= tol)" so NaN points do not block stopping.
        if not (xp.any(abs(dx) > tolerance_deg) or xp.any(abs(dy) > tolerance_deg)):
            break
    return xp.out(x), xp.out(y)


def _value_problem(value: float, axis: Literal["lon", "lat"]) -> str:
    """What is wrong with one finite-or-not longitude or latitude, or '' if nothing."""
    lon = axis == "lon"
    if math.isnan(value):
        return tr("longitude is missing (NaN)") if lon else tr("latitude is missing (NaN)")
    if math.isinf(value):
        return (
            tr("longitude {value!r} is not finite", value=value)
            if lon
            else tr("latitude {value!r} is not finite", value=value)
        )
    if abs(value) > (180.0 if lon else 90.0):
        return (
            tr("longitude {value!r} is outside [-180, 180]", value=value)
            if lon
            else tr("latitude {value!r} is outside [-90, 90]", value=value)
        )
    return ""


def _looks_swapped(x: float, y: float) -> bool:
    return bool(looks_swapped(np.array([x]), np.array([y]))[0])


def looks_swapped(x: FloatArray, y: FloatArray) -> BoolArray:
    """True where (x, y) reads as (lat, lon) of a place in China: longitude first, please."""
    return np.asarray(
        (y >= _SWAP_LAT[0]) & (y <= _SWAP_LAT[1]) & (x >= _SWAP_LON[0]) & (x <= _SWAP_LON[1]),
        dtype=bool,
    )


def _raw_item(values: RawValues, where: tuple[np.intp, ...]) -> object:
    """The caller's original element at ``where``, for the error message."""
    item: object = np.asarray(values, dtype=object)[where]
    return item
