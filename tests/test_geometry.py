"""gridgeo.geometry: robust polygon helpers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import shapely
from geometries import bowtie
from shapely.geometry import GeometryCollection, LineString, Point, Polygon, box

from gridgeo.geometry import (
    PolygonIndex,
    holes,
    location,
    make_valid_polygonal,
    mean_width,
    parts,
    polygonal,
    shared_border,
    union,
)


def test_make_valid_keeps_polygonal_area_of_a_bowtie() -> None:
    fixed = make_valid_polygonal([bowtie(0, 0, 1), None, LineString([(0, 0), (1, 1)])])
    assert fixed[0].is_valid and fixed[0].geom_type == "MultiPolygon"
    assert fixed[0].area == 0.5
    assert fixed[1].is_empty and fixed[2].is_empty


def test_valid_polygons_pass_unchanged() -> None:
    square = box(0, 0, 1, 1)
    assert make_valid_polygonal([square])[0] is square


def test_polygonal_part_of_a_collection() -> None:
    mixed = GeometryCollection([Point(0, 0), box(0, 0, 1, 1), box(2, 2, 3, 3)])
    assert polygonal(mixed).area == 2.0
    assert polygonal(Point(0, 0)).is_empty


def test_union_of_touching_squares_and_holes() -> None:
    ring = union([box(0, 0, 3, 1), box(0, 2, 3, 3), box(0, 1, 1, 2), box(2, 1, 3, 2)])
    assert ring.area == 8.0
    assert [h.area for h in holes(ring)] == [1.0]
    assert union([]).is_empty


def test_parts_and_mean_width() -> None:
    assert len(parts(shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]))) == 2
    assert parts(Polygon()) == []
    assert mean_width(box(0, 0, 100, 0.5)) == np.float64(2 * 50 / 201)


def test_shared_border_counts_only_the_common_edge() -> None:
    assert shared_border(box(0, 0, 1, 1), box(1, 0, 2, 5), snap=1e-9) == pytest.approx(1.0)
    assert shared_border(box(0, 0, 1, 1), box(3, 0, 4, 1), snap=1e-9) == 0.0


def test_location_from_geos_reason() -> None:
    assert location("Self-intersection[110.5 25.25]") == (110.5, 25.25)
    assert location("Too few points") is None


def test_polygon_index_covers_boundaries_and_skips_what_it_leaves_out() -> None:
    index = PolygonIndex(
        [box(0, 0, 1, 1), box(1, 0, 2, 1), Polygon(), None, box(0, 0, 2, 1)],
        keep=np.array([True, True, True, True, False]),
    )
    assert index.positions.tolist() == [0, 1]
    assert index.covering(1.0, 1.0).tolist() == [0, 1]  # a shared corner: both
    assert index.covering(0.0, 0.5).tolist() == [0]  # the outer edge counts
    assert index.covering(3.0, 0.5).tolist() == []
    point, position = index.pairs(np.array([1.0, np.nan, 0.5]), np.array([0.5, 0.5, np.inf]))
    assert sorted(zip(point.tolist(), position.tolist(), strict=True)) == [(0, 0), (0, 1)]


def test_polygon_index_answers_alike_one_point_and_many() -> None:
    rng = np.random.default_rng(3)
    cells = [box(x, y, x + 1, y + 1) for x in range(4) for y in range(4)]
    index = PolygonIndex([*cells, box(0.5, 0.5, 2.5, 2.5)])
    x, y = rng.integers(0, 9, 300) / 2, rng.integers(0, 9, 300) / 2  # many on edges
    point, position = index.pairs(x, y)
    for k in range(x.size):
        assert index.covering(x[k], y[k]).tolist() == sorted(position[point == k].tolist())


def test_polygon_index_is_prepared_again_after_pickling() -> None:
    copy = pickle.loads(pickle.dumps(PolygonIndex([box(0, 0, 1, 1)])))
    assert shapely.is_prepared(copy.polygons).all()
    assert copy.covering(0.5, 0.5).tolist() == [0]


def test_polygon_index_is_safe_to_share_between_threads() -> None:
    """Service threads ask one index at once. GEOS fills a prepared polygon's point index
    lazily and not thread-safely: without the index's lock this aborted the process (heap
    corruption) within a few dozen fresh indexes on the sample's grids."""
    import threading

    import gridgeo

    geoms = gridgeo.load().grids.geometries
    x, y = 110.2965, 25.2775  # inside a leaf and all its parents: every level is tested
    answers: list[list[int]] = []
    for _ in range(60):
        fresh = np.array([shapely.from_wkb(shapely.to_wkb(g)) for g in geoms], dtype=object)
        index = PolygonIndex(fresh)

        def ask(index: PolygonIndex = index) -> None:
            for _ in range(20):
                answers.append(index.covering(x, y).tolist())
                index.pairs([x, x], [y, y])

        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 60 * 3 * 20
    assert len({tuple(a) for a in answers}) == 1 and len(answers[0]) == 5  # five levels
