"""Tests for gridgeo.coords: published vectors, round trips, prcoords, validation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
import prcoords
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgeo.coords import (
    RawValues,
    bad_lonlat_mask,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_lonlat,
    from_cgcs2000,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_coord_system,
    to_cgcs2000,
    to_cgcs2000_point,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridgeo.errors import CoordinateError

Transform = Callable[[npt.ArrayLike, npt.ArrayLike], tuple[np.ndarray, np.ndarray]]

ONE_MM = 1e-3

# The GCJ box shrunk by 0.05 degrees: every conversion moves a point by less than
# 0.025 degrees, so round trips starting here never cross the box edge.
MARGIN = 0.05
LON_RANGE = (72.004 + MARGIN, 137.8347 - MARGIN)
LAT_RANGE = (0.8293 + MARGIN, 55.8271 - MARGIN)

lons = st.floats(*LON_RANGE, allow_nan=False, allow_infinity=False)
lats = st.floats(*LAT_RANGE, allow_nan=False, allow_infinity=False)

PARIS = (2.3522, 48.8566)
GUILIN = (110.29, 25.28)

ALL_TRANSFORMS: list[Transform] = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


def metres(
    lon_a: npt.ArrayLike, lat_a: npt.ArrayLike, lon_b: npt.ArrayLike, lat_b: npt.ArrayLike
) -> np.ndarray:
    """Local flat-earth distance, ample for millimetre-scale differences."""
    dlon = np.asarray(lon_a, dtype=float) - np.asarray(lon_b, dtype=float)
    dlat = np.asarray(lat_a, dtype=float) - np.asarray(lat_b, dtype=float)
    lat = np.radians(np.asarray(lat_b, dtype=float))
    return np.asarray(np.hypot(dlon * 111_320 * np.cos(lat), dlat * 110_540), dtype=float)


@pytest.fixture(scope="module", autouse=True)
def precise_prcoords() -> Iterator[None]:
    # prcoords' "bored" inverses stop once a step is below PRC_EPS = 1e-5 degrees,
    # which leaves up to ~2 cm of error. PRC_EPS is the module's own knob for "exact"
    # iterations (its comment discusses 1e-13); 1e-12 makes it a sub-millimetre reference.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prcoords, "PRC_EPS", 1e-12)
        yield


# --- published vectors -----------------------------------------------------------------------


def test_wgs84_to_gcj02_published_vector() -> None:
    lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
    assert float(lon) == pytest.approx(121.531541859215, abs=1e-12)
    assert float(lat) == pytest.approx(31.17530398364597, abs=1e-12)


def test_gcj02_to_wgs84_published_vector() -> None:
    lon, lat = gcj02_to_wgs84(123, 45)
    # gcoord publishes (122.99395597, 44.99804071), but its iteration stops once the
    # residual is below 1e-6 degrees without applying it: emulating that loop gives
    # exactly its digits, 1.6e-7 / 9.9e-8 degrees (about 1.3 cm) from the true
    # inverse. gcoord's own test checks 5 decimals, so 1e-6 is the honest tolerance.
    assert float(lon) == pytest.approx(122.99395597, abs=1e-6)
    assert float(lat) == pytest.approx(44.99804071, abs=1e-6)
    # The true inverse: prcoords' iteration run to convergence, and our forward map.
    assert float(lon) == pytest.approx(122.99395581007795, abs=1e-10)
    assert float(lat) == pytest.approx(44.99804061843881, abs=1e-10)
    back_lon, back_lat = wgs84_to_gcj02(lon, lat)
    assert float(back_lon) == pytest.approx(123, abs=1e-12)
    assert float(back_lat) == pytest.approx(45, abs=1e-12)


def test_gcj02_to_bd09_published_vector() -> None:
    lon, lat = gcj02_to_bd09(123, 45)
    # The published digits are truncated (45.0063689998 -> 45.00636899), hence 1e-8.
    assert float(lon) == pytest.approx(123.00636499, abs=1e-8)
    assert float(lat) == pytest.approx(45.00636899, abs=1e-8)


def test_wgs84_to_bd09_published_vector() -> None:
    lon, lat = wgs84_to_bd09(116.403988, 39.914266)
    assert float(lon) == pytest.approx(116.41661560068297, abs=1e-12)
    assert float(lat) == pytest.approx(39.92196580126834, abs=1e-12)


def test_guilin_offset_is_500_to_600_metres() -> None:
    lon, lat = wgs84_to_gcj02(*GUILIN)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(*GUILIN, float(lon), float(lat))
    assert 500 < dist < 600


# --- round trips -----------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[str, Transform, Transform]] = [
    ("wgs->gcj->wgs", wgs84_to_gcj02, gcj02_to_wgs84),
    ("gcj->wgs->gcj", gcj02_to_wgs84, wgs84_to_gcj02),
    ("gcj->bd->gcj", gcj02_to_bd09, bd09_to_gcj02),
    ("bd->gcj->bd", bd09_to_gcj02, gcj02_to_bd09),
    ("wgs->bd->wgs", wgs84_to_bd09, bd09_to_wgs84),
    ("bd->wgs->bd", bd09_to_wgs84, wgs84_to_bd09),
]


@pytest.mark.parametrize(
    ("there", "back"), [(t, b) for _, t, b in ROUND_TRIPS], ids=[n for n, _, _ in ROUND_TRIPS]
)
@settings(max_examples=50, deadline=None, database=None)
@given(lon=lons, lat=lats)
def test_round_trip_under_1mm(there: Transform, back: Transform, lon: float, lat: float) -> None:
    lon2, lat2 = back(*there(lon, lat))
    assert float(metres(lon2, lat2, lon, lat)) < ONE_MM


@pytest.mark.parametrize(
    ("there", "back"), [(t, b) for _, t, b in ROUND_TRIPS], ids=[n for n, _, _ in ROUND_TRIPS]
)
def test_round_trip_vectorized_10000_points(there: Transform, back: Transform) -> None:
    rng = np.random.default_rng(20240601)
    lon = rng.uniform(*LON_RANGE, 10_000)
    lat = rng.uniform(*LAT_RANGE, 10_000)
    mid_lon, mid_lat = there(lon, lat)
    assert not np.allclose(mid_lon, lon, atol=1e-4, rtol=0)  # the shift really happened
    lon2, lat2 = back(mid_lon, mid_lat)
    assert lon2.shape == lat2.shape == (10_000,)
    assert metres(lon2, lat2, lon, lat).max() < ONE_MM


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda f: f.__name__)
def test_vectorized_matches_point_by_point(transform: Transform) -> None:
    rng = np.random.default_rng(7)
    lon = rng.uniform(*LON_RANGE, 40)
    lat = rng.uniform(*LAT_RANGE, 40)
    vec_lon, vec_lat = transform(lon, lat)
    for i in range(lon.size):
        one_lon, one_lat = transform(lon[i], lat[i])
        assert float(one_lon) == pytest.approx(vec_lon[i], abs=1e-11)
        assert float(one_lat) == pytest.approx(vec_lat[i], abs=1e-11)


@pytest.mark.parametrize("lon_offset", [0.0, 1e-16, -1e-13, 1e-10, -1e-7])
def test_gcj_inverse_converges_at_the_sqrt_kink(lon_offset: float) -> None:
    # The GCJ shift has sqrt(|lon - 105|) terms whose slope is unbounded at 105 E.
    lon = 105.0 + lon_offset
    for lat in (3.0, 30.0, 53.0):
        wlon, wlat = gcj02_to_wgs84(lon, lat)
        back_lon, back_lat = wgs84_to_gcj02(wlon, wlat)
        assert float(metres(back_lon, back_lat, lon, lat)) < 1e-6


# --- prcoords reference (lat, lon order there) ------------------------------------------------


@settings(max_examples=100, deadline=None, database=None)
@given(lon=lons, lat=lats)
def test_forward_transforms_match_prcoords(lon: float, lat: float) -> None:
    ref = prcoords.wgs_gcj((lat, lon))
    got_lon, got_lat = wgs84_to_gcj02(lon, lat)
    assert float(got_lon) == pytest.approx(ref.lon, abs=1e-9)
    assert float(got_lat) == pytest.approx(ref.lat, abs=1e-9)

    ref = prcoords.gcj_bd((lat, lon))
    got_lon, got_lat = gcj02_to_bd09(lon, lat)
    assert float(got_lon) == pytest.approx(ref.lon, abs=1e-9)
    assert float(got_lat) == pytest.approx(ref.lat, abs=1e-9)

    ref = prcoords.wgs_bd((lat, lon))
    got_lon, got_lat = wgs84_to_bd09(lon, lat)
    assert float(got_lon) == pytest.approx(ref.lon, abs=1e-9)
    assert float(got_lat) == pytest.approx(ref.lat, abs=1e-9)


@settings(max_examples=100, deadline=None, database=None)
@given(lon=lons, lat=lats)
def test_inverse_transforms_match_prcoords_precise(lon: float, lat: float) -> None:
    cases = [
        (prcoords.gcj_wgs_bored, gcj02_to_wgs84),
        (prcoords.bd_gcj_bored, bd09_to_gcj02),
        (prcoords.bd_wgs_bored, bd09_to_wgs84),
    ]
    for reference, ours in cases:
        ref = reference((lat, lon))
        got_lon, got_lat = ours(lon, lat)
        assert float(metres(got_lon, got_lat, ref.lon, ref.lat)) < ONE_MM, reference.__name__


def test_our_inverse_beats_the_one_step_approximation() -> None:
    # prcoords.gcj_wgs is the common one-step inverse (metre level); ours closes the loop.
    lon, lat = 116.397, 39.909
    rough = prcoords.gcj_wgs((lat, lon))
    rough_back = prcoords.wgs_gcj(rough)
    assert float(metres(rough_back.lon, rough_back.lat, lon, lat)) > 0.1
    back_lon, back_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert float(metres(back_lon, back_lat, lon, lat)) < 1e-6


# --- outside China, NaN ----------------------------------------------------------------------


def test_out_of_china_box() -> None:
    lon = [*PARIS[:1], 116.4, 72.004, 137.8347, 72.0039, 137.8348, 100.0, 100.0, np.nan]
    lat = [*PARIS[1:], 39.9, 0.8293, 55.8271, 30.0, 30.0, 0.8292, 55.8272, 30.0]
    expected = [True, False, False, False, True, True, True, True, True]
    assert out_of_china(lon, lat).tolist() == expected


def test_gcj_is_identity_outside_china() -> None:
    for transform in (wgs84_to_gcj02, gcj02_to_wgs84):
        lon, lat = transform(*PARIS)
        assert (float(lon), float(lat)) == PARIS


def test_bd_applies_outside_china_but_gcj_step_does_not() -> None:
    bd_lon, bd_lat = wgs84_to_bd09(*PARIS)
    only_bd = gcj02_to_bd09(*PARIS)
    assert (float(bd_lon), float(bd_lat)) == (float(only_bd[0]), float(only_bd[1]))
    assert float(bd_lon) - PARIS[0] == pytest.approx(0.0065, abs=1e-3)
    assert float(bd_lat) - PARIS[1] == pytest.approx(0.006, abs=1e-3)
    lon, lat = bd09_to_wgs84(bd_lon, bd_lat)
    assert float(metres(lon, lat, *PARIS)) < ONE_MM


def test_mixed_inside_and_outside_in_one_array() -> None:
    lon = np.array([PARIS[0], 116.4, -74.0])
    lat = np.array([PARIS[1], 39.9, 40.7])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon[[0, 2]].tolist() == lon[[0, 2]].tolist()
    assert glat[[0, 2]].tolist() == lat[[0, 2]].tolist()
    assert metres(glon[1], glat[1], lon[1], lat[1]) > 100


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda f: f.__name__)
def test_nan_propagates_without_disturbing_other_points(transform: Transform) -> None:
    lon = np.array([np.nan, 116.4, 121.5])
    lat = np.array([39.9, np.nan, 31.2])
    out_lon, out_lat = transform(lon, lat)
    assert np.isnan(out_lon[1]) or np.isnan(out_lat[1])
    assert np.isnan(out_lon[0]) or np.isnan(out_lat[0])
    alone_lon, alone_lat = transform(121.5, 31.2)
    assert out_lon[2] == pytest.approx(float(alone_lon), abs=1e-11)
    assert out_lat[2] == pytest.approx(float(alone_lat), abs=1e-11)


def test_bad_lonlat_mask_marks_missing_and_out_of_range() -> None:
    lon = [116.4, np.nan, np.inf, 180.5, None, "abc", "121.5", 121.5, -180.0, 180.0]
    lat = [39.9, 39.9, 39.9, 39.9, 39.9, 39.9, "31.2", -np.inf, -90.0, 90.0]
    mask = bad_lonlat_mask(lon, lat)
    assert mask.dtype == np.bool_
    expected = [False, True, True, True, True, True, False, True, False, False]
    assert mask.tolist() == expected


def test_bad_lonlat_mask_vectorized_float_arrays_and_shapes() -> None:
    lon = np.array([[116.4, np.nan], [200.0, 0.0]])
    lat = np.array([[39.9, 0.0], [0.0, -90.0001]])
    assert bad_lonlat_mask(lon, lat).tolist() == [[False, True], [True, True]]
    assert bad_lonlat_mask(np.nan, 0.0).shape == ()
    assert bool(bad_lonlat_mask(np.nan, 0.0))
    with pytest.raises(CoordinateError, match="differ in shape"):
        bad_lonlat_mask([1.0, 2.0], [1.0])


# --- check_lonlat ----------------------------------------------------------------------------


def test_check_lonlat_returns_float_arrays() -> None:
    lon, lat = check_lonlat([116, "121.5"], [39.9, 31])
    assert lon.dtype == lat.dtype == np.float64
    assert lon.tolist() == [116.0, 121.5]
    assert lat.tolist() == [39.9, 31.0]
    lon, lat = check_lonlat(-180, 90)
    assert lon.shape == lat.shape == ()


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        ([1, 2, 3, 121.0], [1, 2, 3, 95.0], "point 3: latitude 95.0 is outside [-90, 90]"),
        ([116.4, np.nan], [39.9, 39.9], "point 1: longitude is missing (NaN)"),
        ([116.4, 116.4], [39.9, None], "point 1: latitude is missing (NaN)"),
        ([116.4, 181.0], [39.9, 39.9], "point 1: longitude 181.0 is outside [-180, 180]"),
        ([116.4, -np.inf], [39.9, 39.9], "point 1: longitude -inf is not finite"),
        ([116.4, "abc"], [39.9, 39.9], "point 1: longitude 'abc' is not a number"),
        ([116.4], [[39.9]], "differ in shape"),
        (np.nan, 39.9, "longitude is missing (NaN)"),
        ([[116.4, 116.4], [116.4, 116.4]], [[1, 2], [3, 91]], "point (1, 1): latitude 91.0"),
    ],
)
def test_check_lonlat_errors(lon: RawValues, lat: RawValues, message: str) -> None:
    with pytest.raises(CoordinateError, match=re.escape(message)):
        check_lonlat(lon, lat)


def test_check_lonlat_single_point_message_has_no_index() -> None:
    with pytest.raises(CoordinateError) as info:
        check_lonlat(116.4, 95.0)
    assert str(info.value) == "latitude 95.0 is outside [-90, 90]"


def test_check_lonlat_reports_the_first_bad_point() -> None:
    with pytest.raises(CoordinateError, match=r"^point 2: latitude -91.0 "):
        check_lonlat([116.4, 116.4, 116.4, 999.0], [39.9, 39.9, -91.0, 39.9])


def test_check_lonlat_detects_swapped_guilin_pair() -> None:
    lat, lon = GUILIN[1], GUILIN[0]
    with pytest.raises(CoordinateError) as info:
        check_lonlat(lat, lon)  # (25.28, 110.29): latitude first by mistake
    text = str(info.value)
    assert text.startswith("latitude 110.29 is outside [-90, 90]")
    assert text.endswith("looks like (lat, lon) swapped: pass longitude first")
    with pytest.raises(CoordinateError, match=re.escape("point 1: latitude 110.29")):
        check_lonlat([GUILIN[0], lat], [GUILIN[1], lon])


def test_check_lonlat_swap_hint_only_when_it_fits_china() -> None:
    with pytest.raises(CoordinateError) as info:
        check_lonlat(-120.0, 95.0)
    assert "swapped" not in str(info.value)


def test_check_lonlat_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a number"):
        check_lonlat("east", 30.0)


# --- systems, CGCS2000 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        ("CRS84", "wgs84"),
        ("OGC:CRS84", "wgs84"),
        ("cgcs2000", "cgcs2000"),
        ("epsg:4490", "cgcs2000"),
        (" 4490 ", "cgcs2000"),
        ("GCJ02", "gcj02"),
        ("gcj-02", "gcj02"),
        ("gcj", "gcj02"),
        ("Mars", "gcj02"),
        ("AMAP", "gcj02"),
        ("tencent", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("Baidu", "bd09"),
        ("bd09ll", "bd09"),
    ],
)
def test_parse_coord_system_aliases(name: str, expected: str) -> None:
    assert parse_coord_system(name) == expected


@pytest.mark.parametrize("name", ["utm50n", "", "epsg:3857", "google"])
def test_parse_coord_system_unknown(name: str) -> None:
    with pytest.raises(CoordinateError) as info:
        parse_coord_system(name)
    text = str(info.value)
    assert repr(name) in text
    for accepted in ("wgs84", "epsg:4490", "gcj02", "amap", "bd09ll", "ogc:crs84"):
        assert accepted in text


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "EPSG:4326", "4490"])
def test_wgs84_and_cgcs2000_pass_through_as_copies(system: str) -> None:
    lon = np.array([116.4, 121.5])
    lat = np.array([39.9, 31.2])
    for convert in (to_cgcs2000, from_cgcs2000):
        out_lon, out_lat = convert(lon, lat, system)
        assert out_lon.tolist() == lon.tolist()
        assert out_lat.tolist() == lat.tolist()
        assert not np.shares_memory(out_lon, lon)
        assert not np.shares_memory(out_lat, lat)


def test_to_and_from_cgcs2000_dispatch() -> None:
    lon, lat = 116.397, 39.909
    assert np.array_equal(to_cgcs2000(lon, lat, "amap"), gcj02_to_wgs84(lon, lat))
    assert np.array_equal(to_cgcs2000(lon, lat, "baidu"), bd09_to_wgs84(lon, lat))
    assert np.array_equal(from_cgcs2000(lon, lat, "gcj02"), wgs84_to_gcj02(lon, lat))
    assert np.array_equal(from_cgcs2000(lon, lat, "bd09"), wgs84_to_bd09(lon, lat))
    with pytest.raises(CoordinateError, match="unknown coordinate system"):
        to_cgcs2000(lon, lat, "utm")


@settings(max_examples=30, deadline=None, database=None)
@given(lon=lons, lat=lats, system=st.sampled_from(["wgs84", "cgcs2000", "gcj02", "bd09"]))
def test_cgcs2000_round_trip(lon: float, lat: float, system: str) -> None:
    back_lon, back_lat = from_cgcs2000(*to_cgcs2000(lon, lat, system), system)
    assert float(metres(back_lon, back_lat, lon, lat)) < ONE_MM


# --- shapes and input types ------------------------------------------------------------------


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (0,)])
def test_shape_and_dtype_preserved(transform: Transform, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    lon = rng.uniform(100, 120, shape)
    lat = rng.uniform(20, 40, shape)
    out_lon, out_lat = transform(lon, lat)
    assert isinstance(out_lon, np.ndarray)
    assert isinstance(out_lat, np.ndarray)
    assert out_lon.shape == out_lat.shape == shape
    assert out_lon.dtype == out_lat.dtype == np.float64


def test_scalar_in_gives_0d_arrays_for_every_function() -> None:
    results = [f(116, 40) for f in ALL_TRANSFORMS]
    results += [to_cgcs2000(116, 40, "bd09"), from_cgcs2000(116, 40, "wgs84")]
    results.append(check_lonlat(116, 40))
    for lon, lat in results:
        assert isinstance(lon, np.ndarray)
        assert isinstance(lat, np.ndarray)
        assert lon.shape == lat.shape == ()
    assert out_of_china(116, 40).shape == ()
    assert bad_lonlat_mask(116, 40).shape == ()


def test_inputs_are_not_modified() -> None:
    lon = np.array([116.4, 121.5])
    lat = np.array([39.9, 31.2])
    for transform in ALL_TRANSFORMS:
        out_lon, _ = transform(lon, lat)
        out_lon[:] = 0.0
    assert lon.tolist() == [116.4, 121.5]
    assert lat.tolist() == [39.9, 31.2]


def test_lists_and_ints_accepted() -> None:
    lon, lat = wgs84_to_gcj02([116, 121], [40, 31])
    assert lon.shape == lat.shape == (2,)
    assert not math.isclose(lon[0], 116.0)


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda f: f.__name__)
def test_transforms_reject_non_numbers_and_mismatched_shapes(transform: Transform) -> None:
    with pytest.raises(CoordinateError, match="must be numbers"):
        transform(["116.4", "abc"], [39.9, 39.9])
    with pytest.raises(CoordinateError, match="differ in shape"):
        transform([116.4, 116.5], [39.9])


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_point_path_matches_array_path(system: str) -> None:
    # the scalar path (HTTP lookups) and the array path (batches) must place a point alike
    rng = np.random.default_rng(7)
    lon = np.concatenate([rng.uniform(*LON_RANGE, 2000), [10.0, 140.0, 72.004, 137.8347]])
    lat = np.concatenate([rng.uniform(*LAT_RANGE, 2000), [50.0, 20.0, 0.8293, 55.8271]])
    want_x, want_y = to_cgcs2000(lon, lat, system)
    got = np.array([to_cgcs2000_point(x, y, system) for x, y in zip(lon, lat, strict=True)])
    assert np.abs(got[:, 0] - want_x).max() < 1e-11
    assert np.abs(got[:, 1] - want_y).max() < 1e-11
    assert all(isinstance(v, float) for v in to_cgcs2000_point(110.3, 25.28, system))


@given(lon=lons, lat=lats)
def test_point_path_inverts_the_forward_transforms(lon: float, lat: float) -> None:
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert float(metres(*to_cgcs2000_point(float(gx), float(gy), "gcj02"), lon, lat)) < ONE_MM
    bx, by = wgs84_to_bd09(lon, lat)
    assert float(metres(*to_cgcs2000_point(float(bx), float(by), "bd09"), lon, lat)) < ONE_MM


def test_point_path_names_an_unknown_system() -> None:
    with pytest.raises(CoordinateError, match="mercator"):
        to_cgcs2000_point(110.3, 25.28, "mercator")
