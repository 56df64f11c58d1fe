"""The boundary editor page at ``/map/edit``: planners split, merge, reshape, add and rename
grids in the browser (pure: the HTML and its settings; the script is static/editor.js).

Drawing and vertex dragging are Leaflet-Geoman's (free edition, MIT, vendored in
``static/vendor/leaflet-geoman``: no network needed). Every edit is sent at once
to ``POST /v1/versions/{id}/edits``, which applies it through the store's import
core and answers with the new draft and its validation findings; the page then
shows the draft. A refused edit shows the server's message; a stale draft (409)
keeps the edit in a list to apply again on the newer draft.
"""

from __future__ import annotations

import html
import json
from typing import Any

from gridgeo.i18n import Lang
from gridgeo.levels import Level
from gridgeo.maps.style import GRID_FILL_OPACITY, LEVEL_STYLES, RULE_COLOURS
from gridgeo.maps.text import html_lang

# key: (zh, en)
EDITOR_TEXT: dict[str, tuple[str, str]] = {
    "title": ("边界编辑", "Boundary editor"),
    "key": ("API 密钥（规划员）", "API key (planner)"),
    "version": ("版本", "version"),
    "load": ("载入", "Load"),
    "published": ("已发布", "published"),
    "draft": ("草稿", "draft"),
    "tools": ("编辑工具", "Edit"),
    "select_hint": (
        "点击网格选中；按住 Shift 点击可多选。",
        "Click a grid to select it; Shift-click to select more.",
    ),
    "split": ("拆分", "Split"),
    "split_hint": (
        "画一条穿过所选网格的线，将其一分为二：起点和终点都在网格外，再次点击最后一点结束；"
        "按 Esc 取消。",
        "Draw a line across the selected grid, from outside to outside; click the last "
        "point again to finish; Esc cancels.",
    ),
    "merge": ("合并所选", "Merge selected"),
    "reshape": ("调整边界", "Reshape"),
    "reshape_hint": (
        "拖动所选网格的顶点，相邻网格和上级边界随之调整；按 Esc 取消。",
        "Drag a vertex of the selected grid; neighbours and the parent's outline move with "
        "it; Esc cancels.",
    ),
    "add": ("新增网格", "New grid"),
    "add_hint": (
        "在社区内画出新网格的边界，点击第一点闭合；新网格从其覆盖的网格中切出；按 Esc 取消。",
        "Draw the new grid's outline inside a community and close it on the first point; "
        "it is cut out of the grids it covers; Esc cancels.",
    ),
    "rename": ("重命名", "Rename"),
    "name": ("名称", "name"),
    "new_name": ("新网格名称（可不填）", "name of the new grid (optional)"),
    "diff": ("与已发布版本对比", "Compare with published"),
    "publish": ("发布", "Publish"),
    "publish_confirm": (
        "确定发布草稿 {id}？发布后，点位查询将按新边界返回结果。",
        "Publish draft {id}? Lookups will answer from it.",
    ),
    "pending": ("待重试的编辑", "Edits to apply again"),
    "retry": ("在最新草稿上重试", "Apply on the newest draft"),
    "selected": ("已选 {n} 个网格", "{n} grid(s) selected"),
    "none_selected": ("请先选中网格", "Select a grid first"),
    "saving": ("正在保存……", "Saving…"),
    "saved": ("已保存为草稿 {id}：{what}", "Saved as draft {id}: {what}"),
    "findings": (
        "校验：{errors} 个错误，{warnings} 个警告",
        "Validation: {errors} errors, {warnings} warnings",
    ),
    "stale": (
        "草稿已被他人更新（{detail}）。您的编辑已保留，可在最新草稿上重试。",
        "The draft was saved by someone else ({detail}). Your edit is kept: apply it on the "
        "newest draft.",
    ),
    "refused": ("编辑被拒绝：{detail}", "Edit refused: {detail}"),
    "need_key": ("请先填写规划员的 API 密钥", "Enter a planner's API key first"),
    "loaded": ("版本 {id}（{status}）：{n} 个要素", "Version {id} ({status}): {n} features"),
    "published_ok": ("已发布版本 {id}", "Version {id} published"),
    "diff_summary": (
        "与版本 {old} 相比：新增 {added} 个网格，删除 {removed} 个，调整边界 {reshaped} 个，"
        "重命名 {renamed} 个",
        "Against version {old}: {added} added, {removed} removed, {reshaped} reshaped, "
        "{renamed} renamed",
    ),
    "back": ("返回地图", "Back to the map"),
    # what a saved edit did, from the codes the server names
    "did_split": ("已拆分 {code}，新增网格 {added}", "{code} split; the new grid is {added}"),
    "did_merge": ("{removed} 已并入 {changed}", "{removed} merged into {changed}"),
    "did_move_vertex": ("已移动顶点，涉及 {changed}", "vertex moved in {changed}"),
    "did_add_grid": ("已新增网格 {added}", "new grid {added}"),
    "did_rename": ("{code} 已重命名", "{code} renamed"),
    # Leaflet-Geoman's drawing tooltips, in the words of the hints above
    "pm_first_vertex": ("点击放置第一个顶点", "Click to place the first vertex"),
    "pm_continue_line": ("点击继续画线", "Click to continue drawing"),
    "pm_finish_line": ("再次点击最后一点结束", "Click the last point again to finish"),
    "pm_finish_poly": ("点击第一点闭合", "Click the first point to close"),
}

# the kinds of change of a diff (gridgeo.diff.KINDS), as the diff's tooltips name them
CHANGE_KINDS: dict[str, tuple[str, str]] = {
    "added": ("新增", "added"),
    "removed": ("删除", "removed"),
    "reshaped": ("调整边界", "reshaped"),
    "renamed": ("重命名", "renamed"),
    "recoded": ("编码变更", "recoded"),
    "reparented": ("上级变更", "reparented"),
}

EDITED_LEVELS = (Level.STREET, Level.COMMUNITY, Level.GRID)


def editor_config(*, lang: Lang | str, prefix: str) -> dict[str, Any]:
    """Everything editor.js needs: URLs, level styles and text."""
    return {
        "lang": lang,
        "api": f"{prefix}/v1",
        "viewer": f"{prefix}/map",
        "levels": [
            {
                "level": int(lv),
                "color": LEVEL_STYLES[lv][0],
                "weight": LEVEL_STYLES[lv][1],
                "fill": GRID_FILL_OPACITY if lv is Level.GRID else 0.0,
            }
            for lv in EDITED_LEVELS
        ],
        "findingColors": RULE_COLOURS,
        # raw: editor.js fills the {placeholders}
        "text": {key: pair[0 if lang == "zh" else 1] for key, pair in EDITOR_TEXT.items()},
        "kinds": {key: pair[0 if lang == "zh" else 1] for key, pair in CHANGE_KINDS.items()},
    }


def editor_page(config: dict[str, Any], *, lib: str, static: str) -> str:
    """The editor's HTML: Leaflet from ``lib``, Geoman and the script from ``static``."""
    text = {k: html.escape(v) for k, v in config["text"].items()}
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    geoman = f"{static}/vendor/leaflet-geoman"
    return f"""<!doctype html>
<html lang="{html_lang(config["lang"])}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text["title"]}</title>
<link rel="stylesheet" href="{lib}/leaflet.css">
<link rel="stylesheet" href="{geoman}/leaflet-geoman.css">
<link rel="stylesheet" href="{static}/viewer.css">
</head>
<body>
<div id="map"></div>
<div id="gg-panel" class="gg-panel gg-editor">
  <div class="gg-panel-title">{text["title"]}
    <a class="gg-back" href="{html.escape(config["viewer"])}">{text["back"]}</a></div>
  <label class="gg-select">{text["key"]} <input id="ge-key" type="password"
    autocomplete="off"></label>
  <label class="gg-select">{text["version"]} <select id="ge-version"></select></label>
  <button id="ge-load" type="button">{text["load"]}</button>
  <div class="gg-panel-sub">{text["tools"]}</div>
  <div class="gg-note">{text["select_hint"]}</div>
  <div id="ge-selected" class="gg-note"></div>
  <div class="ge-tools">
    <button id="ge-split" type="button" title="{text["split_hint"]}">{text["split"]}</button>
    <button id="ge-merge" type="button">{text["merge"]}</button>
    <button id="ge-reshape" type="button" title="{text["reshape_hint"]}">{text["reshape"]}</button>
    <button id="ge-add" type="button" title="{text["add_hint"]}">{text["add"]}</button>
  </div>
  <label class="gg-select">{text["name"]} <input id="ge-name" type="text" maxlength="200"></label>
  <button id="ge-rename" type="button">{text["rename"]}</button>
  <div class="ge-tools">
    <button id="ge-diff" type="button">{text["diff"]}</button>
    <button id="ge-publish" type="button">{text["publish"]}</button>
  </div>
  <div id="ge-pending-box" hidden>
    <div class="gg-panel-sub">{text["pending"]}</div>
    <ul id="ge-pending"></ul>
    <button id="ge-retry" type="button">{text["retry"]}</button>
  </div>
  <div id="ge-findings" class="gg-note"></div>
  <div id="gg-status" role="status"></div>
</div>
<script src="{lib}/leaflet.js"></script>
<script src="{geoman}/leaflet-geoman.min.js"></script>
<script>window.GRIDGEO_EDITOR = {data};</script>
<script src="{static}/editor.js"></script>
</body>
</html>
"""
