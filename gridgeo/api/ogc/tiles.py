"""Mapbox vector tiles (MVT) in WebMercatorQuad, and their TileJSON documents.

One layer per tile, named like the collection. Per (dataset, collection) the
geometries are noded (lon/lat) and projected to Web Mercator once; per zoom the
level's coverage is simplified once with a tolerance of half a display pixel
(256-pixel tiles), keeping shared edges shared (:mod:`gridgeo.api.ogc.gapless_simplify`).
For a level, both are read from the tile layers file that publishing wrote beside the
index file (:mod:`gridgeo.api.ogc.tile_layers_file`; a service without it makes them
in memory and writes the file later). A tile finds its features by their bounds
(:class:`ZoomFeatures`: those of a strip of the city sorted by west edge), clips them
to the tile plus a 64-unit buffer (GEOS's rectangle clipping), rounds all to the
4096-unit tile grid and encodes them (:mod:`gridgeo.api.ogc.mvt_encoder` for polygons,
on arrays, each feature's properties numbered once per layer; ``mapbox-vector-tile``
for points). Neighbours' shared vertices are equal before rounding, so they are equal
after: no gaps open in tile space. A small tile of a zoom in memory (a z14 tile: under
a millisecond) is encoded on the event loop (:meth:`TileLayer.quick`), the rest in the
thread pool.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import box

from gridgeo.api.ogc import tile_layers_file
from gridgeo.api.ogc.catalog import (
    LEVEL_COLLECTIONS,
    Catalog,
    CollectionInfo,
    FeatureTable,
    PerDataset,
    catalog_for,
    level_table,
)
from gridgeo.api.ogc.errors import invalid_parameter, no_collection, not_found
from gridgeo.api.ogc.gapless_simplify import prepare_coverage, simplify_coverage, simplify_levels
from gridgeo.api.ogc.mvt_encoder import (
    MVT_TYPES,
    PropertyCache,
    PropertyTable,
    Ragged,
    ToTile,
    encode_polygons,
)
from gridgeo.api.ogc.tile_layers_file import TileLayersFileError, ZoomGeometries
from gridgeo.api.output_crs import output_system
from gridgeo.coords import CoordSystem, geometries_from_cgcs2000
from gridgeo.crs import STORAGE_EPSG, transform_geometries
from gridgeo.dataset import Dataset
from gridgeo.errors import CoordinateError
from gridgeo.i18n import tr

log = logging.getLogger(__name__)

WEB_MERCATOR_EPSG = 3857
HALF_WORLD = 20037508.342789244
"""Half the width of the Web Mercator square, metres."""
EXTENT = 4096
BUFFER = 64
MIN_ZOOM = 0
MAX_ZOOM = 20
"""Deepest zoom served (tiles of about 38 m); clients overzoom beyond it."""
SIMPLIFY_PIXELS = 0.5
"""Simplification tolerance in pixels of a 256-pixel display tile."""
TILE_CACHE_SIZE = 1024
"""Encoded tiles kept per collection and dataset."""
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
QUICK_FEATURES = 128
"""Features a tile may hold to be encoded on the event loop (:meth:`TileLayer.quick`):
a z14 tile of the 20,000-grid city holds about fifty (under 1 ms); a z13 one about 190."""
UNCACHED_PROPERTIES = 2000
"""Features above which a tile whose properties are mostly not numbered yet numbers
them for itself (:meth:`TileLayer._property_table`)."""
_NO_ID = -2  # an MVT id not worked out yet (-1: the feature has none)
Positions = npt.NDArray[np.int64]
Geometries = npt.NDArray[np.object_]
Bounds = tuple[float, float, float, float]
GEOMETRY_COLLECTION = 7
POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of tile z/x/y in Web Mercator metres (XYZ, origin top left)."""
    size = 2 * HALF_WORLD / 2**z
    minx = -HALF_WORLD + x * size
    maxy = HALF_WORLD - y * size
    return (minx, maxy - size, minx + size, maxy)


def check_tile(z: int, x: int, y: int) -> None:
    """404 for a zoom outside 0-MAX_ZOOM or a column/row outside the zoom's matrix."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise not_found(
            tr("zoom {z} is not served; zooms are {min} to {max}", z=z, min=MIN_ZOOM, max=MAX_ZOOM)
        )
    n = 2**z
    if not (0 <= x < n and 0 <= y < n):
        raise not_found(
            tr(
                "tile {z}/{x}/{y} is outside the tile matrix (0 to {last} at zoom {z})",
                z=z,
                x=x,
                y=y,
                last=n - 1,
            )
        )


def simplify_tolerance(z: int) -> float:
    """Web Mercator metres of half a pixel of a 256-pixel tile at zoom ``z``."""
    return float(SIMPLIFY_PIXELS * 2 * HALF_WORLD / 2**z / 256)


def mvt_properties(props: dict[str, Any]) -> dict[str, Any]:
    """The properties MVT can hold: strings, numbers and booleans (None dropped)."""
    return {k: v for k, v in props.items() if isinstance(v, MVT_TYPES)}


def _mvt_id(code: str) -> int:
    """The numeric grid code as the MVT feature id (uint64), when it is one; else -1."""
    if code.isascii() and code.isdigit() and (len(code) < 20 or int(code) < 2**64):
        return int(code)
    return -1


def _polygons_of_clip(geom: Any) -> Any:
    """Drop the lines and points a clip leaves where a polygon touches the clip box."""
    if geom.geom_type != "GeometryCollection":
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def zoom_tolerances() -> list[float]:
    """The simplification tolerance of every zoom served, zoom 0 first (largest first)."""
    return [simplify_tolerance(z) for z in range(MIN_ZOOM, MAX_ZOOM + 1)]


def level_geometries(
    table: FeatureTable, shifted: CoordSystem | None = None
) -> tuple[npt.NDArray[np.object_], str]:
    """A level's geometries in Web Mercator, noded when needed, and how to simplify them:
    ``"coverage"``, or ``"none"`` when the polygons overlap (served unsimplified rather
    than with gaps). ``shifted``: for a Chinese web map's base layer, every vertex
    shifted as that map draws (after noding: a shared vertex shifts alike in every
    grid, so the coverage stays a coverage)."""
    geoms = table.geometries
    mode = "none"
    if len(geoms):
        noded = prepare_coverage(geoms, table.info.id)
        if noded is not None:
            geoms, mode = noded, "coverage"
    if shifted is not None:
        geoms = geometries_from_cgcs2000(geoms, shifted)
    return transform_geometries(geoms, STORAGE_EPSG, WEB_MERCATOR_EPSG), mode


def build_zoom_geometries(
    table: FeatureTable, shifted: CoordSystem | None = None
) -> ZoomGeometries:
    """Every zoom's geometries of a level, what :mod:`.tile_layers_file` saves."""
    geoms, mode = level_geometries(table, shifted)
    if mode != "coverage":
        return ZoomGeometries.of(mode, [geoms], [0] * (MAX_ZOOM - MIN_ZOOM + 1))
    sets, which = simplify_levels(geoms, zoom_tolerances())
    return ZoomGeometries.of(mode, sets, which)


def _level_key(table: FeatureTable, shifted: CoordSystem | None) -> str:
    return tile_layers_file.layer_key(table.ids, table.geometries, shifted, zoom_tolerances())


def save_level_tiles(table: FeatureTable, folder: Path, shifted: CoordSystem | None = None) -> Path:
    """Build a level's tile geometries for every zoom and save them in ``folder`` (what
    publishing does, so that no service start simplifies); a file already there for
    the same boundaries is kept."""
    key = _level_key(table, shifted)
    path = tile_layers_file.path_for(folder, key)
    try:
        tile_layers_file.load(path, key)
        return path
    except TileLayersFileError:
        pass
    tile_layers_file.save(build_zoom_geometries(table, shifted), path, key)
    tile_layers_file.prune(folder)
    return path


def save_level_files(data: Dataset) -> list[Path]:
    """Every level's tile layers file of ``data``, in its settings' index folder: what
    ``gridgeo publish`` and ``rollback`` write beside the index file."""
    folder = data.settings.store.index_folder
    saved = []
    for info in LEVEL_COLLECTIONS.values():
        table = level_table(data, info)
        if not len(table):
            continue
        try:
            saved.append(save_level_tiles(table, folder))
        except TileLayersFileError as exc:  # the service will make them: not a failure
            log.warning("%s", exc)
    return saved


SAVE_DELAY = 30.0
"""Seconds between a level's first tile without a file and the background write: the
write simplifies every zoom (4 s of CPU at 20,000 grids), so it waits for the burst of
first tiles after a start or a publication to pass instead of slowing it down."""
_saving: dict[str, threading.Timer] = {}
"""Background writes of tile layers files started by this process, by path."""
_saving_lock = threading.Lock()


def _save_later(table: FeatureTable, folder: Path, shifted: CoordSystem | None) -> None:
    """Write the level's file in a background thread after :data:`SAVE_DELAY` (once per
    file and process), so that the next start of any worker reads it."""

    def work() -> None:
        try:
            save_level_tiles(table, folder, shifted)
        except TileLayersFileError as exc:  # read-only folder, disk full: serve from memory
            log.warning("%s", exc)

    name = str(tile_layers_file.path_for(folder, _level_key(table, shifted)))
    with _saving_lock:
        if name in _saving:
            return
        thread = _saving[name] = threading.Timer(SAVE_DELAY, work)
    thread.name, thread.daemon = "tile-layers", True
    thread.start()


def saved_level(
    table: FeatureTable, folder: Path | None, shifted: CoordSystem | None
) -> ZoomGeometries | None:
    """The level's saved tile geometries, or None (then a background thread writes them)
    when ``folder`` holds no usable file for these boundaries."""
    if folder is None:
        return None
    key = _level_key(table, shifted)
    path = tile_layers_file.path_for(folder, key)
    try:
        return tile_layers_file.load(path, key)
    except TileLayersFileError as exc:
        if path.exists():
            log.warning("%s; building it again", exc)
    _save_later(table, folder, shifted)
    return None


@dataclass(frozen=True, eq=False)
class ZoomFeatures:
    """A polygon layer's features at one zoom, as arrays, and how a tile finds them.

    Attributes
    ----------
    features
        The features (:class:`Ragged`), in the collection's order.
    bounds
        (n, 4) bounds of each feature (NaN for an empty one).
    by_west, west
        The positions sorted by their bounds' west edge, and those edges: a tile reads
        the run of features whose west edge lies between its own west edge less
        ``widest`` and its east edge (a strip of the city, not the whole of it).
    widest
        The widest feature's width.
    """

    features: Ragged
    bounds: npt.NDArray[np.float64]
    by_west: Positions
    west: npt.NDArray[np.float64]
    widest: float

    @classmethod
    def of(cls, features: Ragged, bounds: npt.NDArray[np.float64]) -> ZoomFeatures:
        by_west = np.argsort(bounds[:, 0], kind="stable").astype(np.int64)  # NaN last
        widths = bounds[:, 2] - bounds[:, 0]
        widest = float(np.nanmax(widths)) if np.isfinite(widths).any() else 0.0
        return cls(features, bounds, by_west, bounds[by_west, 0], widest)

    def meeting(self, clip: Bounds) -> Positions:
        """Positions of the features whose boxes meet ``clip``, in order; no geometry
        object made. A box may meet the clip where its geometry does not: the clip then
        leaves it empty. An empty geometry's bounds are NaN and meet nothing."""
        minx, miny, maxx, maxy = clip
        lo = int(np.searchsorted(self.west, minx - self.widest, side="left"))
        hi = int(np.searchsorted(self.west, maxx, side="right"))
        run = self.by_west[lo:hi]
        b = self.bounds[run]
        meets = (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
        return np.sort(run[meets])


@dataclass(eq=False)
class TileLayer:
    """One collection ready for tiling: Web Mercator geometries and per-zoom caches.

    Attributes
    ----------
    info
        The collection.
    ids, properties
        Feature ids and properties (the table's), in the collection's order; what MVT
        can hold of them is taken per tile (:meth:`features`).
    geometries
        Noded geometries in Web Mercator metres (None while a saved file serves them).
    simplify
        ``"coverage"``: a level's polygons, simplified together keeping shared
        edges; ``"each"``: polygons that overlap by nature (partner zones),
        simplified one by one; ``"none"``: points, or a level whose polygons
        overlap (served unsimplified rather than with gaps).
    saved
        Every zoom's geometries read from a tile layers file, when there is one.
    """

    info: CollectionInfo
    ids: list[str]
    properties: list[dict[str, Any]]
    geometries: npt.NDArray[np.object_] | None
    simplify: str
    saved: ZoomGeometries | None = None
    _zooms: dict[int, Any] = field(default_factory=dict)
    _tiles: OrderedDict[tuple[int, int, int], bytes | None] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: npt.NDArray[np.int64] | None = None
    _properties: PropertyCache | None = None

    @classmethod
    def from_table(
        cls, table: FeatureTable, shifted: CoordSystem | None = None, folder: Path | None = None
    ) -> TileLayer:
        """The layer of ``table``; ``shifted`` ("gcj02", "bd09"): for a Chinese web map's
        base layer (see :func:`level_geometries`); ``folder``: where a level's tile
        layers file is read from (and written to when missing)."""
        props, ids = table.properties, table.ids  # shared, not copied: the table is frozen
        if table.info.level is not None and len(table):
            saved = saved_level(table, folder, shifted)
            if saved is not None:
                return cls(table.info, ids, props, None, saved.mode, saved)
            geoms, simplify = level_geometries(table, shifted)
            return cls(table.info, ids, props, geoms, simplify)
        geoms = table.geometries
        simplify = (
            "each" if table.info.geometry == "polygon" and table.info.level is None else "none"
        )
        if shifted is not None:
            geoms = geometries_from_cgcs2000(geoms, shifted)
        projected = transform_geometries(geoms, STORAGE_EPSG, WEB_MERCATOR_EPSG)
        return cls(table.info, ids, props, projected, simplify)

    def features(self, positions: Positions) -> tuple[npt.NDArray[np.int64], list[dict[str, Any]]]:
        """The MVT ids (-1: none) and the properties of the features at ``positions`` (per
        tile: a z14 tile reads its forty grids' properties, not the city's)."""
        at = positions.tolist()
        ids = np.fromiter((_mvt_id(self.ids[p]) for p in at), dtype=np.int64, count=len(at))
        return ids, [self.properties[p] for p in at]

    def _simplified(self, z: int) -> Geometries:
        assert self.geometries is not None
        geoms = self.geometries
        if self.simplify == "coverage":
            geoms = simplify_coverage(geoms, simplify_tolerance(z))
        elif self.simplify == "each":
            geoms = shapely.simplify(geoms, simplify_tolerance(z), preserve_topology=True)
        return geoms

    def polygons_at(self, z: int) -> ZoomFeatures:
        """A polygon layer's features simplified for zoom ``z``, as arrays, with their
        bounds; made once (read from the saved file when there is one)."""
        with self._lock:
            hit = self._zooms.get(z)
        if hit is None:
            if self.saved is not None:
                hit = ZoomFeatures.of(*self.saved.arrays(z))
            else:
                features = Ragged.of(self._simplified(z))
                hit = ZoomFeatures.of(features, features.bounds())
            with self._lock:
                hit = self._zooms.setdefault(z, hit)
        return hit  # type: ignore[no-any-return]

    def points_at(self, z: int) -> tuple[Geometries, shapely.STRtree]:
        """A point layer's geometries and their index (every zoom alike), made once."""
        with self._lock:
            hit = self._zooms.get(z)
        if hit is None:
            geoms = self._simplified(z)
            with self._lock:
                hit = self._zooms.setdefault(z, (geoms, shapely.STRtree(geoms)))
        return hit  # type: ignore[no-any-return]

    def cached(self, z: int, x: int, y: int) -> tuple[bool, bytes | None]:
        """``(True, tile)`` when tile z/x/y is in the cache (the tile None when empty),
        ``(False, None)`` when it is not; never encodes."""
        key = (z, x, y)
        with self._lock:
            if key in self._tiles:
                self._tiles.move_to_end(key)
                return True, self._tiles[key]
        return False, None

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The encoded tile, or None when no feature reaches it."""
        found, data = self.cached(z, x, y)
        if found:
            return data
        return self._remember((z, x, y), self._encode(z, x, y))

    def quick(self, z: int, x: int, y: int) -> tuple[bool, bytes | None]:
        """:meth:`cached`, or, for a polygon tile of at most :data:`QUICK_FEATURES`
        features at a zoom ready in memory, the tile encoded now (under a millisecond at
        z14: less than the hop to a worker thread and back); ``(False, None)`` for any
        other tile, which :meth:`tile` makes (a layer's or zoom's first build, many
        features)."""
        found, data = self.cached(z, x, y)
        if found or self.info.geometry != "polygon":
            return found, data
        with self._lock:
            zoom = self._zooms.get(z)
        if zoom is None:
            return False, None
        clip, to_tile = _clip_of(z, x, y)
        hits = zoom.meeting(clip)
        if len(hits) > QUICK_FEATURES:
            return False, None
        return True, self._remember((z, x, y), self._polygons(zoom, hits, clip, to_tile))

    def _remember(self, key: tuple[int, int, int], data: bytes | None) -> bytes | None:
        with self._lock:
            self._tiles[key] = data
            while len(self._tiles) > TILE_CACHE_SIZE:
                self._tiles.popitem(last=False)
        return data

    def _encode(self, z: int, x: int, y: int) -> bytes | None:
        if self.info.geometry == "polygon":
            zoom = self.polygons_at(z)
            clip, to_tile = _clip_of(z, x, y)
            return self._polygons(zoom, zoom.meeting(clip), clip, to_tile)
        positions, cut, to_tile = self.clipped(z, x, y)
        if not len(positions):
            return None
        ids, props = self.features(positions)
        points = []
        local = in_tile_units(cut, to_tile)
        for fid, p, geom in zip(ids.tolist(), props, local, strict=True):
            feature: dict[str, Any] = {"geometry": geom, "properties": p}
            if fid >= 0:
                feature["id"] = fid
            points.append(feature)
        layer = {"name": self.info.id, "features": points}
        data: bytes = mapbox_vector_tile.encode([layer], default_options={"extents": EXTENT})
        return data

    def _polygons(
        self, zoom: ZoomFeatures, hits: Positions, clip: Bounds, to_tile: ToTile
    ) -> bytes | None:
        """The polygon tile of the features at ``hits`` (those meeting ``clip``)."""
        positions, features = _cut(zoom, hits, clip)
        if not len(positions):
            return None
        return encode_polygons(
            self.info.id,
            features,
            ids=self._mvt_ids(positions),
            positions=np.arange(len(positions), dtype=np.int64),
            table=self._property_table(positions),
            extent=EXTENT,
            to_tile=to_tile,  # rounded on the arrays: no geometry made for it
        )

    def _mvt_ids(self, positions: Positions) -> npt.NDArray[np.int64]:
        """The MVT ids of the features at ``positions`` (as :meth:`features`), each worked
        out once per layer."""
        ids = self._ids
        if ids is None:
            with self._lock:
                if self._ids is None:
                    self._ids = np.full(len(self.ids), _NO_ID, dtype=np.int64)
                ids = self._ids
        out = ids[positions]
        missing = out == _NO_ID
        if missing.any():
            new = positions[missing]
            codes = self.ids
            ids[new] = np.fromiter((_mvt_id(codes[p]) for p in new.tolist()), np.int64, len(new))
            out = ids[positions]
        return out

    def _property_table(self, positions: Positions) -> PropertyTable:
        """The properties of the features at ``positions``: from the layer's
        :class:`PropertyCache`, or, for a tile with many features none numbered yet (the
        first tiles of low zooms: the cache's loop in Python would take longer than
        :meth:`PropertyTable.of`'s whole-list steps), numbered for this tile alone."""
        cache = self._properties
        if cache is None:
            with self._lock:
                if self._properties is None:
                    self._properties = PropertyCache(self.properties)
                cache = self._properties
        if len(positions) > UNCACHED_PROPERTIES and cache.missing(positions) > UNCACHED_PROPERTIES:
            return PropertyTable.of([self.properties[p] for p in positions.tolist()])
        return cache.table(positions)

    def polygon_tile(self, z: int, x: int, y: int) -> tuple[Positions, Ragged, ToTile]:
        """A polygon layer's features in tile z/x/y: their positions (in the collection's
        order), their polygons clipped to the tile plus its buffer (Web Mercator, as
        arrays) and how those map to tile units (see :func:`_cut`)."""
        zoom = self.polygons_at(z)
        clip, to_tile = _clip_of(z, x, y)
        positions, features = _cut(zoom, zoom.meeting(clip), clip)
        return positions, features, to_tile

    def clipped(self, z: int, x: int, y: int) -> tuple[Positions, Geometries, ToTile]:
        """The features of tile z/x/y as :meth:`polygon_tile` has them, but geometries
        (a point layer's: points meeting the clip)."""
        if self.info.geometry == "polygon":
            positions, features, to_tile = self.polygon_tile(z, x, y)
            return positions, features.geometries(), to_tile
        geoms, tree = self.points_at(z)
        clip, to_tile = _clip_of(z, x, y)
        hits = np.sort(tree.query(box(*clip), predicate="intersects")).astype(np.int64)
        return hits, geoms[hits], to_tile


def _cut(zoom: ZoomFeatures, hits: Positions, clip: Bounds) -> tuple[Positions, Ragged]:
    """The features at ``hits`` clipped to ``clip``: their positions (in order) and
    polygons, cut by GEOS's rectangle clipping (a tenth of a general intersection's
    time; the same shapes to 1e-8 tile units on the 20,000-grid city). A tile of few
    features makes all of them geometries (one inside the clip comes back from it as it
    is, at once); a larger one only those that cross the clip's edge, the rest stay
    arrays. The cut keeps polygonal pieces (a polygon that only touches the clip leaves
    a line or a point)."""
    if len(hits) <= QUICK_FEATURES:
        positions, cut = hits, zoom.features.take(hits).geometries()
        whole = None
    else:
        b = zoom.bounds[hits]
        inside = (b[:, 0] >= clip[0]) & (b[:, 1] >= clip[1]) & (b[:, 2] <= clip[2])
        inside &= b[:, 3] <= clip[3]
        whole, positions = hits[inside], hits[~inside]
        cut = zoom.features.take(positions).geometries()
    cut = shapely.clip_by_rect(cut, *clip)
    types = shapely.get_type_id(cut)
    collections = types == GEOMETRY_COLLECTION
    if collections.any():
        cut[collections] = [_polygons_of_clip(g) for g in cut[collections]]
        types = shapely.get_type_id(cut)
    keep = ((types == POLYGONAL[0]) | (types == POLYGONAL[1])) & ~shapely.is_empty(cut)
    pieces = Ragged.of_polygonal(cut[keep])
    if whole is None:
        return positions[keep], pieces
    merged = np.concatenate([whole, positions[keep]])
    order = np.argsort(merged, kind="stable")
    return merged[order], zoom.features.take(whole).then(pieces).take(order)


def _clip_of(z: int, x: int, y: int) -> tuple[Bounds, ToTile]:
    """Tile z/x/y plus its buffer, and how Web Mercator maps to its units."""
    minx, miny, maxx, maxy = tile_bounds(z, x, y)
    pad = (maxx - minx) * BUFFER / EXTENT
    # identical inputs round identically: shared vertices stay shared
    return (minx - pad, miny - pad, maxx + pad, maxy + pad), ToTile(
        (minx, miny), EXTENT / (maxx - minx)
    )


def in_tile_units(geoms: Geometries, to_tile: ToTile) -> Geometries:
    """``geoms`` rounded to tile units (what :func:`encode_polygons` does on arrays)."""
    origin = np.asarray(to_tile.origin)

    def move(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray(np.rint((coords - origin) * to_tile.scale), dtype=np.float64)

    return np.asarray(shapely.transform(geoms, move), dtype=object)


@dataclass(eq=False)
class TileLayers:
    """The tile layers of one dataset's catalog, each built on first request; ``folder``:
    where the levels' tile layers files are (None: none read or written)."""

    catalog: Catalog
    folder: Path | None = None
    _layers: dict[tuple[str, CoordSystem | None], TileLayer] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def layer(self, collection_id: str, shifted: CoordSystem | None = None) -> TileLayer:
        """The layer of a collection (``shifted``: for a GCJ-02 or BD-09 base map); 404
        for an unknown one."""
        table = self.catalog.tables.get(collection_id)
        if table is None:
            raise no_collection(collection_id, self.catalog.tables)
        hit = self.peek(collection_id, shifted)
        if hit is not None:
            return hit
        built = TileLayer.from_table(table, shifted, self.folder)
        with self._lock:
            return self._layers.setdefault((collection_id, shifted), built)

    def peek(self, collection_id: str, shifted: CoordSystem | None = None) -> TileLayer | None:
        """The layer if it was built already (None otherwise; nothing is built)."""
        with self._lock:
            return self._layers.get((collection_id, shifted))


tile_layers_for: PerDataset[TileLayers] = PerDataset(
    lambda data: TileLayers(catalog_for(data), data.settings.store.index_folder)
)
"""The tile layers of a dataset, made on first use (see :class:`PerDataset`)."""


def layer_for(data: Dataset, collection_id: str, shifted: CoordSystem | None = None) -> TileLayer:
    return tile_layers_for(data).layer(collection_id, shifted)


def warm_levels(data: Dataset) -> None:
    """Build every level's tile layer now: its feature table, and its tile layers file
    mapped (``serve --workers N`` does it in the parent, before forking, so that the
    workers share what they would otherwise each build on their first tiles)."""
    layers = tile_layers_for(data)
    for collection_id in LEVEL_COLLECTIONS:
        layers.layer(collection_id)


def tile_shift(crs: str | None) -> CoordSystem | None:
    """The shift a tile request's ``crs`` asks for: None (WGS84/CGCS2000, the default),
    "gcj02" or "bd09"; 400 naming the parameter for anything else."""
    try:
        return output_system(crs)
    except CoordinateError:
        raise invalid_parameter(
            "crs", crs, tr("use wgs84 (default), gcj02 (Amap, Tencent) or bd09 (Baidu)")
        ) from None


def quick_tile(
    data: Dataset,
    collection_id: str,
    z: int,
    x: int,
    y: int,
    *,
    shifted: CoordSystem | None = None,
) -> tuple[bool, bytes | None]:
    """:meth:`TileLayer.quick` of a layer that is built already, else ``(False, None)``:
    what the tile route answers on the event loop (a cached tile, or a small tile of a
    zoom ready in memory); the rest goes to the thread pool (:meth:`TileLayer.tile`)."""
    layers = tile_layers_for.peek(data)
    layer = layers.peek(collection_id, shifted) if layers is not None else None
    return layer.quick(z, x, y) if layer is not None else (False, None)


def _field_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "Boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "Number"
    return "String"


def fields(table: FeatureTable) -> dict[str, str]:
    """TileJSON field types (``String``, ``Number``, ``Boolean``) of the layer's properties."""
    columns: dict[str, list[Any]] = {}
    for props in table.properties:
        for key, value in mvt_properties(props).items():
            columns.setdefault(key, []).append(value)
    return {key: _field_type(values) for key, values in columns.items()}


def _center_zoom(bounds: tuple[float, float, float, float]) -> int:
    """A zoom at which the bounds fill about one 256-pixel tile."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1e-6)
    return int(min(MAX_ZOOM, max(MIN_ZOOM, math.floor(math.log2(360 / span)))))


def tilejson(base: str, table: FeatureTable, shifted: CoordSystem | None = None) -> dict[str, Any]:
    """The TileJSON 3.0.0 document of a collection's tiles (``shifted``: of its tiles
    for a GCJ-02 or BD-09 base map, bounds and center in that system too)."""
    info = table.info
    bounds = table.bounds or (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
    center_zoom = _center_zoom(bounds) if table.bounds else MIN_ZOOM
    query = f"?crs={shifted}" if shifted is not None else ""
    if shifted is not None and table.bounds:
        moved = geometries_from_cgcs2000([shapely.box(*bounds)], shifted)[0]
        x0, y0, x1, y1 = (float(v) for v in moved.bounds)
        bounds = (x0, y0, x1, y1)
    return {
        "tilejson": "3.0.0",
        "name": info.id,
        "description": info.title,
        "attribution": "gridgeo",
        "scheme": "xyz",
        "tiles": [f"{base}/tiles/{info.id}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": list(bounds),
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        "vector_layers": [
            {
                "id": info.id,
                "description": info.description,
                "minzoom": MIN_ZOOM,
                "maxzoom": MAX_ZOOM,
                "fields": fields(table),
            }
        ],
    }
