"""gridgeo.repair: each rule on a hand-made case, and the real files end up clean."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from geometries import bowtie, grid_set, nested_dataset
from pyproj import Geod
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon, box

from gridgeo.io.boundaries import read_boundaries
from gridgeo.repair import repair
from gridgeo.settings import ValidationSettings
from gridgeo.validation import validate

STREET = box(110.29, 25.29, 110.31, 25.31)
WEST = box(110.29, 25.29, 110.30, 25.31)
EAST = box(110.30, 25.29, 110.31, 25.31)


def actions(result, kind):  # type: ignore[no-untyped-def]
    return [a for a in result.actions if a.action == kind]


def test_clean_data_is_unchanged() -> None:
    result = repair(nested_dataset())
    assert result.actions == []
    assert all(
        a.equals(b)
        for a, b in zip(result.grids.geometries, nested_dataset().geometries, strict=True)
    )


def test_invalid_geometry_made_valid_keeping_area() -> None:
    result = repair(grid_set(("450302001001", bowtie(110.29, 25.29, 0.01))))
    [made] = actions(result, "made_valid")
    geodesic, _ = Geod(ellps="GRS80").geometry_area_perimeter(result.grids.geometries[0])
    assert made.area_m2 == pytest.approx(abs(geodesic), rel=1e-4)
    assert result.grids.geometries[0].is_valid
    assert validate(result.grids).ok


def test_overlap_goes_to_the_smaller_code() -> None:
    wide_east = box(110.2999, 25.29, 110.31, 25.31)
    result = repair(
        grid_set(("450302001", STREET), ("450302001002", wide_east), ("450302001001", WEST))
    )
    [moved] = actions(result, "overlap_resolved")
    assert moved.codes == ("450302001002", "450302001001")
    assert moved.area_m2 == pytest.approx(10.06 * 2214, rel=0.01)
    east = result.grids.geometries[result.grids.position("450302001002")]
    assert east.bounds[0] == pytest.approx(110.30)
    assert validate(result.grids).ok


def test_gap_joins_the_neighbour_with_the_longest_border() -> None:
    # the gap strip borders EAST along 2.2 km and the street edge only at its ends
    narrow_east = box(110.3001, 25.29, 110.31, 25.31)
    result = repair(
        grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", narrow_east))
    )
    [filled] = actions(result, "gap_filled")
    assert filled.area_m2 > 20_000
    assert filled.codes in (("450302001001",), ("450302001002",))
    assert validate(result.grids).ok
    sizes = result.grids.metric.area(result.grids.geometries[1:])
    assert sizes.sum() == pytest.approx(result.grids.metric.area(STREET)[0], rel=1e-6)


def test_gap_larger_than_the_limit_is_left_and_reported() -> None:
    narrow_east = box(110.3001, 25.29, 110.31, 25.31)
    limit = ValidationSettings(max_gap_fill_m2=1000.0)
    result = repair(
        grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", narrow_east)),
        limit,
    )
    assert len(actions(result, "gap_left")) == 1
    assert [f.rule for f in validate(result.grids).errors] == ["gap"]


def test_child_clipped_to_parent() -> None:
    spill = box(110.30, 25.29, 110.3101, 25.31)
    result = repair(
        grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", spill))
    )
    [clip] = actions(result, "clipped_to_parent")
    assert clip.codes == ("450302001002", "450302001")
    assert validate(result.grids).ok


def test_detached_crumb_joins_its_bordering_neighbour() -> None:
    crumb = box(110.295, 25.30, 110.29501, 25.30001)  # ~1 m x 1.1 m, an island in WEST
    west_cut = shapely.difference(WEST, crumb)
    east_with_crumb = MultiPolygon([EAST, crumb])
    result = repair(
        grid_set(
            ("450302001", STREET), ("450302001001", west_cut), ("450302001002", east_with_crumb)
        )
    )
    kinds = [a.action for a in result.actions]
    assert kinds == ["crumb_moved"]
    assert result.actions[0].codes == ("450302001002", "450302001001")
    assert result.grids.geometries[2].geom_type == "Polygon"
    assert result.grids.geometries[1].equals(WEST)
    assert validate(result.grids).ok


def test_attributes_are_kept() -> None:
    gs = grid_set(("450302001001", bowtie()), names=["文明社区"])
    gs.frame["owner"] = ["街道办"]
    result = repair(gs)
    assert result.grids.names == ["文明社区"]
    assert list(result.grids.frame["owner"]) == ["街道办"]


def test_raw_real_union_raises_but_repair_gives_clean_output(real_file: Path) -> None:
    grids = read_boundaries([real_file])
    if "guilin" in real_file.name:  # the documented mess: GEOS cannot union the raw rings
        with pytest.raises(GEOSException):
            shapely.union_all(grids.geometries)
    result = repair(grids)
    report = validate(result.grids)
    assert report.errors == []
    assert len(result.grids) == len(grids)
    assert {a.action for a in result.actions} >= {"made_valid", "overlap_resolved", "gap_filled"}
    before = grids.metric.area(shapely.make_valid(grids.geometries)).sum()
    after = result.grids.metric.area(result.grids.geometries).sum()
    assert after == pytest.approx(before, rel=1e-4)  # repair moves area, it does not lose it
