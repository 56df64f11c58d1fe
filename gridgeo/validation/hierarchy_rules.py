"""Rules across features: outside parent, overlaps, gaps. Areas in m².

===================  ========  ======================================================
rule                 severity  trips when
===================  ========  ======================================================
``outside_parent``   error     a child's area outside its parent exceeds the tolerance
``overlap``          error     two features of one level share more than the tolerance
``gap``              error     part of a parent is covered by none of its children, or
                               (for a level whose parents are not in the data) a hole
                               is enclosed between features of that level
===================  ========  ======================================================

All three run on made-valid geometries in lon/lat; a finding's area (in the
metric zone)
must exceed ``area_tolerance_m2`` (floating-point noise on shared edges stays
far below it). Overlaps and gaps thinner than ``sliver_width_m`` are called
slivers in the message. Overlaps are checked among all features of a level,
not only siblings, so two streets of different districts overlapping are caught
even when the districts are not in the data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.geometry import difference, holes, intersection, parts, union
from gridgeo.levels import Level
from gridgeo.validation.context import Context
from gridgeo.validation.report import Finding


def check_hierarchy(ctx: Context) -> Iterator[Finding]:
    """Yield outside-parent, overlap and gap findings, level by level."""
    for level in ctx.grids.levels_present():
        yield from _outside_parent(ctx, level)
        yield from _overlaps(ctx, level)
        yield from _gaps(ctx, level)


def _outside_parent(ctx: Context, level: Level) -> Iterator[Finding]:
    parents = ctx.grids.parent_positions
    for i in ctx.at_level(level):
        p = int(parents[i])
        if p < 0 or not ctx.usable[p]:
            continue
        outside = difference(ctx.clean[i], ctx.clean[p])
        area = ctx.area(outside)
        if area > ctx.settings.area_tolerance_m2:
            yield Finding(
                "outside_parent",
                "error",
                level,
                (ctx.code(i), ctx.code(p)),
                f"{ctx.grids.label(i)} extends {area:,.1f} m² outside its parent "
                f"{ctx.grids.label(p)}{_sliver_note(ctx, outside)}",
                area_m2=area,
                geometry=outside,
            )


def _overlaps(ctx: Context, level: Level) -> Iterator[Finding]:
    positions = ctx.at_level(level)
    geoms = ctx.clean[positions]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for a, b in zip(left, right, strict=True):
        if a >= b:
            continue
        i, j = int(positions[a]), int(positions[b])
        shared = intersection(ctx.clean[i], ctx.clean[j])
        area = ctx.area(shared)
        if area > ctx.settings.area_tolerance_m2:
            yield Finding(
                "overlap",
                "error",
                level,
                (ctx.code(i), ctx.code(j)),
                f"{ctx.grids.label(i)} and {ctx.grids.label(j)} overlap by {area:,.1f} m²"
                f"{_sliver_note(ctx, shared)}",
                area_m2=area,
                geometry=shared,
            )


def _gaps(ctx: Context, level: Level) -> Iterator[Finding]:
    parents = ctx.grids.parent_positions
    groups: dict[int, list[int]] = defaultdict(list)
    orphans: list[int] = []
    for i in ctx.at_level(level):
        p = int(parents[i])
        if p >= 0 and ctx.usable[p]:
            groups[p].append(int(i))
        else:
            orphans.append(int(i))
    for p, children in sorted(groups.items()):
        uncovered = difference(ctx.clean[p], union(ctx.clean[children]))
        yield from _gap_findings(
            ctx,
            level,
            uncovered,
            children,
            f"inside {ctx.grids.label(p)}, not covered by any of its {len(children)} children",
            parent=p,
        )
    if orphans:
        enclosed = union(holes(union(ctx.clean[orphans])))
        yield from _gap_findings(
            ctx, level, enclosed, orphans, "enclosed by features of this level"
        )


def _gap_findings(
    ctx: Context,
    level: Level,
    gap: BaseGeometry,
    candidates: Sequence[int],
    where: str,
    *,
    parent: int | None = None,
) -> Iterator[Finding]:
    pieces = parts(gap)
    if not pieces:
        return
    areas = ctx.frame.area(np.array(pieces, dtype=object))
    tree = shapely.STRtree(ctx.clean[list(candidates)])
    for piece, area in zip(pieces, areas.tolist(), strict=True):
        if area <= ctx.settings.area_tolerance_m2:
            continue
        # Neighbours: features within ~1 m (1e-5 degree) of the gap, to know where to look.
        near = tree.query(piece, predicate="dwithin", distance=1e-5)
        codes = [ctx.code(int(candidates[k])) for k in np.sort(near)]
        if parent is not None:
            codes = [ctx.code(parent), *codes]
        yield Finding(
            "gap",
            "error",
            level,
            tuple(codes),
            f"gap of {area:,.1f} m² {where}{_sliver_note(ctx, piece)}; "
            f"next to {', '.join(codes) if codes else 'no feature'}",
            area_m2=area,
            geometry=piece,
        )


def _sliver_note(ctx: Context, geom: BaseGeometry) -> str:
    width = ctx.width(geom)
    return f" (a sliver, mean width {width:.2f} m)" if width < ctx.settings.sliver_width_m else ""
