"""Answers in the coordinates of a Chinese web map: ``out_crs`` and ``bbox_crs``.

An app that draws on an Amap, Tencent or WeChat map (GCJ-02) or a Baidu map (BD-09)
asks for the points of an answer (a lookup's point and workstation, a case's or a
task's point) in that system with ``out_crs``, and gives a box drawn on such a map
with ``bbox_crs``. The Features API and the tiles name the same thing ``crs``, as OGC
API Features does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from gridgeo.coords import from_cgcs2000, parse_coord_system, to_cgcs2000

ShiftedSystem = Literal["gcj02", "bd09"]  # the web maps' systems
_SHIFTED: dict[str, ShiftedSystem] = {"gcj02": "gcj02", "bd09": "bd09"}

OUT_CRS_HELP = (
    "coordinates of the answer's points: cgcs2000 (default; the same as wgs84 to "
    "centimetres), gcj02 (Amap, Tencent, WeChat) or bd09 (Baidu), named in each one's crs"
)
OutCrs = Annotated[
    str | None,
    Query(description=OUT_CRS_HELP, max_length=40, openapi_examples={"Amap": {"value": "gcj02"}}),
]
BboxCrs = Annotated[
    str | None,
    Query(
        description="coordinate system of bbox: wgs84 (default), cgcs2000, gcj02 or bd09",
        max_length=40,
    ),
]
OUTPUT_LABELS = {"gcj02": "GCJ-02", "bd09": "BD-09"}


def output_system(out_crs: str | None) -> ShiftedSystem | None:
    """The shifted system ``out_crs`` asks for ("gcj02", "bd09"), or None (CGCS2000, the
    answers' own coordinates: also for wgs84, the same to centimetres).

    Raises
    ------
    CoordinateError
        For an unknown name.
    """
    if out_crs is None:
        return None
    system = parse_coord_system(out_crs)
    return _SHIFTED.get(system)


def in_output_system(answer: dict[str, Any], system: str | None) -> dict[str, Any]:
    """``answer`` (one lookup's, or one batch item's) with its point and workstation in
    ``system`` (see :func:`output_system`), each naming it in ``crs``: an app drawing on
    an Amap or Baidu map puts them where they are. The cached parts are not changed.

    Examples
    --------
    >>> answer = {"point": {"lon": 110.2965, "lat": 25.2775, "crs": "EPSG:4490"},
    ...           "workstation": None}
    >>> in_output_system(answer, "gcj02")["point"]["crs"]
    'GCJ-02'
    """
    if system is None:
        return answer
    label = OUTPUT_LABELS[system]
    out = dict(answer)
    for key in ("point", "workstation"):
        where = answer.get(key)
        if where and "lon" in where:
            lon, lat = from_cgcs2000(where["lon"], where["lat"], system)
            out[key] = {**where, "lon": float(lon), "lat": float(lat), "crs": label}
    return out


def bbox_in_storage(
    bbox: tuple[float, float, float, float] | None, bbox_crs: str | None
) -> tuple[float, float, float, float] | None:
    """``bbox`` (west, south, east, north) given in ``bbox_crs``, as the CGCS2000 box that
    holds it (the corners shifted back; the shift is smooth, so the box stays a box to
    well under a metre at the scale of a view).

    Examples
    --------
    >>> w, s, e, n = bbox_in_storage((110.30, 25.27, 110.31, 25.28), "gcj02")
    >>> round(w, 4), round(n, 4)
    (110.2954, 25.2828)
    """
    if bbox is None or bbox_crs is None:
        return bbox
    west, south, east, north = bbox
    lon, lat = to_cgcs2000([west, east, west, east], [south, south, north, north], bbox_crs)
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())
