"""``gridgeo report``: the daily, weekly and monthly reports as Excel and HTML.

A small history with known answers is replayed through the event-log import: in
November 2026, two communities (文明社区, 五美社区) and three units.

* R1 (文明, 0101, 执法队): closed on time;
* R2 (五美, 0505, 交警): handled, failed verification, handled again after its
  deadline and closed late;
* R3 (文明, 0101, 执法队): deadline extended, closed within the extension;
* R4 (五美, 0505, 交警): dispatched, open and overdue (deadline 11-25 17:00);
* V5 (文明, 0102): reported by the volunteer team VOL-WENMING-01 itself, dispatched
  to it, closed on time.

Expected, with the default weights (closure 0.3, on time 0.4, rework 0.15,
extension 0.15): 执法队 100/100/0/50 % → 92.50, 交警 50/0/50/0 % → 37.50, the
volunteers 100 %, 文明社区 95.00, 五美社区 37.50. The figures test runs on SpatiaLite
and PostGIS; the file tests on SpatiaLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from casehelpers import published_store

from gridgeo.cli.main import main
from gridgeo.dataset import Dataset
from gridgeo.reports import ReportError, build_report, write_report
from gridgeo.reports.build import Report
from gridgeo.settings import Settings, StoreSettings
from gridgeo.store.core import Store
from gridgeo.store.datasets import load_dataset
from gridgeo.store.event_log import import_events

HISTORY = """\
case_id,at,action,unit,deadline,actor,lon,lat,crs,category,note
R1,2026-11-03T09:00+08:00,report,,,市民热线,110.3005,25.2785,wgs84,0101,占道搭建
R1,2026-11-03T09:30+08:00,register,,,街道李,,,,,
R1,2026-11-03T10:00+08:00,dispatch,ENF-450302001,2026-11-06T17:00+08:00,街道李,,,,,
R1,2026-11-05T10:00+08:00,handle,ENF-450302001,,执法队王,,,,,已拆除
R1,2026-11-05T14:00+08:00,verify_pass,ENF-450302001,,监督员张,,,,,
R1,2026-11-05T16:00+08:00,close,,,街道李,,,,,
R2,2026-11-04T08:00+08:00,report,,,监督员张,110.2915,25.28,wgs84,0505,机动车乱停放
R2,2026-11-04T08:30+08:00,register,,,街道李,,,,,
R2,2026-11-04T09:00+08:00,dispatch,TP-450302,2026-11-07T17:00+08:00,街道李,,,,,
R2,2026-11-06T10:00+08:00,handle,TP-450302,,交警赵,,,,,
R2,2026-11-06T15:00+08:00,verify_fail,TP-450302,,监督员张,,,,,车辆仍在
R2,2026-11-09T10:00+08:00,handle,TP-450302,,交警赵,,,,,已拖离
R2,2026-11-09T14:00+08:00,verify_pass,TP-450302,,监督员张,,,,,
R2,2026-11-09T16:00+08:00,close,,,街道李,,,,,
R3,2026-11-10T09:00+08:00,report,,,市民热线,110.3005,25.2785,wgs84,0101,违章搭建
R3,2026-11-10T09:30+08:00,register,,,街道李,,,,,
R3,2026-11-10T10:00+08:00,dispatch,ENF-450302001,2026-11-12T17:00+08:00,街道李,,,,,
R3,2026-11-12T09:00+08:00,extend,ENF-450302001,2026-11-20T17:00+08:00,街道李,,,,,需协调业主
R3,2026-11-18T10:00+08:00,handle,ENF-450302001,,执法队王,,,,,
R3,2026-11-18T14:00+08:00,verify_pass,ENF-450302001,,监督员张,,,,,
R3,2026-11-18T16:00+08:00,close,,,街道李,,,,,
R4,2026-11-20T09:00+08:00,report,,,市民热线,110.2915,25.28,wgs84,0505,人行道停车
R4,2026-11-20T09:30+08:00,register,,,街道李,,,,,
R4,2026-11-20T10:00+08:00,dispatch,TP-450302,2026-11-25T17:00+08:00,街道李,,,,,
V5,2026-11-12T08:00+08:00,report,,,VOL-WENMING-01,110.2965,25.2775,wgs84,0102,暴露垃圾
V5,2026-11-12T08:30+08:00,register,,,街道李,,,,,
V5,2026-11-12T09:00+08:00,dispatch,VOL-WENMING-01,2026-11-13T17:00+08:00,街道李,,,,,
V5,2026-11-12T15:00+08:00,handle,VOL-WENMING-01,,志愿者刘,,,,,已清理
V5,2026-11-12T16:00+08:00,verify_pass,VOL-WENMING-01,,监督员张,,,,,
V5,2026-11-12T17:00+08:00,close,,,街道李,,,,,
"""
NOVEMBER = date(2026, 11, 3)
AFTER = datetime.fromisoformat("2026-12-02T09:00+08:00")  # every period below has ended
ENF, TP, VOL = "ENF-450302001", "TP-450302", "VOL-WENMING-01"
WENMING, WUMEI = "450302001001", "450302001002"
HEADERS = [
    "立案数",
    "应结案数",
    "结案数",
    "按期结案数",
    "返工数",
    "延期数",
    "超期未结数",
    "结案率",
    "按期结案率",
    "返工率",
    "延期率",
    "综合指标值",
    "排名",
]


def with_history(url: str, folder: Path) -> tuple[Store, Dataset]:
    store = published_store(url)
    data = load_dataset(store, Settings(store=StoreSettings(database_url=url)))
    path = folder / "history.csv"
    path.write_text(HISTORY, encoding="utf-8")
    found = import_events(store, path, data=data, actor="t", commit=True)
    assert found.ok and found.committed, found.problems
    assert found.states == {"closed": 4, "dispatched": 1}
    return store, data


@pytest.fixture(scope="module")
def sqlite_history(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Store, Dataset]]:
    folder = tmp_path_factory.mktemp("report-store")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    store, data = with_history(url, folder)
    yield url, store, data
    store.close()


@pytest.fixture(scope="module")
def month(sqlite_history: tuple[str, Store, Dataset]) -> Report:
    _, store, data = sqlite_history
    return build_report(store, data, "month", NOVEMBER, now=AFTER)


def report_cli(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args, "--database-url", url])
    out, err = capsys.readouterr()
    return code, out, err


# --- the figures -----------------------------------------------------------------------


def test_month_figures_on_both_backends(store_url: str, tmp_path: Path) -> None:
    store, data = with_history(store_url, tmp_path)
    report = build_report(store, data, "month", NOVEMBER, now=AFTER)
    assert report.title == "秀峰街道城市管理工作月报（2026年11月）"
    assert report.place == "秀峰街道" and not report.partial
    assert report.period.start == datetime.fromisoformat("2026-11-01T00:00+08:00")
    assert report.period.end == datetime.fromisoformat("2026-12-01T00:00+08:00")

    totals = report.totals
    counts = ("registered", "due", "closed", "on_time", "rework", "extended", "overdue_open")
    assert [getattr(totals, k) for k in counts] == [5, 5, 4, 3, 1, 1, 1]
    assert (totals.closure_rate, totals.on_time_rate) == (0.8, 0.6)
    assert totals.score == pytest.approx(72.0)  # 100 * (.3*.8 + .4*.6 + .15*.8 + .15*.8)

    units = {u.key: u for u in report.units}
    assert [u.key for u in report.units] == [VOL, ENF, TP]  # by rank
    assert [units[k].rank for k in (VOL, ENF, TP)] == [1, 2, 3]
    enf, tp = units[ENF], units[TP]
    assert [getattr(enf, k) for k in counts] == [2, 2, 2, 2, 0, 1, 0]
    assert [getattr(tp, k) for k in counts] == [2, 2, 1, 0, 1, 0, 1]
    assert enf.extension_rate == 0.5 and enf.score == pytest.approx(92.5)
    assert (tp.closure_rate, tp.on_time_rate, tp.rework_rate) == (0.5, 0.0, 0.5)
    assert tp.score == pytest.approx(37.5)
    assert enf.name == "秀峰街道综合行政执法队"

    # the ranked communities, then the street's idle ones with zeros and no rates
    assert [c.key for c in report.communities] == [
        WENMING,
        WUMEI,
        "450302001003",
        "450302001004",
    ]
    wenming, wumei, idle = report.communities[0], report.communities[1], report.communities[2]
    assert (wenming.name, wenming.registered, wenming.score) == ("文明社区", 3, pytest.approx(95))
    assert (wumei.name, wumei.registered, wumei.overdue_open) == ("五美社区", 2, 1)
    assert (idle.name, idle.registered, idle.closure_rate, idle.rank) == ("榕湖社区", 0, None, None)

    assert [(c.key, c.name, c.registered) for c in report.categories] == [
        ("0101", "私搭乱建", 2),
        ("0505", "机动车乱停放", 2),
        ("0102", "暴露垃圾", 1),
    ]

    (overdue,) = report.overdue
    assert (overdue.unit, overdue.unit_name, overdue.grid_code) == (
        TP,
        "秀峰区交警大队",
        WUMEI + "003",
    )
    assert overdue.deadline == datetime.fromisoformat("2026-11-25T17:00+08:00")
    assert overdue.overdue_hours == 127.0  # to 12-01 00:00
    assert not report.overdue_truncated

    volunteers = {v.code: v for v in report.volunteers}
    assert list(volunteers) == [VOL, "VOL-WUMEI-01"]  # every volunteer team of the partners
    team = volunteers[VOL]
    assert (team.reported, team.handled) == (1, 1)  # V5: reported by the team's account
    assert team.indicators is not None and team.indicators.on_time_rate == 1.0
    assert (volunteers["VOL-WUMEI-01"].reported, volunteers["VOL-WUMEI-01"].indicators) == (0, None)

    trend = {p.label: (p.registered, p.closed) for p in report.trend}
    assert len(report.trend) == 30 and report.trend[0].label == "11-01"
    assert {k: v for k, v in trend.items() if v != (0, 0)} == {
        "11-03": (1, 0),
        "11-04": (1, 0),
        "11-05": (0, 1),
        "11-09": (0, 1),
        "11-10": (1, 0),
        "11-12": (1, 1),
        "11-18": (0, 1),
        "11-20": (1, 0),
    }
    store.close()


def test_week_and_day(sqlite_history: tuple[str, Store, Dataset]) -> None:
    _, store, data = sqlite_history
    week = build_report(store, data, "week", date(2026, 11, 11), now=AFTER)
    assert week.title == "秀峰街道城市管理工作周报（2026年11月9日至11月15日）"
    assert week.totals.registered == 2  # R3 and V5
    assert [p.label for p in week.trend] == [f"11-{d:02d}" for d in range(9, 16)]

    day = build_report(store, data, "day", date(2026, 11, 9), now=AFTER)
    assert day.title == "秀峰街道城市管理工作日报（2026年11月9日）"
    assert len(day.trend) == 24 and day.trend[16].label == "16:00"
    assert [(p.label, p.closed) for p in day.trend if p.closed] == [("16:00", 1)]  # R2
    assert day.totals.registered == 0 and day.totals.closure_rate is None

    en = build_report(store, data, "week", date(2026, 12, 30), lang="en", now=AFTER.replace(2027))
    assert en.title == "秀峰街道 urban management weekly report (28 Dec 2026 – 3 Jan 2027)"


def test_empty_period_has_zeros_and_no_rates(
    sqlite_history: tuple[str, Store, Dataset], tmp_path: Path
) -> None:
    _, store, data = sqlite_history
    report = build_report(store, data, "month", date(2026, 10, 15), now=AFTER)
    assert report.totals.registered == 0 and report.totals.due == 0
    assert report.totals.closure_rate is None and report.totals.score is None
    assert report.units == () and report.categories == ()
    assert all(c.registered == 0 and c.rank is None for c in report.communities)
    assert sum(p.registered + p.closed for p in report.trend) == 0 and len(report.trend) == 31
    write_report(report, tmp_path / "empty.xlsx")
    write_report(report, tmp_path / "empty.html")
    book = openpyxl.load_workbook(tmp_path / "empty.xlsx")
    summary = book["概况"]
    header_row = next(r for r in range(1, 12) if summary.cell(r, 1).value == "范围")
    values = [c.value for c in summary[header_row + 1]]
    assert values[1:8] == [0] * 7 and values[8:] == [None] * 5  # empty, not 0
    assert "本期无应结案件" in (tmp_path / "empty.html").read_text(encoding="utf-8")


def test_a_running_period_is_counted_up_to_now(sqlite_history: tuple[str, Store, Dataset]) -> None:
    _, store, data = sqlite_history
    now = datetime.fromisoformat("2026-11-12T12:00+08:00")
    report = build_report(store, data, "month", date(2026, 11, 1), now=now)
    assert report.partial and report.period.end == now
    assert report.totals.registered == 4  # R1, R2, R3, V5; R4 comes on 11-20
    assert len(report.trend) == 12
    with pytest.raises(ReportError, match="尚未开始"):
        build_report(store, data, "day", date(2026, 11, 13), now=now)
    with pytest.raises(ReportError, match="999"):
        build_report(store, data, "day", date(2026, 11, 3), now=now, street="999")


# --- Excel ---------------------------------------------------------------------------


def sheet_rows(sheet: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_xlsx_sheets_headers_values_and_formats(
    capsys: pytest.CaptureFixture[str], sqlite_history: tuple[str, Store, Dataset], tmp_path: Path
) -> None:
    url = sqlite_history[0]
    out_file = tmp_path / "月报.xlsx"
    code, out, err = report_cli(
        capsys, url, "--period", "month", "--date", "2026-11-03", "-o", str(out_file)
    )
    assert code == 0, err
    assert out.strip() == f"已写出月报：{out_file}（3 个责任单位、4 个社区、1 件超期未结案件）"
    book = openpyxl.load_workbook(out_file)
    assert book.sheetnames == [
        "概况",
        "责任单位",
        "社区",
        "问题类别",
        "超期未结",
        "志愿者服务",
        "趋势",
        "图表",
    ]

    summary = book["概况"]
    assert summary["A1"].value == "秀峰街道城市管理工作月报（2026年11月）"
    assert summary["A1"].font.bold

    units = book["责任单位"]
    rows = sheet_rows(units)
    assert rows[0] == ["编码", "责任单位", *HEADERS]
    assert all(c.font.bold for c in units[1])
    assert units.freeze_panes == "A2"
    by_code = {r[0]: r for r in rows[1:4]}
    assert list(by_code) == [VOL, ENF, TP]
    assert by_code[ENF][1:9] == ["秀峰街道综合行政执法队", 2, 2, 2, 2, 0, 1, 0]
    assert by_code[ENF][9:15] == [1, 1, 0, 0.5, 92.5, 2]
    assert by_code[TP][9:15] == [0.5, 0, 0.5, 0, 37.5, 3]
    enf_row = next(r for r in units.iter_rows(min_row=2, max_row=4) if r[0].value == ENF)
    assert [c.number_format for c in enf_row[9:13]] == ["0.00%"] * 4
    assert enf_row[13].number_format == "0.00"
    # a Chinese name is about two columns per character wide
    assert units.column_dimensions["B"].width >= 2 * len("秀峰街道综合行政执法队")

    communities = sheet_rows(book["社区"])
    assert communities[0] == ["编码", "社区", *HEADERS]
    assert communities[1][:3] == [WENMING, "文明社区", 3] and communities[1][13:] == [95, 1]
    idle = communities[3]
    assert idle[:3] == ["450302001003", "榕湖社区", 0]
    assert idle[9:15] == [None] * 6  # no rate, no score, no rank: empty cells

    categories = sheet_rows(book["问题类别"])
    assert categories[0][:5] == ["序号", "编码", "类别", "立案数", "占比"]
    assert [r[1:5] for r in categories[1:4]] == [
        ["0101", "私搭乱建", 2, 0.4],
        ["0505", "机动车乱停放", 2, 0.4],
        ["0102", "暴露垃圾", 1, 0.2],
    ]
    assert book["问题类别"]["E2"].number_format == "0.00%"

    overdue = book["超期未结"]
    rows = sheet_rows(overdue)
    assert rows[0] == [
        "序号",
        "案件编号",
        "任务编号",
        "责任单位",
        "编码",
        "类别",
        "网格",
        "处置时限",
        "超期时长（小时）",
    ]
    assert len(rows) == 2
    assert rows[1][3:] == [
        "秀峰区交警大队",
        TP,
        "0505 机动车乱停放",
        "450302001002003 五美社区第3网格",
        datetime(2026, 11, 25, 17, 0),  # Beijing wall-clock time
        127,
    ]
    assert overdue["H2"].number_format == "yyyy-mm-dd hh:mm"

    volunteers = sheet_rows(book["志愿者服务"])
    assert volunteers[0][:4] == ["编码", "志愿服务队", "上报案件数", "处置案件数"]
    assert volunteers[1][:4] == [VOL, "文明社区退休党员志愿服务队", 1, 1]
    assert volunteers[2][0] == "VOL-WUMEI-01" and volunteers[2][8:10] == [None, None]

    trend = sheet_rows(book["趋势"])
    assert trend[0] == ["日期", "立案数", "结案数"] and len(trend) >= 32
    assert trend[3] == ["11-03", 1, 0] and trend[31] == ["合计", 5, 4]

    charts = book["图表"]._charts  # openpyxl keeps the charts it reads here
    assert len(charts) == 2


def test_xlsx_in_english(
    capsys: pytest.CaptureFixture[str], sqlite_history: tuple[str, Store, Dataset], tmp_path: Path
) -> None:
    out_file = tmp_path / "week.xlsx"
    code, out, _ = report_cli(
        capsys,
        sqlite_history[0],
        *("--period", "week", "--date", "2026-11-11", "-o", str(out_file), "--lang", "en"),
    )
    assert code == 0 and out.startswith("wrote the weekly report: ")
    book = openpyxl.load_workbook(out_file)
    assert book.sheetnames[:3] == ["Summary", "Units", "Communities"]
    header = [c.value for c in book["Units"][1]]
    assert header[:4] == ["code", "unit", "registered", "due"] and header[-2:] == [
        "composite score",
        "rank",
    ]


# --- HTML ----------------------------------------------------------------------------


class Page(HTMLParser):
    """The tags, attributes and text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    return text, page


def test_html_is_offline_and_shows_the_figures(
    capsys: pytest.CaptureFixture[str], sqlite_history: tuple[str, Store, Dataset], tmp_path: Path
) -> None:
    out_file = tmp_path / "report.html"
    code, _, err = report_cli(
        capsys, sqlite_history[0], "--period", "month", "--date", "2026-11-30", "-o", str(out_file)
    )
    assert code == 0, err
    text, page = parse(out_file)
    assert text.startswith("<!DOCTYPE html>")
    assert ("html", {"lang": "zh-CN"}) in page.tags
    names = [tag for tag, _ in page.tags]
    assert "script" not in names and "link" not in names and "img" not in names
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value)
    assert "url(http" not in text and "@import" not in text
    assert names.count("svg") == 2 and names.count("table") == 6

    words = "".join(page.text)
    assert "秀峰街道城市管理工作月报（2026年11月）" in words
    for header in HEADERS:
        assert header in words
    for figure in ("92.50", "37.50", "95.00", "72.00", "50.00%", "33.33%", "127.0"):
        assert figure in words, figure
    assert "2026-11-25 17:00" in words and "秀峰区交警大队" in words
    assert "文明社区退休党员志愿服务队" in words and "本期立案 5 件，结案 4 件" in words
    assert "—" in words  # the idle communities' rates


def test_html_in_english(sqlite_history: tuple[str, Store, Dataset], tmp_path: Path) -> None:
    _, store, data = sqlite_history
    report = build_report(store, data, "day", date(2026, 11, 9), lang="en", now=AFTER)
    write_report(report, tmp_path / "day.html")
    text, page = parse(tmp_path / "day.html")
    assert ("html", {"lang": "en"}) in page.tags
    assert "秀峰街道 urban management daily report (9 Nov 2026)" in text
    assert "closure rate" in text and "Registered and closed cases per hour" in text
    # nothing was due that day: a line instead of an empty rates chart
    assert [tag for tag, _ in page.tags].count("svg") == 1
    assert "nothing was due in this period: no rates to draw" in text


# --- bad input -------------------------------------------------------------------------


def test_bad_input_is_one_chinese_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    sqlite_history: tuple[str, Store, Dataset],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = sqlite_history[0]
    good = str(tmp_path / "r.xlsx")
    code, _, err = report_cli(capsys, url, "--period", "day", "--date", "2026-13-01", "-o", good)
    assert code == 2 and "--date '2026-13-01' 不是日期" in err and len(err.splitlines()) == 1
    code, _, err = report_cli(capsys, url, "--period", "day", "-o", str(tmp_path / "r.pdf"))
    assert code == 2 and "扩展名 '.pdf' 不受支持" in err and ".xlsx" in err
    code, _, err = report_cli(capsys, url, "--period", "day", "-o", str(tmp_path / "r"))
    assert code == 2 and "不受支持" in err
    code, _, err = report_cli(
        capsys, url, "--period", "day", "--date", "2026-11-03", "--street", "450302009", "-o", good
    )
    assert code == 2 and "街道编码 '450302009' 不在已发布的边界中" in err and "秀峰街道" in err
    code, _, err = report_cli(capsys, url, "--period", "day", "--date", "2099-01-01", "-o", good)
    assert code == 2 and "尚未开始" in err
    code, _, err = report_cli(
        capsys, url, "--period", "day", "--date", "x", "-o", good, "--lang", "en"
    )
    assert code == 2 and "--date 'x' is not a date" in err
    code, _, err = report_cli(capsys, url, "--period", "day", "--weights", "speed=1", "-o", good)
    assert code == 2 and "--weights 有误" in err and "speed" in err
    assert not (tmp_path / "r.xlsx").exists()

    # an empty store is filled with the sample first (as every command does), unless
    # GRIDGEO_SEED_SAMPLE=false: then nothing is published and the report says so
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    monkeypatch.setenv("GRIDGEO_SEED_SAMPLE", "false")
    code, _, err = report_cli(capsys, empty, "--period", "month", "-o", good)
    assert code == 2 and "没有已发布的边界版本" in err
    assert not (tmp_path / "r.xlsx").exists()
    monkeypatch.setenv("GRIDGEO_SEED_SAMPLE", "true")
    code, _, err = report_cli(capsys, empty, "--period", "month", "-o", good)
    assert code == 0, err
    assert (tmp_path / "r.xlsx").exists()
