"""Assessment (综合评价) of the work loop: periods, indicator rows, rates and the composite score
(pure core; the counting is SQL in :mod:`gridgeo.store.assessment`).

The indicators follow the project's definitions (docs/ASSESSMENT.md), for a
period ``[from, to)`` as of ``to``: only events at or before ``to`` count.

* registered (立案数): cases registered within the period;
* due (应结案数): registered cases closed by ``to``, or whose deadline in force
  (the dispatch deadline, or the latest granted extension's) is at or before ``to``;
* closed (结案数): registered cases closed at or before ``to``;
* on time (按期结案数): closed cases whose last handling (the one that passed
  verification) was at or before the deadline in force;
* rework (返工数): due cases that failed a verification at least once;
* extended (延期数): due cases with at least one granted extension;
* overdue open (超期未结数): registered cases not closed whose deadline in force
  is at or before ``to``;
* closure rate = closed / due, on-time rate = on time / due, rework rate =
  rework / due, extension rate = extended / due (None when nothing is due).

The composite score (综合指标值) weighs the four rates, rework and extension
counting against: ``100 * (w_closure * closure + w_on_time * on_time + w_rework *
(1 - rework) + w_extension * (1 - extension)) / sum(w)``; rows are ranked by it,
highest first, equal scores sharing a rank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal

from gridgeo.deadlines import BEIJING
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr


class AssessmentError(GridgeoError, ValueError):
    """A bad period, grouping, level or weight (HTTP 400, CLI exit 2); names the value."""


class Grouping(StrEnum):
    """What the indicators are counted per."""

    UNIT = "unit"
    GRID = "grid"
    WORKSTATION = "workstation"
    PERSON = "person"
    CATEGORY = "category"

    @property
    def label_zh(self) -> str:
        return _GROUP_ZH[self]


_GROUP_ZH = {
    Grouping.UNIT: "责任单位",
    Grouping.GRID: "网格",
    Grouping.WORKSTATION: "城市管理工作站",
    Grouping.PERSON: "处置人",
    Grouping.CATEGORY: "类别",
}


def parse_grouping(value: Grouping | str) -> Grouping:
    """A grouping from its name; AssessmentError naming the allowed ones."""
    try:
        return Grouping(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(g.value for g in Grouping)
        raise AssessmentError(
            tr("unknown grouping {value!r}: use one of {allowed}", value=value, allowed=allowed)
        ) from None


def parse_time(text: str, name: str) -> datetime:
    """``2026-11-01`` (midnight, Beijing time) or an ISO 8601 time with its offset.

    >>> parse_time("2026-11-01", "from").isoformat()
    '2026-11-01T00:00:00+08:00'
    >>> parse_time("2026-11-01T09:30+08:00", "to").hour
    9
    """
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time(), BEIJING)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AssessmentError(
            tr(
                "{name} {text!r} is not a date (2026-11-01) nor an ISO 8601 time with its "
                "offset (2026-11-01T09:30+08:00)",
                name=name,
                text=text,
            )
        ) from None
    if parsed.tzinfo is None:
        raise AssessmentError(
            tr(
                "{name} {text!r} has no time zone: add its offset (+08:00) or give a date",
                name=name,
                text=text,
            )
        )
    try:  # periods are shown in Beijing time and counted in UTC: both must exist
        parsed.astimezone(BEIJING).astimezone(UTC)
    except OverflowError:
        raise AssessmentError(
            tr(
                "{name} {text!r} lies at the very end of the calendar: its time in Beijing "
                "or in UTC falls outside the years 1 to 9999",
                name=name,
                text=text,
            )
        ) from None
    return parsed


@dataclass(frozen=True)
class Period:
    """``[start, end)``, counted as of ``end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise AssessmentError(tr("a period's times need their time zone"))
        if self.end <= self.start:
            raise AssessmentError(
                tr(
                    "the period ends ({end}) before or when it starts ({start}): "
                    "'to' must be after 'from'",
                    end=self.end.isoformat(),
                    start=self.start.isoformat(),
                )
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        """From two dates or ISO 8601 times (see :func:`parse_time`)."""
        return cls(parse_time(start, "from"), parse_time(end, "to"))

    @classmethod
    def of(cls, kind: Literal["day", "week", "month"], day: date) -> Period:
        """The Beijing day, ISO week (Monday to Sunday) or calendar month holding ``day``.

        >>> Period.of("week", date(2026, 11, 4)).start.date().isoformat()
        '2026-11-02'
        >>> Period.of("month", date(2026, 12, 15)).end.date().isoformat()
        '2027-01-01'
        """
        if kind == "day":
            first, last = day, day + timedelta(days=1)
        elif kind == "week":
            first = day - timedelta(days=day.weekday())
            last = first + timedelta(days=7)
        elif kind == "month":
            first = day.replace(day=1)
            last = (first + timedelta(days=32)).replace(day=1)
        else:
            raise AssessmentError(tr("unknown period {kind!r}: use day, week or month", kind=kind))
        return cls(
            datetime.combine(first, time(), BEIJING), datetime.combine(last, time(), BEIJING)
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "from": self.start.astimezone(BEIJING).isoformat(),
            "to": self.end.astimezone(BEIJING).isoformat(),
        }


COUNTS = ("registered", "due", "closed", "on_time", "rework", "extended", "overdue_open")
RATES = ("closure_rate", "on_time_rate", "rework_rate", "extension_rate")
LABELS_ZH = {
    "registered": "立案数",
    "due": "应结案数",
    "closed": "结案数",
    "on_time": "按期结案数",
    "rework": "返工数",
    "extended": "延期数",
    "overdue_open": "超期未结数",
    "closure_rate": "结案率",
    "on_time_rate": "按期结案率",
    "rework_rate": "返工率",
    "extension_rate": "延期率",
    "score": "综合指标值",
    "rank": "排名",
}
LABELS_EN = {
    "registered": "registered",
    "due": "due",
    "closed": "closed",
    "on_time": "closed on time",
    "rework": "reworked",
    "extended": "extended",
    "overdue_open": "overdue open",
    "closure_rate": "closure rate",
    "on_time_rate": "on-time rate",
    "rework_rate": "rework rate",
    "extension_rate": "extension rate",
    "score": "composite score",
    "rank": "rank",
}


def label(indicator: str, lang: str = "zh") -> str:
    """The name of an indicator (or of the score or rank) in ``lang``."""
    return LABELS_ZH[indicator] if lang != "en" else LABELS_EN[indicator]


DEFAULT_WEIGHTS: Mapping[str, float] = {
    "closure": 0.3,
    "on_time": 0.4,
    "rework": 0.15,
    "extension": 0.15,
}


def parse_weights(text: str) -> dict[str, float]:
    """Weights from ``closure=0.3,on_time=0.4,rework=0.15,extension=0.15`` (any subset:
    the others keep their defaults).

    >>> parse_weights("on_time=1")["on_time"]
    1.0
    """
    weights = dict(DEFAULT_WEIGHTS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in DEFAULT_WEIGHTS:
            raise AssessmentError(
                tr(
                    "unknown weight {name!r}: use {allowed} (e.g. on_time=0.4)",
                    name=name,
                    allowed=", ".join(DEFAULT_WEIGHTS),
                )
            )
        try:
            weight = float(value)
        except ValueError:
            raise AssessmentError(
                tr("weight {name}={value!r} is not a number", name=name, value=value)
            ) from None
        if not 0 <= weight <= 100:
            raise AssessmentError(
                tr("weight {name}={weight} must lie between 0 and 100", name=name, weight=weight)
            )
        weights[name] = weight
    if sum(weights.values()) <= 0:
        raise AssessmentError(tr("the weights add up to 0: give at least one positive weight"))
    return weights


def _rate(part: int, due: int) -> float | None:
    return part / due if due else None


@dataclass(frozen=True)
class IndicatorRow:
    """The indicators of one unit, grid, workstation, person or category.

    >>> row = IndicatorRow.of("TP", "交警", registered=996, due=972, closed=911, on_time=737)
    >>> round(row.closure_rate, 4), round(row.on_time_rate, 4)
    (0.9372, 0.7582)
    """

    key: str
    name: str
    registered: int
    due: int
    closed: int
    on_time: int
    rework: int
    extended: int
    overdue_open: int
    closure_rate: float | None
    on_time_rate: float | None
    rework_rate: float | None
    extension_rate: float | None
    score: float | None = None
    rank: int | None = None

    @classmethod
    def of(cls, key: str, name: str, **counts: int) -> IndicatorRow:
        """A row from its counts (missing ones are 0); the rates follow."""
        c = {k: int(counts.get(k, 0) or 0) for k in COUNTS}
        due = c["due"]
        return cls(
            key,
            name,
            **c,
            closure_rate=_rate(c["closed"], due),
            on_time_rate=_rate(c["on_time"], due),
            rework_rate=_rate(c["rework"], due),
            extension_rate=_rate(c["extended"], due),
        )

    def scored(self, weights: Mapping[str, float]) -> IndicatorRow:
        """This row with its composite score (None when nothing is due)."""
        if not self.due:
            return replace(self, score=None)
        parts = {
            "closure": self.closure_rate or 0.0,
            "on_time": self.on_time_rate or 0.0,
            "rework": 1.0 - (self.rework_rate or 0.0),
            "extension": 1.0 - (self.extension_rate or 0.0),
        }
        total = sum(weights.values())
        return replace(self, score=100.0 * sum(weights[k] * parts[k] for k in parts) / total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            **{k: getattr(self, k) for k in COUNTS},
            **{k: getattr(self, k) for k in RATES},
            "score": None if self.score is None else round(self.score, 2),
            "rank": self.rank,
        }


def total_of(rows: Sequence[IndicatorRow], name: str = "合计") -> IndicatorRow:
    """The sum of ``rows``' counts (meaningful where each case counts in one row)."""
    sums = {k: sum(getattr(r, k) for r in rows) for k in COUNTS}
    return IndicatorRow.of("", name, **sums)


def ranked(rows: Sequence[IndicatorRow], weights: Mapping[str, float]) -> tuple[IndicatorRow, ...]:
    """``rows`` scored and ranked (highest score first; equal scores share a rank; rows
    with nothing due last, unranked, by key).

    >>> a = IndicatorRow.of("a", "", registered=2, due=2, closed=2, on_time=2)
    >>> b = IndicatorRow.of("b", "", registered=2, due=2, closed=1, on_time=1)
    >>> [(r.key, r.rank) for r in ranked([b, a], DEFAULT_WEIGHTS)]
    [('a', 1), ('b', 2)]
    """
    scored = [r.scored(weights) for r in rows]
    with_score = sorted(
        (r for r in scored if r.score is not None), key=lambda r: (-round(r.score or 0, 9), r.key)
    )
    out: list[IndicatorRow] = []
    for i, row in enumerate(with_score):
        same = out and round(out[-1].score or 0, 9) == round(row.score or 0, 9)
        out.append(replace(row, rank=out[-1].rank if same else i + 1))
    out += sorted((r for r in scored if r.score is None), key=lambda r: r.key)
    return tuple(out)


@dataclass(frozen=True)
class Assessment:
    """The indicators of a period, per unit, grid, workstation, person or category."""

    period: Period
    by: Grouping
    level: int | None
    rows: tuple[IndicatorRow, ...]
    totals: IndicatorRow

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.to_dict(),
            "by": self.by.value,
            "level": self.level,
            "rows": [r.to_dict() for r in self.rows],
            "totals": self.totals.to_dict(),
        }
