"""The vectorised MVT encoder writes the very bytes mapbox-vector-tile writes: on the pilot
data's tiles, on hand-made edge cases (holes, multipolygons, rings that collapse when
rounded, every property type) and on random valid polygons (a ring that crosses itself
is oriented by its area's sign, the MVT specification's rule, where GEOS may differ)."""

from __future__ import annotations

import math
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tilehelpers import PILOT, tile_of

from gridgeo.api.ogc import mvt_encoder
from gridgeo.api.ogc import tiles as tiles_module
from gridgeo.api.ogc.catalog import catalog_for
from gridgeo.api.ogc.mvt_encoder import PropertyTable, Ragged, encode_polygons, varints
from gridgeo.api.ogc.tiles import EXTENT, TileLayer, in_tile_units
from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load


def reference(name: str, geoms: list[Any], props: list[dict[str, Any]], ids: list[int]) -> bytes:
    features = []
    for geom, p, fid in zip(geoms, props, ids, strict=True):
        feature: dict[str, Any] = {"geometry": geom, "properties": p}
        if fid >= 0:
            feature["id"] = fid
        features.append(feature)
    out: bytes = mapbox_vector_tile.encode(
        [{"name": name, "features": features}], default_options={"extents": EXTENT}
    )
    return out


def ours(name: str, geoms: list[Any], props: list[dict[str, Any]], ids: list[int]) -> bytes | None:
    return encode_polygons(
        name,
        np.asarray(geoms, dtype=object),
        ids=np.asarray(ids, dtype=np.int64),
        positions=np.arange(len(geoms), dtype=np.int64),
        table=PropertyTable.of(props),
        extent=EXTENT,
    )


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


@pytest.mark.parametrize("collection", ["level5_grid", "level4_community", "level2_district"])
@pytest.mark.parametrize("z", [8, 11, 13, 15, 17])
def test_pilot_tiles_are_the_bytes_mapbox_vector_tile_writes(
    data: Dataset, collection: str, z: int
) -> None:
    layer = TileLayer.from_table(catalog_for(data).tables[collection])
    x, y = tile_of(*PILOT, z)
    positions, cut, to_tile = layer.clipped(z, x, y)
    local = in_tile_units(cut, to_tile)
    assert len(positions)
    fids, props = layer.features(positions)
    ids = fids.tolist()
    expected = reference(collection, list(local), props, ids)
    assert layer.tile(z, x, y) == expected
    decoded = mapbox_vector_tile.decode(expected)[collection]["features"]
    assert {f["properties"]["code"] for f in decoded} == {p["code"] for p in props}


def test_edge_cases_are_encoded_as_mapbox_vector_tile_does() -> None:
    holed = shapely.Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(20, 20), (20, 40), (40, 40), (40, 20)]]
    )
    multi = shapely.MultiPolygon([shapely.box(200, 200, 300, 300), shapely.box(400, 0, 500, 50)])
    ccw = shapely.Polygon([(600, 600), (700, 600), (700, 700), (600, 700)])  # reoriented
    repeated = shapely.Polygon([(0, 800), (0, 800), (50, 800), (50, 850), (50, 850), (0, 850)])
    flat = shapely.Polygon([(10, 10), (10, 10), (10, 10), (10, 10)])  # nothing left: dropped
    hole_of_nothing = shapely.Polygon(
        [(900, 900), (900, 900), (900, 900)], [[(901, 901), (902, 901), (902, 902)]]
    )
    geoms = [holed, multi, ccw, repeated, flat, hole_of_nothing]
    props: list[dict[str, Any]] = [
        {"code": "1", "open": True, "n": 1, "area": 1.0, "delta": -3},
        {"code": "2", "open": False, "n": 1.0, "area": 2.5, "note": "长" * 60},
        {"code": "3", "n": True, "one": 1, "none": None, "list": [1, 2]},  # the last two: left out
        {},
        {"code": "dropped with its properties"},
        {"code": "also dropped"},
    ]
    ids = [0, -1, 2**40, 7, 8, 9]
    expected = reference("edge", geoms, props, ids)
    assert ours("edge", geoms, props, ids) == expected
    decoded = mapbox_vector_tile.decode(expected)["edge"]["features"]
    assert len(decoded) == 4  # the flat polygon and the one with a point for exterior: gone
    assert decoded[1]["properties"]["n"] == 1  # 1.0 took the value 1 has (dict semantics)


def test_a_tile_with_nothing_left_is_none() -> None:
    flat = shapely.Polygon([(1, 1), (1, 1), (1, 1), (1, 1)])
    assert ours("none", [flat], [{"code": "x"}], [1]) is None


def test_varints() -> None:
    values = np.array([0, 1, 127, 128, 300, 2**32, 2**63 + 5], dtype=np.uint64)
    data, lengths = varints(values)
    assert lengths.tolist() == [1, 1, 1, 2, 2, 5, 10]
    assert data.tobytes()[:7] == bytes([0, 1, 127, 0x80, 1, 0xAC, 2])


coordinate = st.integers(-80, EXTENT + 80)


@st.composite
def polygons(draw: st.DrawFn) -> Any:
    """Random star-shaped polygons, some tiny (they collapse when rounded), some holed."""
    cx, cy = draw(coordinate), draw(coordinate)
    radius = draw(st.sampled_from([0.3, 1.5, 4.0, 60.0, 900.0]))
    n = draw(st.integers(3, 9))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi), min_size=n, max_size=n)))
    ring = [(round(cx + radius * math.cos(a)), round(cy + radius * math.sin(a))) for a in angles]
    hole = None
    if radius > 50 and draw(st.booleans()):
        hole = [[(cx - 5, cy - 5), (cx + 5, cy - 5), (cx + 5, cy + 5), (cx - 5, cy + 5)]]
    polygon = shapely.Polygon(ring, hole)
    if draw(st.booleans()):
        polygon = shapely.MultiPolygon([polygon, shapely.box(cx + 2000, cy, cx + 2010, cy + 10)])
    return polygon


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    geoms=st.lists(polygons(), min_size=1, max_size=12),
    values=st.lists(
        st.one_of(st.booleans(), st.integers(-(2**40), 2**40), st.floats(-1e6, 1e6), st.text()),
        min_size=1,
        max_size=5,
    ),
)
def test_random_polygons_are_the_bytes_mapbox_vector_tile_writes(
    geoms: list[Any], values: list[Any]
) -> None:
    props = [
        {f"k{(i + j) % 4}": values[(i + j) % len(values)] for j in range(3)}
        for i in range(len(geoms))
    ]
    ids = [i - 1 for i in range(len(geoms))]
    expected = reference("random", geoms, props, ids)
    got = ours("random", geoms, props, ids)
    theirs = mapbox_vector_tile.decode(expected).get("random", {}).get("features")
    if not theirs:
        assert got is None
    elif shapely.is_valid(np.asarray(geoms, dtype=object)).all():
        assert got == expected
    else:  # a ring that crosses itself: GEOS and the area's sign may orient it apart
        assert got is not None
        features = mapbox_vector_tile.decode(got)["random"]["features"]
        assert [f["properties"] for f in features] == [f["properties"] for f in theirs]


def test_ragged_arrays_take_join_and_bound_features() -> None:
    holed = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]]
    )
    multi = shapely.MultiPolygon([shapely.box(20, 20, 30, 30), shapely.box(40, 0, 50, 5)])
    geoms = np.array([holed, multi, shapely.box(-5, -5, -1, -1)], dtype=object)
    features = Ragged.of(geoms)
    assert len(features) == 3
    back = features.geometries()  # multipolygons, the same shapes and vertices
    assert shapely.equals(back, geoms).all()
    assert shapely.get_num_coordinates(back).tolist() == shapely.get_num_coordinates(geoms).tolist()
    picked = features.take(np.array([2, 0]))
    assert shapely.equals(picked.geometries(), np.array([geoms[2], geoms[0]], dtype=object)).all()
    joined = picked.then(features.take(np.array([1])))
    assert shapely.equals(joined.geometries(), geoms[[2, 0, 1]]).all()
    assert np.array_equal(features.bounds(), shapely.bounds(geoms))
    empty = Ragged.of(np.empty(0, dtype=object))
    assert len(empty) == 0 and len(empty.then(picked)) == 2
    odd = np.array(
        [None, shapely.LineString([(0, 0), (1, 1)]), shapely.GeometryCollection([holed, multi])],
        dtype=object,
    )
    kept = Ragged.of(odd)  # what is not polygonal is empty; a collection keeps its polygons
    assert np.isnan(kept.bounds()[:2]).all() and shapely.is_empty(kept.geometries()[:2]).all()
    assert kept.geometries()[2].area == holed.area + multi.area


def test_an_integer_past_int64_is_refused_not_wrapped() -> None:
    assert mvt_encoder._value_message(2**63 - 1) == b"\x20" + mvt_encoder.varint(2**63 - 1)
    with pytest.raises(ValueError, match="int64"):
        mvt_encoder._value_message(2**63)  # mapbox_vector_tile refuses it too


# --- the whole-tile path: varints, the layer's property cache, clipping, the quick path ----------


def _definition(values: list[int]) -> bytes:
    return b"".join(mvt_encoder.varint(v) for v in values)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 127), st.integers(0, 2**21), st.integers(0, 2**64 - 1)),
        max_size=600,  # both ways of writing them: a row per value (<= 256) and the long one
    )
)
def test_varints_are_the_definition(values: list[int]) -> None:
    data, lengths = varints(np.array(values, dtype=np.uint64))
    assert data.tobytes() == _definition(values)
    assert lengths.tolist() == [len(mvt_encoder.varint(v)) for v in values]
    assert mvt_encoder.varint_lengths(np.array(values, dtype=np.uint64)).tolist() == (
        lengths.tolist()
    )


property_value = st.one_of(
    st.booleans(),
    st.sampled_from([0, 1, 1.0, 0.0, -0.0, -3, "1", "", "长"]),
    st.integers(-(2**40), 2**40),
    st.floats(-1e6, 1e6),
    st.text(max_size=8),
    st.none(),
    st.just([1, 2]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    props=st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "c", "名"]), property_value, max_size=4),
        min_size=1,
        max_size=12,
    ),
    picks=st.lists(st.lists(st.integers(0, 11), min_size=1, max_size=8), min_size=1, max_size=4),
)
def test_the_layer_property_cache_writes_the_bytes_of_a_table_per_tile(
    props: list[dict[str, Any]], picks: list[list[int]]
) -> None:
    """Tile after tile over one layer (features numbered in earlier tiles, values that are
    1 and 1.0 and True, left-out None and lists): the very bytes of a table made for the
    tile, and of mapbox_vector_tile."""
    cache = mvt_encoder.PropertyCache(props)
    square = shapely.box(0, 0, 100, 100)
    for pick in picks:
        rows = np.array([p % len(props) for p in pick], dtype=np.int64)
        picked = [props[r] for r in rows.tolist()]
        geoms = np.array([square] * len(rows), dtype=object)
        ids = np.arange(len(rows), dtype=np.int64)
        at = np.arange(len(rows), dtype=np.int64)
        args: dict[str, Any] = {"ids": ids, "positions": at, "extent": EXTENT}
        cached = encode_polygons("p", geoms, table=cache.table(rows), **args)
        fresh = encode_polygons("p", geoms, table=PropertyTable.of(picked), **args)
        assert cached == fresh == reference("p", list(geoms), picked, ids.tolist())


def test_a_tile_that_holds_equal_values_of_two_types_numbers_them_as_mapbox_vector_tile() -> None:
    props: list[dict[str, Any]] = [
        {"n": 1.0},
        {"n": 1},
        {"n": True},
        {"n": 1.0},
        {"n": "1"},
        {"n": -0.0},
        {"n": 0.0},
    ]
    cache = mvt_encoder.PropertyCache(props)
    square = shapely.box(0, 0, 10, 10)
    # the first seen of 1 and 1.0 counts, and of 0.0 and -0.0 (equal, but written apart)
    for rows in ([1, 0, 2], [0, 1, 3, 4], [3, 2, 1], [5, 6], [6, 5, 5], [6, 0, 5]):
        at = np.array(rows, dtype=np.int64)
        picked = [props[r] for r in rows]
        geoms = [square] * len(rows)
        got = encode_polygons(
            "n",
            np.array(geoms, dtype=object),
            ids=np.full(len(rows), -1, dtype=np.int64),
            positions=np.arange(len(rows), dtype=np.int64),
            table=cache.table(at),
            extent=EXTENT,
        )
        assert got == reference("n", geoms, picked, [-1] * len(rows))


def test_ragged_of_polygonal_is_ragged_of() -> None:
    holed = shapely.Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]]
    )
    multi = shapely.MultiPolygon([shapely.box(20, 20, 30, 30), holed])
    geoms = np.array([holed, multi, shapely.box(-5, -5, -1, -1)], dtype=object)
    for picked in (geoms, geoms[[1]], geoms[:0]):
        a, b = Ragged.of(picked), Ragged.of_polygonal(picked)
        for name in ("coords", "rings", "polygons", "parts"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("few", [tiles_module.QUICK_FEATURES, 0])
@pytest.mark.parametrize("collection", ["level5_grid", "level4_community", "level2_district"])
@pytest.mark.parametrize("z", [12, 14, 16])
def test_blocks_of_pilot_tiles_are_the_bytes_mapbox_vector_tile_writes(
    data: Dataset, collection: str, z: int, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every tile of a 5 x 5 block around the pilot, encoded on the quick path (a zoom
    in memory) or the pool's: the bytes of mapbox_vector_tile on the clipped geometries,
    whose shapes in tile units are those a general GEOS intersection cuts (which may
    start a ring at another vertex). ``few``: 0 cuts as a large tile does (only the
    features across the clip's edge made geometries) and takes no quick path."""
    monkeypatch.setattr(tiles_module, "QUICK_FEATURES", few)
    layer = TileLayer.from_table(catalog_for(data).tables[collection])
    x0, y0 = tile_of(*PILOT, z)
    layer.tile(z, x0, y0)  # the zoom in memory: the others may take the quick path
    other = TileLayer.from_table(catalog_for(data).tables[collection])
    tiles = quicks = 0
    for x in range(x0 - 2, x0 + 3):
        for y in range(y0 - 2, y0 + 3):
            positions, cut, to_tile = layer.clipped(z, x, y)
            if not len(positions):
                assert layer.tile(z, x, y) is None
                continue
            fids, props = layer.features(positions)
            expected = reference(
                collection, list(in_tile_units(cut, to_tile)), props, fids.tolist()
            )
            cached = layer.cached(z, x, y)[0]
            found, quick = layer.quick(z, x, y)
            assert (quick if found else layer.tile(z, x, y)) == expected
            quicks += found and not cached
            assert other.tile(z, x, y) == expected  # a layer that numbered no property before
            clip, _ = tiles_module._clip_of(z, x, y)
            whole = layer.polygons_at(z).features.take(positions).geometries()
            exact = in_tile_units(shapely.intersection(whole, shapely.box(*clip)), to_tile)
            general = reference(collection, list(exact), props, fids.tolist())
            assert _shapes(general, collection) == _shapes(expected, collection)
            tiles += 1
    assert tiles >= 4 and (quicks >= 3 if few else quicks == 0)


def _shapes(tile: bytes, layer: str) -> list[tuple[Any, Any]]:
    """Each feature's id and its shape in tile units, normalised."""
    features = mapbox_vector_tile.decode(tile)[layer]["features"]
    shapes = [shapely.geometry.shape(f["geometry"]) for f in features]
    return [
        (f["id"], shapely.normalize(g).wkt)
        for f, g in zip(features, shapely.make_valid(shapes), strict=True)
    ]


def test_features_meeting_a_clip_are_those_whose_boxes_meet_it(data: Dataset) -> None:
    zoom = TileLayer.from_table(catalog_for(data).tables["level5_grid"]).polygons_at(14)
    b = zoom.bounds
    rng = np.random.default_rng(16)
    x0, y0, x1, y1 = np.nanmin(b[:, 0]), np.nanmin(b[:, 1]), np.nanmax(b[:, 2]), np.nanmax(b[:, 3])
    for _ in range(200):
        cx, cy = rng.uniform(x0 - 500, x1 + 500), rng.uniform(y0 - 500, y1 + 500)
        half = rng.choice([5.0, 200.0, 3000.0, 50000.0])
        clip = (cx - half, cy - half, cx + half, cy + half)
        brute = (b[:, 0] <= clip[2]) & (b[:, 2] >= clip[0]) & (b[:, 1] <= clip[3])
        brute &= b[:, 3] >= clip[1]
        assert zoom.meeting(clip).tolist() == np.flatnonzero(brute).tolist()


@pytest.mark.parametrize("length", [0, 1, 40, 0x7D, 0x7E, 0x7F, 300])
def test_a_value_field_is_the_framed_value_message(length: int) -> None:
    for value in ("a" * length, "长" * (length // 3), length, length + 0.5, length % 2 == 0):
        assert mvt_encoder._value_field(value) == mvt_encoder._framed(
            0x22, mvt_encoder._value_message(value)
        )


def test_a_tile_of_more_than_128_values_writes_two_byte_tags() -> None:
    """Tags are one byte each while a tile numbers fewer than 128 keys and values; past
    that, varints of two bytes (and their lengths summed per feature)."""
    geoms = [shapely.box(i, 0, i + 0.8, 1) for i in range(100)]
    props: list[dict[str, Any]] = [
        {"code": f"c{i}", "name": f"网格{i}", "n": i % 3} for i in range(100)
    ]
    ids = list(range(100))
    expected = reference("many", geoms, props, ids)
    assert ours("many", geoms, props, ids) == expected
    cache = mvt_encoder.PropertyCache(props)
    at = np.arange(100, dtype=np.int64)
    got = encode_polygons(
        "many",
        np.asarray(geoms, dtype=object),
        ids=at,
        positions=at,
        table=cache.table(at),
        extent=EXTENT,
    )
    assert got == expected
