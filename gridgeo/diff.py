"""Differences between two versions of the boundaries (pure, no I/O).

:func:`diff_grids` compares an *old* and a *new* :class:`~gridgeo.model.GridSet`
and returns a :class:`GridDiff`: one :class:`GridChange` per difference, of
these kinds (a grid may have several, e.g. reshaped and renamed):

``added``       a code in *new* only (and not matched as recoded)
``removed``     a code in *old* only (and not matched as recoded)
``reshaped``    the same grid, geometry changed: the area *new* gained, the area
                it lost, and the moved area (their union, the symmetric difference)
``renamed``     the same code, a different name
``reparented``  the same code, a different parent code
``recoded``     an *old* grid without a counterpart code in *new* that matches an
                unmatched *new* grid of the same level by geometry; reported
                once, not as removed plus added (and also as ``reshaped``, under
                the new code, when its geometry moved by more than the tolerance)

Areas are in m² on the CGCS2000 ellipsoid, measured as validation measures them
(:func:`gridgeo.crs.local_metres`); overlays run in lon/lat (EPSG:4490), as
everywhere in gridgeo. A geometry change counts only by its real pieces
(:mod:`gridgeo.validation.pieces`): gained and lost pieces no wider than
``tolerance_m`` are artefacts, and a change whose real moved area is at or below
``tolerance_m2`` is noise (an export and re-import, a format's coordinate
precision, vertices added along an edge) and is not reported.

The diff is symmetric: ``diff_grids(b, a)`` has the same changes as
``diff_grids(a, b)`` with added/removed, gained/lost and old/new swapped and
area changes negated.

JSON form (:meth:`GridDiff.to_dict`)::

    {"summary": {"old_features": int, "new_features": int, "empty": bool,
                 "counts": {kind: int, ...}, "metric_crs": "EPSG:4546",
                 "tolerance_m2": float},
     "added": [Change, ...], "removed": [...], "reshaped": [...],
     "renamed": [...], "recoded": [...], "reparented": [...]}

    Change = {"kind": str, "code": str|null, "old_code": str|null,
              "name": str, "old_name": str|null, "level": int|null,
              "level_name": str|null, "parent_code": str|null,
              "old_parent_code": str|null, "area_m2": float,
              "area_change_m2": float, "gained_m2": float, "lost_m2": float}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import STORAGE_EPSG, MetricFrame, area_m2
from gridgeo.geometry import EMPTY, make_valid_polygonal, polygonal
from gridgeo.geometry import difference as robust_difference
from gridgeo.geometry import intersection as robust_intersection
from gridgeo.geometry import union as robust_union
from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.validation.pieces import real_pieces

ChangeKind = Literal["added", "removed", "reshaped", "renamed", "recoded", "reparented"]
KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
"""Every kind of change, in report order."""

DEFAULT_TOLERANCE_M2: float = ValidationSettings.model_fields["area_tolerance_m2"].default
"""Moved areas at or below this (m²) are noise: the validator's area tolerance, 1 m²."""
DEFAULT_TOLERANCE_M: float = ValidationSettings.model_fields["tolerance_m"].default
"""Moved pieces no wider than this (m) are artefacts: the validator's, 0.05 m."""

DEFAULT_MIN_IOU = 0.99
"""Intersection over union from which a removed and an added grid are one recoded grid."""

STORAGE_CRS_MEMBER = {
    "type": "name",
    "properties": {"name": f"urn:ogc:def:crs:EPSG::{STORAGE_EPSG}"},
}

Objects = npt.NDArray[np.object_]
Floats = npt.NDArray[np.float64]

# Words of the text report; kinds keep their English names as keys.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "added": "added",
        "removed": "removed",
        "reshaped": "reshaped",
        "renamed": "renamed",
        "recoded": "recoded",
        "reparented": "reparented",
        "moved": "+{gained} gained, -{lost} lost (net {net})",
        "parent": "parent {old} -> {new}",
        "was": "was {name}, ",
        "no_code": "(no code)",
        "no_name": "(no name)",
        "count": "{n} {kind}",
        "sep": ", ",
        "line": "{kind} {code}{name}{level}: {detail}",
        "empty": "no differences",
        "head": "{found} ({old} -> {new} features; areas in m² in EPSG:{epsg}; "
        "moves of {tol} or less ignored)",
    },
    "zh": {
        "added": "新增",
        "removed": "删除",
        "reshaped": "边界调整",
        "renamed": "更名",
        "recoded": "改编码",
        "reparented": "变更上级",
        "moved": "增加 {gained}，减少 {lost}（净变化 {net}）",
        "parent": "上级 {old} -> {new}",
        "was": "原名 {name}，",
        "no_code": "（无编码）",
        "no_name": "（无名称）",
        "count": "{kind} {n} 处",
        "sep": "，",
        "line": "{kind} {code}{name}{level}：{detail}",
        "empty": "无差异",
        "head": "{found}（要素 {old} -> {new} 个；面积单位 m²，EPSG:{epsg}；"
        "忽略 {tol} 及以下的变动）",
    },
}


@dataclass(frozen=True)
class GridChange:
    """One difference between the old and the new grid set.

    Attributes
    ----------
    kind
        One of :data:`KINDS`.
    code, name, level, parent_code
        The grid as it is in the new set; for ``removed``, as it was in the old.
    old_code
        The code in the old set, for ``recoded`` (and ``reshaped`` of a recoded grid).
    old_name
        The name in the old set, for ``renamed`` and ``recoded``.
    old_parent_code
        The parent in the old set, for ``reparented`` and ``recoded``.
    area_m2
        Area of the grid (new; old for ``removed``).
    area_change_m2
        New area minus old area: +area for ``added``, -area for ``removed``,
        0 for ``renamed`` and ``reparented``.
    gained_m2, lost_m2
        Areas of ``gained`` and ``lost`` (``reshaped`` only, else 0).
    geometry
        What a map shows, EPSG:4490: the moved area (``gained`` ∪ ``lost``) for
        ``reshaped``, the grid itself for every other kind.
    gained, lost
        New minus old and old minus new geometry (``reshaped`` only, else empty).
    """

    kind: ChangeKind
    code: str | None
    name: str
    level: Level | None
    old_code: str | None = None
    old_name: str | None = None
    parent_code: str | None = None
    old_parent_code: str | None = None
    area_m2: float = 0.0
    area_change_m2: float = 0.0
    gained_m2: float = 0.0
    lost_m2: float = 0.0
    geometry: BaseGeometry = field(default=EMPTY, repr=False)
    gained: BaseGeometry = field(default=EMPTY, repr=False)
    lost: BaseGeometry = field(default=EMPTY, repr=False)

    @property
    def moved_m2(self) -> float:
        """Area of the symmetric difference (gained plus lost), m²."""
        return self.gained_m2 + self.lost_m2

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without geometry), areas rounded to 0.001 m²."""
        return {
            "kind": self.kind,
            "code": self.code,
            "old_code": self.old_code,
            "name": self.name,
            "old_name": self.old_name,
            "level": int(self.level) if self.level is not None else None,
            "level_name": self.level.label if self.level is not None else None,
            "parent_code": self.parent_code,
            "old_parent_code": self.old_parent_code,
            "area_m2": round(self.area_m2, 3),
            "area_change_m2": round(self.area_change_m2, 3),
            "gained_m2": round(self.gained_m2, 3),
            "lost_m2": round(self.lost_m2, 3),
        }

    def to_text(self, lang: str = "en") -> str:
        """One line, e.g. ``reshaped 450302001001002 文明社区第2网格 (grid 五级网格): ...``.

        ``lang="en"`` (default) writes English with the Chinese level name
        alongside; ``lang="zh"`` writes Chinese.
        """
        words = _WORDS["zh" if lang == "zh" else "en"]
        code = self.code or words["no_code"]
        if self.old_code is not None:
            code = f"{self.old_code} -> {code}"
        level = ""
        if self.level is not None:
            level = (
                f"（{self.level.zh}）" if lang == "zh" else f" ({self.level.en} {self.level.zh})"
            )
        name = f" {self.name}" if self.name else ""
        return words["line"].format(
            kind=words[self.kind], code=code, name=name, level=level, detail=self._detail(words)
        )

    def _detail(self, words: dict[str, str]) -> str:
        if self.kind == "reshaped":
            return words["moved"].format(
                gained=_m2(self.gained_m2),
                lost=_m2(self.lost_m2),
                # from the parts as shown, so that the line adds up (gained - lost
                # is the area change exactly; rounded apart, they could miss by 0.1)
                net=f"{round(self.gained_m2, 1) - round(self.lost_m2, 1):+,.1f} m²",
            )
        if self.kind == "renamed":
            return f"{self.old_name or words['no_name']} -> {self.name or words['no_name']}"
        if self.kind == "reparented":
            return words["parent"].format(old=self.old_parent_code, new=self.parent_code)
        if self.kind == "recoded" and self.old_name != self.name:
            return words["was"].format(name=self.old_name or words["no_name"]) + _m2(self.area_m2)
        return _m2(self.area_m2)  # added, removed, recoded under the same name


@dataclass(frozen=True)
class GridDiff:
    """All differences from an old to a new grid set (see the module docstring)."""

    changes: tuple[GridChange, ...]
    old_features: int
    new_features: int
    metric_epsg: int
    tolerance_m2: float

    @property
    def is_empty(self) -> bool:
        """True when the two sets are the same within the tolerance."""
        return not self.changes

    def of_kind(self, kind: ChangeKind) -> tuple[GridChange, ...]:
        """The changes of one kind, in report order."""
        return tuple(c for c in self.changes if c.kind == kind)

    @property
    def added(self) -> tuple[GridChange, ...]:
        return self.of_kind("added")

    @property
    def removed(self) -> tuple[GridChange, ...]:
        return self.of_kind("removed")

    @property
    def reshaped(self) -> tuple[GridChange, ...]:
        return self.of_kind("reshaped")

    @property
    def renamed(self) -> tuple[GridChange, ...]:
        return self.of_kind("renamed")

    @property
    def recoded(self) -> tuple[GridChange, ...]:
        return self.of_kind("recoded")

    @property
    def reparented(self) -> tuple[GridChange, ...]:
        return self.of_kind("reparented")

    @property
    def counts(self) -> dict[str, int]:
        """Number of changes of every kind (zeros included), in report order."""
        return {kind: len(self.of_kind(kind)) for kind in KINDS}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema in the module docstring)."""
        return {
            "summary": {
                "old_features": self.old_features,
                "new_features": self.new_features,
                "empty": self.is_empty,
                "counts": self.counts,
                "metric_crs": f"EPSG:{self.metric_epsg}",
                "tolerance_m2": self.tolerance_m2,
            },
            **{kind: [c.to_dict() for c in self.of_kind(kind)] for kind in KINDS},
        }

    def to_geojson(self) -> dict[str, Any]:
        """A FeatureCollection (EPSG:4490, named in a ``crs`` member), one feature per change.

        Properties are :meth:`GridChange.to_dict`; the geometry is the moved
        area for ``reshaped`` and the grid for every other kind (null when the
        grid has no area).
        """
        features = [
            {
                "type": "Feature",
                "properties": c.to_dict(),
                "geometry": None if c.geometry.is_empty else shapely.geometry.mapping(c.geometry),
            }
            for c in self.changes
        ]
        # Named CRS member, as gridgeo's GeoJSON files carry: GDAL and QGIS then read
        # the coordinates as CGCS2000 instead of assuming WGS84.
        return {"type": "FeatureCollection", "crs": STORAGE_CRS_MEMBER, "features": features}

    def to_text(self, lang: str = "en") -> str:
        """A summary line, then one line per change (``lang``: ``"en"`` or ``"zh"``)."""
        words = _WORDS["zh" if lang == "zh" else "en"]
        found = words["sep"].join(
            words["count"].format(n=n, kind=words[kind]) for kind, n in self.counts.items() if n
        )
        head = words["head"].format(
            found=found or words["empty"],
            old=self.old_features,
            new=self.new_features,
            epsg=self.metric_epsg,
            tol=_m2(self.tolerance_m2),
        )
        return "\n".join([head, *(c.to_text(lang) for c in self.changes)])


def diff_grids(
    old: GridSet,
    new: GridSet,
    *,
    tolerance_m2: float = DEFAULT_TOLERANCE_M2,
    min_iou: float = DEFAULT_MIN_IOU,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> GridDiff:
    """The differences from ``old`` to ``new``.

    Parameters
    ----------
    old, new
        The two versions. Grids are matched by code (the first feature of a
        duplicated code; later duplicates and features without a code count as
        unmatched); unmatched grids are then matched by geometry (recoded).
        Invalid geometries are made valid first, as validation does.
    tolerance_m2
        A matched grid whose symmetric difference has at most this area (m²)
        is unchanged; default the validator's area tolerance (1 m²).
    tolerance_m
        Gained and lost pieces no wider than this (m) are artefacts (rounded
        coordinates, extra vertices), as validation counts them
        (:mod:`gridgeo.validation.pieces`); default 0.05 m.
    min_iou
        An unmatched old grid and an unmatched new grid of the same level are
        one recoded grid when their intersection over union is at least this,
        or their symmetric difference is at most ``tolerance_m2``. Each grid
        takes part in at most one pair, the pairs of highest overlap first.

    Returns
    -------
    GridDiff
        Changes ordered by kind (:data:`KINDS`), then level, then code.

    Raises
    ------
    ValueError
        If ``tolerance_m2`` is negative or ``min_iou`` is not in (0, 1].
    """
    if not tolerance_m2 >= 0:  # also refuses NaN
        raise ValueError(tr("tolerance_m2 must be >= 0, not {value}", value=tolerance_m2))
    if not 0 < min_iou <= 1:
        raise ValueError(tr("min_iou must be in (0, 1], not {value}", value=min_iou))
    old_geoms = make_valid_polygonal(old.geometries)
    new_geoms = make_valid_polygonal(new.geometries)
    both = np.concatenate([old_geoms, new_geoms])
    metric = MetricFrame.for_geometries(both) if len(both) else MetricFrame(111.0)
    ctx = _Context(old, new, old_geoms, new_geoms, metric, tolerance_m2, tolerance_m)

    old_pos, new_pos = _pairs_by_code(old, new)
    changes = [
        *ctx.reshaped(old_pos, new_pos, recoded=False),
        *ctx.attribute_changes(old_pos, new_pos),
    ]
    gone = np.setdiff1d(np.arange(len(old)), old_pos)
    born = np.setdiff1d(np.arange(len(new)), new_pos)
    rec_old, rec_new = ctx.pairs_by_geometry(gone, born, min_iou)
    changes += ctx.recoded(rec_old, rec_new)
    changes += ctx.reshaped(rec_old, rec_new, recoded=True)
    changes += ctx.whole("removed", np.setdiff1d(gone, rec_old))
    changes += ctx.whole("added", np.setdiff1d(born, rec_new))
    return GridDiff(
        tuple(sorted(changes, key=_order)), len(old), len(new), metric.epsg, tolerance_m2
    )


def _pairs_by_code(old: GridSet, new: GridSet) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Positions in ``old`` and ``new`` of the codes both have (first occurrence of each)."""
    pairs = [(i, new.position_of[c]) for c, i in old.position_of.items() if c in new.position_of]
    if not pairs:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    arr = np.asarray(pairs, dtype=np.intp)
    return arr[:, 0], arr[:, 1]


@dataclass(frozen=True)
class _Context:
    """The two sets with valid geometries and the metric frame, shared by the steps."""

    old: GridSet
    new: GridSet
    old_geoms: Objects
    new_geoms: Objects
    metric: MetricFrame
    tolerance_m2: float
    tolerance_m: float

    def _real(self, moved: Objects) -> Objects:
        """Each moved area with only its real pieces (empty where it has none): pieces
        thinner than ``tolerance_m`` or smaller than the area tolerance are artefacts."""
        found = real_pieces(moved, area_tolerance_m2=0.0, tolerance_m=self.tolerance_m)
        out = np.array([EMPTY] * len(moved), dtype=object)
        for owner, at in found.by_owner():
            pieces = found.geometry[at]
            out[owner] = pieces[0] if len(pieces) == 1 else MultiPolygon(list(pieces))
        return out

    def reshaped(
        self, old_pos: npt.NDArray[np.intp], new_pos: npt.NDArray[np.intp], *, recoded: bool
    ) -> list[GridChange]:
        """``reshaped`` for matched pairs whose moved area exceeds the tolerance."""
        a, b = self.old_geoms[old_pos], self.new_geoms[new_pos]
        # Byte-identical geometries (most of them) skip the overlay altogether.
        todo = np.flatnonzero(~shapely.equals_exact(a, b, tolerance=0.0))
        if todo.size == 0:
            return []
        gained = self._real(_overlay(shapely.difference, robust_difference, b[todo], a[todo]))
        lost = self._real(_overlay(shapely.difference, robust_difference, a[todo], b[todo]))
        gained_m2, lost_m2 = area_m2(gained), area_m2(lost)
        real = np.flatnonzero(gained_m2 + lost_m2 > self.tolerance_m2)
        if real.size == 0:
            return []
        sel = todo[real]
        area_old = area_m2(a[sel])
        area_new = area_m2(b[sel])
        moved = _overlay(shapely.union, _robust_union, gained[real], lost[real])
        out = []
        for k, (i, j) in enumerate(zip(old_pos[sel], new_pos[sel], strict=True)):
            r = real[k]
            out.append(
                GridChange(
                    kind="reshaped",
                    old_code=self._old_code_if_recoded(int(i), int(j), recoded),
                    area_m2=float(area_new[k]),
                    area_change_m2=float(area_new[k] - area_old[k]),
                    gained_m2=float(gained_m2[r]),
                    lost_m2=float(lost_m2[r]),
                    geometry=polygonal(moved[k]),
                    gained=polygonal(gained[r]),
                    lost=polygonal(lost[r]),
                    **self._new_grid(int(j)),
                )
            )
        return out

    def attribute_changes(
        self, old_pos: npt.NDArray[np.intp], new_pos: npt.NDArray[np.intp]
    ) -> list[GridChange]:
        """``renamed`` and ``reparented`` for grids matched by code."""
        out = []
        for i, j in zip(old_pos.tolist(), new_pos.tolist(), strict=True):
            old_name, old_parent = self.old.names[i], self.old.parent_codes[i]
            renamed = old_name != self.new.names[j]
            reparented = old_parent != self.new.parent_codes[j]
            if not (renamed or reparented):
                continue
            area = float(area_m2([self.new_geoms[j]])[0])
            grid = self._new_grid(j) | {"area_m2": area, "geometry": self.new_geoms[j]}
            if renamed:
                out.append(GridChange(kind="renamed", old_name=old_name, **grid))
            if reparented:
                out.append(GridChange(kind="reparented", old_parent_code=old_parent, **grid))
        return out

    def pairs_by_geometry(
        self, gone: npt.NDArray[np.intp], born: npt.NDArray[np.intp], min_iou: float
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Old and new positions of recoded grids among unmatched ones (same level)."""
        old_lv, new_lv = self.old.levels, self.new.levels
        found: list[tuple[float, str, str, int, int]] = []
        for level in np.intersect1d(old_lv[gone], new_lv[born]).tolist():
            found += self._candidates(
                gone[old_lv[gone] == level], born[new_lv[born] == level], min_iou
            )
        # Greedy, best overlap first; the tie-break on the sorted keys keeps it symmetric.
        found.sort(key=lambda t: (-t[0], *sorted((t[1], t[2]))))
        used_old: set[int] = set()
        used_new: set[int] = set()
        pairs = []
        for _, _, _, i, j in found:
            if i not in used_old and j not in used_new:
                used_old.add(i)
                used_new.add(j)
                pairs.append((i, j))
        if not pairs:
            return np.empty(0, np.intp), np.empty(0, np.intp)
        arr = np.asarray(sorted(pairs), dtype=np.intp)
        return arr[:, 0], arr[:, 1]

    def _candidates(
        self, gone: npt.NDArray[np.intp], born: npt.NDArray[np.intp], min_iou: float
    ) -> list[tuple[float, str, str, int, int]]:
        """(iou, old key, new key, old position, new position) of matching pairs."""
        a, b = self.old_geoms[gone], self.new_geoms[born]
        qi, ti = shapely.STRtree(b).query(a, predicate="intersects")
        if qi.size == 0:
            return []
        inter = _overlay(shapely.intersection, robust_intersection, a[qi], b[ti])
        inter_m2 = area_m2(inter)
        union_m2 = area_m2(a)[qi] + area_m2(b)[ti] - inter_m2
        iou = np.divide(inter_m2, union_m2, out=np.zeros_like(inter_m2), where=union_m2 > 0)
        ok = (iou >= min_iou) | ((union_m2 - inter_m2 <= self.tolerance_m2) & (union_m2 > 0))
        out = []
        for k in np.flatnonzero(ok).tolist():
            i, j = int(gone[qi[k]]), int(born[ti[k]])
            out.append((float(iou[k]), _key(self.old, i), _key(self.new, j), i, j))
        return out

    def recoded(
        self, old_pos: npt.NDArray[np.intp], new_pos: npt.NDArray[np.intp]
    ) -> list[GridChange]:
        """``recoded`` for the pairs matched by geometry.

        Pairs with the same code (features without a code, later duplicates of
        a code) are the same grid matched by geometry, not a recode.
        """
        differ = np.array(
            [self.old.codes[i] != self.new.codes[j] for i, j in zip(old_pos, new_pos, strict=True)],
            dtype=bool,
        )
        old_pos, new_pos = old_pos[differ], new_pos[differ]
        if old_pos.size == 0:
            return []
        area = area_m2(self.new_geoms[new_pos])
        area_old = area_m2(self.old_geoms[old_pos])
        return [
            GridChange(
                kind="recoded",
                old_code=self.old.codes[i],
                old_name=self.old.names[i],
                old_parent_code=self.old.parent_codes[i],
                area_m2=float(area[k]),
                area_change_m2=float(area[k] - area_old[k]),
                geometry=self.new_geoms[j],
                **self._new_grid(j),
            )
            for k, (i, j) in enumerate(zip(old_pos.tolist(), new_pos.tolist(), strict=True))
        ]

    def whole(self, kind: ChangeKind, positions: npt.NDArray[np.intp]) -> list[GridChange]:
        """``added`` (positions in new) or ``removed`` (positions in old) grids."""
        side, geoms = (self.new, self.new_geoms) if kind == "added" else (self.old, self.old_geoms)
        area = area_m2(geoms[positions]) if positions.size else np.empty(0)
        sign = 1.0 if kind == "added" else -1.0
        return [
            GridChange(
                kind=kind,
                code=side.codes[p],
                name=side.names[p],
                level=_level(int(side.levels[p])),
                parent_code=side.parent_codes[p],
                area_m2=float(area[k]),
                area_change_m2=sign * float(area[k]),
                geometry=geoms[p],
            )
            for k, p in enumerate(positions.tolist())
        ]

    def _old_code_if_recoded(self, i: int, j: int, recoded: bool) -> str | None:
        code = self.old.codes[i]
        return code if recoded and code != self.new.codes[j] else None

    def _new_grid(self, j: int) -> dict[str, Any]:
        return {
            "code": self.new.codes[j],
            "name": self.new.names[j],
            "level": _level(int(self.new.levels[j])),
            "parent_code": self.new.parent_codes[j],
        }


def _overlay(
    vectorised: Callable[..., Any],
    robust: Callable[[BaseGeometry, BaseGeometry], BaseGeometry],
    a: Objects,
    b: Objects,
) -> Objects:
    """Element-wise overlay in one GEOS call; pair by pair with the robust helper if it fails."""
    try:
        return np.asarray(vectorised(a, b), dtype=object)
    except GEOSException:
        return np.asarray([robust(x, y) for x, y in zip(a, b, strict=True)], dtype=object)


def _robust_union(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    return robust_union([a, b])


def _level(value: int) -> Level | None:
    return Level(value) if 1 <= value <= 5 else None


def _key(side: GridSet, position: int) -> str:
    return side.codes[position] or side.refs[position]


def _order(c: GridChange) -> tuple[int, int, str, str]:
    level = int(c.level) if c.level is not None else 9
    return (KINDS.index(c.kind), level, c.code or "", c.old_code or "")


def _m2(value: float) -> str:
    return f"{value:,.1f} m²"
