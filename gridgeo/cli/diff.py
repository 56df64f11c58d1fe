"""``gridgeo diff A B``: what changed between two versions of the boundaries.

Exit codes follow ``diff``: 0 no differences, 1 differences, 2 bad input.
A and B are resolved to grid sets by :func:`resolve_source`, the one place
that knows what an argument may name (a boundary file today; the store adds
version numbers there).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_column_options, add_format, columns, emit_json, settings
from gridgeo.cli.store import add_store_options, open_store
from gridgeo.diff import DEFAULT_MIN_IOU, GridDiff, diff_grids
from gridgeo.errors import InputFileError
from gridgeo.i18n import current_lang, tr
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import write_json
from gridgeo.model import GridSet
from gridgeo.settings import ValidationSettings
from gridgeo.store.snapshots import load_grids

EXIT_SAME, EXIT_DIFFERENT = 0, 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "diff",
        help=help_of("diff"),
        description=tr(
            "List grids added, removed, reshaped (area change and moved area), "
            "renamed, recoded and reparented from A to B. A and B are boundary files or stored "
            "version numbers (`gridgeo versions`)."
        ),
    )
    p.add_argument(
        "old", metavar="A", help=tr("the old version: a boundary file or a version number")
    )
    p.add_argument(
        "new", metavar="B", help=tr("the new version: a boundary file or a version number")
    )
    add_format(p, ("text", "json", "geojson"))
    p.add_argument("-o", "--output", type=Path, help=tr("write the diff here instead of stdout"))
    g = p.add_argument_group(tr("thresholds"))
    g.add_argument(
        "--area-tolerance",
        type=_non_negative,
        metavar="M2",
        help=tr("moved areas at or below this are noise (default GRIDGEO_AREA_TOLERANCE_M2, 1 m²)"),
    )
    g.add_argument(
        "--tolerance",
        type=_non_negative,
        metavar="M",
        help=tr(
            "moved pieces no wider than this are artefacts (default GRIDGEO_TOLERANCE_M, 0.05 m)"
        ),
    )
    g.add_argument(
        "--min-iou",
        type=_ratio,
        default=DEFAULT_MIN_IOU,
        metavar="R",
        help=tr(
            "overlap (intersection over union) from which a removed and an added grid "
            "are one recoded grid (default {default})",
            default=DEFAULT_MIN_IOU,
        ),
    )
    add_column_options(p)
    add_store_options(p)
    p.set_defaults(handler=run_diff)


def resolve_source(arg: str, args: argparse.Namespace) -> GridSet:
    """The grid set an ``A``/``B`` argument names.

    An existing boundary file (GeoJSON, GeoPackage, zipped Shapefile), read with
    the column and CRS options; otherwise a version number of the store
    (``--database-url``), e.g. ``gridgeo diff 3 4``. A file of the same name wins.

    Raises
    ------
    InputFileError
        The argument names nothing readable (CLI exit code 2).
    NotFoundError
        A version number the store does not hold.
    """
    path = Path(arg)
    if path.exists():
        return read_boundaries(
            [path], columns=columns(args), assume_crs=args.assume_crs, scheme=settings(args).scheme
        )
    if arg.isdigit():
        store, cfg, _ = open_store(args)
        with store.reading() as session:
            return load_grids(session, int(arg), cfg.scheme)
    raise InputFileError(tr("{arg}: no such boundary file (nor a version number)", arg=arg))


def run_diff(args: argparse.Namespace) -> int:
    old = resolve_source(args.old, args)
    new = resolve_source(args.new, args)
    defaults = ValidationSettings()
    area = defaults.area_tolerance_m2 if args.area_tolerance is None else args.area_tolerance
    width = defaults.tolerance_m if args.tolerance is None else args.tolerance
    diff = diff_grids(old, new, tolerance_m2=area, min_iou=args.min_iou, tolerance_m=width)
    _write(diff, args)
    return EXIT_SAME if diff.is_empty else EXIT_DIFFERENT


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(tr("must be >= 0, not {text}", text=text))
    return value


def _ratio(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(tr("must be in (0, 1], not {text}", text=text))
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a number: {text!r}", text=text)) from None
    if math.isnan(value):  # NaN would silently pass or fail every comparison
        raise argparse.ArgumentTypeError(tr("not a number: {text!r}", text=text))
    return value


def _write(diff: GridDiff, args: argparse.Namespace) -> None:
    if args.format == "text":
        text = diff.to_text(current_lang())
        if args.output:
            args.output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return
    data = diff.to_dict() if args.format == "json" else diff.to_geojson()
    if args.output:
        write_json(data, args.output)
    else:
        emit_json(data)
