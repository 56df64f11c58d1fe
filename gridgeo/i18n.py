"""Text people read, in Chinese (the default) or English: one catalog, one function.

A message is written once, in English, as a :meth:`str.format` template with named
fields and wrapped in :func:`tr`; :func:`tr` looks the template up in the catalog
of the current language and fills the fields. The Chinese catalog is
``gridgeo/locale/zh/LC_MESSAGES/*.po`` (GNU gettext, one part per area of the
package), compiled to the ``.mo`` files read here by ``make messages`` (Babel);
``tests/test_i18n.py`` reads every template in the source and fails on one
without a Chinese text, on a text whose fields differ, and on a stale ``.mo``.

The language is a context variable: the CLI sets it once from ``--lang`` or
``GRIDGEO_LANG``, the service per request. Code in the core never reads the
environment for it.

Examples
--------
>>> from gridgeo.i18n import tr, use_lang
>>> with use_lang("en"):
...     tr("{path}: no such file", path="grids.gpkg")
'grids.gpkg: no such file'
>>> with use_lang("zh"):
...     tr("{path}: no such file", path="grids.gpkg")
'grids.gpkg：文件不存在'
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
ARGPARSE_DOMAIN = "argparse"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[Lang] = ContextVar("gridgeo_lang", default="zh")


def tr(template: str, /, **fields: Any) -> str:
    """``template`` in the current language, its ``{fields}`` filled.

    Parameters
    ----------
    template : str
        The English text, a :meth:`str.format` template with named fields only
        (``{code!r}``, ``{count:,}``); literal braces doubled. It is the catalog's
        key, so it must be a literal string at the call (the extractor reads it).
    **fields
        The values of the template's fields.

    Returns
    -------
    str
        The text in the current language (:func:`current_lang`); the English
        template when the catalog has no entry for it.
    """
    # formatted even without fields: doubled braces mean one brace in every template
    return _catalog(_current.get()).gettext(template).format(**fields)


def current_lang() -> Lang:
    """The language :func:`tr` writes in now."""
    return _current.get()


def set_lang(lang: Lang) -> None:
    """Make ``lang`` the language of this context (the CLI calls it once)."""
    _current.set(lang)


@contextmanager
def use_lang(lang: Lang) -> Iterator[None]:
    """Write in ``lang`` inside the block (a request, a test), then restore."""
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def parse_lang(value: str) -> Lang:
    """``value`` as a language: ``zh``/``en``, also ``zh-CN``, ``zh_CN.UTF-8``, ``en-US``.

    Raises ``ValueError`` (in English and Chinese: the language is not known yet)
    for anything else.

    >>> parse_lang("zh_CN.UTF-8"), parse_lang("EN-us")
    ('zh', 'en')
    """
    head = value.strip().lower().replace("_", "-").split("-")[0].split(".")[0]
    for lang in LANGS:
        if head == lang:
            return lang
    raise ValueError(f"unknown language {value!r} (未知语言); choose zh or en")


def catalog(lang: Lang) -> gettext.NullTranslations:
    """The gettext catalog of ``lang`` (English has none: the templates are English)."""
    return _catalog(lang)


def use_argparse_lang(lang: Lang) -> None:
    """Have :mod:`argparse` (usage, help, its errors) write in ``lang``.

    argparse looks its messages up with :func:`gettext.gettext`, in gettext's
    global domain and the language of the ``LANGUAGE`` environment variable, so
    the CLI, which owns its process, points both at ``argparse.mo`` here.
    """
    os.environ["LANGUAGE"] = lang
    gettext.bindtextdomain(ARGPARSE_DOMAIN, LOCALE_DIR)
    gettext.textdomain(ARGPARSE_DOMAIN)


@cache
def _catalog(lang: Lang) -> gettext.NullTranslations:
    """The catalog of ``lang``: its parts (one ``.mo`` per area of the package, so
    that they can be edited apart) chained into one."""
    chained = gettext.NullTranslations()
    if lang == "en":
        return chained
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    parts = sorted(p for p in folder.glob("*.mo") if p.stem != ARGPARSE_DOMAIN)
    if not parts:  # a packaging fault, never to be papered over with English
        raise FileNotFoundError(f"no compiled catalog in {folder} (run make messages)")
    for part in parts:
        with part.open("rb") as fh:
            chained.add_fallback(gettext.GNUTranslations(fh))
    return chained
