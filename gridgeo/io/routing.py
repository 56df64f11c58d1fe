"""Reading the routing table: YAML or CSV.

YAML (``.yaml``/``.yml``)::

    categories:            # optional: the city's own categories (local)
      - {code: "9101", name_zh: 共享单车乱停放, name_en: shared bikes badly parked}
    default_limits: {normal: 3wd, urgent: 4h}   # optional; these are the defaults
    rules:
      - category: "05"     # quote codes: YAML reads 05 or 0505 as numbers
        partners: [traffic_police]
        grid: true
        note: 街面秩序 goes to the traffic police and the grid
        limits: {normal: 1wd, urgent: 4h}        # optional, either urgency

CSV (``.csv``, UTF-8): columns ``category``, ``partners`` (separated by ``;``,
``,`` or ``|``), ``grid`` (yes/no), optional ``note``, ``limit_normal`` and
``limit_urgent`` (empty: not given). A CSV file cannot give default limits.

Time limits are written ``4h``, ``4 hours``, ``4小时``, ``2wd``, ``2 working
days``, ``2个工作日`` (:meth:`gridgeo.deadlines.TimeLimit.parse`).

Structural problems (a missing category, an unknown partner type, a grid
value that is not yes/no, a category written as a number, a time limit or
urgency that is not understood) are collected and raised together, each
naming the file and rule or row. Whether the table covers the categories is
checked by :func:`gridgeo.routing.validate_routing`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gridgeo.categories import Category, CategorySource, is_category_code
from gridgeo.deadlines import DeadlineError, TimeLimit, Urgency, parse_urgency
from gridgeo.errors import InputFileError
from gridgeo.i18n import tr
from gridgeo.io.partners import RowProblems, parse_bool, read_csv_table, split_codes
from gridgeo.partners import PartnerType, parse_partner_type
from gridgeo.routing import RoutingRule, RoutingTable


def code_forms() -> str:
    """The forms a category code takes, in words (the current language)."""
    return tr("a 2- or 4-digit event code (05, 0505) or a component code (B01, B0101)")


def read_routing(path: str | Path) -> RoutingTable:
    """Read a routing table from YAML or CSV (by suffix).

    Raises
    ------
    InputFileError
        Listing every bad rule or row.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    return _read_yaml(path)


def _read_yaml(path: Path) -> RoutingTable:
    import yaml  # here: every command that loads a dataset imports this module

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputFileError(
            tr("{path}: cannot read routing YAML ({reason})", path=path, reason=exc)
        ) from None
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InputFileError(tr("{path}: expected a mapping with a list under 'rules'", path=path))
    problems = RowProblems(path, "rule")
    rules = []
    for i, item in enumerate(data["rules"], start=1):
        if not isinstance(item, dict):
            problems.add(
                i, tr("expected a mapping (category, partners, grid), got {item!r}", item=item)
            )
            continue
        rule = _rule(problems, i, item, item.get("partners"), item.get("limits"))
        if rule is not None:
            rules.append(rule)
    defaults = _default_limits(problems, data.get("default_limits"))
    local = _local_categories(path, data.get("categories") or [])
    problems.raise_if_any()
    return RoutingTable(tuple(rules), str(path), local, defaults)


def _default_limits(problems: RowProblems, raw: Any) -> dict[str, TimeLimit]:
    """The top-level ``default_limits`` (empty when absent: the table's defaults apply)."""
    if raw is None:
        return {}
    out: dict[str, TimeLimit] = {}
    for message in _parse_limits(raw, out):
        problems.add_line("default_limits", message)
    return out


def _parse_limits(raw: Any, out: dict[str, TimeLimit]) -> list[str]:
    """Fill ``out`` from a ``{urgency: limit text}`` mapping; return what was wrong."""
    if not isinstance(raw, dict):
        return [
            tr("limits must be a mapping such as {{normal: 2wd, urgent: 4h}}, not {raw!r}", raw=raw)
        ]
    wrong = []
    for key, text in raw.items():
        try:
            urgency = parse_urgency(str(key))
            out[urgency.value] = TimeLimit.parse(text)
        except DeadlineError as exc:
            wrong.append(tr("limits: {problem}", problem=exc))
    return wrong


def _local_categories(path: Path, items: Any) -> tuple[Category, ...]:
    problems = RowProblems(path, "category")
    out = []
    for i, item in enumerate(items if isinstance(items, list) else [items], start=1):
        if not isinstance(item, dict):
            problems.add(
                i, tr("expected a mapping (code, name_zh, name_en), got {item!r}", item=item)
            )
            continue
        code = item.get("code")
        if not isinstance(code, str) or not is_category_code(code):
            problems.add(
                i,
                tr("code {code!r} must be a quoted string, {forms}", code=code, forms=code_forms()),
            )
            continue
        name_zh = str(item.get("name_zh") or "").strip()
        if not name_zh:
            problems.add(i, tr("category {code}: name_zh is empty", code=code))
            continue
        name_en = str(item.get("name_en") or "").strip()
        out.append(Category(code, name_zh, name_en or name_zh, CategorySource.LOCAL))
    problems.raise_if_any()
    return tuple(out)


def _read_csv(path: Path) -> RoutingTable:
    rows, _ = read_csv_table(path, "routing", ("category", "partners", "grid"))
    problems = RowProblems(path, "row")
    rules = []
    for line, row in enumerate(rows, start=2):
        limits = {
            u.value: text.strip()
            for u in Urgency
            if (text := row.get(f"limit_{u.value}") or "").strip()
        }
        rule = _rule(problems, line, row, split_codes(row.get("partners")), limits)
        if rule is not None:
            rules.append(rule)
    problems.raise_if_any()
    return RoutingTable(tuple(rules), str(path))


def _rule(
    problems: RowProblems, row: int, item: dict[str, Any], partners: Any, limits: Any = None
) -> RoutingRule | None:
    before = len(problems.lines)
    category = item.get("category")
    if isinstance(category, int | float) and not isinstance(category, bool):
        problems.add(
            row,
            tr(
                'category {category!r} was read as a number; quote it ("0505") so leading '
                "zeros are kept",
                category=category,
            ),
        )
    category = str(category if category is not None else "").strip()
    if len(problems.lines) > before:
        pass  # already refused as a number
    elif not category:
        problems.add(row, tr("category is empty"))
    elif not is_category_code(category):
        problems.add(
            row,
            tr(
                "category {category!r} is not {forms} (one per rule)",
                category=category,
                forms=code_forms(),
            ),
        )
    types = _types(problems, row, category, partners)
    grid = parse_bool(item.get("grid", True))
    if grid is None:
        problems.add(
            row, tr("grid must be yes/no/true/false, not {value!r}", value=item.get("grid"))
        )
    parsed: dict[str, TimeLimit] = {}
    for message in _parse_limits(limits, parsed) if limits is not None else []:
        problems.add(row, tr("category {category}: {problem}", category=category, problem=message))
    if len(problems.lines) > before:
        return None
    note = str(item.get("note") or "").strip()
    return RoutingRule(category, types, bool(grid), note, row, parsed)


def _types(
    problems: RowProblems, row: int, category: str, partners: Any
) -> tuple[PartnerType, ...]:
    words = split_codes(partners) if isinstance(partners, str) else split_codes(partners or [])
    types: list[PartnerType] = []
    for word in words:
        ptype = parse_partner_type(word)
        if ptype is None:
            problems.add(
                row,
                tr(
                    "category {category}: unknown partner type {word!r}",
                    category=category,
                    word=word,
                ),
            )
        elif ptype not in types:
            types.append(ptype)
    return tuple(types)
