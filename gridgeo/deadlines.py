"""Handling deadlines (处置时限): urgency, time limits and working days (pure core).

A digital urban-management platform gives every category a time limit for
handling a case, one for normal (一般) and one for urgent (紧急) cases. A
limit is counted either in clock hours (``4h``: four hours after dispatch) or
in working days (``2wd``: by the end of the second working day after the day
of dispatch, Beijing time).

Working days are China's, as the State Council sets them each year: public
holidays are days off even on a weekday, and some Saturdays or Sundays next to
a holiday are make-up working days (调休上班). They come from the
``chinesecalendar`` package (import name ``chinese_calendar``), which ships the
published arrangements; it covers the years up to the one after its release
and raises for the others. For a date it does not cover (a year whose
arrangement it does not know yet), :func:`is_working_day` falls back to Monday
to Friday, so a deadline across such a year's holidays comes out early rather
than late: update the package when the State Council publishes the next
year's arrangement (usually in November).

Examples
--------
>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> friday = datetime(2026, 10, 30, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
>>> deadline_after(friday, TimeLimit.parse("1个工作日")).astimezone(BEIJING).isoformat()
'2026-11-03T00:00:00+08:00'
>>> deadline_after(friday, TimeLimit.parse("4h")).isoformat()
'2026-10-30T11:00:00+00:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]

from gridgeo.errors import GridgeoError
from gridgeo.i18n import Lang, tr
from gridgeo.wording import labelled, listing

BEIJING = ZoneInfo("Asia/Shanghai")
"""Working days are counted in Beijing time, whatever the zone of the dispatch time."""

Unit = Literal["hours", "workdays"]

# Bounds that keep the working-day walk short and catch typos such as "400wd".
MAX_AMOUNT: dict[str, int] = {"hours": 24 * 366, "workdays": 366}


class DeadlineError(GridgeoError, ValueError):
    """A time limit, urgency or dispatch time is malformed (names the value)."""


class Urgency(StrEnum):
    """How urgent a case is; each urgency has its own time limit."""

    NORMAL = "normal"
    URGENT = "urgent"

    @property
    def label_zh(self) -> str:
        """``一般`` or ``紧急``."""
        return _URGENCY_ZH[self]


_URGENCY_ZH = {Urgency.NORMAL: "一般", Urgency.URGENT: "紧急"}
_URGENCY_WORDS = {
    **{u.value: u for u in Urgency},
    **{zh: u for u, zh in _URGENCY_ZH.items()},
}


def parse_urgency(value: Urgency | str) -> Urgency:
    """The urgency of ``normal``/``urgent`` (any case) or ``一般``/``紧急``.

    Raises
    ------
    DeadlineError
        Naming the value and the allowed ones.

    Examples
    --------
    >>> parse_urgency("紧急")
    <Urgency.URGENT: 'urgent'>
    """
    if isinstance(value, Urgency):
        return value
    found = _URGENCY_WORDS.get(str(value).strip().lower())
    if found is None:
        allowed = listing(labelled(u.value, u.label_zh) for u in Urgency)
        raise DeadlineError(
            tr("unknown urgency {value!r}; expected one of {allowed}", value=value, allowed=allowed)
        )
    return found


# number, optional spaces, unit word; "个" is the measure word of "2个工作日"
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:个\s*)?([^\d\s].*?)\s*$")
_UNIT_WORDS: dict[str, Unit] = {
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "小时": "hours",
    "wd": "workdays",
    "workday": "workdays",
    "workdays": "workdays",
    "working day": "workdays",
    "working days": "workdays",
    "工作日": "workdays",
}


@dataclass(frozen=True)
class TimeLimit:
    """A handling time limit: ``amount`` clock hours or working days.

    Attributes
    ----------
    amount
        A positive whole number (at most a year's worth).
    unit
        ``"hours"`` (clock hours from dispatch) or ``"workdays"`` (to the end of
        the amount-th working day after the day of dispatch, Beijing time).

    Examples
    --------
    >>> limit = TimeLimit.parse("2个工作日")
    >>> limit, str(limit), limit.label("en")
    (TimeLimit(amount=2, unit='workdays'), '2wd', '2 working days')
    >>> TimeLimit.parse("4 hours").label()
    '4小时'
    """

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in get_args(Unit):
            raise DeadlineError(
                tr("time-limit unit {unit!r} is not hours or workdays", unit=self.unit)
            )
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise DeadlineError(
                tr("time-limit amount {amount!r} is not a whole number", amount=self.amount)
            )
        if not 0 < self.amount <= MAX_AMOUNT[self.unit]:
            raise DeadlineError(
                tr(
                    "time limit {amount} hours is out of range: 1 to {most} hours",
                    amount=self.amount,
                    most=MAX_AMOUNT[self.unit],
                )
                if self.unit == "hours"
                else tr(
                    "time limit {amount} workdays is out of range: 1 to {most} workdays",
                    amount=self.amount,
                    most=MAX_AMOUNT[self.unit],
                )
            )

    @classmethod
    def parse(cls, text: object) -> TimeLimit:
        """A limit from ``4h``, ``4 hours``, ``4小时``, ``2wd``, ``2 workdays``,
        ``2 working days``, ``2个工作日`` or ``2工作日`` (case and spaces ignored).

        Raises
        ------
        DeadlineError
            Naming the text when it is not one of those forms (a bare number
            has no unit and is refused too).
        """
        if isinstance(text, TimeLimit):
            return text
        match = _LIMIT.match(text) if isinstance(text, str) else None
        word = re.sub(r"\s+", " ", match.group(2).lower()) if match else ""
        unit = _UNIT_WORDS.get(word)
        if match is None or unit is None:
            raise DeadlineError(
                tr(
                    "time limit {text!r} is not understood; write hours as 4h, '4 hours' or "
                    "4小时, working days as 2wd, '2 working days' or 2个工作日",
                    text=text,
                )
            )
        amount = int(match.group(1))
        if not 0 < amount <= MAX_AMOUNT[unit]:
            raise DeadlineError(
                tr(
                    "time limit {text!r} is out of range: 1 to {most} hours",
                    text=text,
                    most=MAX_AMOUNT[unit],
                )
                if unit == "hours"
                else tr(
                    "time limit {text!r} is out of range: 1 to {most} workdays",
                    text=text,
                    most=MAX_AMOUNT[unit],
                )
            )
        return cls(amount, unit)

    def __str__(self) -> str:
        return f"{self.amount}{'h' if self.unit == 'hours' else 'wd'}"

    def label(self, lang: Lang = "zh") -> str:
        """``4小时``/``2个工作日`` (``zh``) or ``4 hours``/``2 working days`` (``en``)."""
        if lang == "zh":
            return f"{self.amount}{'小时' if self.unit == 'hours' else '个工作日'}"
        if lang == "en":
            word = "hour" if self.unit == "hours" else "working day"
            return f"{self.amount} {word}{'' if self.amount == 1 else 's'}"
        raise DeadlineError(tr("label language {lang!r} is not zh or en", lang=lang))


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in China (adjusted holidays and make-up days included).

    Outside the years ``chinesecalendar`` knows, Monday to Friday (see the module notes).

    Examples
    --------
    >>> is_working_day(date(2026, 10, 1))  # National Day
    False
    >>> is_working_day(date(2026, 10, 10))  # a Saturday worked to make up for the holiday
    True
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def deadline_after(start: datetime, limit: TimeLimit) -> datetime:
    """When a case dispatched at ``start`` must be handled by, in UTC.

    Parameters
    ----------
    start
        The dispatch time; must carry a time zone.
    limit
        Clock hours are added to the instant (``start`` + hours); working days
        end at 00:00 Beijing time of the day after the ``limit.amount``-th
        working day following the day of ``start`` (in Beijing time).

    Raises
    ------
    DeadlineError
        When ``start`` is naive (its instant would be a guess).

    Examples
    --------
    National Day 2026 is 1-7 October, Saturday 10 October is worked: dispatched
    on 30 September, one working day runs to the end of 8 October, and the
    fifth after 8 October is 14 October, counting Saturday 10 October.

    >>> sept30 = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)
    >>> deadline_after(sept30, TimeLimit(1, "workdays")).isoformat()
    '2026-10-08T16:00:00+00:00'
    >>> oct8 = datetime(2026, 10, 8, 9, 0, tzinfo=BEIJING)
    >>> deadline_after(oct8, TimeLimit(5, "workdays")).astimezone(BEIJING).date()
    datetime.date(2026, 10, 15)
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise DeadlineError(
            tr(
                "dispatch time {time} has no time zone; give it one (e.g. +08:00)",
                time=start.isoformat(),
            )
        )
    if limit.unit == "hours":
        # add to the UTC instant: aware arithmetic in a zone with DST would add wall-clock time
        return start.astimezone(UTC) + timedelta(hours=limit.amount)
    day = start.astimezone(BEIJING).date()
    left = limit.amount
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)
    return end.astimezone(UTC)
