"""gridgeo.lookup: covers semantics, the tie rule, nearest grid, CRS intake."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import shapely
from geometries import QUAD, nested_dataset
from shapely.geometry import box

from gridgeo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridgeo.errors import CoordinateError
from gridgeo.io.dataset import load
from gridgeo.lookup import Locator, owner_rank
from gridgeo.model import GridSet
from gridgeo.workstation import Workstation

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator(nested_dataset())


def quad(order: list[str]) -> Locator:
    return Locator(GridSet.from_records(order, [QUAD[c] for c in order]))


def test_interior_point_gets_the_whole_chain(locator: Locator) -> None:
    result = locator.lookup(110.21, 25.39)
    assert [g.code for g in result.grids] == [
        "450302001001001",
        "450302001001",
        "450302001",
        "450302",
        "450300",
    ]
    assert [int(g.level) for g in result.grids] == [5, 4, 3, 2, 1]
    assert result.nearest is None
    data = result.to_dict()
    assert data["grids"][0] == {
        "level": 5,
        "level_name": "grid (五级网格)",
        "code": "450302001001001",
        "name": "网格450302001001001",
    }


def test_shared_edge_goes_to_the_smaller_code() -> None:
    codes = list(QUAD)
    for order in (codes, codes[::-1]):
        loc = quad(order)
        assert loc.lookup(110.295, 25.30).leaf.code == "450302001001"  # edge between 001/003
        assert loc.lookup(110.30, 25.305).leaf.code == "450302001001"  # edge between 001/002
        assert loc.lookup(110.30, 25.295).leaf.code == "450302001003"  # edge between 003/004


def test_shared_vertex_goes_to_the_smallest_code_in_any_input_order() -> None:
    codes = list(QUAD)
    rng = random.Random(7)
    for _ in range(6):
        rng.shuffle(codes)
        assert quad(codes).lookup(110.30, 25.30).leaf.code == "450302001001"


def test_outer_boundary_is_covered() -> None:
    loc = quad(list(QUAD))
    assert loc.lookup(110.31, 25.305).leaf.code == "450302001002"  # east edge, covers


def test_vectorized_locate_agrees_with_geos_covers(locator: Locator) -> None:
    grids = locator.grids
    rng = np.random.default_rng(3)
    lon = rng.uniform(110.19, 110.41, 5000)
    lat = rng.uniform(25.19, 25.41, 5000)
    # add points exactly on edges and vertices of the grid lines
    edges = np.linspace(110.2, 110.4, 9)
    lon = np.concatenate([lon, edges, edges])
    lat = np.concatenate([lat, np.full(9, 25.3), np.full(9, 25.35)])
    owners = locator.locate(lon, lat)
    points = shapely.points(lon, lat)
    leaves = sorted(np.flatnonzero(grids.levels == 5), key=lambda i: grids.codes[i])
    expected = np.full(points.size, -1)
    for i in reversed(leaves):  # smallest code last, so it wins ties
        expected[shapely.covers(grids.geometries[i], points)] = i
    assert np.array_equal(owners, expected)
    assert (owners >= 0).sum() > 4000


def test_point_outside_reports_nearest_within_tolerance(locator: Locator) -> None:
    near = locator.lookup(110.4003, 25.3505)  # ~30 m east of the city edge
    assert near.grids == ()
    assert near.nearest is not None
    assert near.nearest.code.startswith("450304")
    assert near.nearest.distance_m == pytest.approx(30.2, abs=0.5)
    far = locator.lookup(110.41, 25.35)  # ~1 km east
    assert far.grids == () and far.nearest is None
    assert far.to_dict()["grids"] == [] and far.to_dict()["nearest"] is None


def test_nearest_tolerance_is_a_parameter() -> None:
    loc = Locator(nested_dataset(), nearest_tolerance_m=2000)
    assert loc.lookup(110.41, 25.35).nearest is not None


def test_deepest_level_when_a_community_has_no_grids() -> None:
    street = box(110.29, 25.29, 110.31, 25.31)
    gs = GridSet.from_records(
        ["450302001", "450302001001"], [street, box(110.29, 25.29, 110.3, 25.31)]
    )
    loc = Locator(gs)
    assert loc.lookup(110.305, 25.3).leaf.code == "450302001"
    assert loc.lookup(110.295, 25.3).leaf.code == "450302001001"


def test_workstation_is_matched_through_the_chain(locator: Locator) -> None:
    ws = Workstation("WS1", "站", 110.21, 25.39, ("450302001001",))
    loc = Locator(locator.grids, [ws])
    assert loc.lookup(110.21, 25.39).workstation == ws
    assert loc.lookup(110.39, 25.21).workstation is None


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (float("nan"), 25.3, "longitude"),
        (110.3, 95.0, "latitude"),
        (25.28, 110.29, "swapped"),
        (181.0, 25.0, "longitude"),
    ],
)
def test_bad_coordinates_are_refused(
    locator: Locator, lon: float, lat: float, message: str
) -> None:
    with pytest.raises(CoordinateError, match=message):
        locator.lookup(lon, lat)


def test_unknown_crs_is_refused(locator: Locator) -> None:
    with pytest.raises(CoordinateError, match="gcj02"):
        locator.lookup(110.3, 25.3, crs="mercator")


def test_gcj02_and_bd09_points_land_in_their_wgs84_grid() -> None:
    data = load(SAMPLE / "boundaries.gpkg")
    grids = data.grids
    leaves = np.flatnonzero(grids.levels == 5)
    rng = np.random.default_rng(11)
    points = shapely.get_coordinates(
        [shapely.point_on_surface(grids.geometries[i]) for i in rng.choice(leaves, 25)]
    )
    points = np.vstack([points, [[110.3005, 25.2785], [110.2915, 25.2800]]])
    for x, y in points:
        truth = data.lookup(x, y, crs="wgs84").leaf
        gx, gy = wgs84_to_gcj02(x, y)
        bx, by = wgs84_to_bd09(x, y)
        # the GCJ-02 shift in Guilin is ~559 m: taken raw it would land elsewhere
        assert data.lookup(float(gx), float(gy), crs="gcj02").leaf == truth
        assert data.lookup(float(bx), float(by), crs="bd09").leaf == truth
    assert truth is not None and truth.code.startswith("450302001002")  # 五美社区's station


def test_scalar_path_agrees_with_the_vectorized_one(locator: Locator) -> None:
    rng = np.random.default_rng(5)
    lon = np.concatenate([rng.uniform(110.19, 110.41, 500), np.linspace(110.2, 110.4, 17)])
    lat = np.concatenate([rng.uniform(25.19, 25.41, 500), np.full(17, 25.3)])
    vector = locator.locate(lon, lat)
    scalar = [locator.locate_one(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
    assert vector.tolist() == scalar


def test_zero_tolerance_turns_nearest_off() -> None:
    locator = Locator(nested_dataset(), nearest_tolerance_m=0)
    result = locator.lookup(110.41, 25.30, "cgcs2000")  # 1 km east of the city
    assert result.grids == () and result.nearest is None


def test_owner_rank_is_the_order_of_level_then_code_then_position() -> None:
    """The numpy sort gives the order of the rule's keys: deeper first, then the smaller
    code, a grid without a code after every code, ties in the features' order."""
    rng = random.Random(7)
    pool = ["450302", "450302001", "450302002", "4503", "45", "", None, "450302001"]
    for _ in range(50):
        n = rng.randint(1, 40)
        codes = [rng.choice(pool) for _ in range(n)]
        levels = [rng.randint(1, 5) for _ in range(n)]
        grids = GridSet.from_records(codes, [box(0, 0, 1, 1)] * n, levels=levels)
        pairs = enumerate(zip(levels, codes, strict=True))
        keys = [(-lv, code or "~", i) for i, (lv, code) in pairs]
        expected = np.empty(n, dtype=np.intp)
        expected[sorted(range(n), key=keys.__getitem__)] = np.arange(n)
        assert owner_rank(grids).tolist() == expected.tolist()
