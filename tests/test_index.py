"""gridgeo.index.GridIndex: identical answers to GEOS covers with the smallest-code tie rule."""

from __future__ import annotations

import pickle

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from geometries import QUAD, nested_dataset
from shapely.geometry import MultiPolygon, Polygon, box

from gridgeo.coords import wgs84_to_bd09, wgs84_to_gcj02
from gridgeo.errors import GridgeoError
from gridgeo.index import GridIndex
from gridgeo.io.dataset import load
from gridgeo.model import GridSet
from gridgeo.sample.tessellation import nested_tessellation


def oracle(
    owners: GridSet, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """GEOS ``covers`` via an STRtree; among covering grids (leaves, and parents where their
    children leave a gap) the deepest level, then the smallest code (the lookup core's rule)."""
    points = shapely.points(x, y)
    polygons = owners.geometries.copy()
    shapely.prepare(polygons)
    pt, geom = shapely.STRtree(polygons).query(points)
    hit = shapely.intersects(polygons[geom], points[pt])  # point-polygon intersects == covers
    pt, geom = pt[hit], geom[hit]
    codes = np.array(owners.codes, dtype=object)
    order = np.lexsort((codes[geom].astype(str), -owners.levels[geom], pt))
    first = np.r_[True, pt[order][1:] != pt[order][:-1]]
    out = np.full(len(points), -1)
    out[pt[order][first]] = geom[order][first]
    return out


def boundary_points(leaves: GridSet, rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Vertices of the leaves and points along their edges (on or within rounding of them)."""
    rings = shapely.get_exterior_ring(shapely.get_parts(leaves.geometries))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    pick = rng.integers(0, len(a), n)
    t = rng.uniform(0, 1, (n, 1))
    along = a[pick] + t * (b[pick] - a[pick])
    return np.vstack([coords, along, (a[pick] + b[pick]) / 2])


@pytest.fixture(scope="module")
def tessellation() -> GridSet:
    return nested_tessellation(3000, seed=42)


@pytest.fixture(scope="module")
def index(tessellation: GridSet) -> GridIndex:
    return GridIndex(tessellation)


def test_leaves_are_the_fifth_level(index: GridIndex, tessellation: GridSet) -> None:
    assert len(index.leaves) == 3000
    assert set(index.leaves.levels.tolist()) == {5}
    assert index.stats["boundary_cells"] < index.stats["cells"]


def test_random_points_agree_with_geos(index: GridIndex) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(109.99, 110.61, 200_000)
    y = rng.uniform(24.99, 25.51, 200_000)
    got = index.assign(x, y)
    assert np.array_equal(got, oracle(index.owners, x, y))
    assert (got == -1).sum() > 0 and (got >= 0).mean() > 0.9


def test_points_on_edges_and_vertices_follow_the_tie_rule(index: GridIndex) -> None:
    xy = boundary_points(index.leaves, np.random.default_rng(8), 20_000)
    got = index.assign(xy[:, 0], xy[:, 1])
    assert np.array_equal(got, oracle(index.owners, xy[:, 0], xy[:, 1]))
    scalar = [index.assign_one(a, b) for a, b in xy[:2000]]
    assert scalar == got[:2000].tolist()


def test_quad_vertex_and_edges() -> None:
    order = list(QUAD)[::-1]
    index = GridIndex(GridSet.from_records(order, [QUAD[c] for c in order]))
    got = index.codes(
        index.assign([110.30, 110.295, 110.30, 110.305], [25.30, 25.30, 25.305, 25.2999])
    )
    assert got.tolist() == ["450302001001", "450302001001", "450302001001", "450302001004"]


def test_holes_enclaves_and_multipolygons() -> None:
    outer = Polygon(
        box(110.0, 25.0, 110.1, 25.1).exterior, [box(110.04, 25.04, 110.06, 25.06).exterior]
    )
    enclave = box(110.04, 25.04, 110.06, 25.06)
    split = MultiPolygon([box(110.1, 25.0, 110.2, 25.05), box(110.1, 25.06, 110.2, 25.1)])
    grids = GridSet.from_records(
        ["450302001001", "450302001002", "450302001003"], [outer, enclave, split]
    )
    index = GridIndex(grids, cells_per_leaf=16)
    x = np.array([110.01, 110.05, 110.04, 110.15, 110.15, 110.15, 110.3])
    y = np.array([25.01, 25.05, 25.05, 25.02, 25.055, 25.08, 25.05])
    assert index.codes(index.assign(x, y)).tolist() == [
        "450302001001",
        "450302001002",
        "450302001001",
        "450302001003",
        None,
        "450302001003",
        None,
    ]
    rng = np.random.default_rng(3)
    rx, ry = rng.uniform(109.99, 110.21, 100_000), rng.uniform(24.99, 25.11, 100_000)
    assert np.array_equal(index.assign(rx, ry), oracle(index.owners, rx, ry))


def test_polygons_with_thousands_of_vertices() -> None:
    grids = load().grids
    index = GridIndex(grids)
    assert index.stats["edges"] > 30_000
    rng = np.random.default_rng(4)
    b = shapely.total_bounds(index.leaves.geometries)
    x, y = rng.uniform(b[0], b[2], 300_000), rng.uniform(b[1], b[3], 300_000)
    assert np.array_equal(index.assign(x, y), oracle(index.owners, x, y))
    xy = boundary_points(index.leaves, rng, 20_000)
    assert np.array_equal(
        index.assign(xy[:, 0], xy[:, 1]), oracle(index.owners, xy[:, 0], xy[:, 1])
    )


def test_codes_at_every_level(index: GridIndex, tessellation: GridSet) -> None:
    leaf = int(np.flatnonzero(index.owners.levels == 5)[17])  # an owner position
    code = index.owners.codes[leaf]
    assert code is not None
    chain = [tessellation.codes[p] for p in tessellation.chain(tessellation.position(code))]
    assert [index.codes([leaf], lv)[0] for lv in (5, 4, 3, 2, 1)] == chain
    assert index.codes([-1], 3).tolist() == [None]


def test_datum_conversion_on_input() -> None:
    index = GridIndex(load().grids)
    x, y = np.array([110.3005, 110.2915]), np.array([25.2785, 25.2800])
    truth = index.assign(x, y, crs="wgs84")
    gx, gy = wgs84_to_gcj02(x, y)
    bx, by = wgs84_to_bd09(x, y)
    assert np.array_equal(index.assign(gx, gy, crs="gcj02"), truth)
    assert np.array_equal(index.assign(bx, by, crs="bd09"), truth)
    assert index.codes(truth, 4).tolist() == ["450302001001", "450302001002"]


def test_non_finite_and_far_points_are_unassigned(index: GridIndex) -> None:
    got = index.assign([np.nan, np.inf, 0.0, 110.3], [25.2, 25.2, 0.0, np.nan])
    assert got.tolist() == [-1, -1, -1, -1]
    assert index.assign_one(float("nan"), 25.0) == -1


def test_pickle_round_trip_keeps_answers(index: GridIndex) -> None:
    copy = pickle.loads(pickle.dumps(index))
    rng = np.random.default_rng(9)
    x, y = rng.uniform(110.0, 110.6, 10_000), rng.uniform(25.0, 25.5, 10_000)
    assert np.array_equal(copy.assign(x, y), index.assign(x, y))


def test_nested_dataset_indexes_its_32_grids() -> None:
    index = GridIndex(nested_dataset())
    assert len(index.leaves) == 32
    assert index.codes(index.assign([110.21], [25.39]), 5).tolist() == ["450302001001001"]


def test_no_usable_leaf_is_an_error() -> None:
    with pytest.raises(GridgeoError, match="no usable leaf"):
        GridIndex(GridSet.from_records(["450302001001"], [Polygon()]))


def test_mixed_level_leaves_tie_like_the_lookup_core() -> None:
    """A district without streets beside another district's grid: deepest level wins the edge.

    By code alone the district 450301 would win (it sorts first); the lookup core
    gives the shared edge to the deeper grid, and so must the index.
    """
    from gridgeo.lookup import Locator

    codes = ["450301", "450302", "450302001", "450302001001", "450302001001001"]
    east = box(110.1, 25.0, 110.2, 25.1)
    geoms = [box(110.0, 25.0, 110.1, 25.1), east, east, east, east]
    grids = GridSet.from_records(codes, geoms)
    index = GridIndex(grids)
    assert index.codes(index.assign([110.1], [25.05])).tolist() == ["450302001001001"]
    assert Locator(grids).lookup(110.1, 25.05).leaf.code == "450302001001001"
    assert index.codes(index.assign([110.05], [25.05])).tolist() == ["450301"]


def test_parents_answer_in_the_gaps_their_children_leave() -> None:
    """Leaves only are on the lattice; a parent must still answer where its children leave
    part of it uncovered: a hole in the middle (no parent edge near), a sliver along its
    edge, a community without grids beside one with grids, and an overlap where a leaf
    street meets another street's community outside that community's grids."""
    from gridgeo.lookup import Locator

    codes = [
        "450302",  # district
        "450302001",  # street A: its community has grids with a hole and a sliver
        "450302001001",
        "450302001001001",
        "450302001001002",
        "450302001002",  # a community without grids (a level-4 leaf) beside it
        "450302002",  # street B: a leaf street overlapping community 001001's east part
    ]
    community = box(110.0, 25.0, 110.1, 25.1)
    west = box(110.0, 25.0, 110.05, 25.0999)  # a sliver left along the community's north edge
    east = box(110.05, 25.0, 110.1, 25.0999).difference(box(110.06, 25.04, 110.08, 25.06))
    geoms = [
        box(110.0, 25.0, 110.3, 25.1),
        box(110.0, 25.0, 110.2, 25.1),
        community,
        west,
        east,
        box(110.1, 25.0, 110.2, 25.1),
        box(110.09, 25.0, 110.3, 25.1),  # overlaps the community's east strip
    ]
    grids = GridSet.from_records(codes, geoms)
    index = GridIndex(grids)
    locator = Locator(grids)

    def code(x: float, y: float) -> str:
        found = index.codes(index.assign([x], [y])).tolist()[0]
        assert found == locator.lookup(x, y).leaf.code, (x, y)
        return str(found)

    assert code(110.07, 25.05) == "450302001001"  # in the hole: the community
    assert code(110.02, 25.09995) == "450302001001"  # in the sliver
    assert code(110.02, 25.05) == "450302001001001"
    assert code(110.15, 25.05) == "450302001002"  # the community without grids
    assert code(110.25, 25.05) == "450302002"  # street B alone
    # every grid but those its children cover whole answers somewhere, and the index
    # agrees with the core on a dense sample
    rng = np.random.default_rng(3)
    x, y = rng.uniform(109.99, 110.31, 20_000), rng.uniform(24.99, 25.11, 20_000)
    edge_pts = boundary_points(grids, rng, 4000)
    x, y = np.r_[x, edge_pts[:, 0]], np.r_[y, edge_pts[:, 1]]
    got = index.assign(x, y)
    want = oracle(index.owners, x, y)
    assert np.array_equal(got, want)
    assert set(index.codes(got[got >= 0]).tolist()) == set(codes) - {"450302", "450302001"}


def test_a_parent_sticking_out_of_its_own_parent_still_answers_in_its_gap() -> None:
    """Only the roots' insides are scan-filled in a tidy hierarchy; a district that sticks
    out of the city (an "outside parent" finding, but possible in a draft) must still
    answer for a point deep in its part outside the city that no leaf holds."""
    codes = ["450300", "450302", "450302001", "450302001001", "450302001001001"]
    geoms = [
        box(110.0, 25.0, 110.5, 25.5),  # the city
        box(110.4, 25.0, 111.0, 25.5),  # the district, mostly outside the city
        box(110.4, 25.0, 110.5, 25.5),
        box(110.4, 25.0, 110.5, 25.5),
        box(110.4, 25.0, 110.5, 25.5),  # the only leaf: inside the city
    ]
    grids = GridSet.from_records(codes, geoms)
    index = GridIndex(grids, cells_per_leaf=4096)
    x, y = np.array([110.8, 110.45, 110.2, 111.2]), np.array([25.25, 25.25, 25.25, 25.25])
    got = index.codes(index.assign(x, y)).tolist()
    assert got == ["450302", "450302001001001", "450300", None]
    assert np.array_equal(index.assign(x, y), oracle(index.owners, x, y))


def test_small_leaves_beside_large_ones_get_a_fine_lattice() -> None:
    # a pilot district drawn down to small grids, the rest of the city by district: the
    # lattice follows the median leaf, not the count of leaves
    codes = ["450301", "450302", "450302001", "450302001001"]
    pilot = box(111.0, 25.0, 111.02, 25.02)
    geoms = [box(110.0, 25.0, 111.0, 26.0), pilot, pilot, pilot]
    small = [f"450302001001{i:03d}" for i in range(1, 5)]
    quads = [box(111.0 + dx, 25.0 + dy, 111.01 + dx, 25.01 + dy) for dx, dy in QUAD_OFFSETS]
    index = GridIndex(GridSet.from_records(codes + small, geoms + quads))
    cells_per_small_leaf = index.lattice.size * 0.01**2 / (1.02 * 1.0)
    assert cells_per_small_leaf >= 15  # 16 asked, rounding of the lattice aside
    x, y = np.array([111.001, 110.5, 111.015]), np.array([25.001, 25.5, 25.015])
    assert index.codes(index.assign(x, y)).tolist() == [
        "450302001001001",
        "450301",
        "450302001001004",
    ]


QUAD_OFFSETS = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (0.01, 0.01)]


def test_plain_and_compiled_queries_give_the_same_raw_answers(index: GridIndex) -> None:
    """The service's numba-free queries answer every point as the kernels do, NEEDS_GEOS
    (points on edges, at vertices, in uncertain cells) included; so do the scalar ones."""
    from gridgeo.index import kernels, plain_query

    rng = np.random.default_rng(11)
    edge_pts = boundary_points(index.leaves, rng, 6000)
    x = np.r_[rng.uniform(109.99, 110.61, 30_000), edge_pts[:, 0], np.nan, np.inf, 0.0]
    y = np.r_[rng.uniform(24.99, 25.51, 30_000), edge_pts[:, 1], 25.2, 25.2, np.nan]
    tables = index.query_tables()
    compiled = kernels.query(x, y, *tables)
    plain = plain_query.query(x, y, *tables)
    assert np.array_equal(plain, compiled)
    assert (compiled == plain_query.NEEDS_GEOS).sum() > 1000  # the edge points were tested
    assert (compiled >= 0).sum() > 25_000
    scalar = [kernels.query_one(a, b, *tables) for a, b in zip(x[:3000], y[:3000], strict=True)]
    plain_scalar = [
        plain_query.query_one(a, b, *tables) for a, b in zip(x[:3000], y[:3000], strict=True)
    ]
    assert plain_scalar == scalar
    edge_scalar = [plain_query.query_one(a, b, *tables) for a, b in edge_pts[:3000]]
    assert edge_scalar == [kernels.query_one(a, b, *tables) for a, b in edge_pts[:3000]]


def test_numpy_and_kernel_batches_agree(index: GridIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index answers in numpy until the kernels are ready (gridgeo.compiled), then in
    numba; the final answers (GEOS having decided the uncertain points) are the same."""
    from gridgeo import compiled

    rng = np.random.default_rng(12)
    xy = np.vstack(
        [
            np.column_stack(
                [rng.uniform(109.99, 110.61, 20_000), rng.uniform(24.99, 25.51, 20_000)]
            ),
            boundary_points(index.leaves, rng, 2000),
        ]
    )
    monkeypatch.setattr(compiled, "ready", lambda: False)
    whole = index.assign(xy[:, 0], xy[:, 1])  # numpy
    monkeypatch.setattr(compiled, "ready", lambda: True)
    parts = np.concatenate([index.assign(c[:, 0], c[:, 1]) for c in np.array_split(xy, 8)])
    assert np.array_equal(parts, whole)
    assert np.array_equal(whole, oracle(index.owners, xy[:, 0], xy[:, 1]))


def test_the_numpy_query_answers_a_large_batch_block_by_block(
    index: GridIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch larger than a pass is answered pass by pass (memory bounded by the pass),
    with the answers of one pass over all of it, the blocks' seams included."""
    from gridgeo.index import plain_query

    rng = np.random.default_rng(5)
    edge_pts = boundary_points(index.leaves, rng, 2000)
    x = np.r_[rng.uniform(109.99, 110.61, 20_000), edge_pts[:, 0], np.nan]
    y = np.r_[rng.uniform(24.99, 25.51, 20_000), edge_pts[:, 1], 25.2]
    tables = index.query_tables()
    whole = plain_query.query(x, y, *tables)  # one pass: fewer points than BLOCK
    monkeypatch.setattr(plain_query, "BLOCK", 999)  # 23 passes, the last one short
    assert np.array_equal(plain_query.query(x, y, *tables), whole)
    assert (whole == plain_query.NEEDS_GEOS).sum() > 100 and (whole >= 0).sum() > 15_000
