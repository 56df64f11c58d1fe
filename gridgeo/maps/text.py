"""Text people read on the maps and in the viewer, in Chinese (default) and English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Lang = Literal["zh", "en"]

# key: (zh, en); ``{name}`` placeholders are filled by :func:`t`.
TEXT: dict[str, tuple[str, str]] = {
    "coverage_title": ("覆盖图：{level}（第{n}级）", "Coverage of level {n}: {level}"),
    "coverage_legend": ("按上级{parent}着色", "Coloured by parent {parent}"),
    "no_parent": ("无上级", "no parent"),
    "code": ("编码", "code"),
    "name": ("名称", "name"),
    "level": ("级别", "level"),
    "parent": ("上级", "parent"),
    "count": ("共 {n} 个{level}", "{level}: {n}"),
    "pilot_title": (
        "试点概览：{street} {communities}",
        "Pilot overview: {street}, {communities}",
    ),
    "pilot_legend": ("试点社区与五级网格", "Pilot communities and grids"),
    "workstation": ("城市管理工作站", "workstation"),
    "address": ("地址", "address"),
    "serves": ("服务网格", "serves grids"),
    "staff": ("人员", "staff"),
    "no_staff": ("未登记人员", "no staff recorded"),
    "illustrative": ("坐标为示意位置", "illustrative location"),
    "partners": ("合作单位", "partner units"),
    "phone": ("电话", "phone"),
    "validation_title": ("边界校验问题图", "Boundary validation findings"),
    "responsibility_title": ("责任覆盖图", "Responsibility coverage"),
    "responsibility_subtitle": (
        "网格配员是否达标, 合作单位责任区的重叠与空缺",
        "staffing against the rules; overlaps and gaps of partner zones",
    ),
    "staff_ok": ("配员达标", "staffed as the rule says"),
    "staff_off": ("配员不符规定", "staffing differs from the rule"),
    "staff_none": ("无人负责", "nobody on the roster"),
    "staff_count": ("人员数", "people"),
    "posts": ("岗位", "posts"),
    "status": ("状态", "status"),
    "zone_overlap": (
        "{type}责任区重叠: {first} / {second}, {area} m²",
        "{type} zones overlap: {first} / {second}, {area} m²",
    ),
    "zone_gap": ("{type}未覆盖 {area} m² ({share})", "{type} leaves {area} m² uncovered ({share})"),
    "validation_summary": (
        "{features} 个要素，{errors} 个错误，{warnings} 个警告",
        "{features} features, {errors} errors, {warnings} warnings",
    ),
    "validation_clean": ("未发现问题", "no problems found"),
    "rule": ("规则", "rule"),
    "message": ("说明", "message"),
    "area_m2": ("面积(m²)", "area (m²)"),
    "severity": ("严重程度", "severity"),
    "boundaries": ("边界", "boundaries"),
    "cases_title": ("案件分布：每{level}案件数", "Cases per {level}"),
    "cases_legend": ("案件数（{scheme}分级）", "cases ({scheme} classes)"),
    "cases": ("案件数", "cases"),
    "case_points": ("案件点", "case points"),
    "case_points_shown": (
        "显示 {shown} / {total} 个案件点",
        "{shown} of {total} case points shown",
    ),
    "unassigned": ("不在本级网格内", "outside this level's grids"),
    "viewer_title": ("城市网格化管理地图", "Urban grid management map"),
    "edit_boundaries": ("边界编辑", "Edit boundaries"),
    "layers": ("图层", "layers"),
    "search": ("按编码或名称搜索", "search by code or name"),
    "search_none": ("未找到", "nothing found"),
    "show_cases": ("显示案件", "show cases"),
    "outside": ("该点不在任何网格内", "this point is outside every grid"),
    "nearest": ("最近网格", "nearest grid"),
    "loading": ("加载中…", "loading…"),
    "zoom_in": ("放大后显示", "zoom in to show"),
    "responsible": ("责任人", "responsible people"),
}

# Validation rules by their report name.
RULES: dict[str, tuple[str, str]] = {
    "overlap": ("重叠", "overlap"),
    "gap": ("缝隙", "gap"),
    "outside_parent": ("超出上级范围", "outside parent"),
    "invalid_geometry": ("几何无效", "invalid geometry"),
    "non_polygonal": ("非面要素", "not a polygon"),
    "empty_geometry": ("空几何", "empty geometry"),
    "tiny_part": ("碎小部分", "tiny part"),
    "sliver": ("狭长碎片", "sliver"),
    "missing_code": ("缺少编码", "missing code"),
    "malformed_code": ("编码格式错误", "malformed code"),
    "unknown_level": ("级别未知", "unknown level"),
    "duplicate_code": ("编码重复", "duplicate code"),
    "level_mismatch": ("级别与编码不符", "level does not match code"),
    "parent_mismatch": ("上级与编码不符", "parent does not match code"),
    "missing_parent": ("上级缺失", "missing parent"),
}

SCHEMES: dict[str, tuple[str, str]] = {
    "NaturalBreaks": ("自然断点", "natural breaks"),
    "FisherJenks": ("Fisher-Jenks", "Fisher-Jenks"),
    "Quantiles": ("分位数", "quantiles"),
    "EqualInterval": ("等间距", "equal interval"),
}


def t(key: str, lang: Lang | str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{placeholders}`` filled."""
    return pick(TEXT, key, lang, **values)


def pick(table: Mapping[str, tuple[str, str]], key: str, lang: Lang | str, **values: object) -> str:
    """The string ``key`` of a (zh, en) ``table`` in ``lang``, placeholders filled."""
    zh, en = table[key]
    return (zh if lang == "zh" else en).format(**values)


def rule_name(rule: str, lang: Lang | str) -> str:
    """A validation rule's display name (the rule id itself when unknown)."""
    zh, en = RULES.get(rule, (rule, rule))
    return zh if lang == "zh" else en


def scheme_name(scheme: str, lang: Lang | str) -> str:
    """A classification scheme's display name."""
    zh, en = SCHEMES.get(scheme, (scheme, scheme))
    return zh if lang == "zh" else en
