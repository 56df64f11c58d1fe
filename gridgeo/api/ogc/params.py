"""Query parameters of the items request: ``bbox``, ``limit``, ``offset``, unknown names.

Bad values become 400 exceptions that name the parameter and the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from gridgeo.api.auth import KEY_QUERY
from gridgeo.api.ogc.errors import invalid_parameter
from gridgeo.i18n import tr
from gridgeo.wording import listing

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
"""Largest page; a larger ``limit`` is lowered to it, as OGC API Features says
(a too-large limit is not an error)."""

ITEMS_PARAMETERS = frozenset(
    {
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "f",
        "parent_code",
        "sortby",
        "properties",
        "filter",
        "filter-lang",
        "filter-crs",
    }
)
ITEM_PARAMETERS = frozenset({"crs", "f"})
JSON_FORMATS = frozenset({"json", "geojson"})


def parse_bbox(value: str) -> list[float]:
    """Four or six finite numbers from ``"minx,miny,maxx,maxy"`` (axis order of bbox-crs).

    Raises
    ------
    OGCError
        400 naming the parameter and the value.
    """
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (4, 6):
        raise invalid_parameter(
            "bbox", value, tr("expected 4 or 6 numbers, got {count}", count=len(parts))
        )
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise invalid_parameter("bbox", value, tr("not a list of numbers")) from None
    if not all(math.isfinite(n) for n in numbers):
        raise invalid_parameter("bbox", value, tr("numbers must be finite"))
    return numbers


def effective_limit(limit: int) -> int:
    """The page size served: ``limit`` lowered to :data:`MAX_LIMIT`."""
    return min(limit, MAX_LIMIT)


def reject_unknown(params: Iterable[tuple[str, str]], allowed: frozenset[str]) -> None:
    """400 for a query parameter the operation does not define (OGC /req/core/query-param-unknown).

    Raises
    ------
    OGCError
        Naming the unknown parameter and listing the allowed ones.
    """
    for name, value in params:
        if name not in allowed and name != KEY_QUERY:  # the key authenticates, any route
            raise invalid_parameter(
                name,
                value,
                tr("unknown parameter; allowed: {allowed}", allowed=listing(sorted(allowed))),
            )


def check_format(f: str | None) -> None:
    """JSON encodings (``f=json`` or ``f=geojson``); the routes that also serve HTML
    check ``f=html`` before calling this."""
    if f is not None and f.lower() not in JSON_FORMATS:
        raise invalid_parameter("f", f, tr("unsupported format; use json or geojson (or html)"))


def parse_sortby(text: str | None, known: Iterable[str]) -> list[tuple[str, bool]]:
    """``sortby=-level,+code`` (OGC API Features Part 8): (property, descending) pairs.

    Raises
    ------
    OGCError
        400 naming a property the collection does not have.
    """
    if text is None or not text.strip():
        return []
    names = set(known)
    keys = []
    for raw in text.split(","):
        item = raw.strip()
        descending = item.startswith("-")
        name = item.lstrip("+-").strip()
        if name not in names:
            problem = tr(
                "no property {name!r} to sort by; queryables: {known}",
                name=name,
                known=listing(sorted(names)),
            )
            raise invalid_parameter("sortby", text, problem)
        keys.append((name, descending))
    return keys


def parse_properties(text: str | None, known: Iterable[str]) -> list[str] | None:
    """``properties=code,name``: the properties to return (None: all).

    Raises
    ------
    OGCError
        400 naming a property the collection does not have.
    """
    if text is None:
        return None
    names = set(known)
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in names]
    if unknown:
        problem = tr(
            "no property {name!r}; queryables: {known}",
            name=unknown[0],
            known=listing(sorted(names)),
        )
        raise invalid_parameter("properties", text, problem)
    return wanted
