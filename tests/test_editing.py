"""Planners' edits in the pure core: each keeps the sample valid, or is refused by name."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import shapely
import shapely.affinity
from conftest import SAMPLE
from shapely.geometry import MultiPolygon, Point, box

import gridgeo.editing
from gridgeo.editing import (
    VERTEX_SNAP_DEG,
    AddGrid,
    EditError,
    Merge,
    MoveVertex,
    Rename,
    Split,
    apply_edits,
)
from gridgeo.io.boundaries import read_boundaries
from gridgeo.model import GridSet
from gridgeo.validation import validate

ONE, TWO = "450302001001001", "450302001001002"
COMMUNITY = "450302001001"


@pytest.fixture(scope="module")
def sample() -> GridSet:
    return read_boundaries([SAMPLE / "boundaries.gpkg"])


def geom(grids: GridSet, code: str) -> shapely.Geometry:
    return grids.geometries[grids.position_of[code]]


def crossing_line(grids: GridSet, code: str) -> list[tuple[float, float]]:
    """A north-south line through the middle of a grid, beyond its edges."""
    _, y0, _, y1 = geom(grids, code).bounds
    mid = geom(grids, code).representative_point().x
    return [(mid, y0 - 0.001), (mid, y1 + 0.001)]


def errors(grids: GridSet) -> list[str]:
    return [f.message for f in validate(grids).errors]


def test_examples_in_the_docstrings_run() -> None:
    result = doctest.testmod(gridgeo.editing)
    assert result.attempted > 0 and result.failed == 0


def test_split_keeps_the_area_and_numbers_the_new_grid(sample: GridSet) -> None:
    after, [done] = apply_edits(sample, [Split(ONE, crossing_line(sample, ONE))])
    [new] = done.added
    in_community = [c for c in sample.codes if c and c.startswith(COMMUNITY) and len(c) == 15]
    assert new == f"{COMMUNITY}{max(int(c[12:]) for c in in_community) + 1:03d}"
    assert len(after) == len(sample) + 1
    assert after.parent_codes[after.position_of[new]] == COMMUNITY
    total = geom(after, ONE).area + geom(after, new).area
    assert total == pytest.approx(geom(sample, ONE).area, rel=1e-9)
    assert geom(after, ONE).area >= geom(after, new).area  # the larger part keeps the code
    assert errors(after) == []


def test_split_numbering_skips_codes_taken_elsewhere(sample: GridSet) -> None:
    taken = {f"{COMMUNITY}050"}
    _, [done] = apply_edits(sample, [Split(ONE, crossing_line(sample, ONE))], taken=taken)
    assert done.added == (f"{COMMUNITY}051",)


def test_bad_split_lines_are_refused(sample: GridSet) -> None:
    inside = geom(sample, ONE).representative_point()
    short = [(inside.x, inside.y), (inside.x + 1e-5, inside.y)]
    with pytest.raises(EditError, match="does not cut it"):
        apply_edits(sample, [Split(ONE, short)])
    x0, y0, x1, y1 = geom(sample, ONE).bounds
    knot = [(x0 - 0.001, y0), (x1 + 0.001, y1), (x1 + 0.001, y0), (x0 - 0.001, y1)]
    with pytest.raises(EditError, match="crosses itself"):
        apply_edits(sample, [Split(ONE, knot)])
    with pytest.raises(EditError, match="only fifth-level grids split"):
        apply_edits(sample, [Split(COMMUNITY, crossing_line(sample, COMMUNITY))])
    with pytest.raises(EditError, match="no feature has code 450302001001999"):
        apply_edits(sample, [Split("450302001001999", short)])
    with pytest.raises(EditError, match="off the map"):
        apply_edits(sample, [Split(ONE, [(0.0, 0.0), (200.0, 0.0)])])


def test_merge_keeps_the_smallest_code(sample: GridSet) -> None:
    after, [done] = apply_edits(sample, [Merge([TWO, ONE])])
    assert done.removed == (TWO,) and TWO not in after.position_of
    merged = geom(after, ONE)
    assert merged.geom_type == "Polygon"
    both = geom(sample, ONE).area + geom(sample, TWO).area
    assert merged.area == pytest.approx(both, rel=1e-6)
    assert errors(after) == []


def test_merge_of_strangers_is_refused(sample: GridSet) -> None:
    other_community = next(
        c for c in sample.codes if c and len(c) == 15 and not c.startswith(COMMUNITY)
    )
    with pytest.raises(EditError, match="only grids of one community merge") as refused:
        apply_edits(sample, [Merge([ONE, other_community])])
    assert other_community in str(refused.value)
    grids = [c for c in sample.codes if c and len(c) == 15]
    apart = next(
        (a, b)
        for a in grids
        for b in grids
        if a < b and a[:12] == b[:12] and not geom(sample, a).intersects(geom(sample, b))
    )
    with pytest.raises(EditError, match="do not form one piece"):
        apply_edits(sample, [Merge(list(apart))])


def shared_vertex(grids: GridSet, a: str, b: str) -> tuple[float, float]:
    """A vertex of ``a`` that ``b`` has too, away from every other feature of level 5."""
    coords_b = shapely.get_coordinates(geom(grids, b))
    for x, y in shapely.get_coordinates(geom(grids, a)):
        if np.min(np.hypot(coords_b[:, 0] - x, coords_b[:, 1] - y)) < 1e-9:
            return float(x), float(y)
    raise AssertionError("no shared vertex")


def test_moving_a_shared_vertex_moves_both_grids(sample: GridSet) -> None:
    at = shared_vertex(sample, ONE, TWO)
    to = (at[0] + 0.00005, at[1] + 0.00002)  # about 5 m
    after, [done] = apply_edits(sample, [MoveVertex(at, to)])
    assert {ONE, TWO} <= set(done.changed)
    for code in (ONE, TWO):
        coords = shapely.get_coordinates(geom(after, code))
        assert np.min(np.hypot(*(coords - np.array(to)).T)) < 1e-12, code
    assert errors(after) == []


def test_moving_a_vertex_on_the_community_outline_moves_the_outline(sample: GridSet) -> None:
    outline = geom(sample, COMMUNITY).boundary
    coords = shapely.get_coordinates(geom(sample, ONE))
    on_edge = [
        (float(x), float(y)) for x, y in coords if outline.distance(Point(x, y)) < VERTEX_SNAP_DEG
    ]
    at = on_edge[len(on_edge) // 2]
    centre = geom(sample, ONE).centroid
    to = (at[0] + (centre.x - at[0]) * 0.05, at[1] + (centre.y - at[1]) * 0.05)
    after, [done] = apply_edits(sample, [MoveVertex(at, to)])
    assert {ONE, COMMUNITY} <= set(done.changed)
    assert errors(after) == []


def test_dragging_a_vertex_across_a_neighbour_is_refused(sample: GridSet) -> None:
    at = shared_vertex(sample, ONE, TWO)
    # a vertex of ONE only, pushed deep into TWO
    lone = next(
        (float(x), float(y))
        for x, y in shapely.get_coordinates(geom(sample, ONE))
        if geom(sample, TWO).distance(Point(x, y)) > 0.0002
        and geom(sample, COMMUNITY).boundary.distance(Point(x, y)) > 0.0002
    )
    inside_two = geom(sample, TWO).representative_point()
    with pytest.raises(EditError, match="refused") as refused:
        apply_edits(sample, [MoveVertex(lone, (inside_two.x, inside_two.y))])
    assert ONE in str(refused.value)
    assert at  # the shared vertex exists, the lone one was chosen away from it
    with pytest.raises(EditError, match="no boundary has a vertex"):
        apply_edits(sample, [MoveVertex((100.0, 20.0), (100.1, 20.0))])


def test_a_new_grid_is_cut_from_the_grids_it_covers(sample: GridSet) -> None:
    centre = geom(sample, ONE).representative_point()
    square = box(centre.x - 0.0003, centre.y - 0.0003, centre.x + 0.0003, centre.y + 0.0003)
    ring = list(square.exterior.coords)
    after, [done] = apply_edits(sample, [AddGrid(ring, name="新建网格")])
    [new] = done.added
    assert new.startswith(COMMUNITY) and ONE in done.changed
    assert after.names[after.position_of[new]] == "新建网格"
    assert geom(after, new).area == pytest.approx(square.area, rel=1e-6)
    assert geom(after, ONE).area == pytest.approx(geom(sample, ONE).area - square.area, rel=1e-6)
    assert errors(after) == []


def test_bad_new_grids_are_refused(sample: GridSet) -> None:
    x0, y0, x1, y1 = geom(sample, ONE).bounds
    whole = list(box(x0 - 1e-4, y0 - 1e-4, x1 + 1e-4, y1 + 1e-4).exterior.coords)
    with pytest.raises(EditError, match="whole: merge grids instead"):
        apply_edits(sample, [AddGrid(whole, community=COMMUNITY)])
    bowtie = [(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)]
    with pytest.raises(EditError, match="invalid: Self-intersection"):
        apply_edits(sample, [AddGrid(bowtie)])
    with pytest.raises(EditError, match="lies in no community"):
        apply_edits(sample, [AddGrid([(100.0, 20.0), (100.01, 20.0), (100.01, 20.01)])])


def test_rename_checks_the_text_and_the_attribute(sample: GridSet) -> None:
    after, _ = apply_edits(sample, [Rename(ONE, name="  滨江网格 ", attributes={"pilot": 0})])
    assert after.names[after.position_of[ONE]] == "滨江网格"
    with pytest.raises(EditError, match="a name cannot be empty"):
        apply_edits(sample, [Rename(ONE, name="  ")])
    with pytest.raises(EditError, match="no attribute 'colour' to edit"):
        apply_edits(sample, [Rename(ONE, attributes={"colour": "red"})])


def test_a_refused_edit_refuses_the_whole_batch(sample: GridSet) -> None:
    with pytest.raises(EditError):
        apply_edits(sample, [Rename(ONE, name="新名"), Merge([ONE])])
    assert sample.names[sample.position_of[ONE]] != "新名"  # the input is never changed


def test_a_new_grid_leaves_the_grids_it_does_not_touch_alone(sample: GridSet) -> None:
    geoms = sample.geometries.copy()
    two = sample.position_of[TWO]
    # a sibling of two parts (a detached corner) that the new grid is far from
    corner = shapely.affinity.scale(geoms[two], 0.1, 0.1)
    geoms[two] = MultiPolygon([geoms[two].difference(corner.buffer(1e-5)), corner])
    assert len(geoms[two].geoms) == 2
    grids = sample.with_geometries(geoms)
    centre = geom(grids, ONE).representative_point()
    square = box(centre.x - 0.0002, centre.y - 0.0002, centre.x + 0.0002, centre.y + 0.0002)
    after, [done] = apply_edits(grids, [AddGrid(list(square.exterior.coords))])
    assert done.changed == (ONE,)
    assert geom(after, TWO).equals(geoms[two])


def test_an_old_gap_next_to_an_edit_does_not_refuse_it(sample: GridSet) -> None:
    centre = geom(sample, ONE).representative_point()
    hole = box(centre.x - 0.0005, centre.y - 0.0005, centre.x + 0.0005, centre.y + 0.0005)
    geoms = sample.geometries.copy()
    geoms[sample.position_of[ONE]] = geoms[sample.position_of[ONE]].difference(hole)
    holed = sample.with_geometries(geoms)
    assert [f.rule for f in validate(holed).errors] == ["gap"]
    after, _ = apply_edits(holed, [Split(ONE, crossing_line(holed, ONE))])
    assert [f.rule for f in validate(after).errors] == ["gap"]  # the same gap, nothing new
