"""Per-feature geometry rules: invalid, empty, non-polygonal, tiny parts, slivers.

========================  ========  ===============================================
rule                      severity  trips when
========================  ========  ===============================================
``empty_geometry``        error     the feature has no geometry or an empty one
``non_polygonal``         error     it is a point/line, or a collection not only of
                                    polygons (the polygonal part is still checked)
``invalid_geometry``      error     GEOS ``is_valid`` is false; the message carries
                                    GEOS' reason and location
``tiny_part``             warning   a polygon part is smaller than ``tiny_part_m2``
``sliver``                warning   a part's mean width 2·A/P is below
                                    ``sliver_width_m`` (and it is not tiny)
========================  ========  ===============================================
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import local_metres
from gridgeo.findings import Severity
from gridgeo.geometry import POLYGONAL, location
from gridgeo.i18n import tr
from gridgeo.validation.context import Context
from gridgeo.validation.pieces import polygon_parts
from gridgeo.validation.report import BoundaryFinding


def check_geometries(ctx: Context) -> Iterator[BoundaryFinding]:
    """Yield the geometry findings of every feature."""
    geoms = ctx.grids.geometries
    # the vectorised tests pick the few features worth a closer look
    suspect = shapely.is_missing(geoms) | ~shapely.is_valid(geoms)
    suspect |= ~np.isin(shapely.get_type_id(geoms), (3, 6))
    suspect[~shapely.is_missing(geoms)] |= shapely.is_empty(geoms[~shapely.is_missing(geoms)])
    for i in np.flatnonzero(suspect).tolist():
        yield from _check_one(ctx, i, geoms[i])
    yield from _check_parts(ctx)


def _check_one(ctx: Context, i: int, geom: BaseGeometry | None) -> Iterator[BoundaryFinding]:
    label, level, codes = ctx.grids.label(i), ctx.level_of(i), (ctx.code(i),)
    if geom is None or geom.is_empty:
        yield BoundaryFinding(
            "empty_geometry", Severity.ERROR, level, codes, tr("{grid} has no geometry", grid=label)
        )
        return
    geom_type = geom.geom_type
    if geom_type not in POLYGONAL:
        yield BoundaryFinding(
            "non_polygonal",
            Severity.ERROR,
            level,
            codes,
            tr(
                "{grid} is a {type}, not a Polygon or MultiPolygon",
                grid=label,
                type=geom_type,
            )
            if not shapely.is_empty(ctx.clean[i])
            else tr(
                "{grid} is a {type}, not a Polygon or MultiPolygon; it is not used further",
                grid=label,
                type=geom_type,
            ),
        )
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        where = location(reason)
        yield BoundaryFinding(
            "invalid_geometry",
            Severity.ERROR,
            level,
            codes,
            tr("{grid} is invalid: {reason} (GEOS)", grid=label, reason=reason),
            location=where,
        )


def _check_parts(ctx: Context) -> Iterator[BoundaryFinding]:
    settings = ctx.settings
    usable = np.flatnonzero(ctx.usable)
    parts, owner = polygon_parts(ctx.clean[usable])
    metric = local_metres(parts)
    area = np.asarray(shapely.area(metric), dtype=float)
    perimeter = np.asarray(shapely.length(metric), dtype=float)
    width = 2 * area / np.where(perimeter > 0, perimeter, 1.0)
    # below the area tolerance a part is numerical debris (as for every other finding)
    tiny = (area < settings.tiny_part_m2) & (area >= settings.area_tolerance_m2)
    thin = ~tiny & (width < settings.sliver_width_m)
    for k in np.flatnonzero(tiny | thin).tolist():
        i = int(usable[owner[k]])
        label = ctx.grids.label(i)
        if tiny[k]:
            rule = "tiny_part"
            what = tr(
                "{grid} has a part of {area:.1f} m², below the {threshold:g} m² threshold",
                grid=label,
                area=area[k],
                threshold=settings.tiny_part_m2,
            )
        else:
            rule = "sliver"
            what = tr(
                "{grid} has a sliver part of {area:.1f} m², mean width {width:.2f} m",
                grid=label,
                area=area[k],
                width=width[k],
            )
        yield BoundaryFinding(
            rule,
            Severity.WARNING,
            ctx.level_of(i),
            (ctx.code(i),),
            what,
            area_m2=float(area[k]),
            geometry=parts[k],
        )
