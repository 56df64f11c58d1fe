"""The five grid levels of urban grid management (城市管理五级网格)."""

from __future__ import annotations

from enum import IntEnum

from gridgeo.i18n import tr


class Level(IntEnum):
    """A grid level; 1 is the city, 5 the fifth-level grid (the leaf).

    The integer value is the level number used in files, reports and APIs.

    Examples
    --------
    >>> Level(4).zh, Level(4).en, int(Level.GRID)
    ('社区', 'community', 5)
    >>> Level.STREET.parent, Level.GRID.child
    (<Level.DISTRICT: 2>, None)
    """

    CITY = 1
    DISTRICT = 2
    STREET = 3
    COMMUNITY = 4
    GRID = 5

    @property
    def zh(self) -> str:
        """Chinese name, as in the pilot plan."""
        return _ZH[self]

    @property
    def en(self) -> str:
        """English name."""
        return _EN[self]

    @property
    def label(self) -> str:
        """English name with the Chinese alongside, for CLI and API text."""
        return f"{self.en} ({self.zh})"

    def name_in(self, lang: str) -> str:
        """The level's name in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en

    @property
    def parent(self) -> Level | None:
        """The level above, or None for the city."""
        return None if self is Level.CITY else Level(self - 1)

    @property
    def child(self) -> Level | None:
        """The level below, or None for the fifth-level grid."""
        return None if self is Level.GRID else Level(self + 1)


_ZH = {
    Level.CITY: "市",
    Level.DISTRICT: "区",
    Level.STREET: "街道",
    Level.COMMUNITY: "社区",
    Level.GRID: "五级网格",
}
_EN = {
    Level.CITY: "city",
    Level.DISTRICT: "district",
    Level.STREET: "street",
    Level.COMMUNITY: "community",
    Level.GRID: "grid",
}

# Words planners write in a level column, mapped to the level. Lower-cased keys.
LEVEL_WORDS: dict[str, Level] = {
    **{str(int(lv)): lv for lv in Level},
    **{lv.en: lv for lv in Level},
    **{lv.zh: lv for lv in Level},
    "一级网格": Level.CITY,
    "二级网格": Level.DISTRICT,
    "三级网格": Level.STREET,
    "四级网格": Level.COMMUNITY,
    "网格": Level.GRID,
    "单元网格": Level.GRID,
    "城区": Level.DISTRICT,
    "县": Level.DISTRICT,
    "街道办事处": Level.STREET,
    "镇": Level.STREET,
    "乡": Level.STREET,
    "村": Level.COMMUNITY,
    "fifth-level grid": Level.GRID,
    "town": Level.STREET,
    "subdistrict": Level.STREET,
    "county": Level.DISTRICT,
}


def parse_level(value: object) -> Level:
    """Read a level from a file cell: ``5``, ``"5"``, ``"5.0"``, ``"grid"`` or ``"社区"``.

    Raises
    ------
    ValueError
        If the value names no level; the message quotes it.

    Examples
    --------
    >>> [parse_level(v).name for v in (5, "5.0", "grid", "社区", " Street ")]
    ['GRID', 'GRID', 'GRID', 'COMMUNITY', 'STREET']
    """
    if isinstance(value, bool):
        raise ValueError(tr("not a grid level: {value!r}", value=value))
    if isinstance(value, int | float) and float(value).is_integer() and 1 <= value <= 5:
        return Level(int(value))
    text = str(value).strip().lower()
    if text.endswith(".0"):
        text = text[:-2]
    try:
        return LEVEL_WORDS[text]
    except KeyError:
        raise ValueError(
            tr(
                "not a grid level: {value!r} (use 1-5, city/district/street/community/grid "
                "or 市/区/街道/社区/五级网格)",
                value=value,
            )
        ) from None
