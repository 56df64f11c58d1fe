"""JSON answers that cannot fail to render, whatever the request held.

Error answers echo what a client sent (a validation error names the bad input), and
a JSON body may spell things that have no UTF-8 form or no JSON number form: a lone
surrogate (``"\\ud800"``) or, through Python's parser, ``NaN`` and ``Infinity``.
Starlette's JSONResponse fails on both, turning a 400 into a 500. Here a lone
surrogate is written back as the JSON escape it came as, and a non-finite number as
a string (``"NaN"``), so every answer is valid JSON in UTF-8.

Examples
--------
>>> json_bytes({"input": "a\\ud800", "value": float("nan"), "名": 1})
b'{"input":"a\\\\ud800","value":"NaN","\\xe5\\x90\\x8d":1}'
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse

from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as a string (``NaN``, ``Infinity``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # the spelling Python's parser accepts
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def json_bytes(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON (see the module)."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a non-finite number somewhere
        text = json.dumps(
            _finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
    # a lone surrogate has no UTF-8 form; "\udXXX" is its JSON escape, valid JSON text
    return text.encode("utf-8", "backslashreplace")


class SafeJSONResponse(JSONResponse):
    """A JSONResponse rendered by :func:`json_bytes`."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def file_inside(root: Path, relative: str) -> Path:
    """``root/relative`` if it is a file inside ``root`` (no ``..`` escapes), for the
    routes that serve static files; NotFoundError (404) otherwise."""
    target = (root / relative).resolve()
    if not target.is_file() or not target.is_relative_to(root.resolve()):
        raise NotFoundError(tr("no file {path!r}", path=relative))
    return target
