"""Reading partner units and their zones: GeoJSON, or CSV with grid codes.

Every problem of every row is collected and reported at once in one
:class:`~gridgeo.errors.InputFileError` whose lines name the file and the
feature or row.

GeoJSON (RFC 7946, lon/lat taken as CGCS2000) properties: ``code``, ``type``
(``police`` ... or a Chinese word such as 派出所), ``name``; optional
``contact``, ``phone``, ``note``, ``illustrative``, ``buffer_m`` and
``grid_codes``. The geometry gives the zone: a Polygon/MultiPolygon is a
``polygon`` zone; a LineString/MultiLineString/Point with ``buffer_m`` > 0 a
``buffer`` zone; no geometry (``null``) with ``grid_codes`` a ``grids`` zone.

CSV (UTF-8, optional BOM) columns: ``code``, ``type``, ``name``,
``grid_codes`` (separated by ``;``, ``,`` or spaces); optional ``wkt`` with
``buffer_m`` instead of grid codes, ``contact``, ``phone``, ``note``,
``illustrative``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from gridgeo.crs import CHINA_LAT, CHINA_LON
from gridgeo.errors import InputFileError
from gridgeo.i18n import tr
from gridgeo.partners import PartnerType, PartnerUnit, Zone, ZoneKind, parse_partner_type
from gridgeo.wording import listing

MAX_LISTED = 30
_POLYGONS = ("Polygon", "MultiPolygon")
_BUFFERABLE = ("LineString", "MultiLineString", "Point", "MultiPoint")
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f", ""}

Unit = Literal["feature", "row", "rule", "category"]


class RowProblems:
    """Problems collected while reading a file; raised together.

    ``unit`` is what the numbers count: features (GeoJSON), rows (CSV, the header
    is row 1), rules or categories (YAML); each line names the file and one of them.
    """

    def __init__(self, path: Path, unit: Unit) -> None:
        self.path = path
        self.unit: Unit = unit
        self.lines: list[str] = []

    def where(self, row: int) -> str:
        """The feature, row, rule or category numbered ``row``, in words."""
        if self.unit == "feature":
            return tr("feature {n}", n=row)
        if self.unit == "row":
            return tr("row {n}", n=row)
        if self.unit == "rule":
            return tr("rule {n}", n=row)
        return tr("category {n}", n=row)

    def add(self, row: int, message: str) -> None:
        self.add_line(self.where(row), message)

    def add_line(self, where: str, message: str) -> None:
        """A problem of the part of the file named ``where`` (``default_limits``)."""
        self.lines.append(
            tr("{path}, {where}: {problem}", path=self.path, where=where, problem=message)
        )

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        shown = self.lines[:MAX_LISTED]
        more = len(self.lines) - len(shown)
        tail = [tr("... and {more} more", more=more)] if more else []
        head = tr("{path}: {count} problem(s)", path=self.path, count=len(self.lines))
        raise InputFileError(head + "\n  " + "\n  ".join(shown + tail))


def read_csv_table(
    path: Path, what: Literal["partner", "routing"], required: tuple[str, ...]
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows and header of a planners' CSV file (UTF-8, with or without BOM).

    Raises InputFileError naming the file when it cannot be read or lacks a
    ``required`` column; ``what`` says which file it is (partner or routing CSV).
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(
            tr("{path}: cannot read partner CSV ({reason})", path=path, reason=exc)
            if what == "partner"
            else tr("{path}: cannot read routing CSV ({reason})", path=path, reason=exc)
        ) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise InputFileError(missing_columns(path, missing))
    return rows, header


def missing_columns(path: Path, missing: list[str]) -> str:
    """The message for a CSV file without the columns ``missing``."""
    return tr("{path}: missing column(s) {columns}", path=path, columns=listing(missing))


def parse_bool(value: object) -> bool | None:
    """True/False from yes/no/true/false/1/0/是/否; None when unrecognised."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    return False if text in _FALSE else None


def split_codes(value: object) -> tuple[str, ...]:
    """Grid codes from a list or a string separated by ``;``, ``,``, ``|`` or spaces."""
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(c for c in re.split(r"[;,|\s]+", str(value or "").strip()) if c)


def read_partners(path: str | Path) -> list[PartnerUnit]:
    """Read partner units from GeoJSON (``.geojson``/``.json``) or CSV (``.csv``).

    Raises
    ------
    InputFileError
        Listing every bad feature or row: missing code/type/name, unknown
        partner type, duplicate code, a geometry that gives no zone, a missing
        or non-positive ``buffer_m``, coordinates outside China.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    return _read_geojson(path)


def _read_geojson(path: Path) -> list[PartnerUnit]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"]
        if not isinstance(features, list):
            raise TypeError(tr("features is not a list"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(not_a_feature_collection(path, exc)) from None
    problems = RowProblems(path, "feature")
    units = []
    for i, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        geometry = _geometry(problems, i, (feature or {}).get("geometry"))
        unit = _unit(problems, i, props, geometry)
        if unit is not None:
            units.append(unit)
    _check_duplicates(problems, units)
    problems.raise_if_any()
    return units


def not_a_feature_collection(path: Path, exc: BaseException) -> str:
    """The message for a file that is not a GeoJSON FeatureCollection."""
    return tr("{path}: not a GeoJSON FeatureCollection ({reason})", path=path, reason=exc)


def _read_csv(path: Path) -> list[PartnerUnit]:
    rows, header = read_csv_table(path, "partner", ("code", "type", "name"))
    if "grid_codes" not in header and "wkt" not in header:
        raise InputFileError(
            tr("{path}: needs a grid_codes column (or wkt with buffer_m)", path=path)
        )
    problems = RowProblems(path, "row")
    units = []
    for line, row in enumerate(rows, start=2):
        geometry = _wkt(problems, line, row.get("wkt"))
        unit = _unit(problems, line, row, geometry)
        if unit is not None:
            units.append(unit)
    _check_duplicates(problems, units)
    problems.raise_if_any()
    return units


def _geometry(problems: RowProblems, i: int, geom: Any) -> BaseGeometry | None:
    if not geom:
        return None
    try:
        shape = shapely.from_geojson(json.dumps(geom))
    except (GEOSException, ValueError, TypeError) as exc:
        problems.add(i, tr("unreadable geometry ({reason})", reason=exc))
        return None
    return _checked(problems, i, shape)


def _wkt(problems: RowProblems, line: int, text: object) -> BaseGeometry | None:
    if not str(text or "").strip():
        return None
    try:
        shape = shapely.from_wkt(str(text))
    except (GEOSException, ValueError) as exc:
        problems.add(line, tr("unreadable wkt ({reason})", reason=exc))
        return None
    return _checked(problems, line, shape)


def _checked(problems: RowProblems, row: int, shape: BaseGeometry) -> BaseGeometry | None:
    if shape.is_empty:
        problems.add(row, tr("empty geometry"))
        return None
    xmin, ymin, xmax, ymax = shape.bounds
    inside = CHINA_LON[0] <= xmin and xmax <= CHINA_LON[1]
    inside = inside and CHINA_LAT[0] <= ymin and ymax <= CHINA_LAT[1]
    if not inside:
        problems.add(
            row,
            tr(
                "coordinates ({xmin:.6f}, {ymin:.6f}) .. ({xmax:.6f}, {ymax:.6f}) are not "
                "lon/lat in China (swapped axes, or projected metres?)",
                xmin=xmin,
                ymin=ymin,
                xmax=xmax,
                ymax=ymax,
            ),
        )
        return None
    return shape


def _unit(
    problems: RowProblems, row: int, props: dict[str, Any], geometry: BaseGeometry | None
) -> PartnerUnit | None:
    def text(name: str) -> str:
        value = props.get(name)
        return "" if value is None else str(value).strip()

    before = len(problems.lines)
    code, type_word, name = text("code"), text("type"), text("name")
    for field_name, value in (("code", code), ("type", type_word), ("name", name)):
        if not value:
            problems.add(row, tr("{field} is empty", field=field_name))
    ptype = parse_partner_type(type_word) if type_word else None
    if type_word and ptype is None:
        problems.add(
            row,
            tr(
                "unknown partner type {word!r} ({code}); use one of {types}",
                word=type_word,
                code=code,
                types=listing(t.value for t in PartnerType),
            ),
        )
    zone = _zone(problems, row, code, props, geometry)
    illustrative = parse_bool(props.get("illustrative"))
    if illustrative is None:
        problems.add(
            row,
            tr(
                "illustrative must be yes/no/true/false, not {value!r}",
                value=props["illustrative"],
            ),
        )
    if len(problems.lines) > before or ptype is None or zone is None:
        return None
    return PartnerUnit(
        code,
        ptype,
        name,
        zone,
        text("contact"),
        text("phone"),
        text("note"),
        bool(illustrative),
        row,
    )


def _zone(  # noqa: PLR0911 -- one return per zone shape and per refusal reads clearest
    problems: RowProblems,
    row: int,
    code: str,
    props: dict[str, Any],
    geometry: BaseGeometry | None,
) -> Zone | None:
    codes = split_codes(props.get("grid_codes"))
    buffer_m = _buffer(problems, row, props.get("buffer_m"))
    if geometry is None:
        if codes:
            return Zone(ZoneKind.GRIDS, None, codes)
        problems.add(
            row, tr("unit {code} has no zone: give a geometry or grid_codes", code=code or "?")
        )
        return None
    if codes:
        problems.add(
            row, tr("unit {code}: give either a geometry or grid_codes, not both", code=code)
        )
        return None
    if geometry.geom_type in _POLYGONS:
        if buffer_m:
            problems.add(
                row,
                tr("unit {code}: buffer_m applies to lines and points, not polygons", code=code),
            )
            return None
        return Zone(ZoneKind.POLYGON, geometry)
    if geometry.geom_type in _BUFFERABLE:
        if buffer_m is None or buffer_m <= 0:
            problems.add(
                row,
                tr(
                    "unit {code}: a {geom_type} zone needs buffer_m > 0 (metres "
                    "around the frontage line or post)",
                    code=code,
                    geom_type=geometry.geom_type,
                ),
            )
            return None
        return Zone(ZoneKind.BUFFER, geometry, (), buffer_m)
    problems.add(
        row,
        tr("unit {code}: a {geom_type} cannot be a zone", code=code, geom_type=geometry.geom_type),
    )
    return None


def _buffer(problems: RowProblems, row: int, value: object) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        number = float(str(value))
    except ValueError:
        problems.add(row, tr("buffer_m {value!r} is not a number of metres", value=value))
        return None
    if not math.isfinite(number) or number < 0:
        problems.add(row, tr("buffer_m {value!r} must be a positive number of metres", value=value))
        return None
    return number


def _check_duplicates(problems: RowProblems, units: list[PartnerUnit]) -> None:
    first: dict[str, int] = {}
    for unit in units:
        if unit.code in first:
            problems.add(
                unit.row,
                tr(
                    "code {code} already used ({where})",
                    code=unit.code,
                    where=problems.where(first[unit.code]),
                ),
            )
        first.setdefault(unit.code, unit.row)
