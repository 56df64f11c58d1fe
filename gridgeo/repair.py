"""Geometry repair: valid polygons, no overlaps, small gaps filled, children in parents.

The rules, applied level by level from the top (overlays in the stored lon/lat,
where shared edges coincide; areas measured on the ellipsoid by an affine local map,
and only pieces validation calls real are acted on: see :mod:`gridgeo.validation.pieces`):

1. **Make valid.** GEOS ``make_valid`` (structure method); only polygonal parts
   are kept. A feature left with no area is dropped and reported.
2. **Clip to parent.** A child loses whatever lies outside its (already
   repaired) parent.
3. **Resolve overlaps.** Features of a level are taken in code order; each
   keeps what no earlier feature holds. So an overlap always goes to the
   feature with the *smallest code*, the same rule the lookup uses to break
   ties on shared edges.
4. **Fill gaps.** Each gap part (inside a parent, or a hole enclosed between
   parentless features) up to ``max_gap_fill_m2`` joins the neighbour sharing
   the longest border with it (smallest code on a tie); with no neighbour
   touching, the nearest. Larger gaps are left and reported.
5. **Absorb crumbs.** A part of a multi-part feature smaller than
   ``tiny_part_m2`` joins the neighbour sharing its longest border, or is
   dropped when nothing borders it.

Every change is reported with its area. Codes are not changed here (see
``gridgeo codes``); features with unusable codes keep them and validation will
still report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import area_m2
from gridgeo.geometry import (
    difference,
    holes,
    intersection,
    make_valid_polygonal,
    parts,
    polygonal,
    shared_border,
    union,
)
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.validation.pieces import Pieces, real_pieces
from gridgeo.wording import level_name

SNAP_DEG = 1e-7  # borders closer than ~1 cm count as shared when choosing a neighbour


@dataclass(frozen=True)
class RepairAction:
    """One change made by the repair."""

    action: str
    codes: tuple[str, ...]
    area_m2: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "codes": list(self.codes),
            "area_m2": round(self.area_m2, 3),
            "message": self.message,
        }


@dataclass
class RepairResult:
    """The repaired grid set and what was changed."""

    grids: GridSet
    actions: list[RepairAction] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [tr("{n} changes", n=len(self.actions))]
        lines += [f"{a.action:18} {a.message}" for a in self.actions]
        return "\n".join(lines)


class _Repairer:
    """Holds the metric geometries while the rules run; one instance per call."""

    def __init__(self, grids: GridSet, settings: ValidationSettings) -> None:
        self.grids = grids
        self.settings = settings
        self.geoms = make_valid_polygonal(grids.geometries)
        self.actions: list[RepairAction] = []
        self.order = sorted(range(len(grids)), key=self._sort_key)

    def _sort_key(self, i: int) -> tuple[int, str]:
        code = self.grids.codes[i]
        return (0, code) if code is not None else (1, self.grids.refs[i])

    def area(self, geom: BaseGeometry) -> float:
        """Area in m² of an EPSG:4490 geometry."""
        return float(area_m2([geom])[0])

    def real(self, geom: BaseGeometry) -> Pieces:
        """The pieces of an overlay result that are not artefacts (as validation counts them)."""
        return real_pieces(
            np.array([geom], dtype=object),
            area_tolerance_m2=self.settings.area_tolerance_m2,
            tolerance_m=self.settings.tolerance_m,
        )

    def code(self, i: int) -> str:
        return self.grids.codes[i] or self.grids.refs[i]

    def note(self, action: str, codes: tuple[str, ...], area: float, message: str) -> None:
        self.actions.append(RepairAction(action, codes, area, message))

    def run(self) -> RepairResult:
        self._report_made_valid()
        for level in self.grids.levels_present():
            members = [i for i in self.order if self.grids.levels[i] == int(level)]
            self._clip_to_parents(members)
            self._resolve_overlaps(members)
            self._fill_gaps(level, members)
            self._absorb_crumbs(members)
        return self._result()

    def _report_made_valid(self) -> None:
        for i, geom in enumerate(self.grids.geometries):
            if (
                geom is None
                or not shapely.is_valid(geom)
                or geom.geom_type not in ("Polygon", "MultiPolygon")
            ):
                area = self.area(self.geoms[i])
                label = self.grids.label(i)
                self.note(
                    "made_valid" if area > 0 else "dropped",
                    (self.code(i),),
                    area,
                    tr("{grid} made valid ({area:,.1f} m² kept)", grid=label, area=area)
                    if area > 0
                    else tr(
                        "{grid} dropped: no polygonal area left ({area:,.1f} m² kept)",
                        grid=label,
                        area=area,
                    ),
                )

    def _clip_to_parents(self, members: list[int]) -> None:
        parents = self.grids.parent_positions
        for i in members:
            p = int(parents[i])
            if p < 0 or self.geoms[p].is_empty:
                continue
            clipped = intersection(self.geoms[i], self.geoms[p])
            removed = float(self.real(difference(self.geoms[i], self.geoms[p])).area_m2.sum())
            if removed > 0:
                self.note(
                    "clipped_to_parent",
                    (self.code(i), self.code(p)),
                    removed,
                    tr(
                        "{grid}: {area:,.1f} m² outside parent {parent} removed",
                        grid=self.grids.label(i),
                        area=removed,
                        parent=self.code(p),
                    ),
                )
            self.geoms[i] = clipped

    def _resolve_overlaps(self, members: list[int]) -> None:
        tree = shapely.STRtree(self.geoms[members])
        for rank, i in enumerate(members):
            earlier = [
                members[k] for k in tree.query(self.geoms[i], predicate="intersects") if k < rank
            ]
            if not earlier:
                continue
            for j in earlier:
                lost = float(self.real(intersection(self.geoms[i], self.geoms[j])).area_m2.sum())
                if lost > 0:
                    self.note(
                        "overlap_resolved",
                        (self.code(i), self.code(j)),
                        lost,
                        tr(
                            "{area:,.1f} m² claimed by both {first} and {second} kept by "
                            "{first} (smaller code)",
                            area=lost,
                            first=self.code(j),
                            second=self.code(i),
                        ),
                    )
            self.geoms[i] = difference(self.geoms[i], union(self.geoms[earlier]))

    def _fill_gaps(self, level: Level, members: list[int]) -> None:
        parents = self.grids.parent_positions
        groups: dict[int, list[int]] = {}
        for i in members:
            p = int(parents[i])
            groups.setdefault(p if p >= 0 and not self.geoms[p].is_empty else -1, []).append(i)
        for p, children in groups.items():
            covered = union(self.geoms[children])
            gap = difference(self.geoms[p], covered) if p >= 0 else union(holes(covered))
            found = self.real(gap)
            for piece, area in zip(found.geometry, found.area_m2.tolist(), strict=True):
                self._fill_one(level, piece, area, children)

    def _fill_one(
        self, level: Level, piece: BaseGeometry, area: float, candidates: list[int]
    ) -> None:
        if area > self.settings.max_gap_fill_m2:
            self.note(
                "gap_left",
                tuple(self.code(i) for i in candidates[:3]),
                area,
                tr(
                    "gap of {area:,.1f} m² at level {level} {name} is larger "
                    "than max_gap_fill_m2={most:g}; left as is",
                    area=area,
                    level=int(level),
                    name=level_name(level),
                    most=self.settings.max_gap_fill_m2,
                ),
            )
            return
        target = self._best_neighbour(piece, candidates)
        self.geoms[target] = polygonal(union([self.geoms[target], piece]))
        self.note(
            "gap_filled",
            (self.code(target),),
            area,
            tr(
                "gap of {area:,.1f} m² at level {level} {name} joined to {code}",
                area=area,
                level=int(level),
                name=level_name(level),
                code=self.code(target),
            ),
        )

    def _best_neighbour(self, piece: BaseGeometry, candidates: list[int]) -> int:
        borders = [shared_border(piece, self.geoms[i], SNAP_DEG) for i in candidates]
        best = max(range(len(candidates)), key=lambda k: (borders[k], -k))
        if borders[best] > 0:
            return candidates[best]
        distances = shapely.distance(piece, self.geoms[candidates])
        return candidates[int(np.argmin(distances))]

    def _absorb_crumbs(self, members: list[int]) -> None:
        for i in members:
            pieces = parts(self.geoms[i])
            if len(pieces) < 2:
                continue
            area = area_m2(pieces)
            # below the area tolerance a part is numerical debris, not a piece of land:
            # validation does not call it a part, and repair leaves it be
            real = area >= self.settings.area_tolerance_m2
            small = real & (area < self.settings.tiny_part_m2)
            crumbs = [q for q, s in zip(pieces, small, strict=True) if s]
            if not crumbs:
                continue
            big = [q for q, r, s in zip(pieces, real, small, strict=True) if r and not s]
            debris = [q for q, r in zip(pieces, real, strict=True) if not r]
            # a grid of crumbs only keeps its first one (it must keep some land)
            keep, given = (big, crumbs) if big else (crumbs[:1], crumbs[1:])
            self.geoms[i] = union([*keep, *debris])
            others = [j for j in members if j != i and not self.geoms[j].is_empty]
            for crumb in given:
                self._give_crumb(i, crumb, others)

    def _give_crumb(self, owner: int, crumb: BaseGeometry, others: list[int]) -> None:
        area = self.area(crumb)
        borders = [shared_border(crumb, self.geoms[j], SNAP_DEG) for j in others]
        if others and max(borders) > 0:
            target = others[int(np.argmax(borders))]
            self.geoms[target] = union([self.geoms[target], crumb])
            self.note(
                "crumb_moved",
                (self.code(owner), self.code(target)),
                area,
                tr(
                    "{area:,.1f} m² detached part of {code} joined to {target}",
                    area=area,
                    code=self.code(owner),
                    target=self.code(target),
                ),
            )
        else:
            self.note(
                "crumb_dropped",
                (self.code(owner),),
                area,
                tr(
                    "{area:,.1f} m² detached part of {code} dropped (no neighbour)",
                    area=area,
                    code=self.code(owner),
                ),
            )

    def _result(self) -> RepairResult:
        storage = make_valid_polygonal(self.geoms)
        keep = np.array([not g.is_empty for g in storage], dtype=bool)
        repaired = self.grids.with_geometries(storage).subset(np.flatnonzero(keep))
        return RepairResult(repaired, self.actions)


def repair(grids: GridSet, settings: ValidationSettings | None = None) -> RepairResult:
    """Repair a grid set's geometry (see the module docstring for the rules).

    Parameters
    ----------
    grids
        Features in EPSG:4490, valid or not.
    settings
        Thresholds (``area_tolerance_m2``, ``max_gap_fill_m2``, ``tiny_part_m2``).

    Returns
    -------
    RepairResult
        The repaired features (attributes unchanged) and every change with its area.
    """
    return _Repairer(grids, settings or ValidationSettings.defaults()).run()
