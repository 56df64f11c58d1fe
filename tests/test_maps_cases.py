from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from maps_helpers import assert_reads_as_chinese, features, geojson_layers, legend_rows

from gridgeo.coords import from_cgcs2000
from gridgeo.errors import GridgeoError
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.cases import assign_cases, case_counts, case_map, classify
from gridgeo.maps.page import render_html
from gridgeo.model import GridSet


def _cases(nested: GridSet, seed: int = 7, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # uneven: most points in the south-west quarter of the city
    lon = np.concatenate([rng.uniform(110.20, 110.40, n // 4), rng.uniform(110.20, 110.30, n)])
    lat = np.concatenate([rng.uniform(25.20, 25.40, n // 4), rng.uniform(25.20, 25.30, n)])
    frame = pd.DataFrame({"id": [f"C{i}" for i in range(lon.size)], "lon": lon, "lat": lat})
    extra = pd.DataFrame(
        {"id": ["out", "bad"], "lon": [111.0, "x"], "lat": [26.0, 25.3]}, dtype=object
    )
    return pd.concat([frame.astype(object), extra], ignore_index=True)


@pytest.mark.parametrize("level", [Level.GRID, Level.COMMUNITY, Level.DISTRICT])
def test_counts_match_shapely(nested: GridSet, level: Level) -> None:
    frame = _cases(nested)
    assigned = assign_cases(frame, nested, crs="cgcs2000")
    counted = case_counts(assigned, nested, level)
    good = frame.iloc[:-2]
    points = shapely.points(good["lon"].astype(float), good["lat"].astype(float))
    for position, n in zip(counted.positions, counted.counts, strict=True):
        # interiors only: a random point lands on a shared edge with probability 0
        assert n == int(shapely.contains(nested.geometries[position], points).sum())
    assert counted.total == len(frame)
    assert counted.bad_input == 1
    assert counted.outside == 1
    assert counted.counts.sum() == len(good)


def test_classify() -> None:
    counts = np.array([0, 0, 1, 2, 3, 10, 11, 12, 30, 31, 60])
    c = classify(counts, "FisherJenks", 4)
    assert len(c.bins) == 4 and c.bins[-1] == 60
    assert c.colours == style.sequential(4)
    assert list(c.classes[:2]) == [0, 0] and c.classes[-1] == 3
    assert np.all(np.diff(c.classes) >= 0)  # sorted counts, sorted classes
    labels = c.labels(0)
    assert labels[0].startswith("0 – ") and labels[-1].endswith(" – 60")
    single = classify(np.array([4, 4, 4]), "Quantiles", 5)  # one distinct value: one class
    assert single.bins == (4.0,) and single.labels(4) == ["4"]
    with pytest.raises(GridgeoError, match="unknown classification"):
        classify(counts, "Jenks2000")
    with pytest.raises(GridgeoError, match="classes must be"):
        classify(counts, k=9)


def test_case_map_choropleth_points_and_legend(nested: GridSet) -> None:
    frame = _cases(nested)
    assigned = assign_cases(frame, nested, crs="cgcs2000")
    m = case_map(nested, assigned, Level.COMMUNITY, crs="cgcs2000", k=3)
    grids_layer, points_layer = geojson_layers(m)
    counted = case_counts(assigned, nested, Level.COMMUNITY)
    expected = dict(zip([nested.codes[p] for p in counted.positions], counted.counts, strict=True))
    classes = classify(counted.counts, k=3)
    for f in features(grids_layer):
        p = f["properties"]
        assert p["cases"] == expected[p["code"]]
        assert p["colour"] in classes.colours
    assert len(features(points_layer)) == len(frame) - 1  # all but the bad row
    page = assert_reads_as_chinese(m)
    rows = legend_rows(page)
    assert len(rows) == 4 and rows[-1][1] == "案件点位"
    assert "案件数（Fisher-Jenks 分级）" in page
    assert "案件分布：各社区案件数" in page
    # the counts with their measure word (the bad row is counted, not placed)
    assert f"共 {len(frame)} 件案件 · 1 件不在任何社区内" in page


def test_case_map_in_english(nested: GridSet) -> None:
    assigned = assign_cases(_cases(nested), nested, crs="cgcs2000")
    page = render_html(case_map(nested, assigned, Level.GRID, crs="cgcs2000", lang="en"))
    assert "Cases per grid" in page and "cases (Fisher-Jenks classes)" in page
    assert "502 cases · 1 outside every grid" in page


def test_points_are_capped_but_all_counted(nested: GridSet) -> None:
    frame = _cases(nested)
    assigned = assign_cases(frame, nested, crs="cgcs2000")
    m = case_map(nested, assigned, Level.GRID, crs="cgcs2000", max_points=50, lang="en")
    _, points = geojson_layers(m)
    assert len(features(points)) == 50
    page = render_html(m)
    assert f"50 of {len(frame)} case points shown" in page


def test_points_drawn_where_they_are(nested: GridSet) -> None:
    """GCJ-02 input is drawn at its CGCS2000 position, as assigned."""
    x, y = 110.25, 25.25
    glon, glat = from_cgcs2000(np.array([x]), np.array([y]), "gcj02")
    frame = pd.DataFrame({"lon": glon, "lat": glat})
    assigned = assign_cases(frame, nested, crs="gcj02")
    m = case_map(nested, assigned, Level.GRID, crs="gcj02")
    _, points = geojson_layers(m)
    (f,) = features(points)
    assert f["geometry"]["coordinates"] == pytest.approx([x, y], abs=2e-6)
