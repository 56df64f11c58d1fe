"""Planners' everyday edits of boundaries (pure core): split, merge, move a vertex, add, rename.

Each operation takes a :class:`~gridgeo.model.GridSet` (a version's grids) and
returns a new one. An edit that would break the topology is refused with an
:class:`EditError` that names the grids, and nothing changes:

===============  ==========================================================
operation        what it does
===============  ==========================================================
``split``        cuts a fifth-level grid in two along a drawn line; the
                 larger piece keeps the code, the other gets the next code
                 of the community (standard numbering)
``merge``        joins neighbouring fifth-level grids of one community; the
                 smallest code stays, the others go
``move_vertex``  moves a vertex and every feature of every level that has
                 it or passes through it (siblings, and the parent's outline
                 where it coincides) with it
``add_grid``     a new fifth-level grid drawn inside a community, cut out of
                 the grids it covers, numbered by the standard rule
``rename``       a feature's name and extra attributes
===============  ==========================================================

After each operation the features it touched are validated with their
families and neighbours (:func:`gridgeo.validation.validate`); a new error
among them (an overlap, a child outside its parent, an invalid ring) refuses
the edit. Codes in ``taken`` (the published version's) are never given again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_by_line

from gridgeo.codes import next_sequences
from gridgeo.crs import area_m2
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import CORE_COLUMNS, GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.textcheck import check_text
from gridgeo.validation import validate
from gridgeo.validation.pieces import snap_grid, union_all
from gridgeo.wording import clauses, level_name, listing

if TYPE_CHECKING:  # edits are rare: a service imports pandas for its first edit only
    import pandas as pd

Point = tuple[float, float]
# a vertex the browser sends is matched within this (about 1 cm): it sends back the
# coordinates it was given, so only rounding separates them
VERTEX_SNAP_DEG = 1e-7
HIERARCHY_RULES = ("overlap", "outside_parent", "gap", "invalid_geometry", "empty_geometry")


class EditError(GridgeoError, ValueError):
    """An edit refused: bad input, or one that would break the topology (HTTP 400)."""


@dataclass(frozen=True)
class Split:
    """Cut fifth-level grid ``code`` in two along ``line`` (lon/lat, EPSG:4490)."""

    code: str
    line: Sequence[Point]
    op: Literal["split"] = "split"


@dataclass(frozen=True)
class Merge:
    """Join neighbouring fifth-level grids ``codes`` of one community."""

    codes: Sequence[str]
    op: Literal["merge"] = "merge"


@dataclass(frozen=True)
class MoveVertex:
    """Move the vertex at ``at`` to ``to`` in every feature that has it."""

    at: Point
    to: Point
    op: Literal["move_vertex"] = "move_vertex"


@dataclass(frozen=True)
class AddGrid:
    """A new fifth-level grid with outline ``ring`` inside a community."""

    ring: Sequence[Point]
    name: str = ""
    community: str | None = None
    op: Literal["add_grid"] = "add_grid"


@dataclass(frozen=True)
class Rename:
    """Give feature ``code`` a new name and/or extra attribute values."""

    code: str
    name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    op: Literal["rename"] = "rename"


Operation = Split | Merge | MoveVertex | AddGrid | Rename


@dataclass(frozen=True)
class Applied:
    """What one operation did: a sentence, and the codes it changed, added and removed."""

    message: str
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "changed": list(self.changed),
            "added": list(self.added),
            "removed": list(self.removed),
        }


def apply_edits(
    grids: GridSet,
    operations: Sequence[Operation],
    *,
    taken: Collection[str] = (),
    settings: ValidationSettings | None = None,
) -> tuple[GridSet, list[Applied]]:
    """Apply ``operations`` in order; the first refused one raises and nothing is applied.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> street = box(110.0, 25.0, 110.02, 25.01)
    >>> grids = GridSet.from_records(
    ...     ["450302001", "450302001001", "450302001001001"],
    ...     [street, street, street], names=["街道", "社区", "一号网格"])
    >>> line = [(110.01, 24.99), (110.01, 25.02)]
    >>> after, [done] = apply_edits(grids, [Split("450302001001001", line)])
    >>> done.added
    ('450302001001002',)
    """
    settings = settings or ValidationSettings.defaults()
    done: list[Applied] = []
    for op in operations:
        grids, applied = _apply(grids, op, set(taken), settings)
        done.append(applied)
    return grids, done


def _apply(
    grids: GridSet, op: Operation, taken: set[str], settings: ValidationSettings
) -> tuple[GridSet, Applied]:
    if isinstance(op, Split):
        after, applied = _split(grids, op, taken)
    elif isinstance(op, Merge):
        after, applied = _merge(grids, op, settings)
    elif isinstance(op, MoveVertex):
        after, applied = _move_vertex(grids, op)
    elif isinstance(op, AddGrid):
        after, applied = _add_grid(grids, op, taken, settings)
    else:
        after, applied = _rename(grids, op)
    _check_topology(grids, after, applied, settings)
    return after, applied


# --- the operations ---------------------------------------------------------


def _split(grids: GridSet, op: Split, taken: set[str]) -> tuple[GridSet, Applied]:
    i = _leaf(grids, op.code, "split")
    if len(op.line) < 2:
        raise EditError(tr("a split line needs at least two points"))
    line = LineString(_points(op.line, "split line"))
    if not line.is_simple:
        raise EditError(tr("the line drawn to split {grid} crosses itself", grid=grids.label(i)))
    try:
        cut = split_by_line(grids.geometries[i], line)
    except (GEOSException, ValueError) as exc:
        raise EditError(
            tr("the line cannot split {grid}: {reason}", grid=grids.label(i), reason=exc)
        ) from None
    pieces = [p for p in shapely.get_parts(cut) if p.area]
    if len(pieces) < 2:
        raise EditError(
            tr(
                "the line does not cut it: draw one line across {grid}, from outside one "
                "edge to outside another",
                grid=grids.label(i),
            )
        )
    if len(pieces) > 2:
        raise EditError(
            tr(
                "the line cuts it into {n} pieces: draw one line across {grid}, from outside "
                "one edge to outside another",
                n=len(pieces),
                grid=grids.label(i),
            )
        )
    keep, new = sorted(pieces, key=lambda p: -p.area)
    community = str(grids.parent_codes[i])
    code = _next_code(grids, community, taken)
    frame = grids.frame.copy()
    frame.loc[i, "geometry"] = keep
    frame = _append(frame, i, code=code, name=f"{grids.names[i]}（拆分）", geometry=new)
    applied = Applied(
        tr("{grid} split in two: the new part is {code}", grid=grids.label(i), code=code),
        (op.code,),
        (code,),
    )
    return GridSet.from_frame(frame, grids.scheme), applied


def _merge(grids: GridSet, op: Merge, settings: ValidationSettings) -> tuple[GridSet, Applied]:
    codes = sorted(set(op.codes))
    if len(codes) < 2:
        raise EditError(tr("merging needs two or more different grids"))
    at = [_leaf(grids, c, "merge") for c in codes]
    parents = {grids.parent_codes[i] for i in at}
    if len(parents) > 1:
        named = listing(
            tr("{code} (in {parent})", code=c, parent=grids.parent_codes[i])
            for c, i in zip(codes, at, strict=True)
        )
        raise EditError(tr("only grids of one community merge: {grids}", grids=named))
    joined = _drop_specks(
        union_all(grids.geometries[at], snap_grid(settings.tolerance_m)), settings
    )
    if not isinstance(joined, Polygon):
        raise EditError(
            tr(
                "{codes} do not form one piece: only grids that share an edge merge",
                codes=listing(codes),
            )
        )
    frame = grids.frame.copy()
    frame.loc[at[0], "geometry"] = joined
    frame = frame.drop(index=at[1:]).reset_index(drop=True)
    applied = Applied(
        tr("{codes} merged into {code}", codes=listing(codes[1:]), code=codes[0]),
        (codes[0],),
        (),
        tuple(codes[1:]),
    )
    return GridSet.from_frame(frame, grids.scheme), applied


def _move_vertex(grids: GridSet, op: MoveVertex) -> tuple[GridSet, Applied]:
    at, to = _points([op.at], "vertex")[0], _points([op.to], "vertex")[0]
    geoms = grids.geometries
    near = shapely.STRtree(geoms).query(
        shapely.points(*at), predicate="dwithin", distance=VERTEX_SNAP_DEG
    )
    frame = grids.frame.copy()
    moved: list[str] = []
    for i in sorted(near.tolist()):
        geom = _moved(geoms[i], at, to)
        if geom is not None:
            frame.loc[i, "geometry"] = geom
            moved.append(grids.codes[i] or grids.refs[i])
    if not moved:
        raise EditError(
            tr("no boundary has a vertex at ({lon:.7f}, {lat:.7f})", lon=at[0], lat=at[1])
        )
    applied = Applied(
        tr(
            "vertex moved from ({lon:.7f}, {lat:.7f}) to ({to_lon:.7f}, {to_lat:.7f}) in {codes}",
            lon=at[0],
            lat=at[1],
            to_lon=to[0],
            to_lat=to[1],
            codes=listing(moved),
        ),
        tuple(moved),
    )
    return GridSet.from_frame(frame, grids.scheme), applied


def _add_grid(
    grids: GridSet, op: AddGrid, taken: set[str], settings: ValidationSettings
) -> tuple[GridSet, Applied]:
    ring = _points(op.ring, "outline")
    if len(ring) < 3:
        raise EditError(tr("a new grid needs an outline of three or more points"))
    drawn = Polygon(ring)
    if not drawn.is_valid:
        reason = shapely.is_valid_reason(drawn)
        raise EditError(
            tr("the outline drawn for the new grid is invalid: {reason}", reason=reason)
        )
    c = _community(grids, drawn, op.community)
    shape = _drop_specks(shapely.intersection(drawn, grids.geometries[c]), settings)
    if not isinstance(shape, Polygon) or shape.is_empty:
        raise EditError(
            tr("the new grid must be one piece inside {community}", community=grids.label(c))
        )
    community = str(grids.codes[c])
    code = _next_code(grids, community, taken)
    frame = grids.frame.copy()
    cut: list[str] = []
    children = _children(grids, community)
    covered = area_m2(shapely.intersection(grids.geometries[children], shape))
    for i in (i for i, a in zip(children, covered, strict=True) if a > 0):
        # only the grids the new one covers change; a multi-part grid elsewhere stays
        geom = grids.geometries[i]
        rest = _drop_specks(shapely.difference(geom, shape), settings)
        if rest.is_empty:
            raise EditError(
                tr(
                    "the new grid would cover {grid} whole: merge grids instead",
                    grid=grids.label(i),
                )
            )
        if _polygon_count(rest) > _polygon_count(geom):
            raise EditError(tr("the new grid would cut {grid} in two pieces", grid=grids.label(i)))
        frame.loc[i, "geometry"] = rest
        cut.append(str(grids.codes[i]))
    name = check_text("name", op.name.strip()) if op.name.strip() else f"新网格{code[-3:]}"
    frame = _append(frame, None, code=code, name=name, geometry=shape, parent=community)
    message = (
        tr(
            "new grid {code} {name} in {community}, taken from {codes}",
            code=code,
            name=name,
            community=community,
            codes=listing(cut),
        )
        if cut
        else tr("new grid {code} {name} in {community}", code=code, name=name, community=community)
    )
    applied = Applied(message, tuple(cut), (code,))
    return GridSet.from_frame(frame, grids.scheme), applied


def _rename(grids: GridSet, op: Rename) -> tuple[GridSet, Applied]:
    i = grids.position_of.get(op.code)
    if i is None:
        raise EditError(tr("no feature has code {code}", code=op.code))
    frame = grids.frame.copy()
    if op.name is not None:
        name = check_text("name", op.name.strip())
        if not name:
            raise EditError(tr("{code}: a name cannot be empty", code=op.code))
        frame.loc[i, "name"] = name
    extra = [c for c in frame.columns if c not in (*CORE_COLUMNS, "geometry")]
    for key, value in op.attributes.items():
        if key not in extra:
            raise EditError(
                tr(
                    "{code}: no attribute {key!r} to edit (editable: {allowed})",
                    code=op.code,
                    key=key,
                    allowed=listing(extra),
                )
                if extra
                else tr(
                    "{code}: no attribute {key!r} to edit (none is editable)", code=op.code, key=key
                )
            )
        frame.loc[i, key] = check_text(key, value) if isinstance(value, str) else value
    applied = Applied(tr("{code} renamed", code=op.code), (op.code,))
    return GridSet.from_frame(frame, grids.scheme), applied


# --- topology check ---------------------------------------------------------


def _check_topology(
    before: GridSet, after: GridSet, applied: Applied, settings: ValidationSettings
) -> None:
    """Refuse the edit if it adds an error among the features it touched and their kin."""
    touched = {*applied.changed, *applied.added}
    if not touched:
        return
    old = _errors_near(before, touched, settings)
    new = _errors_near(after, touched, settings)
    grown = settings.area_tolerance_m2
    fresh = [
        message
        for key, (area, message) in new.items()
        if key not in old or area > old[key][0] + grown
    ]
    if fresh:
        raise EditError(
            tr("refused, it would break the boundaries: {problems}", problems=clauses(fresh[:3]))
        )


def _errors_near(
    grids: GridSet, codes: set[str], settings: ValidationSettings
) -> dict[tuple[str, tuple[str, ...]], tuple[float, str]]:
    """Errors among ``codes`` and their kin: (rule, what it is about) -> (area, message).

    A gap is about its parent (its other codes are the neighbours, which an edit may
    change), an overlap or outside piece about its pair; areas of one key add up, so
    an old error that grows counts as well as a new one."""
    positions = [grids.position_of[c] for c in codes if c in grids.position_of]
    if not positions:
        return {}
    geoms = grids.geometries
    parents = grids.parent_positions
    family = set(positions)
    family |= {int(p) for p in parents[positions] if p >= 0}
    family |= {int(k) for k in np.flatnonzero(np.isin(parents, list(family)))}
    near = shapely.STRtree(geoms).query(geoms[positions], predicate="intersects")[1]
    family |= {int(k) for k in near}
    report = validate(grids.subset(sorted(family)), settings)
    found: dict[tuple[str, tuple[str, ...]], tuple[float, str]] = {}
    for f in report.errors:
        if f.rule not in HIERARCHY_RULES or not codes & set(f.codes):
            continue
        about = f.codes[:1] if f.rule == "gap" else tuple(sorted(f.codes))
        area, _ = found.get((f.rule, about), (0.0, ""))
        found[(f.rule, about)] = (area + (f.area_m2 or 0.0), f.message)
    return found


# --- helpers ----------------------------------------------------------------


def _points(values: Sequence[Any], what: Literal["split line", "vertex", "outline"]) -> list[Point]:
    try:
        points = [(float(x), float(y)) for x, y in values]
    except (TypeError, ValueError):
        raise EditError(_not_pairs(what)) from None
    for x, y in points:
        if not (np.isfinite(x) and np.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
            raise EditError(_off_the_map(what, x, y))
    return points


def _not_pairs(what: str) -> str:
    if what == "split line":
        return tr("the split line must be a list of [lon, lat] pairs")
    if what == "vertex":
        return tr("the vertex must be a list of [lon, lat] pairs")
    return tr("the outline must be a list of [lon, lat] pairs")


def _off_the_map(what: str, x: float, y: float) -> str:
    if what == "split line":
        return tr("the split line has a point off the map: ({x}, {y})", x=x, y=y)
    if what == "vertex":
        return tr("the vertex has a point off the map: ({x}, {y})", x=x, y=y)
    return tr("the outline has a point off the map: ({x}, {y})", x=x, y=y)


def _leaf(grids: GridSet, code: str, doing: Literal["split", "merge"]) -> int:
    i = grids.position_of.get(code)
    if i is None:
        raise EditError(tr("no feature has code {code}", code=code))
    if int(grids.levels[i]) != int(Level.GRID):
        grid, level = grids.label(i), level_name(Level(int(grids.levels[i])))
        raise EditError(
            tr("only fifth-level grids split here: {grid} is a {level}", grid=grid, level=level)
            if doing == "split"
            else tr(
                "only fifth-level grids merge here: {grid} is a {level}", grid=grid, level=level
            )
        )
    return i


def _children(grids: GridSet, parent: str) -> list[int]:
    return [i for i, p in enumerate(grids.parent_codes) if p == parent]


def _community(grids: GridSet, shape: Polygon, code: str | None) -> int:
    if code is not None:
        c = grids.position_of.get(code)
        if c is None or int(grids.levels[c]) != int(Level.COMMUNITY):
            raise EditError(tr("{code} is not a community of this version", code=code))
        return c
    communities = np.flatnonzero(grids.levels == int(Level.COMMUNITY))
    shared = shapely.area(shapely.intersection(grids.geometries[communities], shape))
    if not len(communities) or float(np.max(shared)) <= 0:
        raise EditError(tr("the new grid lies in no community: draw it inside one"))
    return int(communities[int(np.argmax(shared))])


def _next_code(grids: GridSet, community: str, taken: set[str]) -> str:
    used = [c for c in (*grids.codes, *taken) if c and c.startswith(community)]
    code = grids.scheme.grid_code(community, next_sequences(used, grids.scheme, 1)[0])
    taken.add(code)
    return code


def _append(
    frame: pd.DataFrame,
    like: int | None,
    *,
    code: str,
    name: str,
    geometry: BaseGeometry,
    parent: str | None = None,
) -> pd.DataFrame:
    import pandas as pd

    row = (
        frame.loc[[like]].copy()
        if like is not None
        else pd.DataFrame([{c: None for c in frame.columns}], index=[0])
    )
    row["code"], row["name"] = code, name
    row["geometry"] = pd.Series([geometry], index=row.index, dtype=object)
    row["ref"], row["level"] = "edit", int(Level.GRID)
    if parent is not None:
        row["parent_code"] = parent
    return pd.concat([frame, row], ignore_index=True)


def _polygon_count(geom: BaseGeometry) -> int:
    return sum(1 for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty)


def _drop_specks(geom: BaseGeometry, settings: ValidationSettings) -> BaseGeometry:
    """``geom`` without the polygons and holes too small to be real (overlay debris)."""
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon)]
    big = area_m2(polys) > settings.area_tolerance_m2
    kept = []
    for p in (p for p, keep in zip(polys, big, strict=True) if keep):
        rings = [Polygon(h) for h in p.interiors]
        holes = [h.exterior for h, a in zip(rings, area_m2(rings), strict=True)
                 if a > settings.area_tolerance_m2]  # fmt: skip
        kept.append(Polygon(p.exterior, holes))
    if not kept:
        return Polygon()
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def _moved(geom: BaseGeometry, at: Point, to: Point) -> BaseGeometry | None:
    """``geom`` with the vertex at ``at`` moved to ``to``; a vertex is inserted where
    ``at`` lies on an edge (the parent's outline at a child's corner). None: not there."""
    polys = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon)]
    changed = False
    out = []
    for p in polys:
        rings = [p.exterior, *p.interiors]
        new_rings = []
        for ring in rings:
            coords = np.asarray(ring.coords)
            moved = _move_in_ring(coords, at, to)
            changed |= moved is not None
            new_rings.append(moved if moved is not None else coords)
        out.append(Polygon(new_rings[0], new_rings[1:]))
    if not changed:
        return None
    return out[0] if len(out) == 1 and isinstance(geom, Polygon) else MultiPolygon(out)


def _move_in_ring(
    coords: np.ndarray[Any, Any], at: Point, to: Point
) -> np.ndarray[Any, Any] | None:
    target = np.asarray(at)
    hit = np.flatnonzero(np.hypot(*(coords - target).T) <= VERTEX_SNAP_DEG)
    if len(hit):
        out = coords.copy()
        out[hit] = to
        return out
    start, end = coords[:-1], coords[1:]
    seg = end - start
    length2 = (seg**2).sum(axis=1)
    t = np.clip(((target - start) * seg).sum(axis=1) / np.where(length2 > 0, length2, 1), 0, 1)
    distance = np.hypot(*(start + t[:, None] * seg - target).T)
    k = int(np.argmin(distance))
    if distance[k] > VERTEX_SNAP_DEG:
        return None
    return np.insert(coords, k + 1, to, axis=0)
