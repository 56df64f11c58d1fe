"""Staff of the five grid levels and the pilot plan's staffing rules (pure core).

The rules restate the plan's five-level table (DOMAIN.md, section 1):

=========  ===========================================  ==========================
level      posts                                        members
=========  ===========================================  ==========================
1 city     网格长 + 常务副网格长 (cadres)                  -
2 district 网格长 + 常务副网格长 + 副网格长 (cadres)         -
3 street   网格长 + 副网格长 (cadres)                      2 auxiliary (协管)
4 community 网格长 + 副网格长 (cadres)                     2 sworn (在编) + 8 auxiliary
5 grid     网格长: an auxiliary officer                   2 auxiliary
=========  ===========================================  ==========================

``employment`` is ``sworn`` (在编队员, with enforcement qualification),
``auxiliary`` (协管员) or ``cadre`` (兼职干部: an official holding the grid post
concurrently). The plan's totals, 4 sworn and 36 auxiliary officers, count
sworn and auxiliary staff only. Rules are checked for every grid that has
staff; a staffed grid short of (or over) its rule is a finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gridgeo.findings import Finding, Severity
from gridgeo.i18n import current_lang, tr
from gridgeo.levels import Level
from gridgeo.wording import level_label, level_name, text_table


class Post(StrEnum):
    """A post in a grid: the roster's ``role`` column and ``?role=`` of ``/v1/lookup``
    (what a key may do is :class:`gridgeo.roles.Role`)."""

    LEADER = "leader"
    EXECUTIVE_DEPUTY = "executive_deputy"
    DEPUTY = "deputy"
    MEMBER = "member"

    @property
    def zh(self) -> str:
        return {
            "leader": "网格长",
            "executive_deputy": "常务副网格长",
            "deputy": "副网格长",
            "member": "网格员",
        }[self.value]


class Employment(StrEnum):
    """How a person is employed."""

    SWORN = "sworn"
    AUXILIARY = "auxiliary"
    CADRE = "cadre"

    @property
    def zh(self) -> str:
        return {"sworn": "在编队员", "auxiliary": "协管员", "cadre": "兼职干部"}[self.value]


POST_WORDS = {**{r.value: r for r in Post}, **{r.zh: r for r in Post}}
EMPLOYMENT_WORDS = {
    **{e.value: e for e in Employment},
    **{e.zh: e for e in Employment},
    # the short forms of older rosters (兼任: "holding the post concurrently")
    "在编": Employment.SWORN,
    "协管": Employment.AUXILIARY,
    "兼任": Employment.CADRE,
    "在编城管": Employment.SWORN,
}


@dataclass(frozen=True)
class StaffMember:
    """A person holding a post in one grid."""

    person_id: str
    name: str
    role: Post
    employment: Employment
    grid_code: str
    title: str = ""
    phone: str = ""
    row: int = field(default=0, compare=False)
    """CSV line the person came from (0 when not read from a file); not part of equality."""

    def to_dict(self, with_contact: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "person_id": self.person_id,
            "name": self.name,
            "role": self.role.value,
            "role_zh": self.role.zh,
            "employment": self.employment.value,
            "employment_zh": self.employment.zh,
            "grid_code": self.grid_code,
            "title": self.title,
        }
        if with_contact:
            out["phone"] = self.phone
        return out


# (role, employment or None for any, required count) per level.
Rule = tuple[Post, Employment | None, int]
STAFFING_RULES: dict[Level, tuple[Rule, ...]] = {
    Level.CITY: ((Post.LEADER, None, 1), (Post.EXECUTIVE_DEPUTY, None, 1)),
    Level.DISTRICT: (
        (Post.LEADER, None, 1),
        (Post.EXECUTIVE_DEPUTY, None, 1),
        (Post.DEPUTY, None, 1),
    ),
    Level.STREET: (
        (Post.LEADER, None, 1),
        (Post.DEPUTY, None, 1),
        (Post.MEMBER, Employment.AUXILIARY, 2),
    ),
    Level.COMMUNITY: (
        (Post.LEADER, None, 1),
        (Post.DEPUTY, None, 1),
        (Post.MEMBER, Employment.SWORN, 2),
        (Post.MEMBER, Employment.AUXILIARY, 8),
    ),
    Level.GRID: ((Post.LEADER, Employment.AUXILIARY, 1), (Post.MEMBER, Employment.AUXILIARY, 2)),
}


@dataclass(frozen=True)
class StaffingFinding:
    """A staffed grid whose posts differ from its level's rule."""

    grid_code: str
    level: Level
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid_code": self.grid_code,
            "level": int(self.level),
            "level_name": self.level.label,
            "message": self.message,
        }


@dataclass
class StaffingReport:
    """Counts by level, role and employment; totals; rule findings."""

    counts: Counter[tuple[int, str, str]] = field(default_factory=Counter)
    findings: list[StaffingFinding] = field(default_factory=list)
    unknown_grids: list[str] = field(default_factory=list)
    staffed_grids: Counter[int] = field(default_factory=Counter)
    """Number of grids with staff, per level."""

    @property
    def totals(self) -> dict[str, int]:
        out = {e.value: 0 for e in Employment}
        for (_, _, employment), n in self.counts.items():
            out[employment] += n
        return out

    @property
    def ok(self) -> bool:
        return not self.findings and not self.unknown_grids

    def to_dict(self) -> dict[str, Any]:
        rows = [
            {
                "level": lv,
                "level_name": Level(lv).label,
                "role": role,
                "role_zh": Post(role).zh,
                "employment": emp,
                "employment_zh": Employment(emp).zh,
                "count": n,
            }
            for (lv, role, emp), n in sorted(self.counts.items())
        ]
        return {
            "by_level_role": rows,
            "totals": self.totals,
            "findings": [f.to_dict() for f in self.findings],
            "unknown_grids": self.unknown_grids,
            "against_rules": self.rule_rows(),
            "ok": self.ok,
        }

    def rule_rows(self) -> list[dict[str, Any]]:
        """Per level and rule line: staffed grids, required and actual counts, status.

        ``required`` is the rule's count times the number of staffed grids of
        that level; ``status`` is ``ok``, ``short`` or ``over``.
        """
        rows = []
        for level, rules in STAFFING_RULES.items():
            grids = self.staffed_grids.get(int(level), 0)
            if not grids:
                continue
            for role, employment, need in rules:
                actual = sum(
                    n
                    for (lv, r, e), n in self.counts.items()
                    if lv == int(level)
                    and r == role.value
                    and (employment is None or e == employment.value)
                )
                required = need * grids
                status = "ok" if actual == required else ("short" if actual < required else "over")
                rows.append(
                    {
                        "level": int(level),
                        "level_name": level.label,
                        "role": role.value,
                        "role_zh": role.zh,
                        "employment": employment.value if employment else "any",
                        "employment_zh": employment.zh if employment else "任意",
                        "grids": grids,
                        "required": required,
                        "actual": actual,
                        "status": status,
                    }
                )
        return rows

    def csv_rows(self) -> list[dict[str, Any]]:
        """The rule table, then one ``all`` row per employment with the totals."""
        rows = self.rule_rows()
        for employment, n in self.totals.items():
            emp = Employment(employment)
            rows.append(
                {
                    "level": "all",
                    "level_name": "all levels (合计)",
                    "role": "",
                    "role_zh": "",
                    "employment": emp.value,
                    "employment_zh": emp.zh,
                    "grids": sum(self.staffed_grids.values()),
                    "required": "",
                    "actual": n,
                    "status": "",
                }
            )
        return rows

    def to_text(self) -> str:
        """The counts, the totals and the rules as tables that line up, in the current
        language."""
        counts = [
            [level_label(lv), post_label(Post(role)), employment_label(Employment(emp)), str(n)]
            for (lv, role, emp), n in sorted(self.counts.items())
        ]
        head = [tr("level"), tr("post"), tr("employment"), tr("count")]
        lines = text_table(head, counts, right=[3])
        t = self.totals
        lines.append(
            tr(
                "totals: sworn officers {sworn}, auxiliary officers {auxiliary}, cadres {cadre}",
                sworn=t["sworn"],
                auxiliary=t["auxiliary"],
                cadre=t["cadre"],
            )
        )
        rules = [
            [
                level_label(r["level"]),
                post_label(Post(r["role"])),
                employment_label(None if r["employment"] == "any" else Employment(r["employment"])),
                str(r["grids"]),
                str(r["required"]),
                str(r["actual"]),
                _status(r["status"]),
            ]
            for r in self.rule_rows()
        ]
        if rules:
            lines.append(tr("against the rules (the rule of a level times its staffed grids):"))
            head = [
                tr("level"),
                tr("post"),
                tr("employment"),
                tr("grids"),
                tr("required"),
                tr("actual"),
                tr("status"),
            ]
            lines += text_table(head, rules, indent="  ", right=[3, 4, 5])
        lines += [
            tr(
                "RULE {code} ({level}): {message}",
                code=f.grid_code,
                level=level_label(f.level) if f.level is not None else "-",
                message=f.message,
            )
            for f in self.findings
        ]
        lines += [
            tr("UNKNOWN {code}: staff assigned to a grid not in the boundaries", code=c)
            for c in self.unknown_grids
        ]
        lines.append(
            tr("OK: every staffed grid meets its staffing rule")
            if self.ok
            else tr("staffing problems found")
        )
        return "\n".join(lines)


def staffing_report(staff: list[StaffMember], grid_levels: dict[str, Level]) -> StaffingReport:
    """Count staff and check each staffed grid against its level's rule.

    Parameters
    ----------
    staff
        The roster.
    grid_levels
        Level of every grid code in the boundaries, to place each person.
    """
    report = StaffingReport()
    by_grid: dict[str, list[StaffMember]] = {}
    for person in staff:
        by_grid.setdefault(person.grid_code, []).append(person)
    for code, people in sorted(by_grid.items()):
        level = grid_levels.get(code)
        if level is None:
            report.unknown_grids.append(code)
            continue
        report.staffed_grids[int(level)] += 1
        for p in people:
            report.counts[(int(level), p.role.value, p.employment.value)] += 1
        report.findings.extend(_check_grid(code, level, people))
    return report


def _rule_counts(
    level: Level, people: list[StaffMember]
) -> list[tuple[Post, Employment | None, int, int]]:
    """(role, employment, have, need) for each rule line of the level."""
    return [
        (
            role,
            employment,
            sum(
                1
                for p in people
                if p.role is role and (employment is None or p.employment is employment)
            ),
            need,
        )
        for role, employment, need in STAFFING_RULES[level]
    ]


def _post_name(role: Post, employment: Employment | None) -> str:
    """``网格长 leader (协管员 auxiliary)`` in English, ``网格长（协管员）`` in Chinese."""
    if current_lang() == "zh":
        return role.zh + (f"（{employment.zh}）" if employment else "")
    who = f"{role.zh} {role.value}"
    return who + (f" ({employment.zh} {employment.value})" if employment else "")


def _check_grid(code: str, level: Level, people: list[StaffMember]) -> list[StaffingFinding]:
    return [
        StaffingFinding(
            code,
            level,
            tr("{post}: has {have}, rule {need}", post=_post_name(role, emp), have=have, need=need),
        )
        for role, emp, have, need in _rule_counts(level, people)
        if have != need
    ]


def roster_findings(
    staff: list[StaffMember], grid_levels: dict[str, Level], *, source: str = ""
) -> list[Finding]:
    """Findings of a roster against the boundaries and the staffing rules, naming rows.

    Returns
    -------
    list of Finding
        Errors ``unknown_grid_code`` (one per row), ``grid_without_leader``,
        ``below_staffing_rule``; warning ``above_staffing_rule``. Grid-level
        findings name the grid's first row in the file.
    """
    findings: list[Finding] = []
    by_grid: dict[str, list[StaffMember]] = {}
    for person in staff:
        if person.grid_code not in grid_levels:
            findings.append(
                Finding(
                    "unknown_grid_code",
                    Severity.ERROR,
                    tr(
                        "{person} {name}: grid code {code} is not in the boundaries",
                        person=person.person_id,
                        name=person.name,
                        code=person.grid_code,
                    ),
                    source,
                    person.row,
                    person.grid_code,
                )
            )
            continue
        by_grid.setdefault(person.grid_code, []).append(person)
    for code, people in sorted(by_grid.items()):
        findings += _grid_findings(code, grid_levels[code], people, source)
    return findings


def _grid_findings(
    code: str, level: Level, people: list[StaffMember], source: str
) -> list[Finding]:
    row = min((p.row for p in people), default=0)
    no_leader = not any(p.role is Post.LEADER for p in people)
    out = []
    if no_leader:
        message = tr(
            "{level} {code} has staff but no leader (网格长)", level=level_name(level), code=code
        )
        out.append(Finding("grid_without_leader", Severity.ERROR, message, source, row, code))
    for role, emp, have, need in _rule_counts(level, people):
        if have == need or (role is Post.LEADER and no_leader):
            continue  # a missing leader is reported once, above
        below = have < need
        out.append(
            Finding(
                "below_staffing_rule" if below else "above_staffing_rule",
                Severity.ERROR if below else Severity.WARNING,
                tr(
                    "{level} {code}: {post}: has {have}, rule {need}",
                    level=level_name(level),
                    code=code,
                    post=_post_name(role, emp),
                    have=have,
                    need=need,
                ),
                source,
                row,
                code,
            )
        )
    return out


def post_label(role: Post) -> str:
    """``网格长`` (``leader``): a post as tables name it."""
    return role.zh if current_lang() == "zh" else role.value.replace("_", " ")


def employment_label(employment: Employment | None) -> str:
    """``在编队员`` (``sworn``); ``任意`` (``any``) for a rule open to every employment."""
    if employment is None:
        return tr("any")
    return employment.zh if current_lang() == "zh" else employment.value


def _status(status: str) -> str:
    """``ok``/``short``/``over`` against a rule (``达标``/``不足``/``超出``)."""
    return {"ok": tr("ok"), "short": tr("short"), "over": tr("over")}[status]
