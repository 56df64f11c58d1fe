"""The routing table: which partner types, and whether the grid staff, handle a category.

A rule is keyed by a minor class (``0505``) or a major class (``05``). A
report's category is routed by the rule of its minor class when there is
one, else by the rule of its major class: planners write one line per major
class and override the few minor classes that go elsewhere. Every category
must reach somebody: a rule with no partner types and ``grid: false`` is an
error, and so is a category that no rule reaches (pure core).

A rule may also give the handling time limits (处置时限) of its categories, one
per urgency; :meth:`RoutingTable.time_limit` takes the minor class's, else the
major class's, else the table's default (see :mod:`gridgeo.deadlines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gridgeo.categories import (
    Category,
    CategoryTable,
    default_categories,
    is_category_code,
    major_code,
)
from gridgeo.deadlines import TimeLimit, Urgency, parse_urgency
from gridgeo.findings import Finding, Severity
from gridgeo.i18n import tr
from gridgeo.partners import PartnerType
from gridgeo.wording import bilingual, listing

DEFAULT_LIMITS: Mapping[str, TimeLimit] = {
    Urgency.NORMAL.value: TimeLimit(3, "workdays"),
    Urgency.URGENT.value: TimeLimit(4, "hours"),
}
"""Time limits of a table whose file gives no ``default_limits`` (or leaves an urgency out)."""


def limits_by_urgency(limits: Mapping[Any, TimeLimit | str]) -> dict[str, TimeLimit]:
    """``limits`` keyed by urgency value (``normal``, ``urgent``) in urgency order.

    Keys may be :class:`~gridgeo.deadlines.Urgency` members or words that
    :func:`~gridgeo.deadlines.parse_urgency` knows, values limits or their text
    (``"2wd"``); a bad key or value raises
    :class:`~gridgeo.deadlines.DeadlineError` naming it.
    """
    given = {parse_urgency(k).value: TimeLimit.parse(v) for k, v in limits.items()}
    return {u.value: given[u.value] for u in Urgency if u.value in given}


def limits_to_dict(limits: Mapping[str, TimeLimit]) -> dict[str, str]:
    """``{"normal": "2wd", "urgent": "4h"}``: the canonical text of each limit."""
    return {k: str(v) for k, v in limits.items()}


@dataclass(frozen=True)
class RoutingRule:
    """Who handles one category.

    Attributes
    ----------
    category
        Minor (``"0505"``) or major (``"05"``) class code.
    partner_types
        The partner types that handle it, in the order they are listed.
    grid
        Whether the grid staff (the "2": the leaf grid's leader and members)
        are involved.
    note
        Why, in the planners' words.
    row
        Line of the routing file (YAML rule number or CSV line), 0 if not from a file.
    limits
        Time limits by urgency value (``"normal"``, ``"urgent"``); an urgency
        left out falls back to the major class's rule, then the table default.
    """

    category: str
    partner_types: tuple[PartnerType, ...]
    grid: bool = True
    note: str = ""
    row: int = field(default=0, compare=False)
    # a dict is not hashable: compared, but left out of the hash
    limits: Mapping[str, TimeLimit] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", limits_by_urgency(self.limits))

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "partner_types": [t.value for t in self.partner_types],
            "grid": self.grid,
            "note": self.note,
            "limits": limits_to_dict(self.limits),
        }


@dataclass(frozen=True)
class RoutingTable:
    """Rules by category code; minor-class rules override their major class's.

    ``local_categories`` are categories the routing file defines for its city
    (see :meth:`category_table`). ``default_limits`` are the time limits of a
    category whose rules give none for an urgency; an urgency left out takes
    :data:`DEFAULT_LIMITS`.
    """

    rules: tuple[RoutingRule, ...]
    source: str = field(default="", compare=False)
    local_categories: tuple[Category, ...] = ()
    default_limits: Mapping[str, TimeLimit] = field(
        default_factory=lambda: dict(DEFAULT_LIMITS), hash=False
    )

    def __post_init__(self) -> None:
        merged = {**DEFAULT_LIMITS, **limits_by_urgency(self.default_limits)}
        object.__setattr__(self, "default_limits", limits_by_urgency(merged))

    def category_table(self) -> CategoryTable:
        """The national and pilot categories plus this table's own local ones."""
        return CategoryTable((*default_categories().values(), *self.local_categories))

    def by_code(self) -> dict[str, RoutingRule]:
        """The first rule of each category code."""
        out: dict[str, RoutingRule] = {}
        for rule in self.rules:
            out.setdefault(rule.category, rule)
        return out

    def rule_for(self, category: Category | str) -> RoutingRule | None:
        """The rule routing ``category``: its own, else its major class's, else None."""
        code = category.code if isinstance(category, Category) else str(category)
        rules = self.by_code()
        return rules.get(code) or rules.get(major_code(code))

    def time_limit(
        self, category: Category | str, urgency: Urgency | str = Urgency.NORMAL
    ) -> TimeLimit:
        """The handling time limit of ``category`` at ``urgency``.

        The limit the category's own rule gives for that urgency, else the one
        its major class's rule gives, else the table's default.

        Parameters
        ----------
        category
            A category, or a code or name that :meth:`category_table` resolves.
        urgency
            ``normal``/``urgent`` (or ``一般``/``紧急``).

        Raises
        ------
        DeadlineError
            For an unknown urgency, naming it and the allowed ones.
        CategoryError
            For a string that is neither a code nor a known category name.
        """
        level = parse_urgency(urgency).value
        if isinstance(category, Category):
            code = category.code
        else:
            text = str(category).strip()
            code = text if is_category_code(text) else self.category_table().resolve(text).code
        rules = self.by_code()
        for key in dict.fromkeys((code, major_code(code))):
            rule = rules.get(key)
            if rule is not None and level in rule.limits:
                return rule.limits[level]
        return self.default_limits[level]

    def partner_types(self) -> set[PartnerType]:
        """Every partner type some rule names."""
        return {t for r in self.rules for t in r.partner_types}


def validate_routing(
    table: RoutingTable,
    categories: CategoryTable,
    available: Iterable[PartnerType] | None = None,
) -> list[Finding]:
    """Findings of a routing table against the categories (and the partners, if given).

    Parameters
    ----------
    table
        The routing table.
    categories
        Known categories; every rule's code must be one of them, and every
        minor class must be reached by some rule.
    available
        Partner types that have at least one unit; a rule naming only types
        without units (and not the grid) reaches nobody. None skips that check.

    Returns
    -------
    list of Finding
        Errors: ``unknown_category``, ``duplicate_rule``, ``no_responsible_party``,
        ``category_not_routed``; warning: ``partner_type_without_units``.
    """
    src = table.source
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    have = set(available) if available is not None else None
    for rule in table.rules:
        findings += _rule_findings(rule, categories, seen, have, src)
    routed = {r.category for r in table.rules}
    for cat in categories.minors():
        if cat.code not in routed and cat.major not in routed:
            findings.append(
                Finding(
                    "category_not_routed",
                    Severity.ERROR,
                    tr(
                        "category {category} has no rule (neither {code} nor its major "
                        "class {major}): no responsible party",
                        category=cat.shown,
                        code=cat.code,
                        major=cat.major,
                    ),
                    src,
                    0,
                    cat.code,
                )
            )
    return findings


def _rule_findings(
    rule: RoutingRule,
    categories: CategoryTable,
    seen: dict[str, int],
    have: set[PartnerType] | None,
    src: str,
) -> list[Finding]:
    out: list[Finding] = []

    def add(name: str, severity: Severity, message: str) -> None:
        out.append(Finding(name, severity, message, src, rule.row, rule.category))

    if rule.category not in categories:
        add(
            "unknown_category",
            Severity.ERROR,
            tr("unknown category code {code!r}", code=rule.category),
        )
    if rule.category in seen:
        add(
            "duplicate_rule",
            Severity.ERROR,
            tr(
                "category {code} already has a rule (row {row})",
                code=rule.category,
                row=seen[rule.category],
            ),
        )
    seen.setdefault(rule.category, rule.row)
    if not rule.partner_types and not rule.grid:
        add(
            "no_responsible_party",
            Severity.ERROR,
            tr(
                "category {code}: no partner type and grid is false, nobody handles it",
                code=rule.category,
            ),
        )
    elif have is not None and not rule.grid:
        missing = [t for t in rule.partner_types if t not in have]
        if missing and len(missing) == len(rule.partner_types):
            names = listing(bilingual(t.en, t.zh) for t in missing)
            add(
                "no_responsible_party",
                Severity.ERROR,
                tr(
                    "category {code}: no unit of {types} in the partner file, "
                    "and grid is false: nobody handles it",
                    code=rule.category,
                    types=names,
                ),
            )
    if have is not None:
        for t in rule.partner_types:
            if t not in have:
                add(
                    "partner_type_without_units",
                    Severity.WARNING,
                    tr(
                        "category {code} is routed to {type}, which has no unit "
                        "in the partner file",
                        code=rule.category,
                        type=bilingual(t.en, t.zh),
                    ),
                )
    return out
