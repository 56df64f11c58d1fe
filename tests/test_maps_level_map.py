from __future__ import annotations

import pytest
from maps_helpers import (
    assert_reads_as_chinese,
    features,
    geojson_layers,
    label_html,
    legend_rows,
)

from gridgeo.errors import GridgeoError
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.level_map import level_map
from gridgeo.maps.page import render_html
from gridgeo.model import GridSet


@pytest.mark.parametrize("level", list(Level))
def test_every_grid_of_the_level_is_drawn_in_its_parents_colour(
    nested: GridSet, level: Level
) -> None:
    m = level_map(nested, level)
    (layer,) = geojson_layers(m)
    drawn = features(layer)
    expected = [c for c, lv in zip(nested.codes, nested.levels, strict=True) if lv == level]
    assert sorted(f["properties"]["code"] for f in drawn) == sorted(expected)
    by_parent: dict[str, set[str]] = {}
    for f in drawn:
        code = f["properties"]["code"]
        parent = nested.parent_codes[nested.position(code)] or ""
        by_parent.setdefault(parent, set()).add(f["properties"]["colour"])
    assert all(len(c) == 1 for c in by_parent.values()), "one colour per parent"
    assert len({next(iter(c)) for c in by_parent.values()}) == len(by_parent), "parents differ"


def test_labels_popups_and_legend(nested: GridSet) -> None:
    m = level_map(nested, Level.COMMUNITY)
    page = render_html(m)
    labels = label_html(m)  # a name + code label for each of the 8 communities
    assert len(labels) == 8
    assert any("社区450302001001<br>" in x and ">450302001001</span>" in x for x in labels)
    rows = legend_rows(page)
    assert len(rows) == 4  # the four streets
    colours = style.colours_for([f"450302{s:03d}" for s in (1, 2)] + ["450304001", "450304002"])
    for (swatch, label), street in zip(
        rows, ("450302001", "450302002", "450304001", "450304002"), strict=True
    ):
        assert street in label and label.endswith("（2 个）")  # two communities each
        assert colours[street] in swatch
    assert "覆盖图：四级网格（社区）" in page
    assert "<title>覆盖图：四级网格（社区）</title>" in page
    assert "按上级街道着色" in page and "共 8 个社区" in page
    (layer,) = geojson_layers(m)
    assert {f["properties"]["level"] for f in features(layer)} == {"四级网格（社区）"}


@pytest.mark.parametrize("level", list(Level))
def test_every_level_reads_as_chinese(nested: GridSet, level: Level) -> None:
    assert_reads_as_chinese(level_map(nested, level))


def test_english(nested: GridSet) -> None:
    page = render_html(level_map(nested, Level.GRID, lang="en"))
    assert "Coverage of level 5: grid" in page
    assert "Coloured by parent community" in page and "grid: 32" in page
    assert "覆盖图" not in page
    assert "L.control.scale({imperial: false})" in page


def test_city_has_no_parent_colour(nested: GridSet) -> None:
    page = render_html(level_map(nested, Level.CITY))
    rows = legend_rows(page)
    assert len(rows) == 1 and "无上级" in rows[0][1]


def test_html_special_characters_are_escaped(nested: GridSet) -> None:
    frame = nested.frame.copy()
    frame.loc[frame["code"] == "450302001", "name"] = "<b>街道</b>&"
    m = level_map(GridSet.from_frame(frame), Level.STREET)
    (layer,) = geojson_layers(m)
    names = [f["properties"]["name"] for f in features(layer)]
    assert "&lt;b&gt;街道&lt;/b&gt;&amp;" in names
    assert any("&lt;b&gt;街道&lt;/b&gt;&amp;<br>" in x for x in label_html(m))
    assert "<b>街道</b>" not in render_html(m)


def test_level_without_grids(nested: GridSet) -> None:
    only_city = nested.subset(nested.levels == 1)
    with pytest.raises(GridgeoError, match="nothing to map"):
        level_map(only_city, Level.GRID)


def test_labels_are_left_out_beyond_the_limit(
    nested: GridSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridgeo.maps import page

    monkeypatch.setattr(page, "MAX_LABELS", 31)
    assert label_html(level_map(nested, Level.GRID)) == []  # 32 grids: tooltips only
    assert len(label_html(level_map(nested, Level.COMMUNITY))) == 8
