"""Writing grid sets, reports and repair logs to files.

The format follows the output name: ``.gpkg`` writes one layer per level
(``level1_city`` ... ``level5_grid``) and their QGIS styles (``layer_styles``
table: :mod:`gridgeo.io.layer_styles`), ``.geojson``/``.json`` one
FeatureCollection with a ``level`` column, ``.zip`` a zipped Shapefile
(``grids.shp`` with UTF-8 ``.cpg``; ``parent_code`` becomes ``parent``, as
Shapefile names stop at 10 characters). Files are written to a temporary name
and moved into place, so a failed write never leaves half a file.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridgeo.errors import InputFileError
from gridgeo.i18n import tr
from gridgeo.io.gdal_library import pyogrio_module
from gridgeo.io.layer_styles import write_layer_styles
from gridgeo.levels import Level
from gridgeo.model import GridSet

if TYPE_CHECKING:  # pyogrio is imported by the functions that write files: a command
    import geopandas as gpd  # that writes none does not load GDAL's pandas side (0.3 s)

LAYER_NAMES = {lv: f"level{int(lv)}_{lv.en}" for lv in Level}


def layer_name(level: Level) -> str:
    """GeoPackage layer name for a level, e.g. ``level4_community``."""
    return LAYER_NAMES[level]


def write_grids(grids: GridSet, path: str | Path) -> Path:
    """Write a grid set; the format follows the suffix (see module docstring)."""
    path = Path(path)
    suffix = path.suffix.lower()
    frame = grids.frame.drop(columns=["ref"])
    writers = {
        ".gpkg": _write_gpkg,
        ".geojson": _write_geojson,
        ".json": _write_geojson,
        ".zip": _write_shapefile_zip,
    }
    if suffix not in writers:
        raise InputFileError(
            tr("{path}: unknown output format; use .gpkg, .geojson or .zip", path=path)
        )
    if len(frame) == 0:
        raise InputFileError(tr("{path}: no features to write", path=path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write under the final name inside a private directory beside the target (GDAL stores
    # the file name as the layer name), then move it into place in one rename.
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}.") as tmp:
        staged = Path(tmp) / path.name
        writers[suffix](frame, staged)
        staged.replace(path)
    return path


def _write_gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    levels = sorted({int(v) for v in frame["level"] if v > 0})
    for level in levels:
        part = frame[frame["level"] == level]
        pyogrio_module().write_dataframe(
            part,
            path,
            layer=layer_name(Level(level)),
            driver="GPKG",
            promote_to_multi=False,
            append=path.exists(),
        )
    unknown = frame[frame["level"] <= 0]
    if len(unknown):
        pyogrio_module().write_dataframe(
            unknown, path, layer="unknown_level", driver="GPKG", append=path.exists()
        )
    if levels:
        write_layer_styles(path, {Level(lv): layer_name(Level(lv)) for lv in levels})


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    pyogrio_module().write_dataframe(frame, path, driver="GeoJSON")


def _write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame = frame.rename(columns={"parent_code": "parent"})
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "grids.shp"
        pyogrio_module().write_dataframe(
            frame, shp, driver="ESRI Shapefile", encoding="UTF-8", promote_to_multi=True
        )
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for member in sorted(Path(tmp).iterdir()):
                zf.write(member, member.name)


def write_json(data: Any, path: str | Path) -> Path:
    """Write JSON (UTF-8, Chinese unescaped) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
