"""``gridgeo assign``: assign every point of a table to its grids, chunk by chunk.

The input (CSV, GeoJSON or Parquet/GeoParquet) is streamed in chunks of
``--chunk-size`` rows through :func:`gridgeo.batch.assign_frame`, and each
chunk is appended to the output (format from its suffix) as soon as it is
done, so memory stays bounded whatever the input size. Every input row is
written, in order, with its columns untouched plus ``code_l1`` .. ``code_l5``,
``workstation_code`` and ``status`` (``ok``, ``unassigned``, ``bad_input``).
Bad rows are counted, never fatal: the exit code is 0 when the run completes.

With ``--category-col COL`` each row is also dispatched under the "1+2+N"
model (:func:`gridgeo.dispatch.dispatch_frame`): ``category_code``,
``dispatch_grid``, ``dispatch_partners``, ``dispatch_partner_types`` and
``dispatch_status`` are added.

This module is the command: its options, and the start of a run. It loads only what
reading the input needs; the assignment's modules (the grid index, the settings, the
store) are loaded by :mod:`gridgeo.cli.assign_stream` while the first chunks are read
(:class:`gridgeo.io.point_chunks.PointChunks`).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from gridgeo import compiled
from gridgeo.batch import ADDED_COLUMNS
from gridgeo.cli import collector
from gridgeo.cli.commands import help_of
from gridgeo.cli.options import add_column_options, add_format, crs_help
from gridgeo.cli.source import add_responsibility_options, add_source_options
from gridgeo.coords import parse_coord_system
from gridgeo.errors import GridgeoError, InputFileError
from gridgeo.i18n import tr
from gridgeo.io.point_chunks import PointChunks
from gridgeo.io.tables import DEFAULT_CHUNK_SIZE, TableReader, check_output, table_format
from gridgeo.wording import listing


def register(sub: Any) -> None:
    """Add the ``assign`` sub-command to the ``gridgeo`` parser."""
    p = sub.add_parser(
        "assign",
        help=help_of("assign"),
        description=tr(
            "Add the grid codes of levels 1-5, the workstation and a status "
            "(ok, unassigned, bad_input) to every row of a table of points. The table is "
            "streamed in chunks; formats follow the suffixes (.csv, .geojson/.json, .parquet). "
            "Exit 0 when the run completes, bad rows included; 2 when the input is unreadable."
        ),
    )
    p.add_argument("input", type=Path, metavar="INPUT", help=tr("table of points"))
    p.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help=tr("output table")
    )
    add_source_options(p)
    p.add_argument(
        "--lon-col", default="lon", metavar="COL", help=tr("longitude column (default lon)")
    )
    p.add_argument(
        "--lat-col", default="lat", metavar="COL", help=tr("latitude column (default lat)")
    )
    p.add_argument("--crs", default="wgs84", help=crs_help())
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="ROWS",
        help=tr("rows per chunk (default {n}); bounds the memory used", n=DEFAULT_CHUNK_SIZE),
    )
    p.add_argument(
        "--encoding",
        metavar="ENC",
        help=tr(
            "text encoding of a CSV input, e.g. gbk (default: told from its first megabyte: "
            "UTF-8 with or without BOM, or GBK/GB18030)"
        ),
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help=tr("no progress bar (shown only when stderr is a terminal)"),
    )
    p.add_argument(
        "--no-bom",
        action="store_true",
        help=tr(
            "CSV output without the UTF-8 byte order mark (by default it has one, so that "
            "Excel on Chinese Windows reads it as UTF-8)"
        ),
    )
    p.add_argument(
        "--category-col",
        metavar="COL",
        help=tr(
            "column with each report's category (code or Chinese name): also add who "
            "handles it (category_code, dispatch_grid, dispatch_partners, "
            "dispatch_partner_types, dispatch_status; docs/DISPATCH.md)"
        ),
    )
    add_responsibility_options(p)
    add_format(p)
    add_column_options(p)
    p.set_defaults(handler=run_assign)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(tr("not a whole number: {text!r}", text=text)) from None
    if value < 1:
        raise argparse.ArgumentTypeError(tr("must be at least 1, not {value}", value=value))
    if value > MAX_CHUNK_SIZE:  # the readers count rows in C integers of 32 bits
        raise argparse.ArgumentTypeError(
            tr("must be at most {most:,}, not {value:,}", most=MAX_CHUNK_SIZE, value=value)
        )
    return value


MAX_CHUNK_SIZE = 2**31 - 1


def run_assign(args: argparse.Namespace) -> int:
    """Handler of ``gridgeo assign``: check the files, start reading the input, load the
    assignment and its index meanwhile, stream the table (:func:`assign_stream.run`)."""
    crs = parse_coord_system(args.crs)
    output = check_output(args.output)
    _check_not_the_input(args.input, output)
    if _input_bytes(args.input) >= compiled.LARGE_INPUT_BYTES:
        compiled.load_in_background()  # the run starts in numpy and goes on in numba
    reader = TableReader(
        args.input,
        lon_col=args.lon_col,
        lat_col=args.lat_col,
        chunk_size=args.chunk_size,
        encoding=args.encoding,
    )
    _check_no_added_columns(reader, args.category_col)
    _check_source_options(args)
    early = None
    if args.category_col is None and reader.arrow_ready:  # the Arrow path
        # a CSV into Parquet is typed as it is read (:meth:`assign_stream._Run.in_arrow`)
        typed = reader.format == "csv" and table_format(output) == "parquet"
        early = PointChunks.start(reader, learn_types=typed)
    try:
        with collector.loading():  # a second core reads the first chunks meanwhile
            from gridgeo.cli import assign_stream
        return assign_stream.run(args, reader, output, crs=crs, early=early)
    finally:  # the rows not asked for (the run failed): stop reading them
        if early is not None:
            early.close()


def _check_source_options(args: argparse.Namespace) -> None:
    """Refuse contradicting options before any file is read."""
    if args.boundaries and (args.version is not None or args.at is not None):
        raise GridgeoError(tr("give --boundaries FILE or --version/--at, not both"))


def _check_no_added_columns(reader: TableReader, category_col: str | None = None) -> None:
    """Refuse input that already has one of the added columns (it would be overwritten)."""
    if category_col is not None and category_col not in reader.columns:
        raise InputFileError(
            tr(
                "{path}: no category column {column!r}; columns are {columns}",
                path=reader.path,
                column=category_col,
                columns=listing(reader.columns),
            )
        )
    added = ADDED_COLUMNS
    if category_col is not None:
        from gridgeo.dispatch import DISPATCH_COLUMNS

        added += DISPATCH_COLUMNS
    clash = [c for c in added if c in reader.columns]
    if clash:
        raise InputFileError(
            tr(
                "{path}: already has the column(s) {names} that assign adds; "
                "remove or rename them first",
                path=reader.path,
                names=listing(clash),
            )
        )


def _check_not_the_input(source: Path, output: Path) -> None:
    """Refuse an output that is the input: the finished output would replace it."""
    with contextlib.suppress(OSError):  # no output yet, or no input (the reader says so)
        if source.samefile(output):
            raise InputFileError(
                tr(
                    "{path}: the output is the input, and would replace it; write the "
                    "output to another file",
                    path=output,
                )
            )


def _input_bytes(path: Path) -> int:
    """The input's size on disk (0 when it cannot be told: the reader says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
