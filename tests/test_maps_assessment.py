"""The assessment map and the case heat map: classes, colours, legends and tooltips on a small
known Assessment; the heat map's layers and overdue popups; ``gridgeo maps --assess`` on a
store filled from an event log; the viewer's 考核 configuration.

The event log (:func:`event_log`) is also the browser tests' data
(tests/test_browser_assessment.py): four fifth-level grids of the pilot with known
indicators for November 2026.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import folium
import pytest
from maps_helpers import assert_reads_as_chinese, features, geojson_layers, legend_rows

import gridgeo
from gridgeo.assessment import (
    DEFAULT_WEIGHTS,
    Assessment,
    Grouping,
    IndicatorRow,
    Period,
    ranked,
)
from gridgeo.categories import default_categories
from gridgeo.cli.main import main
from gridgeo.dataset import Dataset
from gridgeo.deadlines import BEIJING
from gridgeo.errors import GridgeoError
from gridgeo.maps import assets
from gridgeo.maps.assessment_map import (
    FIELDS,
    INDICATORS,
    NO_DUE,
    assessment_map,
    count_cuts,
    page_name,
    period_text,
    scale_for,
    viewer_indicators,
)
from gridgeo.maps.heat import CasePoint, case_points, heat_map, major_classes
from gridgeo.maps.page import render_html
from gridgeo.maps.viewer import viewer_config, viewer_page
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.event_log import import_events
from gridgeo.store.seed import seed_if_empty

NOVEMBER = Period.parse("2026-11-01", "2026-12-01")
# YlOrRd as gridgeo.maps.style.sequential(5) picks it, light to dark
RAMP5 = ("#ffffb2", "#feb24c", "#fd8d3c", "#f03b20", "#800026")

# four fifth-level grids of the pilot (checked with `gridgeo lookup`) and a point in each
A = "450302001001001"  # 文明社区第1网格
B = "450302001001002"  # 文明社区第2网格
C = "450302001002003"  # 五美社区第3网格
D = "450302001002001"  # 五美社区第1网格
POINTS = {
    A: (110.2965, 25.2775),
    B: (110.3005, 25.2785),
    C: (110.2915, 25.2800),
    D: (110.28857, 25.28701),
}
WENMING, WUMEI = "450302001001", "450302001002"
ENFORCEMENT, TRAFFIC = "ENF-450302001", "TP-450302"
# on-time closure rate per grid in November 2026 and its colour
ON_TIME = {A: (1.0, RAMP5[0]), B: (2 / 3, RAMP5[3]), C: (0.5, RAMP5[4]), D: (None, NO_DUE)}


def _case(
    cid: str,
    grid: str,
    category: str,
    day: int,
    deadline: str,
    *,
    handled: int | None = None,
    rework: bool = False,
    unit: str = ENFORCEMENT,
) -> list[str]:
    """Rows of one case: reported, registered and dispatched on November ``day``; when
    ``handled`` (a November day) handled, verified and closed that day, after a failed
    verification first if ``rework``."""
    lon, lat = POINTS[grid]
    day_ = f"2026-11-{day:02d}"
    rows = [
        (f"{day_}T09:00+08:00", "report", "", ""),
        (f"{day_}T09:30+08:00", "register", "", ""),
        (f"{day_}T10:00+08:00", "dispatch", unit, f"{deadline}T17:00+08:00"),
    ]
    if handled is not None:
        at = f"2026-11-{handled:02d}"
        if rework:
            rows += [
                (f"{at}T10:00+08:00", "handle", unit, ""),
                (f"{at}T11:00+08:00", "verify_fail", unit, ""),
            ]
        rows += [
            (f"{at}T12:00+08:00", "handle", unit, ""),
            (f"{at}T14:00+08:00", "verify_pass", unit, ""),
            (f"{at}T16:00+08:00", "close", "", ""),
        ]
    return [f"{cid},{t},{a},{u},{d},t,{lon},{lat},wgs84,{category}," for t, a, u, d in rows]


def event_log() -> str:
    """November 2026 in four grids: A two cases closed on time; B three closed, one late
    and one reworked; C one closed on time, one open past its deadline (25th, 17:00) with
    the traffic police; D one case due only in December (nothing due in November)."""
    rows = ["case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note"]
    rows += _case("A1", A, "0101", 2, "2026-11-05", handled=4)
    rows += _case("A2", A, "0102", 3, "2026-11-06", handled=5)
    rows += _case("B1", B, "0101", 4, "2026-11-07", handled=6)
    rows += _case("B2", B, "0505", 5, "2026-11-08", handled=7, rework=True)
    rows += _case("B3", B, "0505", 6, "2026-11-08", handled=10)  # handled two days late
    rows += _case("C1", C, "0505", 10, "2026-11-12", handled=11)
    rows += _case("C2", C, "0505", 20, "2026-11-25", unit=TRAFFIC)  # open, overdue
    rows += _case("D1", D, "0101", 28, "2026-12-03")
    return "\n".join(rows) + "\n"


def store_with_cases(url: str, folder: Path) -> tuple[Store, Dataset]:
    """A store with the sample published and :func:`event_log` imported."""
    store = Store(url)
    seed_if_empty(store, Settings(store=StoreSettings(database_url=url)))
    data = load_dataset(store, Settings(store=StoreSettings(database_url=url)))
    path = folder / "events.csv"
    path.write_text(event_log(), encoding="utf-8")
    found = import_events(store, path, data=data, actor="t", commit=True)
    assert found.ok and found.committed, found.problems
    return store, data


@pytest.fixture(scope="module")
def data() -> Dataset:
    return gridgeo.load()


def _known(level: int = 5) -> Assessment:
    """A small known assessment, by grid at ``level`` (the event log's November)."""
    if level == 4:
        rows = [
            IndicatorRow.of(
                WENMING, "文明社区", registered=5, due=5, closed=5, on_time=4, rework=1
            ),
            IndicatorRow.of(
                WUMEI, "五美社区", registered=3, due=2, closed=1, on_time=1, overdue_open=1
            ),
        ]
    else:
        rows = [
            IndicatorRow.of(A, "文明社区第1网格", registered=2, due=2, closed=2, on_time=2),
            IndicatorRow.of(
                B, "文明社区第2网格", registered=3, due=3, closed=3, on_time=2, rework=1
            ),
            IndicatorRow.of(
                C, "五美社区第3网格", registered=2, due=2, closed=1, on_time=1, overdue_open=1
            ),
            IndicatorRow.of(D, "五美社区第1网格", registered=1),
        ]
    scored = ranked(rows, DEFAULT_WEIGHTS)
    totals = IndicatorRow.of(
        "", "合计", registered=8, due=7, closed=6, on_time=5, rework=1, overdue_open=1
    )
    return Assessment(NOVEMBER, Grouping.GRID, level, scored, totals)


# ---- classes -------------------------------------------------------------------------


def test_rates_have_fixed_classes_and_the_worse_end_dark() -> None:
    closure = scale_for("closure_rate", [0.5, 1.0, None])
    assert closure.cuts == (0.6, 0.8, 0.9, 0.95)
    assert closure.labels == ("< 60%", "60% – 80%", "80% – 90%", "90% – 95%", "≥ 95%")
    assert closure.colours == RAMP5[::-1]  # low closure is bad: dark
    assert [closure.colour(v) for v in (0.0, 0.5999, 0.6, 0.8, 0.9, 0.95, 1.0)] == [
        RAMP5[4],
        RAMP5[4],
        RAMP5[3],
        RAMP5[2],
        RAMP5[1],
        RAMP5[0],
        RAMP5[0],
    ]  # a threshold belongs to the class above it
    assert closure.colour(None) == NO_DUE
    rework = scale_for("rework_rate", [0.0])
    assert rework.colours == RAMP5  # higher is worse: the ramp reversed
    assert rework.colour(0.0) == RAMP5[0] and rework.colour(0.5) == RAMP5[4]
    assert rework.labels[0] == "< 5%" and rework.labels[-1] == "≥ 40%"
    assert scale_for("score", [80.0]).labels[1] == "60 – 70 分"
    assert scale_for("score", [80.0], "en").labels[1] == "60 – 70"
    assert scale_for("score", [59.9]).colour(59.9) == RAMP5[4]


def test_counts_are_classed_from_the_data() -> None:
    assert count_cuts([0, 3, 7]) == (1, 3, 4, 6, 7)
    assert count_cuts([0, 0]) == () and count_cuts([]) == () and count_cuts([None]) == ()
    assert count_cuts([2]) == (1, 2)
    assert count_cuts([100]) == (1, 21, 41, 61, 81)
    scale = scale_for("registered", [0, 1, 2, 3, 10])
    assert scale.labels == ("0", "1 – 2", "3 – 4", "5 – 6", "7 – 8", "9 – 10")
    assert scale.colour(0) == scale.colours[0] == "#ffffb2"
    assert scale.colour(10) == scale.colours[-1] == "#800026"
    assert scale.colour(4) == scale.colours[2]
    nothing = scale_for("overdue_open", [0, 0])
    assert nothing.labels == ("0",) and nothing.colour(0) == "#ffffb2"  # one class, pale
    with pytest.raises(GridgeoError, match="unknown indicator"):
        scale_for("speed", [1])


def test_period_text_shows_the_last_day() -> None:
    assert period_text(NOVEMBER) == "2026-11-01 至 2026-11-30"
    assert period_text(NOVEMBER, "en") == "2026-11-01 to 2026-11-30"
    assert period_text(Period.parse("2026-11-05", "2026-11-06")) == "2026-11-05"
    odd = Period.parse("2026-11-01T08:00+08:00", "2026-11-20T01:30:00Z")
    assert period_text(odd) == "2026-11-01 08:00 至 2026-11-20 09:30"


# ---- the assessment map ------------------------------------------------------------------


def test_assessment_map_colours_legend_and_tooltips(data: Dataset) -> None:
    m = assessment_map(data.grids, _known(), "on_time_rate")
    (layer,) = [g for g in geojson_layers(m) if g.layer_name == "按期结案率"]
    props = {f["properties"]["code"]: f["properties"] for f in features(layer)}
    assert len(props) == int((data.grids.levels == 5).sum())  # every grid of the level
    for code, (_, colour) in ON_TIME.items():
        assert props[code]["colour"] == colour, code
    others = [p for c, p in props.items() if c not in ON_TIME]
    assert {p["colour"] for p in others} == {NO_DUE}  # no case: nothing due
    b = props[B]
    assert (b["name"], b["on_time_rate"], b["closure_rate"], b["rework_rate"]) == (
        "文明社区第2网格",
        "66.7%",
        "100.0%",
        "33.3%",
    )
    assert (b["registered"], b["due"], b["rank"]) == ("3", "3", "2")
    assert props[D]["closure_rate"] == "—" and props[D]["registered"] == "1"
    assert props[D]["score"] == "—" and props[A]["score"] == "100.0"
    (tooltip,) = [c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip)]
    assert tooltip.fields == ["code", "name", *FIELDS]
    assert tooltip.aliases[:4] == ["编码", "名称", "立案数", "应结案数"]
    assert "按期结案率" in tooltip.aliases and "综合指标值" in tooltip.aliases

    page = assert_reads_as_chinese(m)  # offline check included
    rows = legend_rows(page)
    assert [html.unescape(label) for _, label in rows] == [
        "< 60%",
        "60% – 80%",
        "80% – 90%",
        "90% – 95%",
        "≥ 95%",
        "无应结案件",
    ]
    assert [style for style, _ in rows][-1] == f"background:{NO_DUE}"
    assert "按期结案率（五级网格）" in page and "区间含下限、不含上限" in page
    assert "考核图：按期结案率" in page
    assert "2026-11-01 至 2026-11-30" in page and "应结案 7 件" in page
    assert "按期结案率 71.4%" in page  # the totals: 5 of 7 due closed on time
    assert "66.7%" in page  # the labels carry the values


def test_assessment_map_counts_levels_and_english(data: Dataset) -> None:
    m = assessment_map(data.grids, _known(4), "overdue_open")
    (layer,) = geojson_layers(m)
    props = {f["properties"]["code"]: f["properties"] for f in features(layer)}
    assert len(props) == int((data.grids.levels == 4).sum())
    assert props[WUMEI]["colour"] == "#800026" and props[WENMING]["colour"] == "#ffffb2"
    page = render_html(m)
    assert [label for _, label in legend_rows(page)] == ["0", "1"]  # no grey for counts
    assert "无应结案件" not in page

    en = render_html(assessment_map(data.grids, _known(), "closure_rate", lang="en"))
    assert "Assessment: closure rate" in en and "nothing due" in en
    assert "2026-11-01 to 2026-11-30" in en

    wrong = Assessment(NOVEMBER, Grouping.UNIT, None, (), IndicatorRow.of("", ""))
    with pytest.raises(GridgeoError, match="by=grid"):
        assessment_map(data.grids, wrong)
    with pytest.raises(GridgeoError, match="unknown indicator"):
        assessment_map(data.grids, _known(), "speed")


def test_page_names_are_ascii() -> None:
    for key in INDICATORS:
        assert page_name(key, 4).isascii()
    assert page_name("closure_rate", 5) == "assessment_closure_rate_level5.html"


# ---- the heat map ----------------------------------------------------------------------


def grid_colours(page: str) -> dict[str, str]:
    """Grid code -> fill colour, from the GeoJSON in a rendered assessment page."""
    return dict(re.findall(r'"code": "(\d+)", "colour": "(#[0-9a-f]{6})"', page))


def popups(page: str) -> list[str]:
    """The HTML of every popup bound with Leaflet's bindPopup (JSON strings in the page)."""
    return [json.loads(text) for text in re.findall(r'bindPopup\(("(?:[^"\\]|\\.)*")', page)]


def _overdue() -> list[dict[str, object]]:
    return [
        {
            "case_id": 7,
            "task_id": 7,
            "unit": TRAFFIC,
            "unit_name": "秀峰区交警大队",
            "category": "0505",
            "grid_code": C,
            "deadline": "2026-11-25T09:00:00+00:00",
            "overdue_hours": 127.0,
            "lon": POINTS[C][0],
            "lat": POINTS[C][1],
        }
    ]


def test_major_classes_group_and_name() -> None:
    points = [
        CasePoint(1, "0505", 110.29, 25.28),
        CasePoint(2, "0101", 110.29, 25.28),
        CasePoint(3, "0102", 110.29, 25.28),
        CasePoint(4, "", 110.29, 25.28),
        CasePoint(5, "B0101", 110.29, 25.28),
    ]
    found = major_classes(points, default_categories())
    assert [(c.code, len(c.points)) for c in found] == [("01", 2), ("05", 1), ("B01", 1), ("", 1)]
    assert found[0].name == "01 市容环境" and found[-1].name == "未分类"
    assert len({c.colour for c in found}) == 4
    assert "#d62728" not in {c.colour for c in found}  # red is for the overdue cases
    english = major_classes(points, default_categories(), "en")
    assert english[0].name == "01 city appearance and environment"
    assert english[-1].name == "no category"


def test_heat_map_layers_and_overdue_popups(data: Dataset) -> None:
    points = [
        CasePoint(i, cat, *POINTS[grid])
        for i, (cat, grid) in enumerate([("0101", A), ("0102", A), ("0505", B), ("0505", C)])
    ]
    m = heat_map(data.grids, points, _overdue(), period=NOVEMBER, categories=default_categories())
    page = assert_reads_as_chinese(m)  # no CDN: Leaflet.heat from lib/
    assert '<script src="lib/leaflet-heat/leaflet-heat.js">' in page
    assert page.count("L.heatLayer(") == 2
    assert "01 市容环境（2 件）" in page and "05 街面秩序（2 件）" in page
    assert "L.control.layers" in page
    (popup,) = popups(page)
    assert "超期 127 小时" in popup and "秀峰区交警大队" in popup
    assert "2026-11-25 17:00" in popup  # the deadline in Beijing time
    assert "案件 7" in popup and "0505 机动车乱停放" in popup and C in popup
    assert "超期未结案件（1 件）" in page
    assert "案件热力图" in page and "上报案件 4 件" in page
    assert '"maxZoom"' not in page.split("L.heatLayer(")[1].split(");")[0]

    empty = render_html(heat_map(data.grids, [], [], period=NOVEMBER, categories={}))
    assert "L.heatLayer(" not in empty and "超期未结案件（0 件）" in empty
    capped = render_html(
        heat_map(
            data.grids,
            points,
            _overdue(),
            period=NOVEMBER,
            categories={},
            limit=4,
            overdue_limit=1,
            lang="en",
        )
    )
    assert "heat of the first 4 cases" in capped and "the 1 most overdue shown" in capped
    assert "127 hours overdue" in popups(capped)[0]


def test_case_points_of_the_period(store_url: str, tmp_path: Path) -> None:
    """On SpatiaLite and PostGIS: the cases reported within the period, where they are."""
    store, _ = store_with_cases(store_url, tmp_path)
    points = case_points(store, NOVEMBER)
    assert len(points) == 8
    assert [(p.category, round(p.lon, 6), round(p.lat, 6)) for p in points[:1]] == [
        ("0101", *POINTS[A])
    ]
    assert case_points(store, NOVEMBER, limit=3) == points[:3]
    assert case_points(store, Period.parse("2026-11-21", "2026-12-01")) == points[-1:]  # D1
    assert case_points(store, Period.parse("2026-12-01", "2027-01-01")) == []


def test_leaflet_heat_is_copied_with_its_licence(tmp_path: Path) -> None:
    folder = assets.copy_leaflet_heat(tmp_path)
    assert folder == tmp_path / "lib" / "leaflet-heat"
    script = (folder / "leaflet-heat.js").read_text(encoding="utf-8")
    assert "L.heatLayer" in script and "Vladimir Agafonkin" in script
    licence = (folder / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("Copyright (c) 2014, Vladimir Agafonkin")
    assert "Redistribution and use in source and binary forms" in licence
    assert assets.heat_url("/x/") == "/x/leaflet-heat/leaflet-heat.js"


# ---- gridgeo maps --assess -------------------------------------------------------------


def test_cli_renders_the_store_s_assessment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    store_with_cases(url, tmp_path)
    out = tmp_path / "maps"
    argv = ["maps", "-o", str(out), "--no-cases", "--assess", "--database-url", url]
    period = ["--from", "2026-11-01", "--to", "2026-12-01"]
    choice = ["--indicator", "on_time_rate", "--indicator", "overdue_open", "--level", "5"]
    assert main([*argv, *period, *choice, "--level", "4", "--format", "json"]) == 0
    pages = {k: Path(v) for k, v in json.loads(capsys.readouterr().out)["pages"].items()}
    for key in ("assess_on_time_rate_5", "assess_overdue_open_4", "case_heat", "coverage_5"):
        assert pages[key].exists(), key
    assert "assess_closure_rate_5" not in pages
    assert pages["assess_on_time_rate_5"].name == "assessment_on_time_rate_level5.html"

    page = pages["assess_on_time_rate_5"].read_text(encoding="utf-8")
    colours = grid_colours(page)
    assert {code: colours[code] for code in ON_TIME} == {c: v[1] for c, v in ON_TIME.items()}
    assert "应结案 7 件" in page and "立案 8 件" in page
    community = grid_colours(pages["assess_overdue_open_4"].read_text(encoding="utf-8"))
    assert community[WUMEI] == "#800026" and community[WENMING] == "#ffffb2"

    heat = pages["case_heat"].read_text(encoding="utf-8")
    (popup,) = popups(heat)
    assert "超期 127 小时" in popup and "秀峰区交警大队" in popup  # 25th 17:00 to 1st 00:00
    assert "01 市容环境（4 件）" in heat and "05 街面秩序（4 件）" in heat
    assert (out / "lib" / "leaflet-heat" / "leaflet-heat.js").exists()
    assert (out / "lib" / "leaflet-heat" / "LICENSE").exists()

    index = (out / "index.html").read_text(encoding="utf-8")
    assert (
        "<a href='assessment_on_time_rate_level5.html'>考核图：按期结案率（五级网格）</a>" in index
    )
    assert "<a href='assessment_overdue_open_level4.html'>考核图：超期未结数（社区）</a>" in index
    assert "<a href='case_heat.html'>案件热力图</a>" in index
    # the other pages stay listed, under their Chinese titles, the file name small beside
    assert (
        "<a href='coverage_level5_grid.html'>覆盖图：五级网格</a> "
        "<small class='file'>coverage_level5_grid.html</small>"
    ) in index
    assert not list(out.glob(".*.tmp"))

    # this month so far by default (no case yet in December), and bad input exits 2
    assert main([*argv, "--indicator", "closure_rate"]) == 0
    capsys.readouterr()
    assert main([*argv, "--from", "2026-12-01", "--to", "2026-11-01", "--lang", "en"]) == 2
    assert "before or when it starts" in capsys.readouterr().err
    assert main([*argv, "--from", "November", "--lang", "en"]) == 2
    assert "is not a date" in capsys.readouterr().err


def test_default_period_is_this_month_so_far() -> None:
    from gridgeo.cli.maps import _period

    period = _period(None, None)
    today = datetime.now(BEIJING).date()
    assert period.start == datetime.combine(today.replace(day=1), datetime.min.time(), BEIJING)
    assert period.end.astimezone(BEIJING).date() == today + timedelta(days=1)


# ---- the viewer's 考核 layer -------------------------------------------------------------


def test_viewer_config_has_the_assessment_with_the_work_loop() -> None:
    config = viewer_config(work_loop=True, prefix="/gg")
    a = config["assessment"]
    assert a["url"] == "/gg/v1/assessment" and a["level"] == 5
    assert a["default"] == "closure_rate" and a["noDue"] == NO_DUE
    keys = [i["key"] for i in a["indicators"]]
    assert keys == list(INDICATORS)
    closure = a["indicators"][0]
    assert closure == {
        "key": "closure_rate",
        "label": "结案率",
        "kind": "rate",
        "worse": "low",
        "cuts": [0.6, 0.8, 0.9, 0.95],
        "labels": ["< 60%", "60% – 80%", "80% – 90%", "90% – 95%", "≥ 95%"],
    }
    assert a["ramps"]["5"] == list(RAMP5)
    assert a["ramps"]["6"] == ["#ffffb2", "#fed976", "#feb24c", "#f03b20", "#bd0026", "#800026"]
    assert [f["key"] for f in a["fields"]] == list(FIELDS)
    assert config["text"]["assess"] == "考核" and config["text"]["no_due"] == "无应结案件"
    page = viewer_page(config, lib="/gg/map/lib/leaflet", static="/gg/map/static")
    for element in (
        "gg-assess",
        "gg-assess-indicator",
        "gg-assess-level",
        "gg-assess-from",
        "gg-assess-to",
        "gg-assess-legend",
    ):
        assert f'id="{element}"' in page, element

    plain = viewer_config(work_loop=False)
    assert plain["assessment"] is None
    assert 'id="gg-assess"' not in viewer_page(plain, lib="l", static="s")
    en = viewer_config(work_loop=True, lang="en")
    assert en["assessment"]["indicators"][0]["label"] == "closure rate"
    assert en["text"]["no_due"] == "nothing due"
    assert viewer_indicators("en")["fields"][-1] == {"key": "rank", "label": "rank"}
