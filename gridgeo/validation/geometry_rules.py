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

import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.geometry import POLYGONAL, location, parts
from gridgeo.validation.context import Context
from gridgeo.validation.report import Finding


def check_geometries(ctx: Context) -> Iterator[Finding]:
    """Yield the geometry findings of every feature."""
    for i, geom in enumerate(ctx.grids.geometries):
        yield from _check_one(ctx, i, geom)
    yield from _check_parts(ctx)


def _check_one(ctx: Context, i: int, geom: BaseGeometry | None) -> Iterator[Finding]:
    label, level, codes = ctx.grids.label(i), ctx.level_of(i), (ctx.code(i),)
    if geom is None or geom.is_empty:
        yield Finding("empty_geometry", "error", level, codes, f"{label} has no geometry")
        return
    geom_type = geom.geom_type
    if geom_type not in POLYGONAL:
        usable = "" if not shapely.is_empty(ctx.clean[i]) else "; it is not used further"
        yield Finding(
            "non_polygonal",
            "error",
            level,
            codes,
            f"{label} is a {geom_type}, not a Polygon or MultiPolygon{usable}",
        )
    if not shapely.is_valid(geom):
        reason = shapely.is_valid_reason(geom)
        where = location(reason)
        yield Finding(
            "invalid_geometry",
            "error",
            level,
            codes,
            f"{label} is invalid: {reason} (GEOS)",
            location=where,
        )


def _check_parts(ctx: Context) -> Iterator[Finding]:
    settings = ctx.settings
    for i in range(len(ctx.grids)):
        if not ctx.usable[i]:
            continue
        for part in parts(ctx.clean[i]):
            area, width = ctx.area(part), ctx.width(part)
            if area < settings.tiny_part_m2:
                yield Finding(
                    "tiny_part",
                    "warning",
                    ctx.level_of(i),
                    (ctx.code(i),),
                    f"{ctx.grids.label(i)} has a part of {area:.1f} m², below the "
                    f"{settings.tiny_part_m2:g} m² threshold",
                    area_m2=area,
                    geometry=part,
                )
            elif width < settings.sliver_width_m:
                yield Finding(
                    "sliver",
                    "warning",
                    ctx.level_of(i),
                    (ctx.code(i),),
                    f"{ctx.grids.label(i)} has a sliver part of {area:.1f} m², mean width "
                    f"{width:.2f} m",
                    area_m2=area,
                    geometry=part,
                )
