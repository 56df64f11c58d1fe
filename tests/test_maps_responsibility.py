"""The responsibility coverage map: staffing status per grid, partner zones, gaps and overlaps."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from maps_helpers import assert_reads_as_chinese

from gridgeo.dataset import Dataset
from gridgeo.io.dataset import load
from gridgeo.maps.page import render_html
from gridgeo.maps.responsibility_map import STATUS_COLOURS, grid_status, responsibility_map


@pytest.fixture(scope="module")
def data() -> Dataset:
    return load()


def _grid_properties(html: str) -> dict[str, dict[str, object]]:
    """Properties of the grid features folium embedded in the page, by code."""
    found = (json.loads(blob) for blob in re.findall(r'"properties": (\{[^{}]*\})', html))
    return {str(p["code"]): p for p in found if "status" in p}


def test_sample_pilot_is_fully_staffed(data: Dataset) -> None:
    status = grid_status(data.coverage(), data.staffing(), data.staff)
    assert len(status) >= 6 and {s for s, _ in status.values()} == {"ok"}
    # the plan: a grid leader (auxiliary) and 2 auxiliary members in each fifth-level grid
    assert all(n == 3 for code, (_, n) in status.items() if len(code) == 15)


def test_a_grid_without_staff_is_red_and_counted(data: Dataset) -> None:
    empty = "450302001001002"
    staff = [p for p in data.staff if p.grid_code != empty]
    thinner = replace(data, staff=staff)
    report = thinner.coverage(within=["450302001"])
    html = assert_reads_as_chinese(
        responsibility_map(thinner.grids, report, thinner.staffing(), staff, thinner.zones.zones)
    )
    by_code = _grid_properties(html)
    assert by_code[empty]["colour"] == STATUS_COLOURS["none"]
    assert by_code[empty]["people"] == 0
    assert by_code["450302001001001"]["colour"] == STATUS_COLOURS["ok"]
    red = [c for c, p in by_code.items() if p["colour"] == STATUS_COLOURS["none"]]
    assert sorted(red) == sorted(u.code for u in report.unstaffed if u.code in report.scope)
    assert f"未配人员（{len(red)} 个）" in html and "责任覆盖图" in html
    assert "无人负责" not in html and "配员达标" not in html
    assert "联动单位" in html and "合作单位" not in html
    # posts with their measure word, never names or phones
    assert by_code["450302001001001"]["posts"] == "网格长 1 名、网格员 2 名"
    for person in data.staff:  # folium writes non-ASCII as \\u escapes: look for both forms
        for value in (person.name, person.phone):
            assert value not in html and json.dumps(value)[1:-1] not in html


def test_english(data: Dataset) -> None:
    html = render_html(
        responsibility_map(
            data.grids, data.coverage(), data.staffing(), data.staff, data.zones.zones, lang="en"
        )
    )
    assert "Responsibility coverage" in html and "staffed as the rule says" in html
    assert _grid_properties(html)["450302001001001"]["posts"] == "leader ×1, member ×2"
