"""Geometry rules: each trips on a hand-made case and stays quiet on a clean one."""

from __future__ import annotations

from geometries import bowtie, grid_set
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from gridgeo.settings import ValidationSettings
from gridgeo.validation import validate

BASE = box(110.29, 25.29, 110.30, 25.30)


def rules(report_findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.rule for f in report_findings)


def test_clean_polygon_has_no_findings() -> None:
    assert validate(grid_set(("450302001001", BASE))).findings == []


def test_invalid_geometry_reports_geos_reason_and_location() -> None:
    report = validate(grid_set(("450302001001", bowtie(110.29, 25.29, 0.01))))
    [finding] = [f for f in report.errors if f.rule == "invalid_geometry"]
    assert finding.codes == ("450302001001",)
    assert "Self-intersection" in finding.message
    assert finding.location is not None
    assert abs(finding.location[0] - 110.295) < 1e-9 and abs(finding.location[1] - 25.295) < 1e-9


def test_empty_and_missing_geometry() -> None:
    report = validate(grid_set(("450302001001", Polygon()), ("450302001002", None)))  # type: ignore[arg-type]
    assert rules(report.errors) == ["empty_geometry", "empty_geometry"]


def test_non_polygonal_geometry() -> None:
    report = validate(
        grid_set(
            ("450302001001", Point(110.3, 25.3)),
            ("450302001002", LineString([(110.3, 25.3), (110.31, 25.31)])),
        )
    )
    assert rules(report.errors) == ["non_polygonal", "non_polygonal"]
    assert "not used further" in report.errors[0].message


def test_collection_with_a_polygon_is_non_polygonal_but_still_checked() -> None:
    mixed = GeometryCollection([BASE, Point(110.5, 25.5)])
    report = validate(grid_set(("450302001001", mixed)))
    assert rules(report.errors) == ["non_polygonal"]
    assert "not used further" not in report.errors[0].message


def test_tiny_part_warning_with_area() -> None:
    speck = box(110.31, 25.31, 110.31005, 25.31005)  # about 5 m x 5.6 m
    report = validate(grid_set(("450302001001", MultiPolygon([BASE, speck]))))
    [finding] = report.warnings
    assert finding.rule == "tiny_part"
    assert 20 < finding.area_m2 < 35
    assert report.ok  # warnings do not fail validation


def test_sliver_part_warning() -> None:
    strip = box(110.31, 25.31, 110.32, 25.310005)  # ~1 km long, ~0.55 m wide
    report = validate(grid_set(("450302001001", MultiPolygon([BASE, strip]))))
    assert [f.rule for f in report.warnings] == ["sliver"]
    assert "mean width" in report.warnings[0].message


def test_thresholds_are_settings() -> None:
    speck = box(110.31, 25.31, 110.31005, 25.31005)
    quiet = ValidationSettings(tiny_part_m2=10.0)
    assert validate(grid_set(("450302001001", MultiPolygon([BASE, speck]))), quiet).findings == []
