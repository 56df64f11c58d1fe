"""Text fields a store can keep: no NUL, no lone surrogate.

PostgreSQL's ``text`` cannot hold U+0000 at all, and a lone surrogate (U+D800 to
U+DFFF, which a JSON body can spell as ``"\\ud800"``) has no UTF-8 form, so neither
SQLite nor PostgreSQL can be handed it. Such text is refused before anything is
written, with the field named, rather than failing inside the database (where a
report would be lost behind a 500). Other control characters are kept: they are
valid text, and the XML writer (``gridgeo.api.xml_documents``) replaces what XML
cannot carry.

Examples
--------
>>> check_text("description", "井盖缺失\\t路口")
'井盖缺失\\t路口'
>>> check_text("address", "中山路\\x00号")
Traceback (most recent call last):
...
gridgeo.errors.TextError: address: character 4 is U+0000 (NUL), which cannot be stored; remove it
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gridgeo.errors import TextError
from gridgeo.i18n import tr

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(field: str, value: str) -> str:
    """``value`` unchanged; TextError naming ``field`` and the first unstorable character."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        char = found.group()
        what = (
            tr("U+0000 (NUL)")
            if char == "\x00"
            else tr("U+{point:04X} (a lone surrogate)", point=ord(char))
        )
        raise TextError(
            tr(
                "{field}: character {n} is {what}, which cannot be stored; remove it",
                field=field,
                n=found.start() + 1,
                what=what,
            )
        )
    return value


def check_texts(field: str, value: Any) -> Any:
    """:func:`check_text` on every string in ``value`` (mappings and lists, keys included);
    the field is named by its path (``attributes.open311.note``)."""
    if isinstance(value, str):
        return check_text(field, value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            check_text(f"{field} key", str(key))
            check_texts(f"{field}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            check_texts(f"{field}[{n}]", item)
    return value
