"""Hierarchy rules (outside parent, overlap, gap) on hand-made cases and on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from geometries import grid_set, nested_dataset
from shapely.geometry import GeometryCollection, MultiPolygon, box

from gridgeo.crs import metres_per_degree
from gridgeo.io.boundaries import read_boundaries
from gridgeo.settings import ValidationSettings
from gridgeo.validation import validate
from gridgeo.validation.pieces import polygon_parts

STREET = box(110.29, 25.29, 110.31, 25.31)
WEST = box(110.29, 25.29, 110.30, 25.31)
EAST = box(110.30, 25.29, 110.31, 25.31)
# 0.0001 degree of longitude at 25.3 N is about 10.06 m; of latitude about 11.07 m
WIDE_EAST = box(110.2999, 25.29, 110.31, 25.31)


def by_rule(grids, rule):  # type: ignore[no-untyped-def]
    return [f for f in validate(grids).errors if f.rule == rule]


def test_clean_nested_five_levels_has_zero_findings() -> None:
    report = validate(nested_dataset())
    assert report.features == 47
    assert report.findings == []
    assert report.metric_epsg == 4546


def test_outside_parent_with_area() -> None:
    gs = grid_set(
        ("450302001", STREET),
        ("450302001001", WEST),
        ("450302001002", box(110.30, 25.29, 110.3101, 25.31)),
    )
    [f] = by_rule(gs, "outside_parent")
    assert f.codes == ("450302001002", "450302001")
    assert f.area_m2 == pytest.approx(10.06 * 2214, rel=0.01)
    assert f.geometry is not None and f.geometry.bounds[0] == pytest.approx(110.31)


def test_overlap_pair_codes_area_and_geometry() -> None:
    gs = grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", WIDE_EAST))
    [f] = by_rule(gs, "overlap")
    assert f.codes == ("450302001001", "450302001002")
    assert f.area_m2 == pytest.approx(10.06 * 2214, rel=0.01)
    assert f.geometry.area == pytest.approx(0.0001 * 0.02)


def test_overlap_across_parents_is_caught() -> None:
    gs = grid_set(("450302001001", WEST), ("450302002001", WIDE_EAST))
    assert len(by_rule(gs, "overlap")) == 1


def test_gap_inside_parent() -> None:
    narrow_east = box(110.3001, 25.29, 110.31, 25.31)
    gs = grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", narrow_east))
    [f] = by_rule(gs, "gap")
    assert f.codes[0] == "450302001"
    assert set(f.codes[1:]) == {"450302001001", "450302001002"}
    assert f.area_m2 == pytest.approx(10.06 * 2214, rel=0.01)


def test_hole_between_parentless_siblings_is_a_gap() -> None:
    ring = [box(0, 0, 3, 1), box(0, 2, 3, 3), box(0, 1, 1, 2), box(2, 1, 3, 2)]
    shifted = [
        box(
            110.2 + b.bounds[0] / 100,
            25.2 + b.bounds[1] / 100,
            110.2 + b.bounds[2] / 100,
            25.2 + b.bounds[3] / 100,
        )
        for b in ring
    ]
    gs = grid_set(*[(f"45030200{i}", g) for i, g in enumerate(shifted, start=1)])
    [f] = by_rule(gs, "gap")
    assert "enclosed" in f.message
    assert len(f.codes) == 4
    assert f.area_m2 == pytest.approx(1.006e6 * 1.107, rel=0.01)


def test_sliver_gap_is_called_a_sliver() -> None:
    thin_east = box(110.300001, 25.29, 110.31, 25.31)  # 0.1 m gap, 2.2 km long
    gs = grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", thin_east))
    [f] = by_rule(gs, "gap")
    assert "sliver" in f.message


def test_noise_below_tolerance_is_silent_and_tolerance_is_a_setting() -> None:
    nudged = box(110.3000000001, 25.29, 110.31, 25.31)  # 1e-10 degree: about 0.02 m²
    gs = grid_set(("450302001", STREET), ("450302001001", WEST), ("450302001002", nudged))
    assert validate(gs).findings == []
    # a 1e-5 m wide strip is no gap at the default width tolerance, even with no area one
    no_area = ValidationSettings(area_tolerance_m2=0.0)
    assert validate(gs, no_area).findings == []
    strict = ValidationSettings(area_tolerance_m2=0.0, tolerance_m=0.0)
    assert [f.rule for f in validate(gs, strict).errors] == ["gap"]


def test_invalid_children_still_get_hierarchy_checks(real_file: Path) -> None:
    report = validate(read_boundaries([real_file]))
    rules = report.rules()
    assert rules["invalid_geometry"] == report.features  # every real outline self-intersects
    assert rules["overlap"] >= 1 and rules["gap"] >= 4
    for f in report.errors:
        if f.rule in ("overlap", "gap"):
            assert f.area_m2 is not None and f.area_m2 > 1000
            assert f.geometry is not None and not f.geometry.is_empty


def test_report_json_schema(real_file: Path) -> None:
    data = validate(read_boundaries([real_file])).to_dict()
    assert set(data) == {"summary", "errors", "warnings"}
    assert data["summary"]["errors"] == len(data["errors"])
    for entry in data["errors"]:
        assert {"rule", "level", "codes", "message", "severity"} <= set(entry)
        assert isinstance(entry["codes"], list)
        if entry["rule"] in ("overlap", "gap"):
            assert entry["area_m2"] > 0
    geo = validate(read_boundaries([real_file])).to_geojson()
    assert geo["type"] == "FeatureCollection"
    assert {f["geometry"]["type"] for f in geo["features"]} <= {"Point", "Polygon", "MultiPolygon"}


def test_the_area_screens_hold_across_many_degrees_of_latitude() -> None:
    # features of one level without parents span 20 to 50 degrees north: a small real
    # overlap near the equator side must not be screened out by the scale of the middle
    east, north = (float(v) for v in metres_per_degree(20.0))
    a = box(110.0, 20.0, 110.001, 20.001)
    overlap_x = 1.0 / east  # 1 m wide, 1.2 m tall
    b = box(110.001 - overlap_x, 20.0005, 110.002, 20.0005 + 1.2 / north)
    far = box(110.0, 50.0, 110.001, 50.001)
    gs = grid_set(("450302001001001", a), ("450302001001002", b), ("450302001001003", far))
    [f] = by_rule(gs, "overlap")
    assert f.area_m2 == pytest.approx(1.2, rel=0.05)


def test_nested_collections_give_up_all_their_polygons() -> None:
    nested = GeometryCollection([MultiPolygon([box(0, 0, 1, 1)]), box(2, 2, 3, 3)])
    parts, owner = polygon_parts(np.array([nested, box(5, 5, 6, 6)], dtype=object))
    assert len(parts) == 3 and sorted(owner.tolist()) == [0, 0, 1]
