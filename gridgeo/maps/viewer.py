"""The live viewer page (``/map``): HTML and its configuration (pure; served by the API).

The page is Leaflet plus ``static/viewer.js``. It reads the grids of every
level and the workstations from the OGC API Features endpoints
(``/collections/{id}/items``, GeoJSON, paged by ``next`` links), asks
``/v1/lookup`` for the chain and workstation of a clicked point and
``/map/staff`` for the people responsible, searches codes and names among the
loaded grids, and shows cases. A level with more grids than
``GRIDGEO_VIEWER_MAX_FEATURES`` is drawn per view (bbox requests) once the view is
small enough; the others load whole when the page opens.

Cases come in one of two modes, decided by the cases URL:

* ``loop`` (a URL ending in ``/v1/cases``, the default when the service runs on a
  store): the work loop. Cases are read page by page from ``/v1/cases`` (at most
  ``max_cases``; beyond that per view, with ``bbox``), drawn as circles coloured by
  state (:data:`CASE_STATE_COLORS`, the legend), overdue ones ringed in red; a click
  shows the case with its tasks and timeline (``/v1/cases/{id}``); filters by state,
  unit and category; ``/v1/events`` (Server-Sent Events) keeps the markers live.
* ``geojson`` (any other URL, e.g. ``/map/cases.geojson`` from ``GRIDGEO_MAP_CASES``):
  points of a GeoJSON file, drawn as dots.

With the work loop the panel also has a 考核 (assessment) layer: an indicator of
``/v1/assessment?by=grid&level=N&from=&to=`` (default: this month so far) colours
the grids of level N in the classes of :mod:`gridgeo.maps.assessment_map`, with a
legend and every indicator of a grid in its tooltip.

All text comes from :mod:`gridgeo.maps.text` and :data:`CASE_TEXT` in the
configured language.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gridgeo.caseflow import Action, CaseState, TaskState
from gridgeo.deadlines import Urgency
from gridgeo.levels import Level
from gridgeo.maps import style
from gridgeo.maps.assessment_map import viewer_indicators
from gridgeo.maps.basemap import NO_BASEMAP, Basemap
from gridgeo.maps.style import GRID_FILL_OPACITY, LEVEL_STYLES
from gridgeo.maps.text import EMPLOYMENTS, TEXT, html_lang

# a layer with more grids than this is drawn on a canvas, not as SVG paths (zooming a
# few thousand SVG polygons takes many seconds in a browser without a GPU)
CANVAS_ABOVE = 1000
# levels shown when the page opens (the others are one click away)
DEFAULT_ON = (Level.STREET, Level.COMMUNITY, Level.GRID)
VIEWER_TEXT = (
    "viewer_title",
    "edit_boundaries",
    "layers",
    "search",
    "search_none",
    "show_cases",
    "outside",
    "nearest",
    "metres",
    "loading",
    "responsible",
    "workstation",
    "address",
    "code",
    "name",
    "cases",
    "no_staff",
    "illustrative",
    "zoom_in",
    "cases_failed",
)
# the work-loop case layer: one colour per case state (the legend), in the loop's order
CASE_STATE_COLORS: dict[CaseState, str] = {
    CaseState.REPORTED: "#e377c2",
    CaseState.REGISTERED: "#9467bd",
    CaseState.REJECTED: "#b0b0b0",
    CaseState.DISPATCHED: "#1f77b4",
    CaseState.HANDLED: "#17becf",
    CaseState.VERIFIED: "#2ca02c",
    CaseState.CLOSED: "#636363",
}
OVERDUE_COLOR = "#e31a1c"  # the ring of an overdue case
CASE_PAGE = 1000  # cases per /v1/cases request (its largest page)
MAX_CASES = 5000  # cases loaded whole; with more, the newest this many in the view
LOOP_PATH = "/v1/cases"
# text of the case layer, (zh, en) as in gridgeo.maps.text.TEXT; the script fills the {fields}
CASE_TEXT: dict[str, tuple[str, str]] = {
    "case_states": ("案件状态", "case states"),
    "overdue": ("超期", "overdue"),
    "overdue_hint": (
        "派遣后超过处置时限仍未处置完毕的案件（红圈）",
        "dispatched cases past their deadline (red ring)",
    ),
    "unit": ("单位", "unit"),
    "all_units": ("全部单位", "all units"),
    "unit_hint": (
        "已派遣案件按责任单位，未派遣案件按建议派遣单位筛选",
        "dispatched cases by the units working them, others by the suggested units",
    ),
    "category": ("类别", "category"),
    "all_categories": ("全部类别", "all categories"),
    "case": ("案件 {id}", "case {id}"),
    "state": ("状态", "state"),
    "description": ("问题描述", "description"),
    "grid": ("网格", "grid"),
    "urgency": ("紧急程度", "urgency"),
    "reported_at": ("上报时间", "reported"),
    "tasks": ("派遣任务", "tasks"),
    "no_tasks": ("尚未派遣", "not dispatched yet"),
    "deadline": ("处置时限", "deadline"),
    "extension_asked": ("申请延期至", "extension asked until"),
    "timeline": ("办理过程（北京时间）", "timeline (Beijing time)"),
    "live": ("实时", "live"),
    "live_on": ("已连接实时更新，案件变化即时显示", "connected: case changes show at once"),
    "live_off": ("实时更新未连接，正在重试", "live updates not connected, retrying"),
    "in_view": ("仅显示视野内的案件", "only the cases in view"),
    "in_view_newest": ("仅显示视野内最新的 {n} 件", "only the newest {n} in view"),
}
ASSESS_PATH = "/v1/assessment"
ASSESS_LEVEL = Level.GRID  # the level the 考核 layer opens with
# text of the 考核 layer, (zh, en) like CASE_TEXT
ASSESS_TEXT: dict[str, tuple[str, str]] = {
    "assess": ("考核", "assessment"),
    "assess_hint": (
        "按所选级别的网格统计该时段立案案件的办理指标",
        "indicators of the cases registered in the period, per grid of the level chosen",
    ),
    "indicator": ("指标", "indicator"),
    "assess_level": ("级别", "level"),
    "from": ("自", "from"),
    "to": ("至", "to"),
    "to_hint": ("含当日", "the day included"),
    "no_due": ("无应结案件", "nothing due"),
    "half_open": ("区间含下限、不含上限", "a class holds its lower bound, not its upper"),
    "assess_summary": (
        "{n} 个{level}有立案案件；合计立案 {registered} 件，应结案 {due} 件",
        "{n} grids ({level}) with cases: {registered} registered, {due} due",
    ),
    "assess_none": ("该时段没有立案案件", "no case registered in the period"),
    "assess_failed": ("考核数据获取失败", "assessment could not be read"),
    "assess_zoom": (
        "{level}数量较多，仅为已显示过的网格着色，放大或移动地图后继续补充",
        "the {level} level is large: only the grids drawn so far are coloured; zoom in or pan "
        "for more",
    ),
}


def viewer_config(
    *,
    lang: str = "zh",
    prefix: str = "",
    cases_url: str = "",
    basemap: Basemap = NO_BASEMAP,
    counts: Mapping[Level, int] | None = None,
    max_features: int = 3000,
    work_loop: bool = False,
    max_cases: int = MAX_CASES,
    categories: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the viewer script needs: URLs, levels, styles and text.

    ``counts`` are the grids per level. A level with more than ``max_features``
    is marked ``viewport``: the script draws it per view, from bbox requests,
    while the view holds at most ``max_features`` of its grids (a city's tens of
    thousands of fifth-level grids would not fit in one page of GeoJSON).

    ``cases_url`` is where cases come from; empty: ``/v1/cases`` when
    ``work_loop`` (the service has a store), else ``/map/cases.geojson``. A URL
    whose path ends in ``/v1/cases`` is read as the work loop (``casesMode``
    ``loop``, live through the ``/v1/events`` beside it), any other as GeoJSON.
    ``categories`` names the category codes (code to name, in ``lang``).
    """
    counts = counts or {}
    if not cases_url:
        cases_url = f"{prefix}{LOOP_PATH}" if work_loop else f"{prefix}/map/cases.geojson"
    loop = is_work_loop_url(cases_url)
    base = cases_url.split("?", 1)[0].rstrip("/")
    zh = lang == "zh"
    return {
        "maxFeatures": max_features,
        "canvasAbove": CANVAS_ABOVE,
        "lang": lang,
        "api": prefix,
        "lookup": f"{prefix}/v1/lookup",
        "staff": f"{prefix}/map/staff",
        "collections": f"{prefix}/collections",
        "edit_url": f"{prefix}/map/edit",
        "workstations": "workstations",
        "cases": cases_url,
        "casesMode": "loop" if loop else "geojson",
        "caseItem": f"{base}/" if loop else "",
        "events": f"{base[: -len(LOOP_PATH)]}/v1/events" if loop else "",
        "casePage": CASE_PAGE,
        "maxCases": max_cases,
        "caseStates": [
            {"state": s.value, "label": s.label_zh if zh else s.value, "color": color}
            for s, color in CASE_STATE_COLORS.items()
        ],
        "overdueColor": OVERDUE_COLOR,
        "openTaskStates": [s.value for s in TaskState if s.is_open],
        "taskStates": {s.value: s.label_zh if zh else s.value for s in TaskState},
        "actions": {a.value: a.label_zh if zh else a.value.replace("_", " ") for a in Action},
        "urgencies": {u.value: u.label_zh if zh else u.value for u in Urgency},
        "employments": {key: pair[0 if zh else 1] for key, pair in EMPLOYMENTS.items()},
        "categories": dict(categories or {}),
        "levels": [
            {
                "id": f"level{int(lv)}_{lv.en}",
                "level": int(lv),
                "name": lv.name_in(lang),
                "color": LEVEL_STYLES[lv][0],
                "weight": LEVEL_STYLES[lv][1],
                "fill": GRID_FILL_OPACITY if lv is Level.GRID else 0.0,
                "on": lv in DEFAULT_ON,
                "count": counts.get(lv),
                "viewport": counts.get(lv, 0) > max_features,
            }
            for lv in Level
        ],
        "workstationColor": style.WORKSTATION,
        "caseColor": style.CASE_POINT,
        # the base map's system: every URL asks for it, clicks are read in it
        "crs": basemap.crs if basemap.kind == "xyz" and basemap.crs != "wgs84" else None,
        "tiles": [
            {"url": url, "attribution": attribution, "subdomains": subdomains}
            for url, attribution, subdomains in basemap.tile_layers(lang)
        ],
        "assessment": _assessment_config(prefix, lang) if work_loop else None,
        # raw: viewer.js fills the {fields}
        "text": {key: TEXT[key][0 if zh else 1] for key in VIEWER_TEXT}
        | {key: zh_en[0] if zh else zh_en[1] for key, zh_en in CASE_TEXT.items()}
        | {key: zh_en[0] if zh else zh_en[1] for key, zh_en in ASSESS_TEXT.items()},
    }


def _assessment_config(prefix: str, lang: str) -> dict[str, Any]:
    """The 考核 layer: where the indicators come from and how to colour them.

    Only with the work loop: ``/v1/assessment`` counts the store's cases.
    """
    return {"url": f"{prefix}{ASSESS_PATH}", "level": int(ASSESS_LEVEL)} | viewer_indicators(lang)


def is_work_loop_url(url: str) -> bool:
    """True for a URL of the work loop's case list (its path ends in ``/v1/cases``)."""
    return urlsplit(url).path.rstrip("/").endswith(LOOP_PATH)


def viewer_page(config: dict[str, Any], *, lib: str, static: str) -> str:
    """The viewer's HTML: Leaflet from ``lib``, the script and style from ``static``."""
    title = html.escape(config["text"]["viewer_title"])
    edit_text = html.escape(config["text"]["edit_boundaries"])
    # </script> cannot occur in JSON from json.dumps with ensure_ascii and "<" escaped
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{html_lang(config["lang"])}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{lib}/leaflet.css">
<link rel="stylesheet" href="{static}/viewer.css">
</head>
<body>
<div id="map"></div>
<div id="gg-panel" class="gg-panel">
  <div class="gg-panel-title">{title}
    <a class="gg-back" href="{html.escape(config["edit_url"])}">{edit_text}</a></div>
  <input id="gg-search" type="search" autocomplete="off"
         placeholder="{html.escape(config["text"]["search"])}">
  <ul id="gg-results"></ul>
  <div class="gg-panel-sub">{html.escape(config["text"]["layers"])}</div>
  <div id="gg-layers"></div>
  <div class="gg-case-row"><label class="gg-toggle"><input type="checkbox" id="gg-cases">
    {html.escape(config["text"]["show_cases"])}<span id="gg-case-count"></span></label>
    <span id="gg-live" class="gg-live" hidden>{html.escape(config["text"]["live"])}</span></div>
  <div id="gg-case-panel" class="gg-case-panel" hidden>
    <div class="gg-panel-sub">{html.escape(config["text"]["case_states"])}</div>
    <div id="gg-case-states"></div>
    <div class="gg-overdue-row" title="{html.escape(config["text"]["overdue_hint"])}">
      <span class="gg-ring"></span> {html.escape(config["text"]["overdue"])}
      <span id="gg-case-overdue"></span></div>
    <label class="gg-select" title="{html.escape(config["text"]["unit_hint"])}">
      {html.escape(config["text"]["unit"])} <select id="gg-case-unit"></select></label>
    <label class="gg-select">{html.escape(config["text"]["category"])}
      <select id="gg-case-category"></select></label>
    <div id="gg-case-note" class="gg-note"></div>
  </div>
{_assessment_html(config)}  <div id="gg-status"></div>
</div>
<script src="{lib}/leaflet.js"></script>
<script>window.GRIDGEO_VIEWER = {data};</script>
<script src="{static}/viewer.js"></script>
</body>
</html>
"""


def _assessment_html(config: dict[str, Any]) -> str:
    """The 考核 toggle and its controls (nothing without the work loop)."""
    if not config.get("assessment"):
        return ""
    text = {k: html.escape(v) for k, v in config["text"].items()}
    return f"""  <label class="gg-toggle" title="{text["assess_hint"]}"><input type="checkbox"
    id="gg-assess"> {text["assess"]}</label>
  <div id="gg-assess-panel" class="gg-case-panel" hidden>
    <label class="gg-select">{text["indicator"]} <select id="gg-assess-indicator"></select></label>
    <label class="gg-select">{text["assess_level"]} <select id="gg-assess-level"></select></label>
    <label class="gg-select">{text["from"]} <input type="date" id="gg-assess-from"></label>
    <label class="gg-select" title="{text["to_hint"]}">{text["to"]}
      <input type="date" id="gg-assess-to"></label>
    <div id="gg-assess-legend" class="gg-assess-legend"></div>
    <div id="gg-assess-note" class="gg-note"></div>
  </div>
"""
