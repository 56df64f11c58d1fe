"""CQL2 filters on a collection's items (OGC API Features Part 3), evaluated vectorised.

``filter`` is parsed by pygeofilter (CQL2 text or CQL2 JSON, ``filter-lang``); the
syntax tree is evaluated here over the whole table at once, without ``eval``:
every node gives a numpy array with one value per feature (a property's values, a
literal broadcast) or a boolean mask, and spatial predicates run as vectorised
GEOS calls on the features' geometries. What is supported is what the
conformance classes declare (docs/API.md): comparisons, ``AND``/``OR``/``NOT``,
``LIKE``, ``BETWEEN``, ``IN``, ``IS NULL``, and the spatial functions
(``S_INTERSECTS``, ``S_DISJOINT``, ``S_CONTAINS``, ``S_WITHIN``, ``S_TOUCHES``,
``S_CROSSES``, ``S_OVERLAPS``, ``S_EQUALS``) with geometries in lon/lat. Anything
else (arithmetic, temporal and array operators, functions) is a 400 naming it.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from pygeofilter.util import like_pattern_to_re

from gridgeo.api.language import alternatives
from gridgeo.api.ogc.catalog import FeatureTable
from gridgeo.api.ogc.errors import invalid_parameter
from gridgeo.i18n import tr
from gridgeo.wording import listing

Mask = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]

LANGUAGES = ("cql2-text", "cql2-json")
MAX_FILTER_CHARS = 20_000  # a filter is a query, not a payload
# CRSs whose coordinates are the stored lon/lat (CGCS2000 and WGS84 are treated alike)
LONLAT_CRS = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SPATIAL: dict[str, Callable[..., Any]] = {
    "INTERSECTS": shapely.intersects,
    "DISJOINT": shapely.disjoint,
    "CONTAINS": shapely.contains,
    "WITHIN": shapely.within,
    "TOUCHES": shapely.touches,
    "CROSSES": shapely.crosses,
    "OVERLAPS": shapely.overlaps,
    "EQUALS": shapely.equals,
}


class _Column:
    """One value per feature (a property, or the geometries)."""

    def __init__(self, values: Objects, geometry: bool = False) -> None:
        self.values = values
        self.geometry = geometry


def filter_mask(
    table: FeatureTable, text: str, language: str | None = None, crs: str | None = None
) -> Mask:
    """Which features of ``table`` the CQL2 ``text`` selects.

    Raises
    ------
    OGCError
        400 for an unknown language or CRS, a filter that does not parse, a property
        the collection does not have, or an operator not supported.
    """
    if len(text) > MAX_FILTER_CHARS:
        raise invalid_parameter(
            "filter", _short(text), tr("over {most:,} characters", most=MAX_FILTER_CHARS)
        )
    lang = language or "cql2-text"
    if lang not in LANGUAGES:
        raise invalid_parameter(
            "filter-lang", lang, tr("use {choices}", choices=alternatives(LANGUAGES))
        )
    if crs is not None and crs not in LONLAT_CRS:
        raise invalid_parameter(
            "filter-crs", crs, tr("use one of {choices}", choices=listing(LONLAT_CRS))
        )
    try:
        tree = parse_cql2_text(text) if lang == "cql2-text" else parse_cql2_json(json.loads(text))
    except Exception as exc:  # the parsers raise many kinds: all mean "does not parse"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise invalid_parameter(
            "filter", _short(text), tr("not {lang}: {reason}", lang=lang, reason=first)
        ) from None
    try:
        result = _TableEvaluator(table).evaluate(tree)
    except RecursionError:
        raise invalid_parameter("filter", _short(text), tr("nested too deeply")) from None
    if not isinstance(result, np.ndarray) or result.dtype != np.bool_:
        raise invalid_parameter(
            "filter", _short(text), tr("not a condition (true or false per feature)")
        )
    return result


class _TableEvaluator(Evaluator):
    def __init__(self, table: FeatureTable) -> None:
        self.table = table
        self.n = len(table)

    # --- leaves ------------------------------------------------------------------------
    @handle(ast.Attribute)
    def attribute(self, node: ast.Attribute) -> _Column:
        if node.name == "geometry":
            return _Column(self.table.geometries, geometry=True)
        if node.name not in self.table.queryables:
            known = listing(sorted(self.table.queryables))
            raise invalid_parameter(
                "filter", node.name, tr("no such property; queryables: {known}", known=known)
            )
        column = np.empty(self.n, dtype=object)
        column[:] = [p.get(node.name) for p in self.table.properties]
        return _Column(column)

    @handle(int, float, str, bool)
    def literal(self, node: object) -> object:
        return node

    @handle(values.Geometry)
    def geometry(self, node: values.Geometry) -> Any:
        return shapely.from_geojson(json.dumps(node.geometry))

    @handle(values.Envelope)
    def envelope(self, node: values.Envelope) -> Any:
        return shapely.box(node.x1, node.y1, node.x2, node.y2)

    # --- logic -------------------------------------------------------------------------
    @handle(ast.And)
    def and_(self, node: ast.And, lhs: Mask, rhs: Mask) -> Mask:
        return _mask(lhs) & _mask(rhs)

    @handle(ast.Or)
    def or_(self, node: ast.Or, lhs: Mask, rhs: Mask) -> Mask:
        return _mask(lhs) | _mask(rhs)

    @handle(ast.Not)
    def not_(self, node: ast.Not, sub: Mask) -> Mask:
        return ~_mask(sub)

    # --- comparisons -------------------------------------------------------------------
    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node: ast.Comparison, lhs: object, rhs: object) -> Mask:
        compare = _COMPARE[node.op.value]
        left, right = self._values(lhs), self._values(rhs)
        return np.array([_safe(compare, a, b) for a, b in zip(left, right, strict=True)])

    @handle(ast.Between)
    def between(self, node: ast.Between, lhs: object, low: object, high: object) -> Mask:
        inside = [
            _safe(operator.le, lo, v) and _safe(operator.le, v, hi)
            for v, lo, hi in zip(
                self._values(lhs), self._values(low), self._values(high), strict=True
            )
        ]
        mask = np.array(inside, dtype=bool)
        return ~mask if node.not_ else mask

    @handle(ast.Like)
    def like(self, node: ast.Like, lhs: object) -> Mask:
        pattern = like_pattern_to_re(
            node.pattern, node.nocase, node.wildcard, node.singlechar, node.escapechar
        )
        regex = re.compile(pattern)
        found = np.array(
            [isinstance(v, str) and regex.match(v) is not None for v in self._values(lhs)],
            dtype=bool,
        )
        return ~found if node.not_ else found

    @handle(ast.In)
    def in_(self, node: ast.In, lhs: object, *options: object) -> Mask:
        wanted = set(options)
        found = np.array([v in wanted for v in self._values(lhs)], dtype=bool)
        return ~found if node.not_ else found

    @handle(ast.IsNull)
    def is_null(self, node: ast.IsNull, lhs: object) -> Mask:
        found = np.array([v is None for v in self._values(lhs)], dtype=bool)
        return ~found if node.not_ else found

    # --- space -------------------------------------------------------------------------
    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node: ast.SpatialComparisonPredicate, lhs: object, rhs: object) -> Mask:
        test = _SPATIAL[node.op.name]
        left, right = self._geometries(lhs), self._geometries(rhs)
        return np.asarray(test(left, right), dtype=bool)

    @handle(ast.BBox)
    def bbox(self, node: ast.BBox, lhs: object, *_: object) -> Mask:
        box = shapely.box(node.minx, node.miny, node.maxx, node.maxy)
        return np.asarray(shapely.intersects(self._geometries(lhs), box), dtype=bool)

    def adopt(self, node: object, *sub_args: object) -> object:
        name = type(node).__name__
        raise invalid_parameter("filter", name, tr("not supported here (see docs/API.md)"))

    # --- helpers -----------------------------------------------------------------------
    def _values(self, item: object) -> Objects:
        if isinstance(item, _Column):
            return item.values
        column = np.empty(self.n, dtype=object)
        column[:] = [item] * self.n
        return column

    def _geometries(self, item: object) -> Any:
        if isinstance(item, _Column):
            if not item.geometry:
                raise invalid_parameter(
                    "filter", "property", tr("a spatial function needs geometry")
                )
            return item.values
        if isinstance(item, shapely.Geometry):
            return item
        raise invalid_parameter("filter", item, tr("not a geometry"))


def _short(text: str) -> str:
    """The filter as echoed in an error: its first 80 characters."""
    return text if len(text) <= 80 else text[:80] + "..."


def _mask(value: object) -> Mask:
    if isinstance(value, np.ndarray) and value.dtype == np.bool_:
        return value
    raise invalid_parameter("filter", value, tr("AND, OR and NOT combine conditions"))


def _safe(compare: Callable[[Any, Any], bool], a: object, b: object) -> bool:
    """``compare(a, b)``; False for a null or values of kinds that do not compare."""
    if a is None or b is None:
        return False
    try:
        return bool(compare(a, b))
    except TypeError:
        return False
