"""Text people read on the maps and in the viewer, in Chinese (default) and English.

The Chinese follows the plan's terms (五级网格, 联动单位, 在编队员, 协管员, 兼职干部
...), with full-width punctuation, a space between Chinese and a number or a Latin
word, and a measure word after every count (个 for grids and units, 件 for cases,
名 for people).
"""

from __future__ import annotations

from collections.abc import Mapping

from gridgeo.i18n import Lang
from gridgeo.levels import Level

# The body font of every page: the CJK fonts of macOS, Windows and Linux before the
# browser's default sans-serif (never its serif default, Times New Roman).
FONT_STACK = (
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)

# key: (zh, en); ``{name}`` placeholders are filled by :func:`t`.
TEXT: dict[str, tuple[str, str]] = {
    "coverage_title": ("覆盖图：{level}", "Coverage of {level}"),
    "coverage_legend": ("按上级{parent}着色", "Coloured by parent {parent}"),
    "legend_count": ("{label}（{n} 个）", "{label} ({n})"),
    "no_parent": ("无上级", "no parent"),
    "code": ("编码", "code"),
    "name": ("名称", "name"),
    "level": ("级别", "level"),
    "parent": ("上级", "parent"),
    "count": ("共 {n} 个{level}", "{level}: {n}"),
    "pilot_title": (
        "试点概览：{street}（{communities}）",
        "Pilot overview: {street}, {communities}",
    ),
    "pilot_title_plain": ("试点概览：{communities}", "Pilot overview: {communities}"),
    "pilot_counts": (
        "{grids} 个五级网格 · {stations} 个城市管理工作站",
        "grids: {grids} · workstations: {stations}",
    ),
    "pilot_legend": ("试点社区与五级网格", "Pilot communities and grids"),
    "workstation": ("城市管理工作站", "workstation"),
    "address": ("地址", "address"),
    "serves": ("服务网格", "serves grids"),
    "serves_line": ("工作站至所服务网格", "workstation to the grids it serves"),
    "staff": ("人员", "staff"),
    "no_staff": ("未登记人员", "no staff recorded"),
    "illustrative": ("位置仅为示意", "illustrative location"),
    "partners": ("联动单位", "partner units"),
    "partner_type": ("联动单位类型", "partner type"),
    "contact": ("联系方式", "contact"),
    "validation_title": ("边界校验问题图", "Boundary validation findings"),
    "responsibility_title": ("责任覆盖图", "Responsibility coverage"),
    "responsibility_subtitle": (
        "五级网格人员配备情况；联动单位责任区的重叠与未覆盖区域",
        "staffing against the rules; overlaps and gaps of partner zones",
    ),
    "staff_ok": ("人员配齐", "staffed as the rule says"),
    "staff_off": ("配备不符规定", "staffing differs from the rule"),
    "staff_none": ("未配人员", "nobody on the roster"),
    "staff_count": ("人数", "people"),
    "posts": ("岗位", "posts"),
    "status": ("配备情况", "staffing"),
    "zone_overlap": (
        "{type}责任区重叠：{first} 与 {second}，{area} m²",
        "{type} zones overlap: {first} / {second}, {area} m²",
    ),
    "zone_gap": (
        "{type}责任区未覆盖 {area} m²（占 {share}）",
        "{type} leaves {area} m² uncovered ({share})",
    ),
    "validation_summary": (
        "共 {features} 个要素：{errors} 个错误，{warnings} 个警告",
        "{features} features, {errors} errors, {warnings} warnings",
    ),
    "validation_clean": ("未发现问题", "no problems found"),
    "rule": ("问题类型", "rule"),
    "codes": ("涉及编码", "codes"),
    "message": ("说明", "message"),
    "area_m2": ("面积（m²）", "area (m²)"),
    "severity": ("严重程度", "severity"),
    "boundaries": ("边界", "boundaries"),
    "cases_title": ("案件分布：各{level}案件数", "Cases per {level}"),
    "cases_subtitle": (
        "共 {total} 件案件 · {outside} 件不在任何{level}内",
        "{total} cases · {outside} outside every {level}",
    ),
    "cases_legend": ("案件数（{scheme}）", "cases ({scheme} classes)"),
    "cases": ("案件数", "cases"),
    "case_id": ("案件编号", "case"),
    "case_points": ("案件点位", "case points"),
    "case_points_shown": (
        "共 {total} 件案件，地图显示前 {shown} 件的点位",
        "{shown} of {total} case points shown",
    ),
    "viewer_title": ("城市网格化管理地图", "Urban grid management map"),
    "index_title": ("城市网格化管理专题图", "Urban grid management maps"),
    "edit_boundaries": ("边界编辑", "Edit boundaries"),
    "layers": ("图层", "layers"),
    "search": ("按编码或名称搜索", "search by code or name"),
    "search_none": ("未找到匹配的网格", "nothing found"),
    "show_cases": ("显示案件", "show cases"),
    "outside": ("该点不在任何网格内", "this point is outside every grid"),
    "nearest": ("最近的网格", "nearest grid"),
    "metres": ("{n} 米", "{n} m"),
    "loading": ("正在加载……", "loading…"),
    "zoom_in": ("放大后显示", "zoom in to show"),
    "responsible": ("责任人", "responsible people"),
    "cases_failed": ("案件加载失败：{error}", "cases could not be loaded: {error}"),
}

# Validation rules by their report name.
RULES: dict[str, tuple[str, str]] = {
    "overlap": ("重叠", "overlap"),
    "gap": ("缝隙", "gap"),
    "outside_parent": ("超出上级范围", "outside parent"),
    "invalid_geometry": ("几何图形无效", "invalid geometry"),
    "non_polygonal": ("非多边形", "not a polygon"),
    "empty_geometry": ("几何图形为空", "empty geometry"),
    "tiny_part": ("微小碎片", "tiny part"),
    "sliver": ("细碎多边形", "sliver"),
    "missing_code": ("缺少编码", "missing code"),
    "malformed_code": ("编码格式错误", "malformed code"),
    "unknown_level": ("级别未知", "unknown level"),
    "duplicate_code": ("编码重复", "duplicate code"),
    "level_mismatch": ("级别与编码不符", "level does not match code"),
    "parent_mismatch": ("上级与编码不符", "parent does not match code"),
    "missing_parent": ("缺少上级", "missing parent"),
}

SEVERITIES: dict[str, tuple[str, str]] = {
    "error": ("错误", "error"),
    "warning": ("警告", "warning"),
}

# classification schemes of the case map, as the legend names them
SCHEMES: dict[str, tuple[str, str]] = {
    "NaturalBreaks": ("自然断点分级", "natural breaks"),
    "FisherJenks": ("Fisher-Jenks 分级", "Fisher-Jenks"),
    "Quantiles": ("分位数分级", "quantiles"),
    "EqualInterval": ("等间距分级", "equal interval"),
}

# how a person is employed (gridgeo.staffing.Employment), as the maps name it
EMPLOYMENTS: dict[str, tuple[str, str]] = {
    "sworn": ("在编队员", "sworn officer"),
    "auxiliary": ("协管员", "auxiliary officer"),
    "cadre": ("兼职干部", "cadre"),
}

_NUMERALS = "一二三四五"


def t(key: str, lang: Lang | str, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``{placeholders}`` filled."""
    return pick(TEXT, key, lang, **values)


def pick(table: Mapping[str, tuple[str, str]], key: str, lang: Lang | str, **values: object) -> str:
    """The string ``key`` of a (zh, en) ``table`` in ``lang``, placeholders filled."""
    zh, en = table[key]
    return (zh if lang == "zh" else en).format(**values)


def word(table: Mapping[str, tuple[str, str]], key: str, lang: Lang | str) -> str:
    """The display name of ``key`` in a (zh, en) ``table`` (``key`` itself when unknown)."""
    zh, en = table.get(key, (key, key))
    return zh if lang == "zh" else en


def rule_name(rule: str, lang: Lang | str) -> str:
    """A validation rule's display name (the rule id itself when unknown)."""
    return word(RULES, rule, lang)


def scheme_name(scheme: str, lang: Lang | str) -> str:
    """A classification scheme's display name."""
    return word(SCHEMES, scheme, lang)


def level_text(level: Level, lang: Lang | str) -> str:
    """A level with its number as people read it: ``四级网格（社区）``, ``五级网格``;
    ``level 4: community`` in English."""
    if lang != "zh":
        return f"level {int(level)}: {level.en}"
    ordinal = f"{_NUMERALS[int(level) - 1]}级网格"
    return ordinal if level.zh == ordinal else f"{ordinal}（{level.zh}）"


def listing(items: list[str], lang: Lang | str) -> str:
    """Names or codes one after the other: ``、`` between them in Chinese, ``, `` in English."""
    return ("、" if lang == "zh" else ", ").join(items)


def html_lang(lang: Lang | str) -> str:
    """The ``lang`` attribute of a page (``zh-CN`` picks simplified glyphs)."""
    return "zh-CN" if lang == "zh" else "en"
