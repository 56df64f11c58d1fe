"""Small pieces of text people read, in the current language (:mod:`gridgeo.i18n`).

Lists, a value shown with its Chinese label, and level names: messages of the core
build their fields with these so that a Chinese message reads as Chinese
(``立案（register）、不予立案（reject）``) and an English one keeps its wording
(``register, reject``).

Examples
--------
>>> from gridgeo.i18n import use_lang
>>> from gridgeo.levels import Level
>>> with use_lang("zh"):
...     listing(["450302", "450303"]), labelled("urgent", "紧急"), level_name(Level.STREET)
('450302、450303', '紧急（urgent）', '街道')
>>> with use_lang("en"):
...     listing(["450302", "450303"]), labelled("urgent", "紧急"), level_name(Level.STREET)
('450302, 450303', 'urgent (紧急)', 'street (街道)')
>>> with use_lang("zh"):
...     bilingual("traffic police", "交警"), clauses(["a", "b"])
('交警', 'a；b')
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from gridgeo.i18n import current_lang, tr
from gridgeo.levels import Level


def listing(items: Iterable[object]) -> str:
    """``items`` joined: ``a, b`` in English, ``a、b`` in Chinese."""
    return ("、" if current_lang() == "zh" else ", ").join(str(i) for i in items)


def clauses(items: Iterable[object]) -> str:
    """Clauses joined: ``a; b`` in English, ``a；b`` in Chinese."""
    return ("；" if current_lang() == "zh" else "; ").join(str(i) for i in items)


def labelled(value: str, label_zh: str) -> str:
    """A value with its Chinese label: ``urgent (紧急)`` in English, ``紧急（urgent）`` in
    Chinese."""
    return f"{label_zh}（{value}）" if current_lang() == "zh" else f"{value} ({label_zh})"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal or a spreadsheet: a wide character (Chinese,
    a full-width sign) takes two.

    >>> display_width("网格 5")
    6
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` columns (:func:`display_width`): tables
    line up in both languages."""
    return text + " " * max(0, width - display_width(text))


def bilingual(en: str, zh: str) -> str:
    """A name: ``交警`` in Chinese, ``traffic police (交警)`` (Chinese alongside) in English."""
    return zh if current_lang() == "zh" else f"{en} ({zh})"


def level_name(level: Level) -> str:
    """A level's name: ``街道`` in Chinese, ``street (街道)`` (its label) in English."""
    return bilingual(level.en, level.zh)


def level_label(level: int) -> str:
    """``level 4 community`` (``四级网格（社区）``): a level in a table of grids."""
    return {
        1: tr("level 1 city"),
        2: tr("level 2 district"),
        3: tr("level 3 street"),
        4: tr("level 4 community"),
        5: tr("level 5 grid"),
    }[int(level)]


def text_table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    indent: str = "",
    right: Iterable[int] = (),
) -> list[str]:
    """Lines of a table whose columns line up in a terminal (:func:`display_width`);
    the columns numbered in ``right`` (numbers) are aligned to the right.

    >>> print("\\n".join(text_table(["网格", "人数"], [["五级网格", "2"]], right=[1])))
    网格      人数
    五级网格     2
    """
    widths = [max(display_width(r[i]) for r in (head, *rows)) for i in range(len(head))]
    to_right = set(right)

    def cell(text: str, i: int) -> str:
        gap = " " * (widths[i] - display_width(text))
        return gap + text if i in to_right else text + gap

    return [
        (indent + "  ".join(cell(c, i) for i, c in enumerate(r))).rstrip() for r in (head, *rows)
    ]


def files_source(paths: Sequence[object]) -> str:
    """Where boundaries read from files come from, for people: ``files a.gpkg, b.gpkg``."""
    return tr("files {paths}", paths=listing(str(p) for p in paths))
