"""A vectorised Mapbox vector tile encoder for polygon layers.

``mapbox-vector-tile`` encodes a feature at a time in Python: about 55 µs per grid,
so the z8 tile over a 20,000-grid city took 1.1 s, where PostGIS's ``ST_AsMVT``
answers in 0.1 s. This module writes the same bytes with numpy: the rings'
commands (MoveTo, LineTo, ClosePath), the zig-zag deltas, the varints and the
protobuf framing are computed for every feature of the tile at once.

It follows ``mapbox_vector_tile.encode`` with its defaults (``y_coord_down`` False,
``check_winding_order`` True, no invalid-geometry handler) step for step, so the
output is byte for byte the same for valid polygons (``tests/test_mvt_encoder.py``
compares them; a ring that crosses itself may be oriented otherwise, see below):

- coordinates are rounded to tile units, y up; rings are oriented exterior
  clockwise, holes anticlockwise (what ``shapely.geometry.polygon.orient(sign=-1)``
  does, here by the sign of the ring's area: the same for any ring that does not
  cross itself, and the MVT specification's own rule), then y is flipped;
- a ring's closing point is left out, and a point equal to the one before it;
  a ring left with no LineTo is dropped, and an exterior's holes with it;
  a feature left with no ring is dropped (with its properties);
- one cursor runs through a feature's rings;
- property keys and values are numbered by first appearance in the tile; a bool
  is a value of its own, other values are one value when Python's ``==`` says so
  (``1`` and ``1.0``), as in ``mapbox_vector_tile``.

Point layers (workstations) are few and small; they keep ``mapbox_vector_tile``.

One more difference with a table made by :meth:`PropertyTable.of`, which gridgeo's
layers never meet (a property there always has one type): values are numbered over all
of a tile's features before rings that round away drop some, so where one property
holds both ``1`` and ``1.0`` and the first of them belongs to a dropped feature, the
value kept is that one's (``mapbox_vector_tile`` numbers the kept features' only). The
tile layers' :class:`PropertyCache` numbers the kept features' only, as it does.

A feature's message is a run of varints only (field tags, lengths, id, tags, commands:
the tags are below 128, their own varints), so a tile's features are laid out as one
stream of integers and written in one step (:func:`_feature_messages`).
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

MOVE_TO_ONE = (1 << 3) | 1
CLOSE_PATH = (1 << 3) | 7
LINE_TO = 2
POLYGON = 3
VERSION = 2


_VARINT_LIMITS = np.array([1 << bits for bits in range(7, 64, 7)], dtype=np.uint64)
_SHIFTS = np.uint64(7) * np.arange(10, dtype=np.uint64)
_COLUMNS = np.arange(10)


def varint_lengths(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Each value's protobuf varint length in bytes."""
    found = np.searchsorted(_VARINT_LIMITS, np.asarray(values, dtype=np.uint64), side="right")
    return found.astype(np.int64) + 1


def varints(values: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Protobuf varints of ``values``: the bytes, one after the other, and each one's length."""
    values = np.asarray(values, dtype=np.uint64)
    lengths = varint_lengths(values)
    if not len(values):
        return np.zeros(0, dtype=np.uint8), lengths
    width = int(lengths.max())
    if width == 1:  # all below 128: the bytes are the values
        return values.astype(np.uint8), lengths
    if len(values) <= 256:  # few values: a row of up to ten bytes each, then the used ones
        k = _COLUMNS[:width]
        chunks = ((values[:, None] >> _SHIFTS[:width]) & np.uint64(0x7F)).astype(np.uint8)
        chunks[k < (lengths - 1)[:, None]] |= np.uint8(0x80)
        return chunks[k < lengths[:, None]], lengths
    starts = np.cumsum(lengths) - lengths
    which = np.repeat(np.arange(len(values)), lengths)
    k = np.arange(len(which), dtype=np.int64) - starts[which]
    chunk = (values[which] >> (np.uint64(7) * k.astype(np.uint64))) & np.uint64(0x7F)
    more = k < lengths[which] - 1
    return (chunk | (more.astype(np.uint64) << np.uint64(7))).astype(np.uint8), lengths


def varint(value: int) -> bytes:
    """One varint (negative values as 64-bit two's complement, as protobuf's int64)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _framed(tag: int, payload: bytes) -> bytes:
    if len(payload) < 0x80:  # most: one length byte
        return bytes((tag, len(payload))) + payload
    return bytes([tag]) + varint(len(payload)) + payload


def _value_message(value: Any) -> bytes:
    """A ``Tile.Value`` message: string (1), double (3), int64 (4) or bool (7)."""
    if isinstance(value, bool):
        return b"\x38" + (b"\x01" if value else b"\x00")
    if isinstance(value, str):
        return _framed(0x0A, value.encode())
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:  # as mapbox_vector_tile: no silent wrap-around
            raise ValueError(f"{value} does not fit a vector tile's int64")
        return b"\x20" + varint(value)
    return b"\x19" + struct.pack("<d", value)


def _value_field(value: Any) -> bytes:
    """A layer's ``values`` field holding ``value`` (the short string at once: most are)."""
    if value.__class__ is str:
        text = value.encode()
        if len(text) < 0x7E:  # both lengths one byte
            return bytes((0x22, len(text) + 2, 0x0A, len(text))) + text
    return _framed(0x22, _value_message(value))


MVT_TYPES = (str, int, float, bool)
"""Property values a tile can hold."""
_BOOLS = {True: ("bool", True), False: ("bool", False)}
_VALUE_OF: dict[Any, bool] = {key: value for value, key in _BOOLS.items()}


def _kept_counts(properties: Sequence[dict[str, Any]], kept: int) -> npt.NDArray[np.int64]:
    """How many of each feature's properties MVT holds, given ``kept`` of them in all:
    every one, unless some value was left out (then counted feature by feature)."""
    counts = np.fromiter((len(props) for props in properties), np.int64, len(properties))
    if kept != int(counts.sum()):
        counts = np.fromiter(
            (sum(isinstance(v, MVT_TYPES) for v in props.values()) for props in properties),
            np.int64,
            len(properties),
        )
    return counts


@dataclass(frozen=True)
class PropertyTable:
    """A layer's properties numbered once: every key and distinct value, and per feature
    its (key, value) numbers in the feature's order.

    ``typed``: for a table that numbers values of different types apart even when Python
    calls them equal (``1`` and ``1.0``: :class:`PropertyCache`), each value as
    ``mapbox_vector_tile`` compares it; a tile then merges such values as it does."""

    keys: Sequence[bytes]  # each key's field of the layer (tag, length, text)
    values: Sequence[bytes]  # each value's field of the layer (tag, length, Value message)
    tag_keys: npt.NDArray[np.int64]
    tag_values: npt.NDArray[np.int64]
    offsets: npt.NDArray[np.int64]
    typed: Sequence[Any] | None = None

    @classmethod
    def of(cls, properties: Sequence[dict[str, Any]]) -> PropertyTable:
        """``properties``: per feature; what MVT cannot hold (None, lists) is left out, as
        ``mapbox_vector_tile`` leaves it out.

        Whole-list steps rather than a loop per value: 0.05 s for 20,000 grids."""
        # flat lists, no list or tuple per feature: fewer objects for the garbage collector
        names = [n for props in properties for n, v in props.items() if isinstance(v, MVT_TYPES)]
        # bools apart (True is not 1); else 1 and 1.0 are one value, as mapbox_vector_tile has it
        typed = [
            _BOOLS[v] if v.__class__ is bool else v
            for props in properties
            for v in props.values()
            if isinstance(v, MVT_TYPES)
        ]
        counts = _kept_counts(properties, len(names))
        key_ids = {name: i for i, name in enumerate(dict.fromkeys(names))}
        value_ids = {value: i for i, value in enumerate(dict.fromkeys(typed))}
        return cls(
            [_framed(0x1A, name.encode()) for name in key_ids],
            [_framed(0x22, _value_message(_VALUE_OF.get(key, key))) for key in value_ids],
            np.fromiter((key_ids[n] for n in names), np.int64, len(names)),
            np.fromiter((value_ids[v] for v in typed), np.int64, len(typed)),
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        )


class PropertyCache:
    """A layer's properties numbered feature by feature, as tiles first need them.

    :meth:`PropertyTable.of` numbers a tile's properties for each tile (0.1 ms for a z14
    tile's forty grids, as much as its geometry); this numbers each feature's once per
    layer and a tile only gathers its rows. A value is numbered by its type and value (1
    and 1.0 apart, bools apart), and the tile merges values Python calls equal
    (:attr:`PropertyTable.typed`), so the bytes are those of :meth:`PropertyTable.of`.
    Thread-safe: rows are filled under a lock, and a row counts once its length is set.
    """

    def __init__(self, properties: Sequence[dict[str, Any]]) -> None:
        self._properties = properties
        n = len(properties)
        width = max(map(len, properties), default=0)
        self._width = width
        self._keys_of = np.zeros((n, width), dtype=np.int64)
        self._values_of = np.zeros((n, width), dtype=np.int64)
        self._count = np.full(n, -1, dtype=np.int64)  # -1: not numbered yet
        self._key_ids: dict[str, int] = {}
        self._value_ids: dict[Any, int] = {}
        self.keys: list[bytes] = []
        self.values: list[bytes] = []
        self.typed: list[Any] = []
        self._lock = threading.Lock()

    def table(self, positions: npt.NDArray[np.int64]) -> PropertyTable:
        """The properties of the features at ``positions``, row ``i`` the feature at
        ``positions[i]``."""
        count = self._count[positions]
        missing = count < 0
        if missing.any():
            self._fill(positions[missing])
            count = self._count[positions]
        on = np.arange(self._width) < count[:, None]
        return PropertyTable(
            self.keys,
            self.values,
            self._keys_of[positions][on],
            self._values_of[positions][on],
            _offsets(count),
            self.typed,
        )

    def missing(self, positions: npt.NDArray[np.int64]) -> int:
        """How many of the features at ``positions`` are not numbered yet."""
        return int((self._count[positions] < 0).sum())

    def _fill(self, positions: npt.NDArray[np.int64]) -> None:
        """Number the properties of the features at ``positions``: whole-list steps, as
        :meth:`PropertyTable.of` (a loop per value in Python, writing numpy items one by
        one, took four times as long)."""
        with self._lock:
            positions = positions[self._count[positions] < 0]  # others may have done some
            if not len(positions):
                return
            properties = [self._properties[p] for p in positions.tolist()]
            names = [
                n for props in properties for n, v in props.items() if isinstance(v, MVT_TYPES)
            ]
            values = [v for props in properties for v in props.values() if isinstance(v, MVT_TYPES)]
            counts = _kept_counts(properties, len(names))
            key_ids = self._key_ids
            for name in dict.fromkeys(names):
                if name not in key_ids:
                    self.keys.append(_framed(0x1A, name.encode()))
                    key_ids[name] = len(self.keys) - 1
            keyed = [_value_key(v) for v in values]
            value_ids = self._value_ids
            for key, value in zip(keyed, values, strict=True):
                if key not in value_ids:
                    self.values.append(_value_field(value))
                    self.typed.append(_BOOLS[value] if value.__class__ is bool else value)
                    value_ids[key] = len(self.values) - 1
            rows = np.repeat(positions, counts)
            columns = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
            self._keys_of[rows, columns] = [key_ids[n] for n in names]
            self._values_of[rows, columns] = [value_ids[k] for k in keyed]
            self._count[positions] = counts  # last: a row counts once its length is set


def _value_key(value: Any) -> Any:
    """What :class:`PropertyCache` numbers a value by: a str itself (no other type equals
    one); others with their type, so that 1, 1.0 and True stay apart until a tile merges
    them, and a float with its sign (0.0 and -0.0 are equal but written apart)."""
    if value.__class__ is str:
        return value
    if isinstance(value, float):
        return (value.__class__, value, math.copysign(1.0, value))
    return (value.__class__, value)


def _merged(
    ids: npt.NDArray[np.int64], local: npt.NDArray[np.int64], typed: Sequence[Any]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``ids`` (in order of first appearance) and each tag's number in them, with values
    Python calls equal made one, the first seen kept (``mapbox_vector_tile``'s dict)."""
    values = [typed[i] for i in ids.tolist()]
    if len(dict.fromkeys(values)) == len(values):
        return ids, local
    first: dict[Any, int] = {}
    kept: list[int] = []
    renumbered = []
    for i, value in enumerate(values):
        j = first.setdefault(value, len(kept))
        if j == len(kept):
            kept.append(i)
        renumbered.append(j)
    return ids[kept], np.asarray(renumbered, dtype=np.int64)[local]


def _first_seen(ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(distinct ids in order of first appearance, each id's number in that order)."""
    if not len(ids):
        return ids, ids
    distinct, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return distinct[order], rank[inverse.ravel()]


def _ranges(starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The concatenation of ``arange(s, e)`` for each pair."""
    counts = ends - starts
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    out: npt.NDArray[np.int64] = np.arange(int(counts.sum()), dtype=np.int64) + shift
    return out


def _zigzag(n: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    return ((n << 1) ^ (n >> 63)).astype(np.uint64)


@dataclass(frozen=True)
class Ragged:
    """Polygonal features as arrays, no geometry object: shapely's ragged layout of
    multipolygons. Feature ``f``'s polygons are ``parts[f]`` to ``parts[f + 1]`` (in
    ``polygons``), polygon ``p``'s rings ``polygons[p]`` to ``polygons[p + 1]`` (in
    ``rings``), ring ``r``'s points ``rings[r]`` to ``rings[r + 1]`` (in ``coords``)."""

    coords: npt.NDArray[np.float64]
    rings: npt.NDArray[np.int64]
    polygons: npt.NDArray[np.int64]
    parts: npt.NDArray[np.int64]

    @classmethod
    def of(cls, geoms: npt.NDArray[np.object_]) -> Ragged:
        """``geoms`` (polygons and multipolygons) as arrays."""
        if not len(geoms):
            none = np.zeros(1, dtype=np.int64)
            return cls(np.zeros((0, 2)), none, none, none)
        odd = ~np.isin(shapely.get_type_id(geoms), (3, 6))  # not (multi)polygons, or None
        if odd.any():
            geoms = np.asarray(geoms, dtype=object).copy()
            geoms[odd] = [_polygonal(g) for g in geoms[odd]]
        kind, coords, offsets = shapely.to_ragged_array(geoms)
        if kind == shapely.GeometryType.POLYGON:
            rings, polygons = offsets
            parts: Any = np.arange(len(polygons))
        else:
            rings, polygons, parts = offsets
        return cls(
            np.ascontiguousarray(coords[:, :2], dtype=np.float64),
            np.asarray(rings, dtype=np.int64),
            np.asarray(polygons, dtype=np.int64),
            np.asarray(parts, dtype=np.int64),
        )

    @classmethod
    def of_polygonal(cls, geoms: npt.NDArray[np.object_]) -> Ragged:
        """:meth:`of` for polygons and multipolygons none of which is empty, or None:
        four GEOS calls, without ``shapely.to_ragged_array``'s checks (a third of a z14
        tile's time went there)."""
        polygons, owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_owner = shapely.get_rings(polygons, return_index=True)
        coords = shapely.get_coordinates(rings)
        return cls(
            np.ascontiguousarray(coords, dtype=np.float64),
            _offsets(shapely.get_num_coordinates(rings).astype(np.int64)),
            _offsets(np.bincount(ring_owner, minlength=len(polygons))),
            _offsets(np.bincount(owner, minlength=len(geoms))),
        )

    def __len__(self) -> int:
        return len(self.parts) - 1

    def take(self, positions: npt.NDArray[np.int64]) -> Ragged:
        """The features at ``positions``, in that order."""
        polygons = _ranges(self.parts[positions], self.parts[positions + 1])
        rings = _ranges(self.polygons[polygons], self.polygons[polygons + 1])
        points = _ranges(self.rings[rings], self.rings[rings + 1])
        return Ragged(
            self.coords[points],
            _offsets(self.rings[rings + 1] - self.rings[rings]),
            _offsets(self.polygons[polygons + 1] - self.polygons[polygons]),
            _offsets(self.parts[positions + 1] - self.parts[positions]),
        )

    def then(self, other: Ragged) -> Ragged:
        """These features, then ``other``'s."""
        return Ragged(
            np.concatenate([self.coords, other.coords]),
            np.concatenate([self.rings, other.rings[1:] + self.rings[-1]]),
            np.concatenate([self.polygons, other.polygons[1:] + self.polygons[-1]]),
            np.concatenate([self.parts, other.parts[1:] + self.parts[-1]]),
        )

    def geometries(self) -> npt.NDArray[np.object_]:
        """The features as multipolygons."""
        # polygons without a ring (from empty geometries) crash shapely 2.1's
        # from_ragged_array: leave them out, their features keep their other polygons
        rings_per_polygon = np.diff(self.polygons)
        keep = rings_per_polygon > 0
        owner = np.repeat(np.arange(len(self)), np.diff(self.parts))
        polygons = _offsets(rings_per_polygon[keep])
        parts = _offsets(np.bincount(owner[keep], minlength=len(self)))
        offsets = (self.rings, polygons, parts)
        made = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, self.coords, offsets)
        return np.asarray(made, dtype=object)

    def bounds(self) -> npt.NDArray[np.float64]:
        """(n, 4) bounds of each feature (NaN for an empty one)."""
        out = np.full((len(self), 4), np.nan)
        first = self.rings[self.polygons[self.parts]]  # each feature's first point, and end
        counts = np.diff(first)
        some = np.flatnonzero(counts > 0)
        if len(some):
            starts = first[:-1][some]
            out[some, :2] = np.minimum.reduceat(self.coords, starts)[:, :2]
            out[some, 2:] = np.maximum.reduceat(self.coords, starts)[:, :2]
        return out


def _polygonal(geom: Any) -> Any:
    """The polygons of a collection as one multipolygon; anything else (a line, a
    point, nothing): an empty polygon, which no tile draws."""
    if geom is None or shapely.get_type_id(geom) != 7:
        return shapely.Polygon()
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polygons) if polygons else shapely.Polygon()


def _offsets(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


@dataclass(frozen=True)
class _Commands:
    """Every kept feature's geometry commands, as one stream."""

    stream: npt.NDArray[np.uint64]
    per_feature: npt.NDArray[np.int64]  # command integers per input feature (0: dropped)


@dataclass(frozen=True)
class _Rings:
    """Oriented polygons as arrays: points (tile units, y down) and who owns what."""

    xy: npt.NDArray[np.int64]
    point_ring: npt.NDArray[np.int64]  # ring of each point
    ring_of: npt.NDArray[np.int64]  # polygon of each ring
    part_of: npt.NDArray[np.int64]  # feature of each polygon
    exterior: npt.NDArray[np.bool_]  # is the ring its polygon's exterior


@dataclass(frozen=True)
class ToTile:
    """How geometries map to tile units: ``round((xy - origin) * scale)`` (y up)."""

    origin: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0


def _rings(features: Ragged, extent: int, to_tile: ToTile) -> _Rings:
    n_ring, n_part = len(features.rings) - 1, len(features.polygons) - 1
    part_of = np.repeat(np.arange(len(features)), np.diff(features.parts))
    ring_of = np.repeat(np.arange(n_part), np.diff(features.polygons))
    exterior = np.zeros(n_ring, dtype=bool)
    exterior[features.polygons[:-1][np.diff(features.polygons) > 0]] = True
    point_ring = np.repeat(np.arange(n_ring), np.diff(features.rings))
    origin = np.asarray(to_tile.origin)
    xy = np.rint((features.coords - origin) * to_tile.scale).astype(np.int64)
    xy = xy[_oriented(xy, features.rings, point_ring, exterior)]
    xy[:, 1] = extent - xy[:, 1]
    return _Rings(xy, point_ring, ring_of, part_of, exterior)


def _oriented(
    xy: npt.NDArray[np.int64],
    ring_offsets: npt.NDArray[np.int64],
    point_ring: npt.NDArray[np.int64],
    exterior: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """The order of the points that turns exteriors clockwise and holes anticlockwise
    (y up), by the sign of each ring's area (the surveyor's formula, as the MVT
    specification defines orientation); a ring of no area counts as clockwise. This
    is what ``shapely.orient_polygons(exterior_cw=True)`` does to a ring that does not
    cross itself, without making a geometry; a ring keeps its first point."""
    order = np.arange(len(xy), dtype=np.int64)
    if len(xy) < 2:
        return order
    cross = xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]
    same_ring = point_ring[:-1] == point_ring[1:]
    twice_area = np.bincount(
        point_ring[:-1][same_ring], weights=cross[same_ring], minlength=len(exterior)
    )
    anticlockwise = twice_area > 0
    flip = np.where(exterior, anticlockwise, ~anticlockwise)
    flipped = flip[point_ring]
    start, end = ring_offsets[:-1][point_ring], ring_offsets[1:][point_ring]
    order[flipped] = (start + end - 1 - order)[flipped]
    return order


def _commands(features: Ragged, extent: int, to_tile: ToTile) -> _Commands:
    """The MVT geometry commands of polygonal ``features``."""
    r = _rings(features, extent, to_tile)
    xy, point_ring, ring_of, part_of, exterior = (
        r.xy,
        r.point_ring,
        r.ring_of,
        r.part_of,
        r.exterior,
    )
    n_ring, n_part = len(ring_of), len(part_of)
    ring_size = np.bincount(point_ring, minlength=n_ring)
    ring_end = np.cumsum(ring_size)
    closing = np.zeros(len(xy), dtype=bool)
    closing[ring_end[ring_size > 0] - 1] = True
    first = np.zeros(len(xy), dtype=bool)
    first[(ring_end - ring_size)[ring_size > 0]] = True
    same = np.zeros(len(xy), dtype=bool)
    same[1:] = (xy[1:] == xy[:-1]).all(axis=1)
    keep = ~closing & (first | ~same)
    kept_per_ring = np.bincount(point_ring[keep], minlength=n_ring)
    ring_ok = kept_per_ring >= 2  # a MoveTo and at least one LineTo
    # a polygon whose exterior is dropped is dropped whole (holes too)
    exterior_ok = np.zeros(n_part, dtype=bool)
    exterior_ok[ring_of[exterior]] = ring_ok[exterior]
    ring_ok &= exterior_ok[ring_of]
    keep &= ring_ok[point_ring]
    pts = xy[keep]
    pts_ring = point_ring[keep]
    pts_feature = part_of[ring_of[pts_ring]]
    # deltas from the cursor: the previous point of the same feature, else (0, 0)
    prev = np.zeros_like(pts)
    prev[1:] = pts[:-1]
    new_feature = np.r_[True, pts_feature[1:] != pts_feature[:-1]] if len(pts) else []
    prev[np.asarray(new_feature, dtype=bool)] = 0
    delta = _zigzag(pts - prev)
    kept_rings = np.flatnonzero(ring_ok)
    n_pts = kept_per_ring[kept_rings]
    size = 2 * n_pts + 3  # MoveTo, x, y, LineTo, 2 per LineTo point, ClosePath
    ring_start = np.cumsum(size) - size
    stream = np.empty(int(size.sum()), dtype=np.uint64)
    stream[ring_start] = MOVE_TO_ONE
    stream[ring_start + 3] = (LINE_TO | ((n_pts - 1) << 3)).astype(np.uint64)
    stream[ring_start + size - 1] = CLOSE_PATH
    # point j of a ring: slots 1-2 (j = 0), else 4 + 2 (j - 1)
    pt_start = np.cumsum(n_pts) - n_pts
    j = np.arange(len(pts)) - np.repeat(pt_start, n_pts)
    slot = np.repeat(ring_start, n_pts) + np.where(j == 0, 1, 2 * j + 2)
    stream[slot] = delta[:, 0]
    stream[slot + 1] = delta[:, 1]
    ring_feature = part_of[ring_of[kept_rings]]
    per_feature = np.bincount(ring_feature, weights=size, minlength=len(features))
    return _Commands(stream, per_feature.astype(np.int64))


def _run_sums(values: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]) -> Any:
    """The sum of each run of ``counts[i]`` consecutive ``values``."""
    total = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=total[1:])
    ends = np.cumsum(counts)
    return total[ends] - total[ends - counts]


def _feature_messages(
    fid: npt.NDArray[np.int64],
    tags: npt.NDArray[np.uint64],
    tag_counts: npt.NDArray[np.int64],
    stream: npt.NDArray[np.uint64],
    stream_counts: npt.NDArray[np.int64],
) -> bytes:
    """The layer's ``features`` fields: per feature, field 2 of the layer holding a
    ``Tile.Feature`` (id, packed tags, type polygon, packed geometry).

    Every byte of them is a varint (the field tags are below 128, so a tag byte is its
    own varint): the messages are laid out as one stream of integers, feature by
    feature, and written as varints in one step."""
    has_id = fid >= 0
    has_tags = tag_counts > 0
    if len(tags) and int(tags.max()) >= 0x80:
        tag_bytes = _run_sums(varint_lengths(tags), tag_counts)
    else:  # fewer than 128 keys and values in the tile: a byte a tag
        tag_bytes = tag_counts
    geometry_bytes = _run_sums(varint_lengths(stream), stream_counts)
    id_bytes = np.where(has_id, 1 + varint_lengths(fid.astype(np.uint64)), 0)
    tag_field = np.where(has_tags, 1 + varint_lengths(tag_bytes) + tag_bytes, 0)
    message = id_bytes + tag_field + 2 + 1 + varint_lengths(geometry_bytes) + geometry_bytes
    # integers per feature: field and length, id, tags, type, geometry
    sizes = 2 + 2 * has_id + np.where(has_tags, 2 + tag_counts, 0) + 4 + stream_counts
    start = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint64)
    out[start] = 0x12
    out[start + 1] = message
    at = start[has_id] + 2
    out[at] = 0x08
    out[at + 1] = fid[has_id]
    at = start + 2 + 2 * has_id
    out[at[has_tags]] = 0x12
    out[at[has_tags] + 1] = tag_bytes[has_tags]
    _place(out, tags, tag_counts, at + 2)
    at = at + np.where(has_tags, 2 + tag_counts, 0)
    out[at] = 0x18
    out[at + 1] = POLYGON
    out[at + 2] = 0x22
    out[at + 3] = geometry_bytes
    _place(out, stream, stream_counts, at + 4)
    data: bytes = varints(out)[0].tobytes()
    return data


def _place(
    out: npt.NDArray[np.uint64],
    values: npt.NDArray[np.uint64],
    counts: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
) -> None:
    """Write run ``i`` of ``values`` (``counts[i]`` long) at ``out[starts[i]:]``."""
    first = np.cumsum(counts) - counts
    out[np.arange(len(values)) + np.repeat(starts - first, counts)] = values


def encode_polygons(
    name: str,
    geoms: Ragged | npt.NDArray[np.object_],
    *,
    ids: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64],
    table: PropertyTable,
    extent: int,
    to_tile: ToTile = ToTile(),
) -> bytes | None:
    """One layer's tile of polygonal features, or None when no feature is left.

    Parameters
    ----------
    name
        The layer's name.
    geoms
        Polygons or multipolygons (none empty), in feature order, or their arrays.
    ids
        Each feature's id, -1 for none.
    positions
        Each feature's row in ``table``.
    table
        The layer's properties (:meth:`PropertyTable.of`).
    extent
        Tile units across the tile.
    to_tile
        How ``geoms``' coordinates map to tile units (default: they are tile units, y
        up); done on the arrays, so that no geometry is made for it.
    """
    features = geoms if isinstance(geoms, Ragged) else Ragged.of(geoms)
    commands = _commands(features, extent, to_tile)
    kept = commands.per_feature > 0
    if not kept.any():
        return None
    keep = np.flatnonzero(kept)
    rows = positions[keep]
    tag_idx = _ranges(table.offsets[rows], table.offsets[rows + 1])
    key_ids, local_keys = _first_seen(table.tag_keys[tag_idx])
    value_ids, local_values = _first_seen(table.tag_values[tag_idx])
    if table.typed is not None and len(value_ids) > 1:
        value_ids, local_values = _merged(value_ids, local_values, table.typed)
    tags = np.empty(2 * len(tag_idx), dtype=np.uint64)
    tags[0::2] = local_keys
    tags[1::2] = local_values
    features_data = _feature_messages(
        ids[keep],
        tags,
        2 * (table.offsets[rows + 1] - table.offsets[rows]),
        commands.stream,
        commands.per_feature[keep],
    )
    layer = bytearray(b"\x0a" + varint(len(name.encode())) + name.encode())
    layer += features_data
    layer += b"".join([table.keys[k] for k in key_ids.tolist()])
    layer += b"".join([table.values[v] for v in value_ids.tolist()])
    layer += b"\x28" + varint(extent) + b"\x78" + varint(VERSION)
    return b"\x1a" + varint(len(layer)) + bytes(layer)
