"""The routing table: which partner types, and whether the grid staff, handle a category.

A rule is keyed by a minor class (``0505``) or a major class (``05``). A
report's category is routed by the rule of its minor class when there is
one, else by the rule of its major class: planners write one line per major
class and override the few minor classes that go elsewhere. Every category
must reach somebody: a rule with no partner types and ``grid: false`` is an
error, and so is a category that no rule reaches (pure core).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gridgeo.categories import Category, CategoryTable, default_categories
from gridgeo.findings import Finding, Severity
from gridgeo.partners import PartnerType


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
    """

    category: str
    partner_types: tuple[PartnerType, ...]
    grid: bool = True
    note: str = ""
    row: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "partner_types": [t.value for t in self.partner_types],
            "grid": self.grid,
            "note": self.note,
        }


@dataclass(frozen=True)
class RoutingTable:
    """Rules by category code; minor-class rules override their major class's.

    ``local_categories`` are categories the routing file defines for its city
    (see :meth:`category_table`).
    """

    rules: tuple[RoutingRule, ...]
    source: str = field(default="", compare=False)
    local_categories: tuple[Category, ...] = ()

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
        return rules.get(code) or rules.get(code[:2])

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
                    f"category {cat.label} has no rule (neither {cat.code} nor its major "
                    f"class {cat.major}): no responsible party",
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
        add("unknown_category", Severity.ERROR, f"unknown category code {rule.category!r}")
    if rule.category in seen:
        add(
            "duplicate_rule",
            Severity.ERROR,
            f"category {rule.category} already has a rule (row {seen[rule.category]})",
        )
    seen.setdefault(rule.category, rule.row)
    if not rule.partner_types and not rule.grid:
        add(
            "no_responsible_party",
            Severity.ERROR,
            f"category {rule.category}: no partner type and grid is false, nobody handles it",
        )
    elif have is not None and not rule.grid:
        missing = [t for t in rule.partner_types if t not in have]
        if missing and len(missing) == len(rule.partner_types):
            names = ", ".join(t.label for t in missing)
            add(
                "no_responsible_party",
                Severity.ERROR,
                f"category {rule.category}: no unit of {names} in the partner file, "
                "and grid is false: nobody handles it",
            )
    if have is not None:
        for t in rule.partner_types:
            if t not in have:
                add(
                    "partner_type_without_units",
                    Severity.WARNING,
                    f"category {rule.category} is routed to {t.label}, which has no unit "
                    "in the partner file",
                )
    return out
