"""Geometry and attribute values between shapely/pandas and the database (pure)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from geoalchemy2 import WKBElement
from shapely.geometry.base import BaseGeometry

from gridgeo.store.schema import SRID


def to_multipolygon(geom: BaseGeometry | None) -> BaseGeometry:
    """The polygonal part of ``geom`` as one MultiPolygon (the grids column type).

    Invalid polygons are stored as they are (validation reports them); only the
    container changes, so an import does not silently repair.
    """
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return shapely.MultiPolygon(polys)


def to_wkb(geom: BaseGeometry) -> WKBElement:
    """A WKB element in EPSG:4490 for an INSERT."""
    return WKBElement(shapely.to_wkb(geom), srid=SRID)


def from_wkb(values: list[bytes | memoryview | None]) -> npt.NDArray[np.object_]:
    """Shapely geometries from the WKB bytes ``ST_AsBinary`` returned (vectorised)."""
    raw = [bytes(v) if v is not None else None for v in values]
    out: npt.NDArray[np.object_] = shapely.from_wkb(np.array(raw, dtype=object))
    return out


def jsonable(value: Any) -> Any:
    """A JSON-safe form of one attribute value (NaN -> None, numpy -> Python, dates -> ISO)."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
