"""Text people read in the reports: Chinese (default) and English.

The indicator names are the assessment's (:data:`gridgeo.assessment.LABELS_ZH`), so a
report and ``/v1/assessment`` call a figure by the same name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from gridgeo.deadlines import BEIJING
from gridgeo.i18n import Lang

Kind = Literal["day", "week", "month"]


# key: (zh, en); ``{name}`` placeholders are filled by :func:`say`.
TEXT: dict[str, tuple[str, str]] = {
    "report_day": ("日报", "daily report"),
    "report_week": ("周报", "weekly report"),
    "report_month": ("月报", "monthly report"),
    "title": ("{place}城市管理工作{kind}（{when}）", "{place} urban management {kind} ({when})"),
    "title_noplace": ("城市管理工作{kind}（{when}）", "Urban management {kind} ({when})"),
    "period": ("统计周期", "period"),
    "period_value": (
        "{start} 至 {end}（北京时间，不含结束时刻）",
        "{start} to {end} (Beijing time, end excluded)",
    ),
    "period_partial": (
        "{start} 至 {end}（北京时间；本期尚未结束，统计至生成时刻）",
        "{start} to {end} (Beijing time; the period is still running: counted up to now)",
    ),
    "generated": ("生成时间", "generated"),
    "place": ("范围", "area"),
    "whole_store": ("全部网格", "all grids"),
    "summary": ("概况", "Summary"),
    "units": ("责任单位", "Units"),
    "communities": ("社区", "Communities"),
    "categories": ("问题类别", "Categories"),
    "overdue": ("超期未结", "Overdue"),
    "volunteers": ("志愿者服务", "Volunteers"),
    "trend": ("趋势", "Trend"),
    "charts": ("图表", "Charts"),
    "units_title": ("各责任单位指标", "Indicators per responsible unit"),
    "communities_title": ("各社区指标", "Indicators per community"),
    "categories_title": (
        "问题类别（立案数前 {n} 位）",
        "Categories (top {n} by registered cases)",
    ),
    "overdue_title": ("超期未结案件", "Open tasks past their deadline"),
    "volunteers_title": ("志愿者服务记录", "Volunteers' service record"),
    "trend_title_day": ("立案数与结案数（按小时）", "Registered and closed cases per hour"),
    "trend_title": ("立案数与结案数（按日）", "Registered and closed cases per day"),
    "rates_title": ("各责任单位比率", "Rates per responsible unit"),
    "rates_top": (
        "（仅列排名前 {n} 位的单位，全部单位见上表）",
        " (the first {n}; the table has all)",
    ),
    "totals_title": ("总体指标", "Overall indicators"),
    "indicator": ("指标", "indicator"),
    "value": ("数值", "value"),
    "code": ("编码", "code"),
    "unit": ("责任单位", "unit"),
    "community": ("社区", "community"),
    "category": ("类别", "category"),
    "volunteer": ("志愿服务队", "volunteer team"),
    "seq": ("序号", "no."),
    "share": ("占比", "share"),
    "case_id": ("案件编号", "case"),
    "task_id": ("任务编号", "task"),
    "grid": ("网格", "grid"),
    "deadline": ("处置时限", "deadline"),
    "overdue_hours": ("超期时长（小时）", "hours overdue"),
    "reported": ("上报案件数", "reported"),
    "handled": ("处置案件数", "handled"),
    "day": ("日期", "day"),
    "hour": ("时段", "hour"),
    "total": ("合计", "total"),
    "none": ("（无）", "(none)"),
    "no_rate": (
        "“—”：本期无应结案件，比率与综合指标值不予计算。",
        "“—”: nothing was due, so no rate or score is computed.",
    ),
    "no_rate_blank": (
        "比率、综合指标值为空白：本期无应结案件，不予计算。",
        "an empty rate or score: nothing was due, so none is computed.",
    ),
    "no_due": (
        "本期无应结案件，不绘制比率图。",
        "nothing was due in this period: no rates to draw",
    ),
    "cases_axis": ("案件数（件）", "cases"),
    "more_overdue": (
        "仅列出超期最久的 {n} 件，其余未列出。",
        "only the {n} most overdue tasks are listed.",
    ),
    "volunteer_reports_note": (
        "上报案件数：上报人或上报账号为该志愿服务队（编码或名称）的案件；"
        "其他渠道代为上报的不计入。",
        "reported: cases whose reporter or reporting account is the team (code or name); "
        "cases others reported for them are not counted.",
    ),
    "trend_caption": (
        "本期立案 {registered} 件，结案 {closed} 件",
        "{registered} case(s) registered, {closed} closed in the period",
    ),
    "trend_note": (
        "立案数、结案数分别为当日（时段）内立案、结案的案件数。",
        "cases registered and closed within each day (hour).",
    ),
    "err_future": (
        "日期 {day} 所在的统计周期尚未开始（当前北京时间为 {now}）",
        "the period of {day} has not begun yet (it is {now} in Beijing)",
    ),
    "err_street": (
        "街道编码 {code} 不在已发布的边界中（现有街道：{known}）",
        "street code {code} is not in the published boundaries (streets: {known})",
    ),
    "err_date": (
        "--date {value!r} 不是日期：请写成 2026-11-03 的形式",
        "--date {value!r} is not a date: write it as 2026-11-03",
    ),
    "err_suffix": (
        "输出文件 {path} 的扩展名 {suffix!r} 不受支持：请用 .xlsx（Excel）或 .html（网页）",
        "output file {path}: suffix {suffix!r} is not supported, use .xlsx (Excel) or .html",
    ),
    "err_no_boundaries": (
        "数据库中没有已发布的边界版本：请先运行 gridgeo import 文件 --commit，"
        "再运行 gridgeo publish 版本号",
        "the store has no published boundaries version: gridgeo import FILE --commit, "
        "then gridgeo publish VERSION",
    ),
    "err_weights": ("--weights 有误：{reason}", "--weights: {reason}"),
    "err_write": ("无法写出 {path}：{reason}", "cannot write {path}: {reason}"),
    "written": (
        "已写出{kind}：{path}（{units} 个责任单位、{communities} 个社区、"
        "{overdue} 件超期未结案件）",
        "wrote the {kind}: {path} ({units} unit(s), {communities} communities, "
        "{overdue} overdue task(s))",
    ),
}


def say(key: str, lang: Lang, **fields: object) -> str:
    """The text of ``key`` in ``lang``, placeholders filled."""
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**fields)


def colon(lang: Lang) -> str:
    """The colon after a name: full width in Chinese."""
    return "：" if lang == "zh" else ": "


def day_text(day: date, lang: Lang, *, year: bool = True) -> str:
    """``2026年11月3日`` or ``3 Nov 2026`` (``year=False``: ``11月3日``, ``3 Nov``)."""
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    text = f"{day.day} {day:%b}"
    return f"{text} {day.year}" if year else text


def when_text(kind: Kind, first: date, last: date, lang: Lang) -> str:
    """The period as a title says it: a day, ``first`` to ``last`` (a week), or a month."""
    if kind == "day":
        return day_text(first, lang)
    if kind == "month":
        return f"{first.year}年{first.month}月" if lang == "zh" else f"{first:%B %Y}"
    # a week names its year once, unless it spans two
    same_year = first.year == last.year
    if lang == "zh":
        return f"{day_text(first, lang)}至{day_text(last, lang, year=not same_year)}"
    return f"{day_text(first, lang, year=not same_year)} – {day_text(last, lang)}"


def time_text(value: datetime) -> str:
    """``2026-11-03 09:15`` in Beijing time."""
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
