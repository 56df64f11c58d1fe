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
from collections.abc import Iterable

from gridgeo.i18n import current_lang
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
