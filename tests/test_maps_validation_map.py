from __future__ import annotations

import shapely
from maps_helpers import assert_reads_as_chinese, features, geojson_layers, legend_rows

from gridgeo.maps import style
from gridgeo.maps.page import render_html
from gridgeo.maps.validation_map import validation_map
from gridgeo.model import GridSet
from gridgeo.validation import validate
from gridgeo.validation.report import ValidationReport


def _broken(nested: GridSet) -> GridSet:
    """An overlap (a grid grown into its neighbours and out of its parent) and a gap."""
    geoms = list(nested.geometries)
    grow = nested.position("450302001001001")
    shrink = nested.position("450304002002004")
    geoms[grow] = shapely.buffer(geoms[grow], 0.002, join_style="mitre")
    geoms[shrink] = shapely.buffer(geoms[shrink], -0.003, join_style="mitre")
    return nested.with_geometries(geoms)


def test_findings_drawn_with_their_messages(nested: GridSet) -> None:
    grids = _broken(nested)
    report = validate(grids)
    rules = {f.rule for f in report.findings}
    assert {"overlap", "gap", "outside_parent"} <= rules
    m = validation_map(grids, report)
    layers = geojson_layers(m)
    outlines, findings = layers[0], layers[1]
    assert len(features(outlines)) == len(grids)
    drawn = features(findings)
    located = [f for f in report.findings if f.geometry is not None and f.geometry.area > 0]
    assert len(drawn) == len(located)
    for f in drawn:
        p = f["properties"]
        assert p["message"] and p["codes"]
        rule = next(r for r in style.RULE_COLOURS if p["colour"] == style.RULE_COLOURS[r])
        assert rule in rules
    overlap = next(f for f in report.findings if f.rule == "overlap")
    assert any(overlap.message.replace("<", "&lt;") in f["properties"]["message"] for f in drawn)
    page = assert_reads_as_chinese(m)
    labels = [label for _, label in legend_rows(page)]
    counts = report.rules()
    assert f"重叠（{counts['overlap']} 个）" in labels
    assert f"缝隙（{counts['gap']} 个）" in labels
    assert "边界校验问题图" in page and "个要素：" in page
    # the severity in Chinese, codes listed with 、
    assert {f["properties"]["severity"] for f in drawn} <= {"错误", "警告"}
    two = next(f for f in drawn if "、" in f["properties"]["codes"])
    assert ", " not in two["properties"]["codes"]


def test_clean_report_says_so(nested: GridSet) -> None:
    report = validate(nested)
    assert report.ok and not report.findings
    page = render_html(validation_map(nested, report, lang="en"))
    assert "no problems found" in page
    assert "Boundary validation findings" in page


def test_point_findings_become_circles(nested: GridSet) -> None:
    from gridgeo.findings import Severity
    from gridgeo.validation.report import BoundaryFinding

    finding = BoundaryFinding(
        "invalid_geometry",
        Severity.ERROR,
        None,
        ("450302",),
        "450302 is invalid: Self-intersection",
        location=(110.25, 25.3),
    )
    report = ValidationReport(len(nested), 4545, [finding])
    page = render_html(validation_map(nested, report))
    assert "L.circleMarker" in page
    assert "[25.3, 110.25]" in page
    assert style.RULE_COLOURS["invalid_geometry"] in page
