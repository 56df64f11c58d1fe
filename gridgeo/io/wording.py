"""Small helpers for the messages of the readers: lists written as the language writes them."""

from __future__ import annotations

from collections.abc import Iterable

from gridgeo.i18n import current_lang


def listing(values: Iterable[object]) -> str:
    """``values`` as one list in the current language: ``a, b, c`` or ``a、b、c``.

    >>> from gridgeo.i18n import use_lang
    >>> with use_lang("zh"):
    ...     listing(["code", "name"])
    'code、name'
    >>> with use_lang("en"):
    ...     listing(["code", "name"])
    'code, name'
    """
    return ("、" if current_lang() == "zh" else ", ").join(str(v) for v in values)
