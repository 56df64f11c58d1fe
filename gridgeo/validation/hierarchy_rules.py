"""Rules across features: outside parent, overlaps, gaps. Areas in m².

===================  ========  ======================================================
rule                 severity  trips when
===================  ========  ======================================================
``outside_parent``   error     a child has a real piece outside its parent
``overlap``          error     two features of one level share a real piece
``gap``              error     a real piece of a parent is covered by none of its
                               children, or (for a level whose parents are not in
                               the data) a real hole is enclosed between features of
                               that level
===================  ========  ======================================================

A piece is real when its area exceeds ``area_tolerance_m2`` and it is wider
than ``tolerance_m`` (see :mod:`gridgeo.validation.pieces`), so T-junctions and
rounded coordinates leave no findings. The overlays run in floating point and
fall back to snap rounding where GEOS cannot. All three rules run on
made-valid geometries in lon/lat and each is a handful of vectorised GEOS calls
per level: one difference per child, one intersection per pair of touching
features, one union and one difference per parent. Pieces thinner than
``sliver_width_m`` on average are called slivers in the message. Overlaps are
checked among all features of a level, not only siblings, so two streets of
different districts overlapping are caught even when the districts are not in
the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import metres_per_degree
from gridgeo.findings import Severity
from gridgeo.geometry import holes
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.validation.context import Context
from gridgeo.validation.pieces import Pieces, overlay, union_all
from gridgeo.validation.report import BoundaryFinding
from gridgeo.wording import listing

Positions = npt.NDArray[np.intp]
Objects = npt.NDArray[np.object_]
Floats = npt.NDArray[np.float64]
# Neighbours of a gap: features within about 1 m (1e-5 degree), to know where to look.
_NEAR_DEGREES = 1e-5


def check_hierarchy(ctx: Context) -> Iterator[BoundaryFinding]:
    """Yield outside-parent, overlap and gap findings, level by level."""
    for level in ctx.grids.levels_present():
        families = Families.of(ctx, level)
        outside = overlay(
            shapely.difference, ctx.clean[families.kids], ctx.clean[families.kid_parents], ctx.grid
        )
        yield from _outside_parent(ctx, level, families, outside)
        yield from _overlaps(ctx, level, families)
        yield from _gaps(ctx, level, families, outside)


@dataclass
class Families:
    """The features of one level grouped under their parents, with each group's union.

    ``excess_m2[f]`` is Σ area(children) - area(union) of family ``f``: no two
    siblings can overlap by more than it, so families whose excess is within
    the area tolerance skip the pairwise intersections. Features whose parent
    is not in the data form the last family (``parents[-1] == -1``).
    """

    kids: Positions
    kid_parents: Positions
    parents: Positions
    members: list[Positions]
    unions: Objects
    excess_m2: Floats
    family_of: dict[int, int]

    @classmethod
    def of(cls, ctx: Context, level: Level) -> Families:
        positions = ctx.at_level(level)
        parents_of = ctx.grids.parent_positions[positions]
        has = parents_of >= 0
        has[has] = ctx.usable[parents_of[has]]
        parents_of = np.where(has, parents_of, -1)
        parents = np.unique(parents_of)
        parents = np.concatenate([parents[parents >= 0], parents[parents < 0]])  # orphans last
        members = [positions[parents_of == p] for p in parents.tolist()]
        unions = np.array([union_all(ctx.clean[m], ctx.grid) for m in members], dtype=object)
        sums = np.array([shapely.area(ctx.clean[m]).sum() for m in members], dtype=float)
        excess = (sums - shapely.area(unions)) * _m2_per_degree2(unions)
        family_of = {int(i): f for f, m in enumerate(members) for i in m.tolist()}
        return cls(
            kids=positions[has],
            kid_parents=parents_of[has],
            parents=parents,
            members=members,
            unions=unions,
            excess_m2=excess,
            family_of=family_of,
        )


def _m2_per_degree2(geoms: Objects) -> Floats:
    """Square metres per square degree, the most anywhere in each geometry's bounds.

    A screen compares planar areas in degrees with the area tolerance, so it must not
    undercount anywhere: the east-west scale is largest at the latitude nearest the
    equator, the north-south one at the latitude nearest a pole (a family may span
    degrees of latitude: a large city, or every feature of a level without parents).
    """
    bounds = np.nan_to_num(shapely.bounds(geoms))
    south, north = bounds[:, 1], bounds[:, 3]
    crosses = (south <= 0) & (north >= 0)
    nearest_equator = np.where(crosses, 0.0, np.minimum(np.abs(south), np.abs(north)))
    nearest_pole = np.maximum(np.abs(south), np.abs(north))
    east, _ = metres_per_degree(nearest_equator)
    _, meridian = metres_per_degree(nearest_pole)
    return np.asarray(east * meridian * 1.001, dtype=float)


def _outside_parent(
    ctx: Context, level: Level, families: Families, outside: Objects
) -> Iterator[BoundaryFinding]:
    found = ctx.real(outside)
    for k, at in found.by_owner():
        i, p = int(families.kids[k]), int(families.kid_parents[k])
        area = float(found.area_m2[at].sum())
        what = tr(
            "{grid} extends {area:,.1f} m² outside its parent {parent}",
            grid=ctx.grids.label(i),
            area=area,
            parent=ctx.grids.label(p),
        )
        yield _pair_finding(ctx, "outside_parent", level, pair=(i, p), what=what, found=(found, at))


def _overlaps(ctx: Context, level: Level, families: Families) -> Iterator[BoundaryFinding]:
    positions = ctx.at_level(level)
    geoms = ctx.clean[positions]
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    first, second = positions[left], positions[right]
    family = np.array([families.family_of[int(i)] for i in positions], dtype=np.intp)
    fl, fr = family[left], family[right]
    # siblings can overlap only in a family with excess area; cousins always might
    worth = (fl != fr) | (families.excess_m2[fl] > ctx.settings.area_tolerance_m2)
    keep = (left < right) & worth
    first, second = first[keep], second[keep]
    shared = overlay(shapely.intersection, ctx.clean[first], ctx.clean[second], ctx.grid)
    found = ctx.real(shared)
    for k, at in found.by_owner():
        i, j = int(first[k]), int(second[k])
        area = float(found.area_m2[at].sum())
        what = tr(
            "{first} and {second} overlap by {area:,.1f} m²",
            first=ctx.grids.label(i),
            second=ctx.grids.label(j),
            area=area,
        )
        yield _pair_finding(ctx, "overlap", level, pair=(i, j), what=what, found=(found, at))


def _pair_finding(
    ctx: Context,
    rule: str,
    level: Level,
    *,
    pair: tuple[int, int],
    what: str,
    found: tuple[Pieces, Positions],
) -> BoundaryFinding:
    """A finding between two features, of the real pieces ``found[0].geometry[found[1]]``."""
    pieces, at = found
    return BoundaryFinding(
        rule,
        Severity.ERROR,
        level,
        (ctx.code(pair[0]), ctx.code(pair[1])),
        f"{what}{_sliver_note(ctx, pieces, at)}",
        area_m2=float(pieces.area_m2[at].sum()),
        geometry=_merged(pieces, at),
    )


def _gaps(
    ctx: Context, level: Level, families: Families, outside: Objects
) -> Iterator[BoundaryFinding]:
    named = families.parents >= 0
    parents = families.parents[named]
    unions = families.unions[named]
    # gap ≤ area(parent) - area(union) + area of the union outside the parent;
    # the last is at most the children's outside areas, known from the rule above
    spill = np.zeros(len(ctx.grids), dtype=float)
    np.add.at(spill, families.kid_parents, shapely.area(outside))
    bound = shapely.area(ctx.clean[parents]) - shapely.area(unions) + spill[parents]
    check = bound * _m2_per_degree2(unions) > ctx.settings.area_tolerance_m2
    parents, unions = parents[check], unions[check]
    members = [families.members[f] for f in np.flatnonzero(named)[check].tolist()]
    uncovered = overlay(shapely.difference, ctx.clean[parents], unions, ctx.grid)
    found = ctx.real(uncovered)
    for k, at in found.by_owner():
        p, children = int(parents[k]), members[k].tolist()
        where = tr(
            "inside {parent}, not covered by any of its {n} children",
            parent=ctx.grids.label(p),
            n=len(children),
        )
        yield from _gap_findings(
            ctx, level, found=found, at=at, candidates=children, where=where, parent=p
        )
    if not named.all():
        orphans = families.members[-1].tolist()
        enclosed = np.array([shapely.union_all(holes(families.unions[-1]))], dtype=object)
        found = ctx.real(enclosed)
        where = tr("enclosed by features of this level")
        yield from _gap_findings(
            ctx, level, found=found, at=np.arange(len(found)), candidates=orphans, where=where
        )


def _gap_findings(
    ctx: Context,
    level: Level,
    *,
    found: Pieces,
    at: Positions,
    candidates: list[int],
    where: str,
    parent: int | None = None,
) -> Iterator[BoundaryFinding]:
    tree = shapely.STRtree(ctx.clean[candidates])
    for k in at.tolist():
        piece, area = found.geometry[k], float(found.area_m2[k])
        near = tree.query(piece, predicate="dwithin", distance=_NEAR_DEGREES)
        codes = [ctx.code(candidates[int(n)]) for n in np.sort(near)]
        if parent is not None:
            codes = [ctx.code(parent), *codes]
        yield BoundaryFinding(
            "gap",
            Severity.ERROR,
            level,
            tuple(codes),
            tr(
                "gap of {area:,.1f} m² {where}{sliver}; next to {codes}",
                area=area,
                where=where,
                sliver=_sliver_note(ctx, found, np.array([k])),
                codes=listing(codes) if codes else tr("no feature"),
            ),
            area_m2=area,
            geometry=piece,
        )


def _merged(found: Pieces, at: Positions) -> BaseGeometry:
    pieces = found.geometry[at]
    return pieces[0] if len(pieces) == 1 else MultiPolygon(list(pieces))


def _sliver_note(ctx: Context, found: Pieces, at: Positions) -> str:
    area = float(found.area_m2[at].sum())
    # mean width of the whole finding: 2·A/P summed over its pieces
    perimeter = float((2 * found.area_m2[at] / found.mean_width_m[at]).sum())
    width = 2 * area / perimeter if perimeter else 0.0
    if width >= ctx.settings.sliver_width_m:
        return ""
    return tr(" (a sliver, mean width {width:.2f} m)", width=width)
