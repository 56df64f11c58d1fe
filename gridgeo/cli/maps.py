"""``gridgeo maps``: render the coverage, pilot, validation and case maps into a folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from gridgeo.cli.options import (
    add_column_options,
    add_format,
    add_source_options,
    columns,
    emit_json,
    settings,
)
from gridgeo.errors import InputFileError
from gridgeo.io.dataset import load
from gridgeo.io.tables import read_chunks
from gridgeo.levels import Level
from gridgeo.maps.cases import DEFAULT_CLASSES, DEFAULT_SCHEME, SCHEMES
from gridgeo.maps.render import CaseOptions, render_maps


def register(sub: Any) -> None:
    """Add the ``maps`` sub-command to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "maps",
        help="render coverage, pilot, validation and case maps (HTML, work offline)",
        description="Render one coverage map per level, the pilot overview, a map of the "
        "validation findings and a case map into a folder of HTML pages with Leaflet "
        "beside them (lib/): they open from disk or any intranet server with no internet. "
        "Text is Chinese by default (GRIDGEO_LANG=en or --lang en for English).",
    )
    p.add_argument(
        "-o", "--output", type=Path, default=Path("maps"), help="output folder (default maps/)"
    )
    add_source_options(p, staff=True)
    p.add_argument("--lang", choices=("zh", "en"), help="language of the map text")
    p.add_argument(
        "--basemap",
        choices=("none", "tianditu", "xyz"),
        help="base layer (default GRIDGEO_BASEMAP or none)",
    )
    p.add_argument(
        "--validate",
        type=Path,
        action="append",
        metavar="FILE",
        help="boundary file(s) whose validation findings the validation map shows "
        "(default: the mapped boundaries)",
    )
    g = p.add_argument_group("case map")
    g.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help="case points, CSV/GeoJSON/Parquet (default GRIDGEO_MAP_CASES when it exists)",
    )
    g.add_argument("--no-cases", action="store_true", help="no case map")
    g.add_argument("--lon-col", default="lon", help="longitude column (default lon)")
    g.add_argument("--lat-col", default="lat", help="latitude column (default lat)")
    g.add_argument(
        "--crs", default="wgs84", help="coordinates of the cases: wgs84, cgcs2000, gcj02, bd09"
    )
    g.add_argument(
        "--case-level",
        type=int,
        choices=[int(lv) for lv in Level],
        default=int(Level.GRID),
        help="level whose grids count the cases (default 5)",
    )
    g.add_argument(
        "--classes",
        type=int,
        choices=range(1, 8),
        default=DEFAULT_CLASSES,
        metavar="K",
        help=f"number of classes (default {DEFAULT_CLASSES})",
    )
    g.add_argument(
        "--scheme",
        choices=SCHEMES,
        default=DEFAULT_SCHEME,
        help=f"class breaks (mapclassify; default {DEFAULT_SCHEME})",
    )
    add_column_options(p)
    add_format(p)
    p.set_defaults(handler=run_maps)


def run_maps(args: argparse.Namespace) -> int:
    cfg = settings(args)
    updates = {k: v for k, v in (("lang", args.lang), ("basemap", args.basemap)) if v}
    cfg = cfg.model_copy(update=updates)
    data = load(
        args.boundaries,
        workstations=args.workstations,
        staff=args.staff,
        settings=cfg,
        columns=columns(args),
        assume_crs=args.assume_crs,
    )
    checked = (
        load(args.validate, settings=cfg, columns=columns(args), assume_crs=args.assume_crs)
        if args.validate
        else None
    )
    result = render_maps(
        data, args.output, settings=cfg, validation_data=checked, cases=_cases(args, cfg.map_cases)
    )
    if args.format == "json":
        emit_json(
            {
                "folder": str(result.folder),
                "pages": {k: str(v) for k, v in result.pages.items()},
                "skipped": result.skipped,
            }
        )
    else:
        for key, path in result.pages.items():
            print(f"{key:12} {path}")
        for key, why in result.skipped.items():
            print(f"{key:12} skipped: {why}")
    return 0


def _cases(args: argparse.Namespace, default: Path) -> CaseOptions | None:
    if args.no_cases:
        return None
    path = args.cases or (default if default.exists() else None)
    if path is None:
        return None
    if not Path(path).exists():
        raise InputFileError(f"{path}: case file not found")
    chunks = list(read_chunks(path, lon_col=args.lon_col, lat_col=args.lat_col))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return CaseOptions(
        frame,
        lon_col=args.lon_col,
        lat_col=args.lat_col,
        crs=args.crs,
        level=Level(args.case_level),
        scheme=args.scheme,
        classes=args.classes,
    )
