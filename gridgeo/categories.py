"""Report categories: GB/T 30428 event and component classes, and the pilot's local ones.

Digital urban management (数字化城市管理) sorts every case into a major class
(大类) and a minor class (小类), either of events (事件: something happened)
or of components (部件: a piece of public property is damaged or missing).

Events. The national scheme was published as CJ/T 214-2007 and carried into
GB/T 30428.2 (城市管理部件和事件分类与编码 第2部分: 管理事件); its event major
classes are 01 市容环境, 02 宣传广告, 03 施工管理, 04 突发事件 and 05 街面秩序,
each minor class numbered within its major class (two digits each, so
``0505`` is 街面秩序 / 机动车乱停放). Cities extend the list: minor class ``99``
is "other" in each major class, and a city adds its own major classes.

The standard's text could not be read here. The minor classes below are those
on which two independent public platform listings of the national table agree
(``confirmed=True``). Where they disagree (施工管理 after 0302) the numbering
follows one of them and is marked ``confirmed=False``. Classes in the local
major class ``90`` (扩展事件) are the pilot's own: the duties the "1+2+N" plan
gives its partners (fire-lane occupation, helmets, frontage duty, public order)
that the national event table has no minor class for.

Components. GB/T 30428.1 (第1部分: 管理部件) numbers its major classes the same
way as the events (01 公用设施 ... 06 其他设施), so the bare numbers would
collide: ``0101`` is both 私搭乱建 (event) and 上水井盖 (component). Event codes
stay as they always were (nothing stored changes); component codes carry the
prefix ``B`` (部件): ``B01`` 公用设施, ``B0101`` 上水井盖. :attr:`Category.kind`
follows from the code. The six major classes are those of the standard. Of
the minor classes only B0101 上水井盖 and B0102 污水井盖 are confirmed: their
numbers appear in component identifiers (区划码 + 大类 + 小类 + 序号) in one
platform's public data, and the same order opens another platform's class
list. The other minor classes are well-known component names numbered by us
and marked ``confirmed=False``; the standard's text could not be read here.
A routing file cannot renumber them (its local categories may not reuse a
code), so a city whose platform numbers them differently needs this table
changed.

A Chinese name shared by an event class and a component class (市容环境 is a
major class of both) resolves to the event class, as it did before
components existed; the component is reached by its code or English name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gridgeo.errors import CategoryError
from gridgeo.i18n import current_lang, tr
from gridgeo.wording import listing

STANDARD = "GB/T 30428.2"
COMPONENT_STANDARD = "GB/T 30428.1"
LOCAL = "local"
COMPONENT_PREFIX = "B"
"""Prefix of component (部件) codes, so that they never equal an event code."""

_CODE = re.compile(r"(?:B)?[0-9]{2}(?:[0-9]{2})?")


class CategorySource(StrEnum):
    """Where a category comes from."""

    STANDARD = STANDARD
    COMPONENT_STANDARD = COMPONENT_STANDARD
    LOCAL = LOCAL


class CategoryKind(StrEnum):
    """Event (事件) or component (部件) class."""

    EVENT = "event"
    COMPONENT = "component"

    @property
    def label_zh(self) -> str:
        """``事件`` or ``部件``."""
        return "部件" if self is CategoryKind.COMPONENT else "事件"


def is_category_code(text: str) -> bool:
    """Whether ``text`` is a well-formed category code.

    Event codes are 2 or 4 ASCII digits (``05``, ``0505``); component codes are
    the same behind ``B`` (``B01``, ``B0101``).

    >>> [is_category_code(c) for c in ("05", "0505", "B01", "B0101", "505", "b01", "B1")]
    [True, True, True, True, False, False, False]
    """
    return _CODE.fullmatch(text) is not None


def major_code(code: str) -> str:
    """The major-class code of a category code (the code itself for a major class).

    >>> major_code("0505"), major_code("05"), major_code("B0101"), major_code("B01")
    ('05', '05', 'B01', 'B01')
    """
    return code[:3] if code.startswith(COMPONENT_PREFIX) else code[:2]


@dataclass(frozen=True)
class Category:
    """One report category: a major class (2-digit code) or a minor class (4 digits).

    Attributes
    ----------
    code
        ``"05"`` for an event major class, ``"0505"`` for a minor class of it;
        component codes start with ``B`` (``"B01"``, ``"B0101"``).
    name_zh, name_en
        The standard's Chinese name and an English rendering.
    source
        ``GB/T 30428.2`` (events), ``GB/T 30428.1`` (components) or ``local``.
    confirmed
        False when public sources disagree on this code or could not confirm
        it (see the module notes).
    """

    code: str
    name_zh: str
    name_en: str
    source: CategorySource = CategorySource.STANDARD
    confirmed: bool = True

    @property
    def major(self) -> str:
        """Code of the major class (the category itself for a major class)."""
        return major_code(self.code)

    @property
    def is_major(self) -> bool:
        return self.code == self.major

    @property
    def kind(self) -> CategoryKind:
        """Component (部件) for a ``B`` code, else event (事件)."""
        if self.code.startswith(COMPONENT_PREFIX):
            return CategoryKind.COMPONENT
        return CategoryKind.EVENT

    @property
    def label(self) -> str:
        """``"0505 机动车乱停放 (illegal motor-vehicle parking)"``."""
        return f"{self.code} {self.name_zh} ({self.name_en})"

    @property
    def shown(self) -> str:
        """The label for a message: :attr:`label` in English, ``0505 机动车乱停放`` in Chinese."""
        return f"{self.code} {self.name_zh}" if current_lang() == "zh" else self.label

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "major": self.major,
            "kind": self.kind.value,
            "source": self.source.value,
            "confirmed": self.confirmed,
        }


def _table(
    major: str,
    zh: str,
    en: str,
    minors: Iterable[tuple[str, str, str]],
    *,
    confirmed: int = 99,
    source: CategorySource | None = None,
) -> list[Category]:
    """A major class and its minors; minors numbered above ``confirmed`` are unconfirmed.

    The source defaults to the event standard, or local for major classes 90 and up.
    """
    if source is None:
        source = CategorySource.LOCAL if major >= "90" else CategorySource.STANDARD
    out = [Category(major, zh, en, source)]
    for minor, mzh, men in minors:
        ok = int(minor) <= confirmed or minor == "99"
        out.append(Category(major + minor, mzh, men, source, ok))
    return out


def _components(
    major: str, zh: str, en: str, minors: Iterable[tuple[str, str]], *, confirmed: int = 0
) -> list[Category]:
    """A component major class (``B`` + 2 digits) and its minors, numbered 01, 02, ... in order."""
    numbered = [(f"{i:02d}", mzh, men) for i, (mzh, men) in enumerate(minors, start=1)]
    return _table(
        COMPONENT_PREFIX + major,
        zh,
        en,
        numbered,
        confirmed=confirmed,
        source=CategorySource.COMPONENT_STANDARD,
    )


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

COMPONENT_CATEGORIES: tuple[Category, ...] = (
    *_components(
        "01",
        "公用设施",
        "public facilities",
        [
            ("上水井盖", "water-supply manhole cover"),
            ("污水井盖", "sewer manhole cover"),
            ("雨水井盖", "storm-drain manhole cover"),
            ("雨水箅子", "storm-drain grate"),
            ("电力井盖", "power-cable manhole cover"),
            ("通讯井盖", "telecom manhole cover"),
            ("燃气井盖", "gas manhole cover"),
            ("消防栓", "fire hydrant"),
            ("路灯", "street light"),
        ],
        confirmed=2,
    ),
    *_components(
        "02",
        "道路交通",
        "road traffic",
        [
            ("停车场", "car park"),
            ("公交站亭", "bus shelter"),
            ("过街天桥", "pedestrian footbridge"),
            ("地下通道", "pedestrian underpass"),
            ("交通标志牌", "traffic sign"),
            ("交通信号灯", "traffic light"),
            ("护栏", "guard rail"),
        ],
    ),
    *_components(
        "03",
        "市容环境",
        "city appearance facilities",
        [
            ("公共厕所", "public toilet"),
            ("垃圾收集站", "refuse collection point"),
            ("垃圾箱", "litter bin"),
            ("广告牌匾", "advertising signboard"),
            ("灯箱霓虹灯", "light box or neon sign"),
        ],
    ),
    *_components(
        "04",
        "园林绿化",
        "landscaping",
        [
            ("古树名木", "heritage tree"),
            ("行道树", "street tree"),
            ("绿地", "green space"),
            ("花架花钵", "flower stand or planter"),
            ("护树设施", "tree guard"),
        ],
    ),
    *_components(
        "05",
        "房屋土地",
        "buildings and land",
        [
            ("人防工事", "civil air-defence works"),
            ("空房", "vacant building"),
            ("危房", "dangerous building"),
        ],
    ),
    *_components(
        "06",
        "其他设施",
        "other facilities",
        [
            ("重大危险源", "major hazard installation"),
            ("污染源", "pollution source"),
            ("水质监测站", "water-quality monitoring station"),
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
    """Categories by code, with lookup by code, Chinese name or English name.

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
            if not is_category_code(cat.code):
                raise CategoryError(
                    tr(
                        "category code {code!r} is neither an event code (2 or 4 digits: "
                        "05, 0505) nor a component code (B and 2 or 4 digits: B01, B0101)",
                        code=cat.code,
                    )
                )
            if cat.code in self._by_code:
                raise CategoryError(tr("category code {code} is defined twice", code=cat.code))
            self._by_code[cat.code] = cat
        orphans = [c for c, cat in self._by_code.items() if cat.major not in self._by_code]
        if orphans:
            raise CategoryError(
                tr("minor class(es) {codes} have no major class", codes=listing(orphans))
            )
        # setdefault: the first of a shared name wins (events come first, see the module notes)
        self._by_name: dict[str, Category] = {}
        self._by_english: dict[str, Category] = {}
        for cat in self._by_code.values():
            self._by_name.setdefault(cat.name_zh, cat)
            self._by_english.setdefault(cat.name_en.casefold(), cat)

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
        """The category for a code (``0505``, ``05``, ``B0101``), a Chinese name
        (``机动车乱停放``) or an English name (``illegal motor-vehicle parking``, any case).

        Raises
        ------
        CategoryError
            Naming the value and the closest known codes or names.

        Examples
        --------
        >>> table = default_categories()
        >>> table.resolve("b0101").label
        'B0101 上水井盖 (water-supply manhole cover)'
        >>> table.resolve("Street light").code
        'B0109'
        >>> try:
        ...     table.resolve("乱停车")
        ... except CategoryError as exc:
        ...     print(str(exc).split("; ")[1])
        did you mean 0505 机动车乱停放, 0506 非机动车乱停放, B0201 停车场?
        """
        text = str(value).strip()
        found = (
            self._by_code.get(text)
            or self._by_code.get(text.upper())
            or self._by_name.get(text)
            or self._by_english.get(text.casefold())
        )
        if found is not None:
            return found
        close = self._sharing_characters(text)
        close += difflib.get_close_matches(text, [*self._by_code, *self._by_name], n=3, cutoff=0.5)
        close += difflib.get_close_matches(text.casefold(), list(self._by_english), n=3, cutoff=0.6)
        described = list(dict.fromkeys(self._describe(k) for k in close))[:3]
        if described:
            raise CategoryError(
                tr(
                    "unknown category {text!r}; did you mean {close}?",
                    text=text,
                    close=listing(described),
                )
            )
        raise CategoryError(tr("unknown category {text!r}", text=text))

    def _sharing_characters(self, text: str) -> list[str]:
        """Chinese names holding most of the characters of ``text`` (乱停车 -> 机动车乱停放):
        difflib's ratio is weak on strings of three or four characters, and people
        shorten names by dropping characters, not by misspelling them."""
        wanted = {c for c in text if not c.isascii()}
        if len(wanted) < 2:
            return []
        scored = []
        for name in self._by_name:
            shared = len(wanted & set(name)) / len(wanted)
            if shared >= 2 / 3:
                ratio = difflib.SequenceMatcher(None, text, name).ratio()
                scored.append((-shared, -ratio, name))
        return [name for *_, name in sorted(scored)[:3]]

    def _describe(self, key: str) -> str:
        cat = self._by_code.get(key) or self._by_name.get(key) or self._by_english[key]
        return f"{cat.code} {cat.name_zh}"


def default_categories() -> CategoryTable:
    """The national event and component classes plus the pilot's local class 90."""
    return CategoryTable((*STANDARD_CATEGORIES, *COMPONENT_CATEGORIES, *LOCAL_CATEGORIES))
