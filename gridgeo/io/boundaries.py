"""Reading boundary files (GeoJSON, GeoPackage, Shapefile, zipped Shapefile) via pyogrio.

Each file becomes a :class:`~gridgeo.model.GridSet` in EPSG:4490. The CRS is
the file's own; a file without one is refused unless ``assume_crs`` is given.
Coordinates that contradict the CRS (lat/lon swapped, metres labelled as
degrees, degrees labelled as metres, or far outside China) are refused with the
feature named.

GeoPackages may hold one layer per level (the layer name tells the level when
it contains ``level1``-``level5``, ``l1``-``l5`` or a level's name such as
``community``/``社区``) or one layer with a level column; non-spatial layers
are skipped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
import shapely.errors

from gridgeo.codes import CodeScheme
from gridgeo.crs import CHINA_LAT, CHINA_LON, STORAGE_EPSG, accepted_epsg, parse_crs
from gridgeo.errors import CRSError, FeatureError, InputFileError
from gridgeo.i18n import tr
from gridgeo.io.gdal_library import pyogrio_module
from gridgeo.levels import LEVEL_WORDS, Level, parse_level
from gridgeo.model import GridSet
from gridgeo.wording import listing

if TYPE_CHECKING:  # pyogrio and geopandas are imported by the functions that read files:
    import geopandas as gpd  # a command that finds its boundaries' index reads none (0.3 s)

CODE_NAMES = (
    "code",
    "编码",
    "代码",
    "网格编码",
    "网格代码",
    "区划代码",
    "行政区划代码",
    "adcode",
    "grid_code",
    "gridcode",
)
NAME_NAMES = ("name", "名称", "网格名称", "区划名称", "地名")
LEVEL_NAMES = ("level", "级别", "层级", "网格级别", "网格层级")
PARENT_NAMES = (
    "parent_code",
    "parent",
    "上级编码",
    "父级编码",
    "上级代码",
    "parentcode",
    "parent_cod",
)  # shapefiles cut names at 10 characters


@dataclass(frozen=True)
class ColumnMap:
    """Which attribute holds each core field; None means: recognise it by name.

    Recognised names (case-insensitive) are listed in ``CODE_NAMES``,
    ``NAME_NAMES``, ``LEVEL_NAMES`` and ``PARENT_NAMES``: the English defaults
    ``code``/``name``/``level``/``parent_code`` and common Chinese headers such
    as 编码/名称/级别/上级编码.
    """

    code: str | None = None
    name: str | None = None
    level: str | None = None
    parent_code: str | None = None


def read_boundaries(
    paths: Iterable[str | Path],
    *,
    columns: ColumnMap | None = None,
    assume_crs: str | None = None,
    scheme: CodeScheme | None = None,
) -> GridSet:
    """Read one or more boundary files into one grid set (EPSG:4490).

    Raises
    ------
    InputFileError
        A file is missing, unreadable or has no usable layer; or a feature's
        coordinates contradict the CRS (:class:`~gridgeo.errors.FeatureError`).
    CRSError
        A file has no CRS and ``assume_crs`` is not given, or an unsupported CRS.
    """
    sets = [
        read_boundary_file(p, columns=columns, assume_crs=assume_crs, scheme=scheme) for p in paths
    ]
    if not sets:
        raise InputFileError(tr("no boundary file given"))
    grids = GridSet.concat(sets)
    if len(grids) == 0:
        names = listing(Path(p).name for p in paths)
        raise InputFileError(tr("{names}: holds no features: nothing to import", names=names))
    return grids


def read_boundary_file(
    path: str | Path,
    *,
    columns: ColumnMap | None = None,
    assume_crs: str | None = None,
    scheme: CodeScheme | None = None,
) -> GridSet:
    """Read every polygon layer of one file (see :func:`read_boundaries`)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(tr("{path}: no such file", path=path))
    layers = spatial_layers(path)
    frames = [
        _read_layer(path, layer, len(layers) > 1, columns or ColumnMap(), assume_crs)
        for layer in layers
    ]
    return GridSet.concat([GridSet.from_frame(f, scheme) for f in frames])


def spatial_layers(path: Path) -> list[str]:
    """The names of the layers of ``path`` that hold geometries (InputFileError if none)."""
    pyogrio = pyogrio_module()
    errors = pyogrio.errors
    try:
        listed = pyogrio.list_layers(path)
    except (errors.DataSourceError, errors.DataLayerError, OSError) as exc:
        raise InputFileError(
            tr(
                "{path}: cannot open as a vector file ({reason})",
                path=path,
                reason=_first_line(exc),
            )
        ) from None
    layers = [str(name) for name, gtype in listed if gtype is not None]
    if not layers:
        raise InputFileError(tr("{path}: holds no layer with geometries", path=path))
    return layers


def _read_layer(
    path: Path, layer: str, many: bool, columns: ColumnMap, assume_crs: str | None
) -> gpd.GeoDataFrame:
    source = f"{path.name}:{layer}" if many else path.name
    _check_geojson_crs(path, source)
    pyogrio = pyogrio_module()
    errors = pyogrio.errors
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pyogrio notes on GDAL quirks
            frame = pyogrio.read_dataframe(path, layer=layer)
    except (errors.DataSourceError, errors.DataLayerError, OSError, ValueError) as exc:
        raise InputFileError(cannot_read(source, exc)) from None
    except shapely.errors.GEOSException as exc:  # GDAL passed a geometry GEOS cannot build
        at = _first_unbuildable(path, layer)
        raise FeatureError(
            source,
            f"#{at}" if at is not None else tr("(unknown)"),
            tr(
                "its geometry cannot be built ({reason}): fix it (QGIS: Fix geometries) "
                "and send the file again",
                reason=_first_line(exc),
            ),
        ) from None
    frame = _rename_columns(frame, columns, source)
    if "level" not in frame.columns and (hint := level_from_layer_name(layer)) is not None:
        frame["level"] = int(hint)
    frame["ref"] = [f"{source}#{i}" for i in range(len(frame))]
    return _to_storage_crs(frame, source, assume_crs)


def _first_unbuildable(path: Path, layer: str) -> int | None:
    """The 1-based number of the first feature whose geometry GEOS cannot build."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, _, wkb, _ = pyogrio_module().raw.read(path, layer=layer, columns=[])
    for n, blob in enumerate(wkb, start=1):
        if blob is not None and shapely.from_wkb(blob, on_invalid="ignore") is None:
            return n
    return None


# the old GeoJSON "crs" member, as QGIS and ogr2ogr still write it: {"type": "name",
# "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
_CRS_MEMBER = re.compile(
    rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]{1,200})"'
)


def _check_geojson_crs(path: Path, source: str) -> None:
    """A GeoJSON ``crs`` member that names no known CRS is an error: GDAL would read the
    file as WGS84 without a word, and every grid would land somewhere else."""
    if path.suffix.lower() not in (".geojson", ".json"):
        return
    with path.open("rb") as f:
        head = f.read(65536)  # the member precedes the features in every writer seen
    found = _CRS_MEMBER.search(head)
    if found is None:
        return
    name = found.group(1).decode("utf-8", "replace")
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        CRS.from_user_input(name)
    except ProjCRSError:
        raise InputFileError(
            tr(
                "{source}: its crs member names {name!r}, which is not a known coordinate "
                "reference system; fix it (e.g. EPSG:4490 for CGCS2000) or remove it and "
                "give --assume-crs",
                source=source,
                name=name,
            )
        ) from None


def _rename_columns(frame: gpd.GeoDataFrame, columns: ColumnMap, source: str) -> gpd.GeoDataFrame:
    lower = {str(c).lower(): str(c) for c in frame.columns if c != "geometry"}
    renames: dict[str, str] = {}
    for field, chosen, known in (
        ("code", columns.code, CODE_NAMES),
        ("name", columns.name, NAME_NAMES),
        ("level", columns.level, LEVEL_NAMES),
        ("parent_code", columns.parent_code, PARENT_NAMES),
    ):
        if chosen is not None:
            if chosen not in frame.columns:
                raise InputFileError(
                    tr(
                        "{source}: no column {column!r} for {field}; columns are {columns}",
                        source=source,
                        column=chosen,
                        field=field,
                        columns=listing(lower.values()) or tr("(none)"),
                    )
                )
            renames[chosen] = field
            continue
        found = next((lower[k.lower()] for k in known if k.lower() in lower), None)
        if found is not None and found not in renames:
            renames[found] = field
    clashes = [c for c in frame.columns if c in renames.values() and c not in renames]
    frame = frame.drop(columns=clashes)
    return frame.rename(columns=renames)


def level_from_layer_name(layer: str) -> Level | None:
    """The level a layer name states (``level5_grid``, ``l4``, ``社区``), else None."""
    text = layer.lower()
    match = re.search(r"(?:^|[^a-z])(?:level|l)_?([1-5])(?:[^0-9]|$)", text)
    if match:
        return Level(int(match.group(1)))
    for word in sorted(LEVEL_WORDS, key=len, reverse=True):
        if len(word) > 1 and not word.isdigit() and word in text:
            return parse_level(word)
    return None


def _to_storage_crs(
    frame: gpd.GeoDataFrame, source: str, assume_crs: str | None
) -> gpd.GeoDataFrame:
    if frame.crs is None:
        if assume_crs is None:
            raise CRSError(
                tr(
                    "{source} has no CRS; if you know it, pass --assume-crs (for example "
                    "--assume-crs EPSG:4490 for CGCS2000 lon/lat or EPSG:4546 for Guilin's "
                    "Gauss-Kruger zone)",
                    source=source,
                )
            )
        frame = frame.set_crs(parse_crs(assume_crs))
    crs = parse_crs(frame.crs)
    try:
        epsg = accepted_epsg(crs)
    except CRSError as exc:
        raise CRSError(tr("{source}: {crs_problem}", source=source, crs_problem=exc)) from None
    _check_coordinates(frame, source, crs.is_geographic)
    frame = frame.to_crs(STORAGE_EPSG) if epsg != STORAGE_EPSG else frame
    if not crs.is_geographic:
        _check_coordinates(frame, source, geographic=True)
    return frame.set_crs(STORAGE_EPSG, allow_override=True)


def _check_coordinates(frame: gpd.GeoDataFrame, source: str, geographic: bool) -> None:
    """Refuse coordinates that contradict the CRS, naming the first bad feature."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    bounds = shapely.bounds(geoms)
    ok = ~np.isnan(bounds).any(axis=1)
    for i in np.flatnonzero(ok):
        problem = _coordinate_problem(bounds[i], geographic)
        if problem is not None:
            raise FeatureError(source, _feature_name(frame, int(i)), problem)


def _coordinate_problem(b: Sequence[float], geographic: bool) -> str | None:
    xmin, ymin, xmax, ymax = b
    degrees_like = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    if not geographic:
        return (
            tr("coordinates look like degrees but the CRS is projected (metres); set the right CRS")
            if degrees_like
            else None
        )
    # (lat, lon) in China: x in the latitude range, y in the longitude range (y may exceed 90)
    if _inside(b, x_range=CHINA_LAT, y_range=CHINA_LON):
        return tr(
            "coordinates ({x:.6g}, {y:.6g}) look like (lat, lon) swapped: "
            "longitude must come first",
            x=xmin,
            y=ymin,
        )
    if not degrees_like:
        return tr(
            "coordinates ({x:.6g}, {y:.6g}) are not degrees: projected metres "
            "labelled as a geographic CRS? Set the file's real CRS (e.g. EPSG:4546)",
            x=xmin,
            y=ymin,
        )
    if not _inside(b, x_range=CHINA_LON, y_range=CHINA_LAT):
        return tr(
            "coordinates ({xmin:.6g}, {ymin:.6g}) to ({xmax:.6g}, {ymax:.6g}) lie "
            "outside China; check the CRS",
            xmin=xmin,
            ymin=ymin,
            xmax=xmax,
            ymax=ymax,
        )
    return None


def _inside(
    b: Sequence[float], *, x_range: tuple[float, float], y_range: tuple[float, float]
) -> bool:
    """True if bounds (xmin, ymin, xmax, ymax) lie within the two ranges."""
    xmin, ymin, xmax, ymax = b
    return bool(
        x_range[0] <= xmin and xmax <= x_range[1] and y_range[0] <= ymin and ymax <= y_range[1]
    )


def _feature_name(frame: gpd.GeoDataFrame, i: int) -> str:
    row = frame.iloc[i]
    parts = [f"#{i}"]
    for column in ("code", "name"):
        value = row.get(column) if column in frame.columns else None
        if value is not None and str(value) not in ("", "nan", "None"):
            parts.append(str(value))
    return " ".join(parts)


def cannot_read(source: str, exc: BaseException) -> str:
    """The message for a file or layer GDAL cannot read, with the first line of its error."""
    return tr("{source}: cannot read ({reason})", source=source, reason=_first_line(exc))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
