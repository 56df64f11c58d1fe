"""The stream of ``gridgeo assign`` (:mod:`gridgeo.cli.assign`): the boundaries' index
and workstations loaded, the table's chunks assigned and written, the run reported.

Arrow chunks go from reader to writer where the input allows
(:meth:`_Run.in_arrow`: CSV and Parquet, four threads: Arrow's reading one and the
parsing one of :class:`~gridgeo.io.point_chunks.PointChunks`, this one assigning, and
the writer's),
pandas chunks otherwise (:meth:`_Run.in_pandas`: GeoJSON, points from a geometry,
dispatch, a CSV whose rows Arrow refuses).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import pyarrow as pa

import gridgeo
from gridgeo.batch import (
    ADDED_COLUMNS,
    AssignSummary,
    Parsed,
    assign_batch,
    assign_frame,
    prepare_columns,
    workstation_lookup,
)
from gridgeo.cli.options import columns, emit_json
from gridgeo.cli.source import load_source, source_line, store_index, store_settings
from gridgeo.i18n import tr
from gridgeo.index import GridIndex
from gridgeo.index.cache import index_for, index_for_files
from gridgeo.io.point_chunks import PointChunk, PointChunks
from gridgeo.io.tables import (
    Coordinates,
    CsvShapeError,
    TableReader,
    TableWriter,
    WriteBehind,
    table_format,
)
from gridgeo.wording import files_source, text_table

if TYPE_CHECKING:  # a Dataset and the dispatch only where a run reads one (not with an index)
    from tqdm import tqdm

    from gridgeo.dataset import Dataset
    from gridgeo.workstation import Workstation

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def run(
    args: argparse.Namespace,
    reader: TableReader,
    output: Path,
    *,
    crs: str,
    early: PointChunks | None = None,
) -> int:
    """The rest of :func:`gridgeo.cli.assign.run_assign`, once the input and the options
    are checked and ``early`` reads the first chunks: load the boundaries' index, stream
    the table, print the report."""
    source = _boundaries(args)
    report = assign_table(
        reader,
        output,
        source,
        crs=crs,
        # a bar on a terminal only: in a log or a pipe its redraws are noise
        progress=not args.no_progress and sys.stderr.isatty(),
        bom=not args.no_bom,
        category_col=args.category_col,
        early=early,
    )
    report = dataclasses.replace(report, version=source.version, source=source.line)
    if args.format == "json":
        emit_json(report.to_dict())
    else:
        print(report.to_text())
    return 0


@dataclass
class RunReport:
    """What one ``assign`` run did: status counts and timing."""

    output: Path
    summary: AssignSummary
    seconds: float
    version: int | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Counts by status, seconds and throughput, as printed by ``--format json``."""
        rows = self.summary.rows
        rate = rows / self.seconds if self.seconds > 0 else 0.0
        return {
            "output": str(self.output),
            **self.summary.to_dict(),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(rate, 1),
            "version": self.version,
        }

    def to_text(self) -> str:
        """A short human summary."""
        data = self.to_dict()
        lines = [
            tr(
                "{rows} rows assigned in {seconds:.2f} s ({rate:,.0f} rows/s) -> {output}",
                rows=data["rows"],
                seconds=data["seconds"],
                rate=data["rows_per_second"],
                output=self.output,
            )
        ]
        meanings = {
            "ok": tr("in a grid"),
            "unassigned": tr("outside every grid"),
            "bad_input": tr("coordinates missing, not numbers or out of range"),
        }
        rows = [[s, str(data[s]), meaning] for s, meaning in meanings.items()]
        lines += text_table(["", "", ""], rows, indent="  ", right=[1])[1:]
        if self.source:
            lines.append(f"  {self.source}")
        return "\n".join(lines)


@dataclass
class Boundaries:
    """What an ``assign`` run takes from its boundaries: the index and workstations, and
    the whole Dataset where the run reads it anyway (the store, the dispatch); boundary
    files seen before are not read at all (:func:`_boundaries`)."""

    index: GridIndex
    stations: dict[str, str]
    version: int | None
    line: str
    dataset: Dataset | None = None

    @classmethod
    def of(cls, dataset: Dataset) -> Boundaries:
        """From a loaded Dataset: its index (from the index folder, or built once)."""
        return cls(
            index_for(dataset.grids, dataset.settings.store.index_folder),
            workstation_lookup(dataset.workstations),
            dataset.version,
            source_line(dataset),
            dataset,
        )


def _boundaries(args: argparse.Namespace) -> Boundaries:
    if args.category_col is not None:
        return Boundaries.of(load_source(args, partners=args.partners, routing=args.routing))
    cfg = store_settings(args)
    if not args.boundaries:
        if args.workstations:  # the stored workstations replaced by a file's
            return Boundaries.of(load_source(args, cfg))
        stored = store_index(args, cfg)
        line = tr("boundaries: {source}", source=stored.source)
        lookup = workstation_lookup(stored.workstations)
        return Boundaries(stored.index, lookup, stored.version, line)
    # files this machine has indexed are not read again: their index is found by their bytes
    # and by what reads them (the reading options, and the versions of the code and GDAL)
    options = repr(
        (
            columns(args),
            getattr(args, "assume_crs", None),
            cfg.scheme,
            gridgeo.__version__,
            _gdal_release(),
        )
    )
    index = index_for_files(
        args.boundaries,
        lambda: load_source(args, cfg).grids,
        cfg.store.index_folder,
        options=options,
    )
    stations: list[Workstation] = []
    if args.workstations:
        from gridgeo.io.staff import read_workstations

        stations = read_workstations(args.workstations)
    line = tr("boundaries: {source}", source=files_source(args.boundaries))
    return Boundaries(index, workstation_lookup(stations), None, line)


def assign_table(
    reader: TableReader,
    output: Path,
    boundaries: Boundaries | Dataset,
    *,
    crs: str = "wgs84",
    progress: bool = True,
    category_col: str | None = None,
    bom: bool = True,
    types: Mapping[str, pa.DataType] | None = None,
    early: PointChunks | None = None,
) -> RunReport:
    """Assign every chunk of ``reader`` and write it to ``output`` (atomically).

    Parameters
    ----------
    reader
        The input table, already checked.
    output
        The output table; written only if the whole run succeeds.
    boundaries
        The index and workstations (:class:`Boundaries`), or a Dataset whose grid
        index is loaded from the index folder (``dataset.settings.store.index_folder``),
        or built once and saved there.
    crs
        Coordinate system of the input points.
    progress
        Show a tqdm progress bar (rows) on stderr.
    category_col
        Column of report categories: also add the dispatch columns, using the
        dataset's partners and routing table.
    bom
        CSV output: start with the UTF-8 byte order mark (for Excel).
    types
        Parquet types of the input's text columns (:func:`output_types`). When not
        given, a CSV read by Arrow is typed as it is assigned (:meth:`_Run.in_arrow`),
        any other input by :func:`output_types` first.
    early
        The Arrow path's chunks, being read since before the call (the command starts
        them first); used when they learn the types exactly when this run does, else
        closed. The caller closes them too, however the run ends.

    Returns
    -------
    RunReport
        Status counts and the time spent reading, assigning and writing.
    """
    if not isinstance(boundaries, Boundaries):  # a Dataset
        boundaries = Boundaries.of(boundaries)
    if category_col is not None and boundaries.dataset is None:
        raise ValueError("dispatch (category_col) needs the boundaries' Dataset")
    run = _Run(
        reader, output, boundaries, crs, category_col, bom, None if types is None else dict(types)
    )
    start = time.perf_counter()
    with _progress_bar(reader, progress) as bar:
        summary = None
        if reader.arrow_ready and category_col is None:
            try:
                summary = run.in_arrow(bar, early)
            except CsvShapeError as exc:  # pandas reads short rows and names a long one
                log.info("%s; reading it with pandas", exc)
                bar.reset()
        if summary is None:
            summary = run.in_pandas(bar)
        if bar.total != bar.n:  # the estimate was off: end on the true count
            bar.total = bar.n
            bar.refresh()
    return RunReport(output, summary, time.perf_counter() - start)


def output_types(
    reader: TableReader, output: Path, stop: threading.Event | None = None
) -> dict[str, pa.DataType]:
    """The Parquet types of a CSV input's columns: a Parquet output keeps its numbers as
    numbers, typed by one pass over the whole file (CSV outputs need none). What the
    pandas path takes first; the Arrow path learns them as it reads (:meth:`_Run.in_arrow`)."""
    return reader.csv_types(stop) if table_format(output) == "parquet" else {}


def _progress_bar(reader: TableReader, progress: bool) -> _Bar:
    """Rows done on stderr; a total (exact for Parquet, estimated for CSV) gives the rate
    and ETA. Without one, tqdm is not imported (15 ms of a run's start)."""
    if not progress:
        return _NoBar(reader.rows_estimate)
    from tqdm import tqdm

    return tqdm(total=reader.rows_estimate, unit=tr(" rows"), file=sys.stderr, mininterval=0.5)


@dataclass
class _NoBar:
    """What a run asks of its progress bar, counted and never shown (``--no-progress``)."""

    total: int | None
    n: int = 0

    def update(self, rows: int) -> None:
        self.n += rows

    def reset(self) -> None:
        self.n = 0

    def refresh(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


_Bar: TypeAlias = "tqdm[Any] | _NoBar"


def _drain(items: list[_T]) -> Iterator[_T]:
    """The items, each let go of as it is handed over."""
    while items:
        yield items.pop(0)


def _numbers(coordinates: tuple[Parsed, Parsed] | None) -> Coordinates | None:
    """The coordinates' values without their blank masks (what the writer takes)."""
    if coordinates is None:
        return None
    (lon, _), (lat, _) = coordinates
    return lon, lat


class _Retype(Exception):  # noqa: N818 - a signal between two methods, never shown
    """A column's type changed after the output's types were fixed: start again."""


@dataclass
class _Run:
    """One ``assign`` run's inputs, and its two ways through the table."""

    reader: TableReader
    output: Path
    boundaries: Boundaries
    crs: str
    category_col: str | None
    bom: bool
    types: dict[str, pa.DataType] | None  # None: not known yet (see :meth:`in_arrow`)

    def _writer(self, types: Mapping[str, pa.DataType]) -> TableWriter:
        return TableWriter(
            self.output,
            self.reader.layout,
            bom=self.bom,
            crs=self.crs,
            types=types,
            unsorted=ADDED_COLUMNS,
        )

    @property
    def _typed_as_read(self) -> bool:
        """True when the output's types are not known and can be learnt on the way:
        a CSV read by Arrow into Parquet."""
        return (
            self.types is None
            and self.reader.format == "csv"
            and table_format(self.output) == "parquet"
        )

    def in_arrow(self, bar: _Bar, early: PointChunks | None = None) -> AssignSummary:
        """Arrow chunks from reader to writer: no pandas round trip (CSV, Parquet).

        A CSV into Parquet without its types (:func:`output_types`) is typed as it is
        read, without a pass of its own: the first chunk's types are the output's, every
        further chunk is checked against them, and the output is written again from the
        start, with the types of all the rows, only when one of them changes (a column
        empty or all numbers in the first chunk and not further on). The types, and so
        the output, are those a typing pass would have given. ``early``: the first
        pass's chunks, if they were started before (:func:`assign_table`)."""
        learn = self._typed_as_read
        if early is not None and early.learns_types != learn:
            early.close()
            early = None
        chunks = early or PointChunks.start(self.reader, learn_types=learn)
        if learn:
            try:
                return self._assign_chunks(bar, chunks)
            except _Retype:
                log.info("%s: a column's type changed past the first chunk", self.reader.path)
                assert chunks.seen is not None
                self.types = chunks.seen.types
                bar.reset()
            chunks = PointChunks.start(self.reader, learn_types=False)
        return self._assign_chunks(bar, chunks)

    def _assign_chunks(self, bar: _Bar, chunks: PointChunks) -> AssignSummary:
        summary = AssignSummary()
        layout = self.reader.layout
        # Parquet takes the added columns as dictionaries: no text copied per row
        dictionary = table_format(self.output) == "parquet"
        with chunks as read:  # each chunk's coordinates (and types) read ahead
            self._prepare(dictionary)
            first: PointChunk = next(iter(read))  # one at least, empty without rows
            types = first[2] if first[2] is not None else (self.types or {})
            try:
                # written by a thread of its own while the next chunk is assigned
                with self._writer(types) as writer, WriteBehind(writer) as behind:
                    pending = [first]
                    del first  # held by the loop only: memory stays a few chunks
                    for chunk, coordinates, seen_types in itertools.chain(_drain(pending), read):
                        if seen_types is not None and seen_types != types:
                            raise _Retype
                        done = assign_batch(
                            chunk,
                            self.boundaries.index,
                            lon_col=layout.lon_col,
                            lat_col=layout.lat_col,
                            crs=self.crs,
                            stations=self.boundaries.stations,
                            coordinates=coordinates,
                            dictionary=dictionary,
                        )
                        behind.put(done, _numbers(coordinates))
                        summary.add_arrow(done.column("status"))
                        bar.update(done.num_rows)
            except _Retype:  # what was written is gone; the rest of the file is only typed
                for _ in read:  # (typed by the reading thread as it reads)
                    pass
                raise
        return summary

    def _prepare(self, dictionary: bool) -> None:
        """What the first chunk's assignment would build first, built while that chunk
        is read (:meth:`TableReader.read_ahead`): the code columns. (Not the GEOS
        fallback: a mapped index decides its few edge points from the shapes of the grids
        around them, and readying every shape held the reading thread back 0.1 s.)"""
        prepare_columns(self.boundaries.index, self.boundaries.stations, dictionary=dictionary)

    def in_pandas(self, bar: _Bar) -> AssignSummary:
        """pandas chunks: GeoJSON, points from a geometry, dispatch, ragged CSV."""
        if self.types is None:
            self.types = output_types(self.reader, self.output)
        summary = AssignSummary()
        layout = self.reader.layout
        dataset = self.boundaries.dataset
        routing = None
        if self.category_col is not None and dataset is not None:
            from gridgeo.dispatch import dispatch_frame

            routing = dataset.require_routing()
        with self._writer(self.types) as writer:
            for chunk in self.reader:
                done = assign_frame(
                    chunk,
                    self.boundaries.index,
                    lon_col=layout.lon_col,
                    lat_col=layout.lat_col,
                    crs=self.crs,
                    stations=self.boundaries.stations,
                )
                if self.category_col is not None and dataset is not None and routing is not None:
                    done = dispatch_frame(
                        done,
                        category_col=self.category_col,
                        zones=dataset.zones,
                        routing=routing,
                        categories=dataset.categories,
                        lon_col=layout.lon_col,
                        lat_col=layout.lat_col,
                        crs=self.crs,
                    )
                writer.write(done)
                summary.add(done["status"])
                bar.update(len(done))
        return summary


def _gdal_release() -> str:
    """The release of the GDAL that reads boundary files, as the index key has it: pyogrio's
    own release, which fixes the GDAL its wheel carries (importing pyogrio to ask would
    load GDAL, pandas and geopandas, 0.4 s, in a run that finds its index and reads no
    boundary file)."""
    try:
        return f"pyogrio {version('pyogrio')}"
    except PackageNotFoundError:  # pragma: no cover - a dependency of the package
        return "pyogrio ?"
