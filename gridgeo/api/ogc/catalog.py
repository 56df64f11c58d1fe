"""The collections served (one per level, workstations, partner zones) and their features.

A :class:`FeatureTable` holds one collection's features sorted by id, with
GeoJSON-ready properties and an STRtree for ``bbox``; a :class:`Catalog` holds
every table of one dataset. Catalogs are built once per dataset object (see
:func:`catalog_for`): the store swaps in a new dataset on publish and its
catalog is built on first use, while the old one goes with the old dataset.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.dataset import Dataset
from gridgeo.levels import Level

PARTNER_ZONES = "partner_zones"
WORKSTATIONS = "workstations"


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection is, independent of the data."""

    id: str
    title: str
    description: str
    geometry: str  # "polygon" or "point"
    level: Level | None = None


def level_collection_id(level: Level) -> str:
    """``level1_city`` ... ``level5_grid``."""
    return f"level{int(level)}_{level.en}"


LEVEL_COLLECTIONS: dict[str, CollectionInfo] = {
    level_collection_id(lv): CollectionInfo(
        level_collection_id(lv),
        f"Level {int(lv)}: {lv.en} ({lv.zh})",
        f"Boundaries of level {int(lv)}, {lv.en} ({lv.zh}), of urban grid management "
        "(城市网格化管理); the feature id is the grid code.",
        "polygon",
        lv,
    )
    for lv in Level
}
WORKSTATION_COLLECTION = CollectionInfo(
    WORKSTATIONS,
    "Workstations (城市管理工作站)",
    "Urban-management workstations and the communities each serves; id is the station code.",
    "point",
)
PARTNER_COLLECTION = CollectionInfo(
    PARTNER_ZONES,
    "Partner units' zones (1+2+N 联动单位责任区)",
    "Responsibility zones of the street law-enforcement team and the partner units of the "
    "1+2+N model; id is the unit code. Contacts and phone numbers are not published here.",
    "polygon",
)


@dataclass(frozen=True, eq=False)
class FeatureTable:
    """One collection's features, sorted by id.

    Attributes
    ----------
    info
        The collection.
    ids
        Feature ids (grid, workstation or unit codes), sorted.
    properties
        GeoJSON properties per feature (JSON-safe values).
    geometries
        Shapely geometries in the storage CRS (EPSG:4490, lon/lat).
    """

    info: CollectionInfo
    ids: list[str]
    properties: list[dict[str, Any]]
    geometries: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.geometries)

    @cached_property
    def position_of(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i, fid in enumerate(self.ids):
            out.setdefault(fid, i)
        return out

    @cached_property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) in lon/lat, or None when empty."""
        if not len(self):
            return None
        b = shapely.total_bounds(self.geometries)
        if not np.all(np.isfinite(b)):
            return None
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))

    @cached_property
    def queryables(self) -> dict[str, str]:
        """Property name -> JSON Schema type, for every property a feature has (the
        type every non-null value shares; ``string`` when they differ)."""
        kinds: dict[str, set[str]] = {}
        for props in self.properties:
            for name, value in props.items():
                kinds.setdefault(name, set())
                if value is not None:
                    kinds[name].add(_json_type(value))
        return {
            name: next(iter(found)) if len(found) == 1 else "string"
            for name, found in kinds.items()
        }

    def select(
        self,
        area: shapely.Geometry | None,
        parent_code: str | None = None,
        equals: Mapping[str, str] | None = None,
    ) -> npt.NDArray[np.intp]:
        """Positions (in id order) of the features intersecting ``area`` (all when None)
        and, when given, whose ``parent_code`` property equals ``parent_code`` and whose
        properties equal the values in ``equals`` (query-string text, compared as the
        property's type: ``level=5`` matches the number 5)."""
        if area is None:
            positions = np.arange(len(self), dtype=np.intp)
        else:
            positions = np.sort(self.tree.query(area, predicate="intersects")).astype(np.intp)
        wanted = dict(equals or {})
        if parent_code is not None:
            wanted["parent_code"] = parent_code
        for name, text in wanted.items():
            value = _typed(text, self.queryables.get(name, "string"))
            keep = [self.properties[p].get(name) == value for p in positions]
            positions = positions[np.asarray(keep, dtype=bool)]
        return positions

    def sort(
        self, positions: npt.NDArray[np.intp], keys: Sequence[tuple[str, bool]]
    ) -> npt.NDArray[np.intp]:
        """``positions`` ordered by ``keys`` ((property, descending), first key first),
        nulls last either way, then by id (already the order of ``positions``)."""
        order = list(positions.tolist())
        for name, descending in reversed(keys):  # stable sorts, last key first
            present = [p for p in order if self.properties[p].get(name) is not None]
            missing = [p for p in order if self.properties[p].get(name) is None]
            present.sort(key=lambda p: self.properties[p][name], reverse=descending)
            order = present + missing
        return np.asarray(order, dtype=np.intp)


@dataclass(frozen=True, eq=False)
class Catalog:
    """Every collection of one dataset, in listing order."""

    tables: Mapping[str, FeatureTable] = field(default_factory=dict)

    def infos(self) -> list[CollectionInfo]:
        return [t.info for t in self.tables.values()]


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _typed(text: str, kind: str) -> object:
    """A query-string value as the property's JSON type (unparseable: matches nothing)."""
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
    except ValueError:
        return object()  # equal to no property value
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), object())
    return text


def json_value(value: object) -> Any:
    """A JSON-safe Python value: numpy scalars unwrapped, NaN and NA as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    text = str(value)
    return None if text in ("<NA>", "NaT", "nan") else text


def _sorted_table(
    info: CollectionInfo,
    ids: Sequence[str],
    properties: Sequence[dict[str, Any]],
    geometries: Sequence[Any] | npt.NDArray[np.object_],
) -> FeatureTable:
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    geoms = np.asarray(list(geometries), dtype=object)
    return FeatureTable(
        info,
        [ids[i] for i in order],
        [properties[i] for i in order],
        geoms[order] if order else np.empty(0, dtype=object),
    )


def level_table(data: Dataset, info: CollectionInfo) -> FeatureTable:
    """The features of one level: every attribute except the internal ``ref``.

    Features without a code cannot be addressed by id and are left out; the
    validator reports them.
    """
    assert info.level is not None
    level = info.level
    grids = data.grids
    extra = grids.extra_columns
    positions = [
        i
        for i, (code, lv) in enumerate(zip(grids.codes, grids.levels, strict=True))
        if code is not None and lv == int(level)
    ]
    props = []
    for i in positions:
        row = {
            "code": grids.codes[i],
            "name": grids.names[i],
            "level": int(level),
            "level_name": level.zh,
            "level_name_en": level.en,
            "parent_code": grids.parent_codes[i],
        }
        for column, values in extra.items():
            row[column] = json_value(values[i])
        props.append(row)
    ids = [str(grids.codes[i]) for i in positions]
    return _sorted_table(info, ids, props, grids.geometries[positions])


def workstation_table(data: Dataset) -> FeatureTable:
    """Workstation points with their codes, names, addresses and communities served."""
    stations = data.workstations
    props = [
        {
            "code": ws.code,
            "name": ws.name,
            "address": ws.address,
            "community_codes": ",".join(ws.community_codes),
            "illustrative": ws.illustrative,
            "note": ws.note,
        }
        for ws in stations
    ]
    geoms: list[Any] = [shapely.Point(ws.lon, ws.lat) for ws in stations]
    return _sorted_table(WORKSTATION_COLLECTION, [ws.code for ws in stations], props, geoms)


def partner_table(data: Dataset) -> FeatureTable | None:
    """Partner units' resolved zones, or None while the dataset carries no partners.

    Contact names and phone numbers stay out: this collection is public map data.
    """
    units = getattr(data, "partners", None)
    if units is None:
        return None
    from gridgeo.partners import resolve_zones

    resolved = resolve_zones(list(units), data.grids)
    props = []
    for unit in resolved.partners:
        row = unit.to_dict(with_contact=False)
        zone = row.pop("zone")
        row["zone_kind"] = zone["kind"]
        row["buffer_m"] = zone["buffer_m"]
        row["grid_codes"] = ",".join(zone["grid_codes"])
        props.append({k: json_value(v) for k, v in row.items()})
    ids = [unit.code for unit in resolved.partners]
    return _sorted_table(PARTNER_COLLECTION, ids, props, resolved.geometries)


def build_catalog(data: Dataset) -> Catalog:
    """Every collection of ``data``: the five levels (even when empty), workstations,
    and partner zones once the dataset has partner units."""
    tables: dict[str, FeatureTable] = {
        cid: level_table(data, info) for cid, info in LEVEL_COLLECTIONS.items()
    }
    tables[WORKSTATIONS] = workstation_table(data)
    partners = partner_table(data)
    if partners is not None:
        tables[PARTNER_ZONES] = partners
    return Catalog(tables)


V = TypeVar("V")


class PerDataset(Generic[V]):
    """Values derived from a dataset, computed once per dataset object.

    Keyed by the object's identity (a :class:`Dataset` is an unhashable
    dataclass) with a weak reference, so a value is dropped when its dataset
    is: publishing a new version never serves values of the old one, and the
    old one's memory is freed. Values must not refer back to the dataset.
    """

    def __init__(self, factory: Callable[[Dataset], V]) -> None:
        self._factory = factory
        self._values: dict[int, tuple[weakref.ref[Dataset], V]] = {}
        # re-entrant: the weakref callback may run (GC) while this thread holds it
        self._lock = threading.RLock()

    def __call__(self, data: Dataset) -> V:
        key = id(data)
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and hit[0]() is data:
                return hit[1]
        value = self._factory(data)  # outside the lock: a slow build blocks no other dataset
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and hit[0]() is data:
                return hit[1]
            ref = weakref.ref(data, partial(self._forget, key))
            self._values[key] = (ref, value)
        return value

    def peek(self, data: Dataset) -> V | None:
        """The value of ``data`` if it was computed already; None (and nothing computed)
        otherwise: for callers on the event loop, which must not run a slow build."""
        with self._lock:
            hit = self._values.get(id(data))
        return hit[1] if hit is not None and hit[0]() is data else None

    def _forget(self, key: int, ref: weakref.ref[Dataset]) -> None:
        with self._lock:
            hit = self._values.get(key)
            if hit is not None and hit[0] is ref:
                del self._values[key]

    def __len__(self) -> int:
        return len(self._values)


catalog_for: PerDataset[Catalog] = PerDataset(build_catalog)
"""The catalog of a dataset, built on first use."""
