"""Assigning missing fifth-level grid codes the standard way (pure core).

Inside each community, grids are numbered west to east, then north to south
(:func:`gridgeo.codes.reading_order` on each grid's ``point_on_surface``).
Grids that already have a code keep it; new numbers continue after the
highest sequence in use in that community (in the file, or among the codes
given as taken: the published version's), in reading order. A grid's
community is its ``parent_code`` when given, otherwise the community it
overlaps most.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import shapely

from gridgeo.codes import find_duplicates, next_sequences, reading_order
from gridgeo.errors import CodeError, InputFileError
from gridgeo.geometry import make_valid_polygonal
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import UNKNOWN_LEVEL, GridSet


@dataclass(frozen=True)
class CodeAssignment:
    """One code given to a grid that had none."""

    ref: str
    name: str
    code: str
    community_code: str


def assign_grid_codes(
    grids: GridSet, communities: GridSet | None = None, *, taken: Collection[str] = ()
) -> tuple[GridSet, list[CodeAssignment]]:
    """Give every fifth-level grid without a code its standard code.

    Parameters
    ----------
    grids
        Features of the file being numbered. Features at level 5, and
        features with neither a code nor a level, are grids; level-4 features
        in it are communities.
    communities
        More communities (for example the published boundaries), used when
        the file holds only grids.
    taken
        Grid codes in use elsewhere (for example in the published version):
        never given again, so a new grid cannot take a retired or a living code.

    Raises
    ------
    CodeError
        If existing codes are duplicated (numbering would hide the clash).
    InputFileError
        If a grid lies in no community, naming it.
    """
    dupes = find_duplicates([c for c in grids.codes if c is not None])
    if dupes:
        raise CodeError(
            next(iter(dupes)),
            tr("is used by more than one feature; fix duplicates before numbering"),
        )
    pool = _communities(grids, communities)
    levels = grids.levels
    is_grid = (levels == int(Level.GRID)) | (
        (levels == UNKNOWN_LEVEL) & np.array([c is None for c in grids.codes])
    )
    parents = [
        _community_of(grids, int(i), pool) if is_grid[i] else None for i in range(len(grids))
    ]
    frame = grids.frame.copy()
    assignments: list[CodeAssignment] = []
    for community in sorted({p for p in parents if p is not None}):
        members = [i for i, p in enumerate(parents) if p == community]
        assignments += _number(grids, frame, community, members, taken)
    for i in np.flatnonzero(is_grid):
        frame.loc[i, "level"] = int(Level.GRID)
        frame.loc[i, "parent_code"] = parents[i]
    return GridSet.from_frame(frame, grids.scheme), assignments


def _communities(grids: GridSet, extra: GridSet | None) -> GridSet:
    sets = [g for g in (grids, extra) if g is not None]
    pool = GridSet.concat(sets)
    return pool.subset(np.flatnonzero(pool.levels == int(Level.COMMUNITY)))


def _community_of(grids: GridSet, i: int, pool: GridSet) -> str:
    explicit = grids.parent_codes[i]
    if explicit is not None and explicit in pool.position_of:
        return explicit
    code = grids.codes[i]
    if code is not None and code[:12] in pool.position_of:
        return code[:12]
    geom = make_valid_polygonal([grids.geometries[i]])[0]
    shapes = make_valid_polygonal(pool.geometries)
    overlap = shapely.area(shapely.intersection(shapes, geom)) if not geom.is_empty else None
    if overlap is None or not np.any(overlap > 0):
        raise InputFileError(
            tr(
                "{grid} lies in no community; give it a parent_code "
                "or pass the communities with --parents",
                grid=grids.label(i),
            )
        )
    return str(pool.codes[int(np.argmax(overlap))])


def _number(
    grids: GridSet, frame: object, community: str, members: list[int], taken: Collection[str]
) -> list[CodeAssignment]:
    points = shapely.point_on_surface(make_valid_polygonal(grids.geometries[members]))
    order = reading_order(shapely.get_x(points), shapely.get_y(points))
    ordered = [members[k] for k in order]
    missing = [i for i in ordered if grids.codes[i] is None]
    existing = [c for i in members if (c := grids.codes[i]) is not None]
    existing += [c for c in taken if c.startswith(community) and len(c) > len(community)]
    out = []
    for i, seq in zip(missing, next_sequences(existing, grids.scheme, len(missing)), strict=True):
        code = grids.scheme.grid_code(community, seq)
        frame.loc[i, "code"] = code  # type: ignore[attr-defined]
        out.append(CodeAssignment(grids.refs[i], grids.names[i], code, community))
    return out
