"""XML documents of the Open311 GeoReport v2 answers, well-formed whatever the data holds.

A report's text comes from the public: a description or address may hold characters
that XML 1.0 cannot carry at all, not even as character references (most C0 controls
such as U+0001 or U+001B, NUL, lone surrogates, U+FFFE and U+FFFF). Written as they
are, one such report would make every list that contains it unreadable to every XML
client. :func:`xml_text` replaces each with U+FFFD (the replacement character), so the
reader still sees that something was there; JSON answers escape them instead
(``\\u0001``), which JSON allows.

Examples
--------
>>> xml_text("坑\\x01洼\\x1b")
'坑�洼�'
>>> to_xml("errors", "error", [{"code": 400, "description": "bad\\x00"}]).decode()[-48:]
'<description>bad�</description></error></errors>'
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

# Everything outside XML 1.0's Char production (section 2.2 of the recommendation).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"


def xml_text(value: Any) -> str:
    """``value`` as XML character data: booleans as ``true``/``false``, None as empty,
    characters XML cannot carry replaced by U+FFFD."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    return _NOT_XML.sub(REPLACEMENT, text)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _append(node, k, v)
    elif isinstance(value, list):
        child = tag[:-1] if tag.endswith("s") else "item"  # values/value, formats/format
        for item in value:
            _append(node, child, item)
    else:
        node.text = xml_text(value)


def to_xml(root: str, item: str | None, body: Any) -> bytes:
    """XML as the spec shows it: ``<root><item>...</item></root>`` for a list ``body``
    (``item`` names each element), ``<root>...</root>`` for a mapping (``item`` None)."""
    top = ET.Element(root)
    if item is None:
        for k, v in body.items():
            _append(top, k, v)
    else:
        for row in body:
            _append(top, item, row)
    out: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return out
