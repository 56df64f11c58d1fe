"""Report categories: the GB/T 30428.2 event classes and the pilot's local ones (pure core).

Digital urban management (数字化城市管理) sorts every case into a major class
(大类) and a minor class (小类) of events (事件). The national scheme was
published as CJ/T 214-2007 and carried into GB/T 30428.2 (城市管理部件和事件
分类与编码); its event major classes are 01 市容环境, 02 宣传广告, 03 施工管理,
04 突发事件 and 05 街面秩序, each minor class numbered within its major class
(two digits each, so ``0505`` is 街面秩序 / 机动车乱停放). Cities extend the
list: minor class ``99`` is "other" in each major class, and a city adds its own
major classes.

The standard's text could not be read here. The minor classes below are those
on which two independent public platform listings of the national table agree
(``confirmed=True``). Where they disagree (施工管理 after 0302) the numbering
follows one of them and is marked ``confirmed=False``. Classes in the local
major class ``90`` (扩展事件) are the pilot's own: the duties the "1+2+N" plan
gives its partners (fire-lane occupation, helmets, frontage duty, public order)
that the national event table has no minor class for.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gridgeo.errors import CategoryError

STANDARD = "GB/T 30428.2"
LOCAL = "local"


class CategorySource(StrEnum):
    """Where a category comes from."""

    STANDARD = STANDARD
    LOCAL = LOCAL


@dataclass(frozen=True)
class Category:
    """One report category: a major class (2-digit code) or a minor class (4 digits).

    Attributes
    ----------
    code
        ``"05"`` for a major class, ``"0505"`` for a minor class of it.
    name_zh, name_en
        The standard's Chinese name and an English rendering.
    source
        ``GB/T 30428.2`` or ``local``.
    confirmed
        False when public sources disagree on this code (see the module notes).
    """

    code: str
    name_zh: str
    name_en: str
    source: CategorySource = CategorySource.STANDARD
    confirmed: bool = True

    @property
    def major(self) -> str:
        """Code of the major class (the category itself for a major class)."""
        return self.code[:2]

    @property
    def is_major(self) -> bool:
        return len(self.code) == 2

    @property
    def label(self) -> str:
        """``"0505 机动车乱停放 (illegal motor-vehicle parking)"``."""
        return f"{self.code} {self.name_zh} ({self.name_en})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "major": self.major,
            "source": self.source.value,
            "confirmed": self.confirmed,
        }


def _table(
    major: str, zh: str, en: str, minors: Iterable[tuple[str, str, str]], *, confirmed: int = 99
) -> list[Category]:
    """A major class and its minors; minors numbered above ``confirmed`` are unconfirmed."""
    source = CategorySource.LOCAL if major >= "90" else CategorySource.STANDARD
    out = [Category(major, zh, en, source)]
    for minor, mzh, men in minors:
        ok = int(minor) <= confirmed or minor == "99"
        out.append(Category(major + minor, mzh, men, source, ok))
    return out


STANDARD_CATEGORIES: tuple[Category, ...] = (
    *_table(
        "01",
        "市容环境",
        "city appearance and environment",
        [
            ("01", "私搭乱建", "unauthorised structures"),
            ("02", "暴露垃圾", "exposed rubbish"),
            ("03", "积存垃圾渣土", "accumulated rubbish or spoil"),
            ("04", "道路不洁", "dirty road"),
            ("05", "水域不洁", "dirty water body"),
            ("06", "绿地脏乱", "littered green space"),
            ("07", "废弃车辆", "abandoned vehicle"),
            ("08", "废弃家具设备", "discarded furniture or equipment"),
            ("09", "非装饰性树挂", "non-decorative objects hung on trees"),
            ("99", "其他市容环境问题", "other city-appearance problem"),
        ],
    ),
    *_table(
        "02",
        "宣传广告",
        "publicity and advertising",
        [
            ("01", "非法小广告", "illegal small adverts"),
            ("02", "违章张贴悬挂广告牌匾", "unauthorised posted or hung signboards"),
            ("03", "占道广告牌", "advertising board on the road"),
            ("04", "街头散发广告", "handing out adverts in the street"),
            ("99", "其他宣传广告问题", "other advertising problem"),
        ],
    ),
    *_table(
        "03",
        "施工管理",
        "construction management",
        [
            ("01", "施工扰民", "construction disturbing residents"),
            ("02", "工地扬尘", "construction-site dust"),
            ("03", "施工废弃料", "construction waste"),
            ("04", "施工占道", "construction occupying the road"),
            ("05", "无证掘路", "digging up the road without a permit"),
            ("99", "其他施工管理问题", "other construction problem"),
        ],
        confirmed=2,
    ),
    *_table(
        "04",
        "突发事件",
        "emergencies",
        [
            ("01", "路面塌陷", "road surface collapse"),
            ("02", "自来水管破裂", "burst water main"),
            ("03", "燃气管道破裂", "burst gas pipe"),
            ("04", "下水道堵塞或破损", "blocked or broken sewer"),
            ("05", "热力管道破裂", "burst heating pipe"),
            ("06", "道路积水", "flooded road"),
            ("07", "道路积雪结冰", "snow or ice on the road"),
            ("08", "架空线缆损坏", "damaged overhead cable"),
            ("09", "群发性事件", "mass incident"),
            ("99", "其他突发事件", "other emergency"),
        ],
    ),
    *_table(
        "05",
        "街面秩序",
        "street order",
        [
            ("01", "无照经营游商", "unlicensed itinerant vendor"),
            ("02", "流浪乞讨", "vagrancy and begging"),
            ("03", "占道废品收购", "scrap buying on the road"),
            ("04", "店外经营", "trading outside the shop"),
            ("05", "机动车乱停放", "illegal motor-vehicle parking"),
            ("06", "非机动车乱停放", "illegal bicycle or e-bike parking"),
            ("07", "乱堆物堆料", "goods or materials piled in public space"),
            ("08", "商业噪音", "commercial noise"),
            ("09", "黑车拉客", "unlicensed taxi touting"),
            ("10", "露天烧烤", "open-air barbecue"),
            ("99", "其他街面秩序问题", "other street-order problem"),
        ],
    ),
)

LOCAL_CATEGORIES: tuple[Category, ...] = tuple(
    _table(
        "90",
        "扩展事件(试点)",
        "local extension (pilot)",
        [
            ("01", "占用消防通道", "fire lane blocked"),
            ("02", "占用公共道路停放车辆", "vehicle parked on a public road"),
            ("03", "电动车驾乘未戴安全头盔", "e-bike rider without a helmet"),
            ("04", "门前三包责任区脏乱", "frontage-duty area (门前三包) untidy"),
            ("05", "治安事件", "public-order incident"),
            ("06", "停车收费纠纷", "parking-fee dispute"),
            ("07", "背街小巷环境脏乱", "back-alley environment untidy"),
            ("08", "违反市容市貌行为劝导", "city-appearance behaviour to dissuade"),
        ],
    )
)


class CategoryTable(Mapping[str, Category]):
    """Categories by code, with lookup by code or Chinese name.

    Parameters
    ----------
    categories
        Major and minor classes; every minor class needs its major class.

    Raises
    ------
    CategoryError
        For a malformed or duplicate code, or a minor class without its major.
    """

    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_code: dict[str, Category] = {}
        for cat in categories:
            if len(cat.code) not in (2, 4) or not cat.code.isdigit():
                raise CategoryError(f"category code {cat.code!r} is not 2 or 4 digits")
            if cat.code in self._by_code:
                raise CategoryError(f"category code {cat.code} is defined twice")
            self._by_code[cat.code] = cat
        orphans = [c for c in self._by_code if len(c) == 4 and c[:2] not in self._by_code]
        if orphans:
            raise CategoryError(f"minor class(es) {', '.join(orphans)} have no major class")
        self._by_name = {c.name_zh: c for c in self._by_code.values()}

    def __getitem__(self, code: str) -> Category:
        return self._by_code[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def majors(self) -> list[Category]:
        return [c for c in self._by_code.values() if c.is_major]

    def minors(self, major: str | None = None) -> list[Category]:
        """Minor classes, of one major class when ``major`` is given."""
        return [
            c
            for c in self._by_code.values()
            if not c.is_major and (major is None or c.major == major)
        ]

    def resolve(self, value: str) -> Category:
        """The category for a code (``0505``, ``05``) or a Chinese name (``机动车乱停放``).

        Raises
        ------
        CategoryError
            Naming the value and the closest known codes or names.
        """
        text = str(value).strip()
        if text in self._by_code:
            return self._by_code[text]
        if text in self._by_name:
            return self._by_name[text]
        keys = list(self._by_code) + list(self._by_name)
        close = difflib.get_close_matches(text, keys, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(self._describe(k) for k in close)}?" if close else ""
        raise CategoryError(f"unknown category {text!r}{hint}")

    def _describe(self, key: str) -> str:
        cat = self._by_code.get(key) or self._by_name[key]
        return f"{cat.code} {cat.name_zh}"


def default_categories() -> CategoryTable:
    """The national event classes plus the pilot's local class 90."""
    return CategoryTable((*STANDARD_CATEGORIES, *LOCAL_CATEGORIES))
