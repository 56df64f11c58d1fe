"""The pilot's staff: the five-level post table of the "1+2+N" plan, with fictitious people.

Employment is ``sworn`` (在编, enforcement-qualified officer), ``auxiliary``
(协管) or ``cadre``: an official who holds the grid post concurrently and is
not counted in the plan's officer totals (4 sworn, 36 auxiliary).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridgeo.i18n import tr
from gridgeo.levels import Level
from gridgeo.sample.checks import SampleBuildError

ROLES_ZH = {
    "leader": "网格长",
    "executive_deputy": "常务副网格长",
    "deputy": "副网格长",
    "member": "网格员",
}
EXPECTED_TOTALS = {"sworn": 4, "auxiliary": 36}
FIELDS = ("person_id", "name", "role", "employment", "grid_code", "title", "phone")

# Common surnames and given-name characters; combinations are drawn at random,
# so any match with a real person is coincidence.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑"
    "梁谢宋唐韩冯邓曹彭曾肖田董潘蒋蔡余杜叶程"
    "苏魏吕丁卢钟谭陆廖韦覃莫蒙"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    "刚桂英华玉兰飞鹏辉斌宇浩凯健俊帆旭宁琳婷"
    "雪颖倩晨欣志红春海建文"
)


@dataclass(frozen=True, slots=True)
class Seat:
    """One seat in the grid organisation: a post (``role``) at one grid unit, filled by
    one person (not :class:`gridgeo.staffing.Post`, the post itself)."""

    level: Level
    role: str
    employment: str
    grid_code: str
    title: str


def _posts(level: Level, code: str, seats: Sequence[tuple[str, str, str, int]]) -> list[Seat]:
    """Expand ``(role, employment, title, how many)`` seats for one grid unit."""
    return [Seat(level, r, e, code, t) for r, e, t, n in seats for _ in range(n)]


def pilot_posts(
    city: str, district: str, street: str, communities: Sequence[str], grids: Sequence[str]
) -> list[Seat]:
    """The plan's five-level table, level by level, for the given unit codes."""
    posts = _posts(
        Level.CITY,
        city,
        [
            ("leader", "cadre", "市城管委主要领导", 1),
            ("executive_deputy", "cadre", "市城管委分管领导", 1),
        ],
    )
    posts += _posts(
        Level.DISTRICT,
        district,
        [
            ("leader", "cadre", "区政府城管专员", 1),
            ("executive_deputy", "cadre", "城管局局长", 1),
            ("deputy", "cadre", "城管大队大队长", 1),
        ],
    )
    posts += _posts(
        Level.STREET,
        street,
        [
            ("leader", "cadre", "城管大队副大队长(挂任街道副职)", 1),
            ("deputy", "cadre", "街道副职", 1),
            ("member", "auxiliary", "协管队员(街道网格员)", 2),
        ],
    )
    for code in communities:
        posts += _posts(
            Level.COMMUNITY,
            code,
            [
                ("leader", "cadre", "城管大队中队长", 1),
                ("deputy", "cadre", "社区副书记", 1),
                ("member", "sworn", "在编执法队员", 2),
                ("member", "auxiliary", "协管队员", 8),
            ],
        )
    for code in grids:
        posts += _posts(
            Level.GRID,
            code,
            [
                ("leader", "auxiliary", "能力突出的协管队员", 1),
                ("member", "auxiliary", "协管队员", 2),
            ],
        )
    return posts


def check_totals(posts: Sequence[Seat]) -> None:
    """Raise unless the officers add up to the plan's 4 sworn and 36 auxiliary."""
    totals = Counter(p.employment for p in posts)
    for kind, expected in EXPECTED_TOTALS.items():
        if totals[kind] != expected:
            raise SampleBuildError(
                tr(
                    "{count} {kind} officers, the plan has {expected}",
                    count=totals[kind],
                    kind=kind,
                    expected=expected,
                )
            )


def fictitious_names(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct random names: a surname and one or two given characters."""
    names: list[str] = []
    while len(names) < count:
        surname = _SURNAMES[rng.integers(len(_SURNAMES))]
        size = int(rng.integers(1, 3))
        given = "".join(_GIVEN[i] for i in rng.integers(len(_GIVEN), size=size))
        if surname + given not in names:
            names.append(surname + given)
    return names


def staff_rows(posts: Sequence[Seat], names: Sequence[str]) -> list[dict[str, str]]:
    """CSV rows, one per post; phone numbers use the unallocated 0773-0000 block."""
    return [
        {
            "person_id": f"P{i:03d}",
            "name": name,
            "role": post.role,
            "employment": post.employment,
            "grid_code": post.grid_code,
            "title": post.title,
            "phone": f"0773-0000{i:04d}",
        }
        for i, (post, name) in enumerate(zip(posts, names, strict=True), start=1)
    ]


def write_staff(path: Path, rows: Sequence[dict[str, str]]) -> None:
    """Write ``staff.csv`` (UTF-8, header row, Unix line ends)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
