"""Dispatch: who handles a report of a given category at a given point (pure core).

For one point and category, :func:`dispatch` returns

* the leaf grid and its chain up to the city (from the lookup), with the
  leader, deputies and members of each level (from the roster);
* the workstation serving the point's community;
* the grid staff as a responsible party when the routing rule involves the
  grid (the "2");
* every partner unit ("1" and "N") whose zone **covers** the point (interior
  or boundary) and whose type the routing rule names, each with the reason
  it matched: the rule that routed the category to its type, and how its
  zone covers the point;
* the partner types the rule names that no unit's zone covers here.

:func:`dispatch_columns` is the vectorised variant for many points: one
STRtree query over all zones, then a category-by-zone table decides which
matches count.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.categories import Category, CategoryTable, default_categories
from gridgeo.crs import MetricFrame
from gridgeo.errors import CategoryError
from gridgeo.geometry import PolygonIndex
from gridgeo.i18n import tr
from gridgeo.lookup import GridRef, LookupResult
from gridgeo.model import GridSet
from gridgeo.partners import PartnerType, PartnerUnit, ResolvedZones, ZoneKind, resolve_zones
from gridgeo.routing import RoutingRule, RoutingTable
from gridgeo.staffing import Post, StaffMember
from gridgeo.wording import bilingual

if TYPE_CHECKING:  # the batch functions take pandas objects; the service never imports it
    import pandas as pd

_ROLE_ORDER = {Post.LEADER: 0, Post.EXECUTIVE_DEPUTY: 1, Post.DEPUTY: 2, Post.MEMBER: 3}


class ZoneIndex:
    """Resolved partner zones, indexed for covers queries on points.

    A zone covers a point in its interior or on its boundary
    (:class:`gridgeo.geometry.PolygonIndex`).

    Parameters
    ----------
    zones
        The partners' zones resolved to EPSG:4490 polygons
        (:func:`gridgeo.partners.resolve_zones`).
    """

    def __init__(self, zones: ResolvedZones) -> None:
        self.zones = zones
        self.partners = zones.partners
        self._index = PolygonIndex(zones.geometries)

    @classmethod
    def from_partners(cls, partners: Sequence[PartnerUnit], grids: GridSet) -> ZoneIndex:
        """Resolve ``partners``' zones against ``grids`` and index them."""
        return cls(resolve_zones(tuple(partners), grids))

    def __len__(self) -> int:
        return len(self.partners)

    def covering(self, lon: float, lat: float) -> list[int]:
        """Positions (in ``partners``) of the zones covering one EPSG:4490 point."""
        positions: list[int] = self._index.covering(lon, lat).tolist()
        return positions

    def over(self, area: BaseGeometry) -> ZonesOver:
        """The zones as seen from inside ``area`` (one grid): those covering all of it and
        those that only cross it.

        For every point that ``area`` covers, ``over(area).covering(x, y)`` equals
        ``covering(x, y)``: a zone that covers the area covers the point, a zone
        disjoint from it cannot, and only the crossing zones need a point test.
        GEOS decides both predicates exactly, so the split is never wrong near edges.
        """
        index = self._index
        candidates = index.tree.query(area)  # bounding boxes
        geoms = index.polygons[candidates]
        with index.lock:  # the index's prepared polygons (PolygonIndex)
            whole = shapely.covers(geoms, area)
            crossing = ~whole & shapely.intersects(geoms, area)
        # its own prepared copies, tested under its own lock: a service's requests test
        # them on the event loop while worker threads test the index's
        zones = np.asarray(shapely.from_wkb(shapely.to_wkb(geoms[crossing])), dtype=object)
        shapely.prepare(zones)
        return ZonesOver(
            always=tuple(sorted(int(p) for p in index.positions[candidates[whole]])),
            crossing=index.positions[candidates[crossing]].astype(np.intp),
            crossing_zones=zones,
            bounds=area.bounds,
        )

    def query(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(point index, partner position) pairs where a zone covers a point (vectorised).

        NaN coordinates match nothing.
        """
        return self._index.pairs(x, y)


ZONE_CELLS = 16
"""Cells per side of the per-area grid of :class:`ZonesOver` (256 cells an area)."""

CELL_MARGIN = 1e-9
"""Degrees (about 0.1 mm) a cell is widened by before it is tested: far more than the
rounding of a point's cell number, so every point given a cell lies in its widened box."""


@dataclass(frozen=True)
class ZonesOver:
    """Partner zones over one area (:meth:`ZoneIndex.over`): a point test in a few
    crossing zones instead of a tree query over all of them.

    The area's bounding box is cut into ``ZONE_CELLS`` x ``ZONE_CELLS`` cells. The
    first point in a cell decides, once, whether some crossing zone's edge passes
    through the (slightly widened) cell; if none does, every point of the cell gets
    the same zones, remembered for the cell. Points in cells an edge passes through
    are tested one by one, exactly, as before.
    """

    always: tuple[int, ...]  # positions of the zones covering the whole area, sorted
    crossing: npt.NDArray[np.intp]  # positions of the zones that cross the area
    crossing_zones: npt.NDArray[np.object_]  # their (prepared) polygons
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # of the area
    # cell number -> the cell's zones, or None where a zone edge passes the cell
    _cells: dict[int, tuple[int, ...] | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    # GEOS fills prepared polygons' point indexes lazily, not thread-safely
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def covering(self, lon: float, lat: float) -> tuple[int, ...]:
        """Sorted positions of the zones covering a point that the area covers."""
        if not self.crossing.size:
            return self.always
        cell = self._cell(lon, lat)
        if cell >= 0:
            try:
                known = self._cells[cell]
            except KeyError:  # the cell's first point
                known = self._cells[cell] = self._resolve(cell)
            if known is not None:
                return known
        return self._test(lon, lat)

    def _test(self, lon: float, lat: float) -> tuple[int, ...]:
        # intersects_xy uses the prepared polygons; for a point, intersects == covers
        with self._lock:
            hit = shapely.intersects_xy(self.crossing_zones, lon, lat)
        return self._with(self.crossing[hit])

    def _with(self, hit: npt.NDArray[np.intp]) -> tuple[int, ...]:
        """``always`` and the crossing zones at positions ``hit``, sorted."""
        if not hit.size:
            return self.always
        return tuple(sorted((*self.always, *(int(p) for p in hit))))

    def _cell(self, lon: float, lat: float) -> int:
        """The cell number of a point, or -1 outside the area's bounds."""
        xmin, ymin, xmax, ymax = self.bounds
        if not (xmin <= lon <= xmax and ymin <= lat <= ymax) or xmax <= xmin or ymax <= ymin:
            return -1
        i = min(int((lon - xmin) / (xmax - xmin) * ZONE_CELLS), ZONE_CELLS - 1)
        j = min(int((lat - ymin) / (ymax - ymin) * ZONE_CELLS), ZONE_CELLS - 1)
        return j * ZONE_CELLS + i

    def _resolve(self, cell: int) -> tuple[int, ...] | None:
        """The zones of every point of ``cell``, or None if some zone edge passes it."""
        xmin, ymin, xmax, ymax = self.bounds
        j, i = divmod(cell, ZONE_CELLS)
        w, h = (xmax - xmin) / ZONE_CELLS, (ymax - ymin) / ZONE_CELLS
        box = shapely.box(
            xmin + i * w - CELL_MARGIN,
            ymin + j * h - CELL_MARGIN,
            xmin + (i + 1) * w + CELL_MARGIN,
            ymin + (j + 1) * h + CELL_MARGIN,
        )
        with self._lock:
            whole = shapely.covers(self.crossing_zones, box)
            touched = shapely.intersects(self.crossing_zones, box)
        if (touched & ~whole).any():
            return None
        return self._with(self.crossing[whole])


@dataclass(frozen=True)
class LevelTeam:
    """The people of one grid in the chain: leader, deputies and members."""

    grid: GridRef
    leaders: tuple[StaffMember, ...] = ()
    deputies: tuple[StaffMember, ...] = ()
    members: tuple[StaffMember, ...] = ()

    @property
    def people(self) -> tuple[StaffMember, ...]:
        return self.leaders + self.deputies + self.members

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": self.grid.to_dict(),
            "leaders": [p.to_dict() for p in self.leaders],
            "deputies": [p.to_dict() for p in self.deputies],
            "members": [p.to_dict() for p in self.members],
        }


@dataclass(frozen=True)
class PartnerMatch:
    """A partner unit that handles the report, and why.

    Attributes
    ----------
    partner
        The unit.
    rule
        The routing rule that names its type.
    on_boundary
        The point lies exactly on the zone's boundary (covered all the same).
    distance_m
        For a buffer zone, the point's distance to the line or point buffered.
    """

    partner: PartnerUnit
    rule: RoutingRule
    on_boundary: bool = False
    distance_m: float | None = None

    @property
    def reason(self) -> str:
        """Why it matched, in the current language (English with the Chinese type name)."""
        unit, zone = self.partner, self.partner.zone
        how = tr("covers the point")
        if self.on_boundary:
            how = tr("covers the point (on its boundary)")
        if self.distance_m is not None:
            if zone.geometry is not None and zone.geometry.length > 0:
                how = tr(
                    "covers the point ({distance:.1f} m from its line)", distance=self.distance_m
                )
            else:
                how = tr(
                    "covers the point ({distance:.1f} m from its point)", distance=self.distance_m
                )
        return tr(
            "routing rule {rule} sends this category to {type}; its zone ({zone}) {how}",
            rule=self.rule.category,
            type=bilingual(unit.type.en, unit.type.zh),
            zone=zone.describe(),
            how=how,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner.to_dict(),
            "rule": self.rule.category,
            "on_boundary": self.on_boundary,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 2),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DispatchResult:
    """Who handles a report of ``category`` at the looked-up point."""

    lookup: LookupResult
    category: Category
    rule: RoutingRule | None
    teams: tuple[LevelTeam, ...]
    partners: tuple[PartnerMatch, ...]
    uncovered_types: tuple[PartnerType, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def grid_involved(self) -> bool:
        """The rule involves the grid staff and the point is in a grid."""
        return bool(self.rule and self.rule.grid and self.teams)

    @property
    def grid_team(self) -> LevelTeam | None:
        """The leaf grid's team when the grid staff are involved."""
        return self.teams[0] if self.grid_involved else None

    @property
    def reached(self) -> bool:
        """Somebody handles the report: the grid staff or at least one partner."""
        return self.grid_involved or bool(self.partners)

    def to_dict(self) -> dict[str, Any]:
        out = self.lookup.to_dict()
        out |= {
            "category": self.category.to_dict(),
            "rule": self.rule.to_dict() if self.rule else None,
            "grid_involved": self.grid_involved,
            "grid_reason": self.grid_reason,
            "teams": [t.to_dict() for t in self.teams],
            "partners": [m.to_dict() for m in self.partners],
            "uncovered_types": [t.value for t in self.uncovered_types],
            "reached": self.reached,
            "notes": list(self.notes),
        }
        return out

    @property
    def grid_reason(self) -> str:
        """Why the grid staff are (or are not) involved."""
        if self.rule is None:
            return tr("no routing rule for this category")
        if not self.rule.grid:
            return tr(
                "routing rule {rule} does not involve the grid staff", rule=self.rule.category
            )
        if not self.teams:
            return tr("the point is outside every grid")
        leaf = self.teams[0].grid
        return tr(
            "routing rule {rule} involves the grid staff; the point is in {code} {name}",
            rule=self.rule.category,
            code=leaf.code,
            name=leaf.name,
        )


def staff_by_grid(staff: Sequence[StaffMember]) -> dict[str, list[StaffMember]]:
    """The roster grouped by grid code, each group in post order (leader first)."""
    out: dict[str, list[StaffMember]] = {}
    for person in staff:
        out.setdefault(person.grid_code, []).append(person)
    for people in out.values():
        people.sort(key=lambda p: (_ROLE_ORDER[p.role], p.person_id))
    return out


def team(grid: GridRef, people: Sequence[StaffMember]) -> LevelTeam:
    """The team of one grid from its people."""
    return LevelTeam(
        grid,
        tuple(p for p in people if p.role is Post.LEADER),
        tuple(p for p in people if p.role in (Post.EXECUTIVE_DEPUTY, Post.DEPUTY)),
        tuple(p for p in people if p.role is Post.MEMBER),
    )


def dispatch(
    result: LookupResult,
    category: Category | str,
    *,
    staff: Sequence[StaffMember] | dict[str, list[StaffMember]],
    zones: ZoneIndex,
    routing: RoutingTable,
    categories: CategoryTable | None = None,
) -> DispatchResult:
    """Who handles a report of ``category`` at the point of ``result``.

    Parameters
    ----------
    result
        The lookup of the point (chain, workstation, CGCS2000 point).
    category
        A :class:`Category`, or a code or Chinese name resolved in ``categories``.
    staff
        The roster, or the roster grouped by grid (:func:`staff_by_grid`).
    zones
        The partners' zones (:class:`ZoneIndex`).
    routing
        The routing table.
    categories
        Known categories (default: national classes plus the pilot's local ones).

    Raises
    ------
    CategoryError
        When ``category`` is not a known code or name.
    """
    cat = _category(category, categories)
    grouped = staff if isinstance(staff, dict) else staff_by_grid(staff)
    teams = tuple(team(g, grouped.get(g.code, [])) for g in result.grids)
    rule = routing.rule_for(cat)
    notes: list[str] = []
    if rule is None:
        notes.append(
            tr("no routing rule reaches category {code} (nor its major class)", code=cat.code)
        )
        return DispatchResult(result, cat, None, teams, (), (), tuple(notes))
    lon, lat = result.cgcs2000
    matches = [
        _match(zones, pos, rule, lon, lat)
        for pos in zones.covering(lon, lat)
        if zones.partners[pos].type in rule.partner_types
    ]
    rank = {t: i for i, t in enumerate(rule.partner_types)}
    matches.sort(key=lambda m: (rank[m.partner.type], m.partner.code))
    found = {m.partner.type for m in matches}
    uncovered = tuple(t for t in rule.partner_types if t not in found)
    if not result.grids:
        notes.append(tr("the point is outside every grid: no grid staff"))
    return DispatchResult(result, cat, rule, teams, tuple(matches), uncovered, tuple(notes))


def _category(category: Category | str, categories: CategoryTable | None) -> Category:
    if isinstance(category, Category):
        return category
    return (categories or default_categories()).resolve(category)


def _match(
    zones: ZoneIndex, position: int, rule: RoutingRule, lon: float, lat: float
) -> PartnerMatch:
    unit = zones.partners[position]
    geom = zones.zones.geometries[position]
    point = shapely.Point(lon, lat)
    on_boundary = bool(geom.boundary.intersects(point))
    distance = None
    if unit.zone.kind is ZoneKind.BUFFER and unit.zone.geometry is not None:
        distance = _distance_m(unit.zone.geometry, point)
    return PartnerMatch(unit, rule, on_boundary, distance)


def _distance_m(shape: BaseGeometry, point: shapely.Point) -> float:
    frame = MetricFrame(point.x)
    a, b = frame.project(np.array([shape, point], dtype=object))
    return float(shapely.distance(a, b))


# --- many points -----------------------------------------------------------------------

DISPATCH_COLUMNS = (
    "category_code",
    "dispatch_grid",
    "dispatch_partners",
    "dispatch_partner_types",
    "dispatch_status",
)
"""Columns :func:`dispatch_columns` adds (``gridgeo assign --category-col``)."""

DISPATCH_STATUSES = ("ok", "unreached", "no_rule", "unknown_category", "bad_input")


@dataclass(frozen=True)
class _Routes:
    """Per distinct category value: code, grid flag, and which zones count, in what order."""

    codes: list[str]
    grid: npt.NDArray[np.bool_]
    status: list[str]
    order: npt.NDArray[
        np.int64
    ]  # [category, zone] -> sort key, -1 when the zone's type is not routed


def _routes(
    values: Sequence[object], zones: ZoneIndex, routing: RoutingTable, categories: CategoryTable
) -> _Routes:
    n_zones = len(zones)
    types = [p.type for p in zones.partners]
    by_code = sorted(range(n_zones), key=lambda i: zones.partners[i].code)
    code_rank = np.empty(n_zones, dtype=np.int64)
    code_rank[by_code] = np.arange(n_zones)
    codes, status = [], []
    grid = np.zeros(len(values), dtype=bool)
    order = np.full((len(values), n_zones), -1, dtype=np.int64)
    for i, value in enumerate(values):
        try:
            cat = categories.resolve(str(value))
        except CategoryError:
            codes.append("")
            status.append("unknown_category")
            continue
        codes.append(cat.code)
        rule = routing.rule_for(cat)
        if rule is None:
            status.append("no_rule")
            continue
        status.append("")
        grid[i] = rule.grid
        for k, t in enumerate(rule.partner_types):
            hit = np.array([zt is t for zt in types], dtype=bool)
            order[i, hit] = k * n_zones + code_rank[hit]
    return _Routes(codes, grid, status, order)


def dispatch_columns(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    category: Sequence[object] | pd.Series,
    in_grid: npt.NDArray[np.bool_],
    *,
    zones: ZoneIndex,
    routing: RoutingTable,
    categories: CategoryTable | None = None,
) -> dict[str, npt.NDArray[np.object_]]:
    """Dispatch many points at once: the columns of :data:`DISPATCH_COLUMNS`.

    Parameters
    ----------
    x, y
        CGCS2000 coordinates; NaN for unusable input (status ``bad_input``).
    category
        Category code or Chinese name per point (empty or missing: ``unknown_category``).
    in_grid
        Whether each point lies in a leaf grid (the grid staff can only be
        involved there).
    zones, routing, categories
        As for :func:`dispatch`.

    Returns
    -------
    dict of str to object array
        ``category_code`` (resolved code), ``dispatch_grid`` (``yes``/``no``),
        ``dispatch_partners`` and ``dispatch_partner_types`` (``;``-separated,
        in the rule's type order then by unit code), ``dispatch_status``
        (``ok``, ``unreached``: routed but nobody covers the point,
        ``no_rule``, ``unknown_category``, ``bad_input``).
    """
    import pandas as pd

    n = x.size
    values = pd.Series(category, dtype=object).fillna("").astype(str).str.strip()
    cat_idx, uniques = pd.factorize(values.to_numpy(), sort=False)
    routes = _routes(list(uniques), zones, routing, categories or default_categories())
    pt, zone = zones.query(x, y)
    key = routes.order[cat_idx[pt], zone] if pt.size else np.array([], dtype=np.int64)
    keep = key >= 0
    pt, zone, key = pt[keep], zone[keep], key[keep]
    sort = np.lexsort((key, pt))
    pt, zone = pt[sort], zone[sort]
    partners = _joined(pt, zone, [p.code for p in zones.partners], n)
    types = _joined(pt, zone, [p.type.value for p in zones.partners], n)
    grid = routes.grid[cat_idx] & in_grid
    bad = ~(np.isfinite(x) & np.isfinite(y))
    status = np.array([routes.status[i] for i in cat_idx], dtype=object)
    reached = grid | (partners != "")
    routed = status == ""
    status[routed & reached] = "ok"
    status[routed & ~reached] = "unreached"
    status[bad] = "bad_input"
    grid_text = np.where(grid, "yes", "no").astype(object)
    return {
        "category_code": np.array([routes.codes[i] for i in cat_idx], dtype=object),
        "dispatch_grid": grid_text,
        "dispatch_partners": partners,
        "dispatch_partner_types": types,
        "dispatch_status": status,
    }


def _joined(
    pt: npt.NDArray[np.intp], zone: npt.NDArray[np.intp], labels: list[str], n: int
) -> npt.NDArray[np.object_]:
    """Per point, the labels of its zones joined by ``;`` (pairs sorted by point)."""
    out = np.full(n, "", dtype=object)
    if pt.size == 0:
        return out
    text = np.asarray(labels, dtype=object)[zone]
    starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
    ends = np.r_[starts[1:], pt.size]
    for s, e in zip(starts, ends, strict=True):
        out[pt[s]] = ";".join(text[s:e])
    return out


def dispatch_frame(
    frame: pd.DataFrame,
    *,
    category_col: str,
    zones: ZoneIndex,
    routing: RoutingTable,
    categories: CategoryTable | None = None,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
) -> pd.DataFrame:
    """An assigned chunk (:func:`gridgeo.batch.assign_frame` output) with the dispatch columns.

    The grid staff can only be involved where ``status`` is ``ok`` (the point
    is in a leaf grid); the other columns are :func:`dispatch_columns`'.
    """
    # imported here: gridgeo.batch loads the numba index, which only batch runs need
    import pandas as pd

    from gridgeo.batch import coordinates
    from gridgeo.coords import bad_lonlat_mask, parse_coord_system, to_cgcs2000

    lon, lat = coordinates(frame, lon_col, lat_col)
    x, y = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    good = ~bad_lonlat_mask(lon, lat)
    if good.any():
        x[good], y[good] = to_cgcs2000(lon[good], lat[good], parse_coord_system(crs))
    in_grid = (frame["status"] == "ok").to_numpy(dtype=bool)
    added = dispatch_columns(
        x,
        y,
        frame[category_col],
        in_grid,
        zones=zones,
        routing=routing,
        categories=categories,
    )
    out = frame.copy()
    for column in DISPATCH_COLUMNS:
        out[column] = pd.Series(added[column], index=frame.index, dtype="str")
    return out
