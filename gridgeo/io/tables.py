"""Chunked reading and writing of point tables (CSV, GeoJSON, Parquet/GeoParquet).

The batch command (``gridgeo assign``) streams a table of any size through
:func:`gridgeo.batch.assign_frame`: :class:`TableReader` yields pandas
DataFrames of at most ``chunk_size`` rows and :class:`TableWriter` appends
each processed chunk to the output, so memory stays bounded by the chunk size.
The format of each file follows its suffix (case-insensitive):

============  ===============================================================
``.csv``      UTF-8 text. Every value is read as text, so it is written back
              exactly as given (empty cells, leading zeros such as ``007``).
``.geojson``  A FeatureCollection (``.json`` too), read through GDAL in
              batches. The properties are the columns; the geometry is
              carried in a WKB column. Features with a null or empty geometry
              are kept (their coordinates are missing, hence bad input).
``.parquet``  Parquet or GeoParquet, streamed by record batch. A GeoParquet
              WKB geometry column is kept, with its ``geo`` metadata.
============  ===============================================================

Coordinates come from the ``lon_col``/``lat_col`` columns when the table has
both; otherwise from a point geometry column (GeoJSON, GeoParquet), in which
case the reader adds ``lon_col``/``lat_col`` columns computed from it
(``Layout.derived``). Writers that can hold geometry (GeoJSON, Parquet) drop
those derived columns again and keep the geometry; the CSV writer keeps them
and drops the binary geometry.

Chunks from GeoJSON and Parquet use pyarrow-backed dtypes (``pd.ArrowDtype``),
so integers with nulls, nested values and timestamps survive the round trip.

Output is staged in a private directory beside the target and renamed into
place when the writer closes without error: a failed run leaves no partial file.
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import contextvars
import copy
import csv
import dataclasses
import json
import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TextIO, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely

from gridgeo.arrow_arrays import empty_as_null, from_numpy, strings, text_offsets
from gridgeo.coords import bad_lonlat_mask
from gridgeo.errors import CRSError, InputFileError
from gridgeo.i18n import tr
from gridgeo.io import crs_json
from gridgeo.io.gdal_library import pyogrio_module
from gridgeo.number_text import (
    BLANK,
    DECIMAL,
    INTEGER,
    IS_DECIMAL,
    IS_INTEGER,
    classify,
    numbers,
)
from gridgeo.wording import listing

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # pandas only for the paths that make DataFrames (GeoJSON, ragged CSV)
    import pandas as pd
    from pyproj import Transformer  # only for a geometry in a projected CRS

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Coordinates",
    "CsvShapeError",
    "CsvTypes",
    "Layout",
    "TableFormat",
    "TableReader",
    "TableWriter",
    "WriteBehind",
    "check_output",
    "read_chunks",
    "table_format",
]

TableFormat = Literal["csv", "geojson", "parquet"]
# the numbers of a chunk's longitude and latitude columns (NaN where none)
Coordinates = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]

# rows per chunk: a chunk of 200,000 rows keeps both cores busy (one reads and assigns
# while the other writes) and ~250 MB in flight; 500,000 was slower and 140 MB larger
DEFAULT_CHUNK_SIZE = 200_000
SUFFIXES: dict[str, TableFormat] = {
    ".csv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".parquet": "parquet",
}
GEOMETRY = "geometry"
"""Name of the WKB geometry column of chunks read from GeoJSON (if no property has it)."""
_OGR_GEOMETRY = "wkb_geometry"
_GEOJSON_HEAD = '{"type": "FeatureCollection", "features": [\n'
_GEOJSON_TAIL = "\n]}\n"
_CSV_QUOTE_NEEDED = r'[",\r\n]'  # as csv.QUOTE_MINIMAL with the default dialect


# --- formats and layouts --------------------------------------------------------------------


def table_format(path: str | Path) -> TableFormat:
    """The table format of a file name, from its suffix.

    Raises
    ------
    InputFileError
        If the suffix is none of ``.csv``, ``.geojson``, ``.json``, ``.parquet``.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputFileError(
            tr(
                "{path}: unknown table format {suffix!r}; use one of {accepted}",
                path=path,
                suffix=suffix,
                accepted=listing(SUFFIXES),
            )
        )
    return SUFFIXES[suffix]


# bytes pyarrow's CSV reader parses at once when it types a CSV's columns. Its streaming
# reader reads up to 32 blocks ahead of the consumer, so the block bounds the memory:
# 1 MiB keeps that under ~40 MB on any file (16 MiB held a 190 MB file whole) and is
# no slower
CSV_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class Layout:
    """Where the coordinates of a table's chunks are.

    Parameters
    ----------
    lon_col, lat_col
        Columns of the chunks holding the coordinates (text or numbers).
    geometry
        Column holding the WKB geometry of each row, if the table has one.
    derived
        True when ``lon_col``/``lat_col`` are not input columns but were
        computed from ``geometry`` by the reader.
    geo_column
        The input's GeoParquet metadata of the geometry column, kept on output.
    text_columns
        Input columns read as text whatever they hold (CSV): the Parquet writer
        gives each the type its values have (see :func:`infer_type`).
    projected
        The CRS ``geometry`` declares (WKT) when it is projected (metres: Web
        Mercator, a Gauss-Kruger zone): derived coordinates are taken back to the
        longitude and latitude of its datum (:func:`to_lonlat`), and GeoJSON output,
        which is longitude and latitude, gets the geometry so too. None: longitude and
        latitude, declared or by the format's default (GeoJSON, GeoParquet).
    """

    lon_col: str = "lon"
    lat_col: str = "lat"
    geometry: str | None = None
    derived: bool = False
    geo_column: Mapping[str, Any] | None = None
    text_columns: tuple[str, ...] = ()
    projected: str | None = None


DEFAULT_LON, DEFAULT_LAT = "lon", "lat"
LON_NAMES = ("lon", "lng", "long", "longitude", "经度", "东经", "经度坐标")
LAT_NAMES = ("lat", "latitude", "纬度", "北纬", "纬度坐标")


def _usual_name(columns: Sequence[str], asked: str, default: str, usual: tuple[str, ...]) -> str:
    """``asked``, or for the default name missing from ``columns`` the one column with
    a usual name for it (compared without case and surrounding spaces)."""
    if asked != default or asked in columns:
        return asked
    found = [c for c in columns if c.strip().casefold() in usual]
    return found[0] if len(found) == 1 else asked


def _layout(
    path: Path,
    columns: Sequence[str],
    lon_col: str,
    lat_col: str,
    *,
    geometry: str | None = None,
    geo_column: Mapping[str, Any] | None = None,
    declared_crs: object = None,
) -> Layout:
    """The layout of a table with these columns, or an error naming what is missing.

    Asked for the default ``lon``/``lat`` that the table lacks, the usual other names
    are taken instead when the table has exactly one of each (经度/纬度, lng, longitude,
    ...): the column names Chinese spreadsheets and phone exports use. Not ``x``/``y``,
    which are as often projected metres.
    """
    lon_col = _usual_name(columns, lon_col, DEFAULT_LON, LON_NAMES)
    lat_col = _usual_name(columns, lat_col, DEFAULT_LAT, LAT_NAMES)
    missing = [c for c in (lon_col, lat_col) if c not in columns]
    if not missing:
        projected = _projected(path, declared_crs, strict=False) if geometry else None
        return Layout(lon_col, lat_col, geometry, False, geo_column, projected=projected)
    if geometry is not None and len(missing) == 2:  # the points are the geometry's
        projected = _projected(path, declared_crs, strict=True)
        return Layout(lon_col, lat_col, geometry, True, geo_column, projected=projected)
    names = (
        tr("{first!r} and {second!r}", first=missing[0], second=missing[1])
        if len(missing) == 2
        else repr(missing[0])
    )
    available = listing(repr(c) for c in columns) or tr("none")
    if geometry is not None:
        raise InputFileError(
            tr(
                "{path}: missing coordinate column {names} (set --lon-col/--lat-col); "
                "available columns: {available}",
                path=path,
                names=names,
                available=available,
            )
        )
    raise InputFileError(
        tr(
            "{path}: missing coordinate column {names} and no point geometry "
            "(set --lon-col/--lat-col); available columns: {available}",
            path=path,
            names=names,
            available=available,
        )
    )


def check_output(path: str | Path) -> Path:
    """Check that a table can be written at ``path``; returns it as a Path.

    Raises
    ------
    InputFileError
        Unknown suffix, missing output directory, or a directory at ``path``.
    """
    path = Path(path)
    if path.is_dir():  # named as such, not as a file without a format's suffix
        raise InputFileError(tr("{path}: is a directory, not an output file", path=path))
    table_format(path)
    if not path.parent.is_dir():
        raise InputFileError(
            tr(
                "{path}: output directory {directory} does not exist",
                path=path,
                directory=path.parent,
            )
        )
    return path


# --- reading ----------------------------------------------------------------------------------


class TableReader:
    """A table read chunk by chunk; iterate it for DataFrames of at most ``chunk_size`` rows.

    The file is opened and its columns checked on construction, so errors come
    before any work; iterating reads it (again) from the start. At least one
    chunk is yielded, empty (with the columns) for a table without rows.

    Parameters
    ----------
    path
        The table; the format follows the suffix (see the module docstring).
    lon_col, lat_col
        Coordinate columns; when both are absent, a point geometry is used.
    chunk_size
        Maximum rows per chunk.

    Attributes
    ----------
    format
        ``csv``, ``geojson`` or ``parquet``.
    columns
        The columns of the chunks before any derived coordinates.
    layout
        Where the chunks hold the coordinates (see :class:`Layout`).
    rows
        Number of rows when the file tells it cheaply (Parquet), else None.
    rows_estimate
        ``rows``, or for a CSV file its size over the mean length of its first lines
        (for a progress bar's total and ETA; None when neither is known).

    Raises
    ------
    InputFileError
        Unknown suffix, unreadable file, or missing coordinate columns.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        lon_col: str = "lon",
        lat_col: str = "lat",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        encoding: str | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(tr("chunk_size must be positive, not {size}", size=chunk_size))
        self.path = Path(path)
        self.format: TableFormat = table_format(self.path)
        self.chunk_size = chunk_size
        self.rows: int | None = None
        self._renames: dict[str, str] = {}  # GeoJSON: GDAL's geometry column -> ours
        self._encoding = "utf-8"  # CSV: detected below, from the file's first bytes
        self._encoding_given = encoding is not None
        if self.path.is_dir():
            raise InputFileError(tr("{path}: a folder, not a table file", path=self.path))
        if not self.path.is_file():
            raise InputFileError(tr("{path}: no such file", path=self.path))
        self.rows_estimate: int | None = None
        self._ahead: ReadAhead[pa.Table] | None = None
        if self.format == "csv":
            head = _head(self.path)
            self._encoding = _known_encoding(encoding) or detect_encoding(self.path, head)
            if self._encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
                self._encoding = "utf-8-sig"  # --encoding utf-8 of a file Excel wrote
            self.rows_estimate = _estimate_csv_rows(self.path.stat().st_size, head)
        probe = {
            "csv": self._probe_csv,
            "geojson": self._probe_geojson,
            "parquet": self._probe_parquet,
        }[self.format]
        self.columns, self.layout = probe(lon_col, lat_col)
        if self.rows is not None:  # Parquet: its metadata counts
            self.rows_estimate = self.rows

    @property
    def arrow_ready(self) -> bool:
        """True when :meth:`tables` can read this table: a CSV, or a Parquet file with
        coordinate columns (coordinates taken from a geometry need pandas' rows)."""
        return self.format in ("csv", "parquet") and not self.layout.derived

    def read_ahead(self) -> None:
        """Start reading the first chunk of :meth:`tables` in a thread of its own, for the
        next call of :meth:`tables` to go on from: the caller loads its index meanwhile
        (Arrow reads and parses without the interpreter's lock). A table that is not
        :attr:`arrow_ready` is left alone."""
        if self.arrow_ready and self._ahead is None:
            self._ahead = ReadAhead(self._tables())

    def tables(self) -> Generator[pa.Table, None, None]:
        """The table in Arrow chunks of at most ``chunk_size`` rows, its values as the
        pandas chunks hold them (a CSV's columns all text, empty fields ``""``), without
        the pandas round trip: what ``gridgeo assign`` streams when :attr:`arrow_ready`.
        The first chunk is the one :meth:`read_ahead` read, if it was called.

        Raises
        ------
        InputFileError
            An unreadable Parquet file.
        CsvShapeError
            A CSV file Arrow's reader refuses (a row with too few or too many fields,
            bytes that are not text in its encoding): read it with the pandas chunks
            instead, which fill short rows and name the bad line.
        """
        ahead, self._ahead = self._ahead, None
        return _taken(ahead) if ahead is not None else self._tables()

    def _tables(self) -> Generator[pa.Table, None, None]:
        if not self.arrow_ready:
            raise ValueError(tr("{path}: no Arrow chunks for this table", path=self.path))
        if self.format == "parquet":
            yield from self._parquet_tables()
            return
        try:
            yield from _rows_of(self._csv_batches(), self.chunk_size, self._empty_csv())
        except pa.ArrowInvalid as exc:
            raise CsvShapeError(_cannot_read(self.path, "CSV", exc)) from exc
        except UnicodeError as exc:  # a bad byte past the head the encoding came from
            raise InputFileError(self._not_text(exc)) from exc
        except OSError as exc:
            raise InputFileError(_cannot_read(self.path, "CSV", exc)) from exc

    def _csv_batches(self, stop: threading.Event | None = None) -> Iterator[pa.RecordBatch]:
        """The CSV's rows in Arrow batches, every column text, empty fields ``""``, the
        columns named as pandas names them (a blank header cell ``Unnamed: 0``, a repeated
        name numbered ``a.1``). Ends early when ``stop`` is set."""
        encoding = "utf8" if self._encoding in ("utf-8", "utf-8-sig") else self._encoding
        # the header is read as a row of text like the others and dropped: Arrow's own
        # names differ from pandas' (blank, repeated), and the types must reach every column
        read = pacsv.ReadOptions(
            encoding=encoding, block_size=CSV_BLOCK_BYTES, autogenerate_column_names=True
        )
        generated = [f"f{i}" for i in range(len(self.columns))]
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(generated, pa.string()), strings_can_be_null=False
        )
        # a quoted value may hold line breaks (an address, a note typed in Excel): without
        # this, a value cut at a block boundary reads as a short row
        parse = pacsv.ParseOptions(newlines_in_values=True)
        reader = pacsv.open_csv(
            self.path, read_options=read, parse_options=parse, convert_options=convert
        )
        # closed however the reading ends: a reader left open (its generator held by a
        # traceback) is closed at the interpreter's exit, where Arrow can hang on it
        with contextlib.closing(reader):
            if reader.schema.names != generated:  # the header is not the width pandas saw
                raise pa.ArrowInvalid(
                    f"{len(reader.schema.names)} header fields, not {len(self.columns)}"
                )
            header = True
            for block in reader:
                if stop is not None and stop.is_set():
                    return
                rows = block.slice(1) if header and block.num_rows else block
                header = header and not block.num_rows
                yield pa.RecordBatch.from_arrays(rows.columns, names=self.columns)

    def _empty_csv(self) -> pa.Table:
        return pa.table({c: strings([]) for c in self.columns})

    def _parquet_tables(self) -> Iterator[pa.Table]:
        pf = self._parquet_file()
        try:
            yield from _rows_of(
                pf.iter_batches(batch_size=self.chunk_size),
                self.chunk_size,
                pf.schema_arrow.empty_table(),
            )
        except (OSError, pa.ArrowException) as exc:
            raise InputFileError(_cannot_read(self.path, "Parquet", exc)) from exc

    def __iter__(self) -> Iterator[pd.DataFrame]:
        chunks = {
            "csv": self._csv_chunks,
            "geojson": self._geojson_chunks,
            "parquet": self._parquet_chunks,
        }[self.format]
        try:
            for chunk in chunks():
                yield _with_coordinates(chunk, self.layout)
        except InputFileError:
            raise
        except UnicodeError as exc:
            raise InputFileError(self._not_text(exc)) from exc
        except (OSError, ValueError, pa.ArrowException, _gdal_source_error()) as exc:
            raise InputFileError(
                tr("{path}: cannot read: {reason}", path=self.path, reason=exc)
            ) from exc

    # CSV
    def _csv_options(self) -> dict[str, Any]:
        options = {"dtype": str, "keep_default_na": False, "index_col": False}
        return options | {"encoding": self._encoding}

    def _probe_csv(self, lon_col: str, lat_col: str) -> tuple[list[str], Layout]:
        columns = self._plain_header() or self._pandas_header()
        layout = _layout(self.path, columns, lon_col, lat_col)
        return columns, dataclasses.replace(layout, text_columns=tuple(columns))

    def _plain_header(self) -> list[str] | None:
        """The header's names when pandas would take them as they are written (the usual
        case: read with :mod:`csv`, without importing pandas, 0.17 s); None when pandas
        must say: a blank or repeated name (which it renames ``Unnamed: 0``, ``a.1``), a
        first line that is blank, a byte-order mark, a line break in a name, or a file
        that does not decode."""
        try:
            with self.path.open(encoding=self._encoding, newline="") as fh:
                header = next(csv.reader(fh), None)
        except (OSError, UnicodeError, csv.Error):
            return None
        if not header or header[0].startswith("\ufeff"):
            return None
        blank = any(not name or "\n" in name or "\r" in name for name in header)
        if blank or len(set(header)) != len(header):
            return None
        return header

    def _pandas_header(self) -> list[str]:
        import pandas as pd

        try:
            head = pd.read_csv(self.path, nrows=0, **self._csv_options())
        except pd.errors.EmptyDataError as exc:
            raise InputFileError(tr("{path}: empty file, no header row", path=self.path)) from exc
        except UnicodeError as exc:
            raise InputFileError(self._not_text(exc)) from exc
        except (OSError, ValueError) as exc:
            raise InputFileError(_cannot_read(self.path, "CSV", exc)) from exc
        return [str(c) for c in head.columns]

    def csv_types(self, stop: threading.Event | None = None) -> dict[str, pa.DataType]:
        """The Parquet type of each column of a CSV file, from all its values: one
        streaming pass with pyarrow's CSV reader (:func:`infer_type`'s rules), so that a
        type never depends on where the chunks are cut. Other formats: their own types
        (an empty mapping). When ``stop`` is set (the run failed elsewhere) the pass ends
        at the next block and the types are incomplete."""
        if self.format != "csv":
            return {}
        seen = CsvTypes(self.columns)
        try:
            for batch in self._csv_batches(stop):
                seen.see(batch)
        except pa.ArrowInvalid as exc:  # rows pyarrow refuses: typed from pandas' chunks
            log.info("%s: %s; typing it from pandas' chunks", self.path, exc)
            return self._pandas_csv_types(stop)
        except (ValueError, OSError) as exc:
            raise InputFileError(_cannot_read(self.path, "CSV", exc)) from exc
        return seen.types

    def _pandas_csv_types(self, stop: threading.Event | None) -> dict[str, pa.DataType]:
        """:meth:`csv_types` from the chunks the pandas path writes (a short row's
        missing fields empty, a field longer than Arrow's block): the same rules, on
        the same values."""
        seen = CsvTypes(self.columns)
        try:
            for chunk in self._csv_chunks():
                if stop is not None and stop.is_set():
                    break
                seen.see(pa.Table.from_pandas(chunk.astype(object), preserve_index=False))
        except UnicodeError as exc:
            raise InputFileError(self._not_text(exc)) from exc
        except (ValueError, OSError) as exc:  # a row too long is named by _csv_chunks
            raise InputFileError(_cannot_read(self.path, "CSV", exc)) from exc
        return seen.types

    def _not_text(self, exc: UnicodeError) -> str:
        """The message for bytes that are not text in the CSV's encoding: the one the
        user gave is wrong, or the one told from the first megabyte is."""
        encoding = str(getattr(exc, "encoding", self._encoding)).upper()
        reason = getattr(exc, "reason", str(exc))
        line = _first_line_not_text(self.path, self._encoding)
        where = self.path if line is None else tr("{path}, line {line}", path=self.path, line=line)
        if not self._encoding_given:
            return tr(
                "{path}: not {encoding} text past its first megabyte ({reason}); give its "
                "encoding with --encoding (gbk, gb18030, utf-8) or save it as UTF-8",
                path=where,
                encoding=encoding,
                reason=reason,
            )
        return tr(
            "{path}: not {encoding} text ({reason}); check --encoding",
            path=where,
            encoding=encoding,
            reason=reason,
        )

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        import pandas as pd

        options = self._csv_options()
        yielded = False
        try:
            with pd.read_csv(self.path, chunksize=self.chunk_size, **options) as chunks:
                for chunk in chunks:
                    yielded = True
                    yield chunk
        except pd.errors.ParserError as exc:
            long_row = self._row_too_long()
            if long_row is None:  # not a row too long after all: pandas' own words
                raise
            line, fields = long_row
            raise InputFileError(
                tr(
                    "{path}: line {line} has {fields} fields, the header {expected}",
                    path=self.path,
                    line=line,
                    fields=fields,
                    expected=len(self.columns),
                )
            ) from exc
        if not yielded:
            yield pd.DataFrame({c: pd.Series([], dtype=str) for c in self.columns})

    def _row_too_long(self) -> tuple[int, int] | None:
        """The line in the file where the first record with more fields than the header
        starts, and its number of fields; None if there is none. pandas' message counts
        records, which is another number once a quoted value holds line breaks; the
        :mod:`csv` module reads such values as pandas does and counts the lines."""
        try:
            with self.path.open(encoding=self._encoding, newline="") as fh:
                rows = csv.reader(fh)
                if next(rows, None) is None:
                    return None
                start = rows.line_num + 1
                for record in rows:
                    if len(record) > len(self.columns):
                        return start, len(record)
                    start = rows.line_num + 1
        except (OSError, UnicodeError, csv.Error):
            return None
        return None

    # GeoJSON
    def _open_arrow(self) -> Any:
        return pyogrio_module().open_arrow(self.path, batch_size=self.chunk_size, use_pyarrow=True)

    def _probe_geojson(self, lon_col: str, lat_col: str) -> tuple[list[str], Layout]:
        try:
            with self._open_arrow() as (meta, reader):
                names = list(reader.schema.names)
                source_geometry = meta.get("geometry_name") or _OGR_GEOMETRY
                declared = meta.get("crs")  # a "crs" member (GeoJSON of 2008), else WGS84
        except (OSError, _gdal_source_error(), pa.ArrowException) as exc:
            raise InputFileError(_cannot_read(self.path, "GeoJSON", exc)) from exc
        properties = [n for n in names if n != source_geometry]
        geometry: str | None = None
        if source_geometry in names:
            geometry = GEOMETRY if GEOMETRY not in properties else source_geometry
            self._renames = {source_geometry: geometry}
        columns = [self._renames.get(n, n) for n in names]
        return columns, _layout(
            self.path, properties, lon_col, lat_col, geometry=geometry, declared_crs=declared
        )

    def _geojson_chunks(self) -> Iterator[pd.DataFrame]:
        with self._open_arrow() as (_meta, reader):
            yielded = False
            for batch in reader:
                yielded = True
                yield _to_pandas(pa.Table.from_batches([batch])).rename(columns=self._renames)
            if not yielded:
                yield _to_pandas(reader.schema.empty_table()).rename(columns=self._renames)

    # Parquet
    def _parquet_file(self) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(self.path)
        except (OSError, pa.ArrowException) as exc:
            raise InputFileError(_cannot_read(self.path, "Parquet", exc)) from exc

    def _probe_parquet(self, lon_col: str, lat_col: str) -> tuple[list[str], Layout]:
        pf = self._parquet_file()
        self.rows = int(pf.metadata.num_rows)
        schema: pa.Schema = pf.schema_arrow
        columns = list(schema.names)
        geometry, geo_column = _parquet_geometry(self.path, schema)
        # GeoParquet: no "crs" is OGC:CRS84, an explicit null an unknown one (taken as given)
        return columns, _layout(
            self.path,
            columns,
            lon_col,
            lat_col,
            geometry=geometry,
            geo_column=geo_column,
            declared_crs=(geo_column or {}).get("crs"),
        )

    def _parquet_chunks(self) -> Iterator[pd.DataFrame]:
        pf = self._parquet_file()
        yielded = False
        for batch in pf.iter_batches(batch_size=self.chunk_size):
            yielded = True
            yield _to_pandas(pa.Table.from_batches([batch]))
        if not yielded:
            yield _to_pandas(pf.schema_arrow.empty_table())


class CsvShapeError(InputFileError):
    """A CSV file that Arrow's reader refuses but pandas' may read (see
    :meth:`TableReader.tables`)."""


def _rows_of(batches: Iterator[pa.RecordBatch], rows: int, empty: pa.Table) -> Iterator[pa.Table]:
    """The batches regrouped into tables of ``rows`` rows (the last may be shorter),
    without copying; ``empty`` when there are none."""
    held: list[pa.RecordBatch] = []
    count = 0
    yielded = False
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(held)
            yield table.slice(0, rows)
            yielded = True
            rest = table.slice(rows)
            held, count = rest.to_batches(), rest.num_rows
    if count or not yielded:
        yield pa.Table.from_batches(held, schema=empty.schema) if held else empty


def _first_line_not_text(path: Path, encoding: str) -> int | None:
    """The line (counted by line breaks, from 1) of the first bytes of ``path`` that are
    not text in ``encoding``; None if there are none, or the file cannot be read. Read
    only when a run has failed on such bytes: the message names where they are."""
    decoder = codecs.getincrementaldecoder(encoding)()
    breaks = 0
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                held = len(decoder.getstate()[0])  # a character begun in the last block
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:  # its start counts the held bytes too
                    return breaks + block.count(b"\n", 0, max(exc.start - held, 0)) + 1
                breaks += block.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # a character cut off at the end of the file
        return breaks + 1
    except (UnicodeError, OSError, LookupError):  # no place to name (UTF-16 without a BOM)
        return None
    return None


def _known_encoding(name: str | None) -> str | None:
    """``name`` as Python knows it (``GBK``, ``utf8``: ``gbk``, ``utf-8``), None for
    None; an encoding Python does not know is refused, naming it."""
    if name is None:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputFileError(
            tr("unknown encoding {name!r} (for example gbk, gb18030, utf-8)", name=name)
        ) from None


def _cannot_read(path: Path, kind: str, exc: BaseException) -> str:
    """The message for a table ``kind`` (CSV, GeoJSON, Parquet) that cannot be read."""
    return tr("{path}: cannot read {kind}: {reason}", path=path, kind=kind, reason=exc)


def read_chunks(
    path: str | Path,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    lon_col: str = "lon",
    lat_col: str = "lat",
) -> Iterator[pd.DataFrame]:
    """Chunks of a table (see :class:`TableReader`); the file is checked before returning."""
    return iter(TableReader(path, lon_col=lon_col, lat_col=lat_col, chunk_size=chunk_size))


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """A DataFrame with pyarrow-backed columns (lossless), ignoring any pandas index metadata."""
    import pandas as pd

    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)
    return frame


def _parquet_geometry(path: Path, schema: pa.Schema) -> tuple[str | None, Mapping[str, Any] | None]:
    """The WKB geometry column of a (Geo)Parquet schema and its ``geo`` metadata entry."""
    raw = (schema.metadata or {}).get(b"geo")
    if raw is not None:
        try:
            geo = json.loads(raw)
            name = str(geo["primary_column"])
            entry = dict(geo["columns"][name])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputFileError(
                tr("{path}: unreadable GeoParquet 'geo' metadata: {reason}", path=path, reason=exc)
            ) from exc
        if entry.get("encoding", "WKB").upper() != "WKB":
            raise InputFileError(
                tr(
                    "{path}: geometry column {name!r} is encoded as {encoding!r}; "
                    "only WKB geometry is supported",
                    path=path,
                    name=name,
                    encoding=entry["encoding"],
                )
            )
        return name, entry
    if GEOMETRY in schema.names and pa.types.is_binary(schema.field(GEOMETRY).type):
        return GEOMETRY, None
    if GEOMETRY in schema.names and pa.types.is_large_binary(schema.field(GEOMETRY).type):
        return GEOMETRY, None
    return None, None


def _with_coordinates(chunk: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """The chunk with ``lon_col``/``lat_col`` added from the geometry when they are derived."""
    if not layout.derived or layout.geometry is None:
        return chunk
    x, y = point_coordinates(chunk[layout.geometry])
    if layout.projected is not None:
        x, y = to_lonlat(layout.projected).transform(x, y)
    out = chunk.copy()
    out[layout.lon_col] = x
    out[layout.lat_col] = y
    return out


def _projected(path: Path, declared: object, *, strict: bool) -> str | None:
    """The WKT of the CRS a table's geometry declares when it is projected, else None
    (none declared, or longitude and latitude of any datum, taken as ``--crs`` says).
    A CRS that cannot be taken to longitude and latitude is refused when ``strict`` (the
    points are the geometry's), else passed over (the points come from columns)."""
    if declared is None or declared == "":
        return None
    from gridgeo.crs import parse_crs

    try:
        crs = parse_crs(declared)
    except CRSError as exc:
        if not strict:
            return None
        raise InputFileError(
            tr("{path}: the geometry's coordinate system: {reason}", path=path, reason=exc)
        ) from None
    if crs.is_geographic:
        return None
    if crs.geodetic_crs is None:  # an engineering or local system: no way to degrees
        if not strict:
            return None
        raise InputFileError(
            tr(
                "{path}: the geometry's coordinate system {name!r} has no datum to take "
                "its coordinates to longitude and latitude",
                path=path,
                name=crs.name,
            )
        )
    return str(crs.to_wkt())


@lru_cache(maxsize=8)
def to_lonlat(projected: str) -> Transformer:
    """From a projected CRS (WKT) to the longitude and latitude of its own datum (Web
    Mercator to WGS84, a CGCS2000 Gauss-Kruger zone to CGCS2000), x first."""
    from pyproj import CRS, Transformer

    crs = CRS.from_wkt(projected)
    return Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def point_coordinates(
    wkb: pd.Series,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """x and y of WKB points; NaN for a missing, empty, invalid or non-point geometry."""
    geoms = _from_wkb(wkb)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    point = (shapely.get_type_id(geoms) == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)
    x[point] = shapely.get_x(geoms[point])
    y[point] = shapely.get_y(geoms[point])
    return x, y


def _from_wkb(wkb: pd.Series) -> npt.NDArray[np.object_]:
    values = np.array([v if isinstance(v, bytes) else None for v in wkb.tolist()], dtype=object)
    return np.asarray(shapely.from_wkb(values, on_invalid="ignore"), dtype=object)


# --- writing ----------------------------------------------------------------------------------


class TableWriter:
    """Write a table chunk by chunk, atomically; the format follows the suffix.

    Use as a context manager: the output is staged beside ``path`` and moved
    into place on a clean exit; on an exception nothing is left behind.

    Parameters
    ----------
    path
        Output file (``.csv``, ``.geojson``/``.json`` or ``.parquet``).
    layout
        Where the chunks hold their coordinates and geometry (from the
        reader); GeoJSON output builds point geometries from ``lon_col`` and
        ``lat_col`` when there is no geometry column.
    bom
        CSV: start with the UTF-8 byte order mark, so that Excel on Chinese Windows
        reads the file as UTF-8 rather than GBK (every other reader skips it).
    crs
        The coordinate system of ``lon_col``/``lat_col`` (``wgs84``, ``cgcs2000``,
        ``gcj02``, ``bd09``): a GeoParquet output built from them names it
        (OGC:CRS84, EPSG:4490; GCJ-02 and BD-09 have no CRS definition: ``null``).
    types
        Parquet types of the text columns (:meth:`TableReader.csv_types`); the others
        stay text.
    unsorted
        Parquet: columns written without min/max statistics, for values in no order
        (``gridgeo assign``'s codes and statuses, in the input's order): their row groups'
        ranges would spare a reader nothing, and they cost the writer a sixth of its time.

    Examples
    --------
    >>> reader = TableReader("points.csv")                      # doctest: +SKIP
    >>> with TableWriter("out.parquet", reader.layout) as out:  # doctest: +SKIP
    ...     for chunk in reader:
    ...         out.write(chunk)
    """

    def __init__(
        self,
        path: str | Path,
        layout: Layout | None = None,
        *,
        bom: bool = True,
        crs: str = "wgs84",
        types: Mapping[str, pa.DataType] | None = None,
        unsorted: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        self.format: TableFormat = table_format(self.path)
        self.layout = layout or Layout()
        self.bom = bom
        self.crs = crs
        self.types = dict(types or {})
        self.unsorted = tuple(unsorted)
        self.rows = 0
        self._tmp: Path | None = None
        self._sink: _Sink | None = None

    def __enter__(self) -> TableWriter:
        check_output(self.path)
        sinks = {"csv": _CsvSink, "geojson": _GeoJsonSink, "parquet": _ParquetSink}
        try:
            self._tmp = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}."))
            self._sink = sinks[self.format](self._tmp / self.path.name, self.layout)
            if isinstance(self._sink, _ParquetSink):
                self._sink.crs, self._sink.types = self.crs, self.types
                self._sink.unsorted = self.unsorted
            if isinstance(self._sink, _CsvSink) and self.bom:
                self._sink.start_with_bom()
        except BaseException as exc:  # a full disk, or Ctrl-C or SIGTERM as it starts:
            self.__exit__(type(exc), exc, None)  # the folder just made is removed too
            if isinstance(exc, OSError):
                raise self._cannot_write(exc) from exc
            raise
        return self

    def write(self, chunk: pd.DataFrame) -> None:
        """Append one chunk (all its columns, less those the format cannot hold).

        Raises
        ------
        InputFileError
            When the file system refuses (a full disk, a quota, a lost mount): the
            message names the output and the reason, and leaving the ``with`` block
            removes what was written.
        """
        self._put(lambda sink: sink.write(chunk), len(chunk))

    def write_table(self, table: pa.Table, coordinates: Coordinates | None = None) -> None:
        """:meth:`write` for an Arrow table (``gridgeo assign``'s Arrow path): the CSV and
        Parquet sinks write it as it is; GeoJSON goes through pandas. ``coordinates``:
        the numbers of ``lon_col`` and ``lat_col`` when the caller has them (a GeoParquet
        output's points are built from them instead of reading the text again)."""
        self._put(lambda sink: sink.write_arrow(table, coordinates), table.num_rows)

    def _put(self, write: Callable[[_Sink], None], rows: int) -> None:
        if self._sink is None:
            raise RuntimeError(tr("TableWriter.write outside its `with` block"))
        try:
            write(self._sink)
        except OSError as exc:
            raise self._cannot_write(exc) from exc
        self.rows += rows

    def _cannot_write(self, exc: OSError) -> InputFileError:
        return InputFileError(tr("{path}: cannot write: {reason}", path=self.path, reason=exc))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sink, tmp = self._sink, self._tmp
        self._sink, self._tmp = None, None
        try:
            if sink is not None and exc_type is None:
                try:  # the last buffered bytes may still meet a full disk
                    sink.close()
                    sink.path.replace(self.path)
                except OSError as err:
                    raise self._cannot_write(err) from err
            elif sink is not None:
                with contextlib.suppress(Exception):  # keep the original error
                    sink.abort()
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)


class WriteBehind:
    """Tables written by a thread of their own while the caller works on the next.

    pyarrow's writers release the GIL, so on two cores the writing of one chunk
    overlaps the reading and assigning of the next. At most one table waits (the
    memory stays a few chunks, whatever the file). An error of the writer comes
    back at the next :meth:`put` or on leaving the ``with`` block; an error of the
    caller stops the writer before the ``TableWriter`` removes what was written.

    Examples
    --------
    >>> with TableWriter("out.parquet") as out, WriteBehind(out) as behind:  # doctest: +SKIP
    ...     for table in tables:
    ...         behind.put(table)
    """

    def __init__(self, writer: TableWriter) -> None:
        self._writer = writer
        self._queue: queue.Queue[tuple[pa.Table, Coordinates | None] | None] = queue.Queue(
            maxsize=1
        )
        self._error: BaseException | None = None
        self._dropped = False  # the caller failed: what still waits is not written
        # in the caller's context: its messages in the run's language
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="gridgeo-writer", daemon=True
        )

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def put(self, table: pa.Table, coordinates: Coordinates | None = None) -> None:
        """Hand one table over (with its coordinates' numbers, if known: see
        :meth:`TableWriter.write_table`); raises the writer's error if it has failed."""
        self._raise_if_failed()
        self._queue.put((table, coordinates))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None or self._dropped:
                continue  # failed: drain what the caller still hands over
            try:
                self._writer.write_table(*item)
            except BaseException as exc:  # any failure: handed to the caller's thread
                self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._dropped = exc_type is not None
        interrupted: BaseException | None = None
        # the writer ends before the TableWriter closes (or removes) the file under it:
        # Ctrl-C or SIGTERM while this waits (a chunk's write takes up to a second) is
        # raised once it has (closing a Parquet file mid-write crashed the process)
        while self._thread.is_alive():
            try:
                self._end_and_wait()
            except BaseException as stop:  # raised after the wait; nothing more written
                interrupted, self._dropped = interrupted or stop, True
        if interrupted is not None:
            raise interrupted
        if exc_type is None:
            self._raise_if_failed()

    def _end_and_wait(self) -> None:
        """Hand the end over (once there is room: the writer may hold a table and have
        one waiting) and wait for the writer to finish. Handed again after an interrupt,
        the end may wait twice: the writer stops at the first."""
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.05)
                break
            except queue.Full:
                continue
        self._thread.join()


T = TypeVar("T")


def _taken(ahead: ReadAhead[pa.Table]) -> Generator[pa.Table, None, None]:
    with ahead:
        yield from ahead


class ReadAhead(Generic[T]):
    """The items of ``source`` made by a thread of its own ahead of the caller, which
    takes them in order (iterating): at most ``depth`` wait, and one more is being made.
    An exception raised making one is raised at its place. The thread starts at once;
    :meth:`close` stops it and closes ``source``: call it (or leave the ``with`` block)
    however the caller ends.

    What lets ``gridgeo assign`` read the next chunk while it assigns one: Arrow reads
    and numpy computes without the interpreter's lock, so two cores work.

    Examples
    --------
    >>> with ReadAhead(iter(range(5)), depth=2) as numbers:
    ...     [n * n for n in numbers]
    [0, 1, 4, 9, 16]
    """

    def __init__(self, source: Iterator[T], depth: int = 1) -> None:
        self._source = source
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        context = contextvars.copy_context()  # errors worded in the run's language
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="gridgeo-read-ahead", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # any failure: the caller's to see, at its place
            self._put(("error", exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def _put(self, entry: tuple[str, Any]) -> bool:
        """Hand ``entry`` over when there is room; False once the caller has closed."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind == "item":
            return cast("T", value)
        self._done = True
        if kind == "error":
            raise value
        raise StopIteration

    def close(self) -> None:
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Sink:
    """One open output file of a format."""

    def __init__(self, path: Path, layout: Layout) -> None:
        self.path = path
        self.layout = layout

    def write(self, chunk: pd.DataFrame) -> None:
        raise NotImplementedError

    def write_arrow(self, table: pa.Table, coordinates: Coordinates | None = None) -> None:
        self.write(_to_pandas(table))

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Close a file about to be removed (the run failed)."""
        self.close()

    def _columns(self, names: Iterable[Any], *, keep_geometry: bool) -> list[str]:
        """Output columns: geometry or derived coordinates dropped as the format requires."""
        lay = self.layout
        drop: set[str] = set()
        if lay.geometry is None or lay.geometry not in names:
            drop = set()
        elif not keep_geometry:
            drop = {lay.geometry}
        elif lay.derived:
            drop = {lay.lon_col, lay.lat_col}
        return [str(c) for c in names if c not in drop]


class _CsvSink(_Sink):
    def __init__(self, path: Path, layout: Layout) -> None:
        super().__init__(path, layout)
        self._file: TextIO = path.open("w", encoding="utf-8", newline="")
        self._header = True

    def start_with_bom(self) -> None:
        self._file.write("\ufeff")

    def write(self, chunk: pd.DataFrame) -> None:
        columns = self._columns(chunk.columns, keep_geometry=False)
        self.write_arrow(pa.Table.from_pandas(chunk[columns], preserve_index=False))

    def write_arrow(self, table: pa.Table, coordinates: Coordinates | None = None) -> None:
        columns = self._columns(table.column_names, keep_geometry=False)
        if self._header:
            self._file.write(_csv_lines([pa.chunked_array([[c]]) for c in columns]))
            self._header = False
        if table.num_rows and columns:
            self._file.write(_csv_lines(table.select(columns).columns))

    def close(self) -> None:
        self._file.close()


class _GeoJsonSink(_Sink):
    def __init__(self, path: Path, layout: Layout) -> None:
        super().__init__(path, layout)
        self._file: TextIO = path.open("w", encoding="utf-8", newline="\n")
        self._file.write(_GEOJSON_HEAD)
        self._first = True

    def write(self, chunk: pd.DataFrame) -> None:
        names = [
            c for c in self._columns(chunk.columns, keep_geometry=True) if c != self.layout.geometry
        ]
        columns = [_json_values(chunk[c]) for c in names]
        rows = zip(*columns, strict=True) if columns else iter([()] * len(chunk))
        encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
        features = [
            f'{{"type": "Feature", "properties": {encode(dict(zip(names, props, strict=True)))}, '
            f'"geometry": {geometry}}}'
            for props, geometry in zip(rows, self._geometries(chunk), strict=True)
        ]
        if features:
            self._file.write(("" if self._first else ",\n") + ",\n".join(features))
            self._first = False

    def _geometries(self, chunk: pd.DataFrame) -> list[str]:
        """GeoJSON text of each row's geometry (``null`` when missing or unusable)."""
        lay = self.layout
        if lay.geometry is not None and lay.geometry in chunk.columns:
            geoms = _from_wkb(chunk[lay.geometry])
            usable = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
            if lay.projected is not None:  # GeoJSON is longitude and latitude (RFC 7946)
                forward = to_lonlat(lay.projected)

                def _lonlat(xyz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
                    lonlat = np.array(xyz)  # a height, where there is one, kept
                    lonlat[:, 0], lonlat[:, 1] = forward.transform(xyz[:, 0], xyz[:, 1])
                    return lonlat

                # None: each geometry's own dimensions (shapely 2.1; its stubs lack it)
                geoms = shapely.transform(geoms, _lonlat, include_z=None)  # type: ignore[call-overload]
                # a point the projection cannot take back (infinite): no geometry
                usable &= np.isfinite(shapely.bounds(geoms)).all(axis=1)
            texts = shapely.to_geojson(geoms)
            return [str(t) if ok else "null" for t, ok in zip(texts, usable, strict=True)]
        for column in (lay.lon_col, lay.lat_col):
            if column not in chunk.columns:
                raise InputFileError(
                    tr(
                        "{name}: no column {column!r} for the geometry",
                        name=self.path.name,
                        column=column,
                    )
                )
        x, y = (_floats(chunk[c]) for c in (lay.lon_col, lay.lat_col))
        bad = bad_lonlat_mask(x, y)
        # repr() of a float is what json writes for it
        return [
            "null" if b else f'{{"type":"Point","coordinates":[{xi!r},{yi!r}]}}'
            for xi, yi, b in zip(x.tolist(), y.tolist(), bad.tolist(), strict=True)
        ]

    def close(self) -> None:
        self._file.write(_GEOJSON_TAIL)
        self._file.close()


class _ParquetSink(_Sink):
    """GeoParquet 1.1: the input's geometry column kept, or (a table of coordinates) a
    ``geometry`` column of WKB points built from them; the text columns of a CSV typed
    as ``types`` says (:meth:`TableReader.csv_types`: from all their values)."""

    crs = "wgs84"
    types: Mapping[str, pa.DataType] = {}
    unsorted: Sequence[str] = ()

    def __init__(self, path: Path, layout: Layout) -> None:
        super().__init__(path, layout)
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._points: str | None = None  # the column of points built from the coordinates
        self._types: dict[str, pa.DataType] = {}
        self._rows = 0
        self._held: list[pa.Table] = []  # chunks smaller than a row group, not yet written
        self._held_rows = 0

    def write(self, chunk: pd.DataFrame) -> None:
        self.write_arrow(pa.Table.from_pandas(chunk, preserve_index=False))

    def write_arrow(self, table: pa.Table, coordinates: Coordinates | None = None) -> None:
        source = table
        table = table.select(self._columns(table.column_names, keep_geometry=True))
        table = self._typed(table) if self._schema is not None else self._start(table)
        if self._points is not None:
            table = table.append_column(self._points, self._point_wkb(source, coordinates))
        assert self._writer is not None and self._schema is not None
        self._held.append(table.cast(self._schema))
        self._held_rows += table.num_rows
        self._rows += table.num_rows
        if self._held_rows >= MIN_ROW_GROUP:
            self._write_held()
        elif len(self._held) >= _HELD_TABLES:  # tiny tables cost more than their rows
            self._held = [pa.concat_tables(self._held).combine_chunks()]

    def _write_held(self) -> None:
        """The chunks held, as one row group (let go of first: a failed write is not
        tried again)."""
        held, self._held, self._held_rows = self._held, [], 0
        if held and self._writer is not None:
            self._writer.write_table(pa.concat_tables(held))

    def abort(self) -> None:
        self._held, self._held_rows = [], 0  # the file is removed: not worth encoding
        self.close()

    def _start(self, table: pa.Table) -> pa.Table:
        """Open the writer for tables like the first, ``table``; returns it typed."""
        lay = self.layout
        self._types = {
            name: kind
            for name, kind in self.types.items()
            if name in lay.text_columns and name in table.column_names
        }
        schema = self._typed(table.slice(0, 0)).schema
        if lay.geometry is None and {lay.lon_col, lay.lat_col} <= set(table.column_names):
            self._points = _free_name("geometry", table.column_names)
            schema = schema.append(pa.field(self._points, pa.binary()))
        self._schema = self._output_schema(schema)
        typed = self._typed(table)
        declared = self._declared(self._schema)
        if declared.equals(self._schema, check_metadata=True):
            self._writer = pq.ParquetWriter(self.path, self._schema, **self._options(typed))
        else:  # readers are told the declared types, as pyarrow tells its own
            self._writer = pq.ParquetWriter(
                self.path, self._schema, store_schema=False, **self._options(typed)
            )
            stored = base64.b64encode(declared.serialize().to_pybytes())
            self._writer.add_key_value_metadata(
                {b"ARROW:schema": stored, **(declared.metadata or {})}
            )
        return typed

    def _declared(self, schema: pa.Schema) -> pa.Schema:
        """The schema the file declares: the unsorted columns' dictionaries (what
        ``gridgeo assign`` hands over for them, written as they are) as the text they hold,
        so that the file reads back as text, as if written from text. pyarrow writes
        the declared schema in ``ARROW:schema``; its readers take the types from there."""
        fields = [
            f.with_type(f.type.value_type)
            if f.name in self.unsorted and pa.types.is_dictionary(f.type)
            else f
            for f in schema
        ]
        return pa.schema(fields, metadata=schema.metadata)

    def _options(self, first: pa.Table) -> dict[str, Any]:
        """Statistics only where a range can spare a reader a row group; a dictionary
        only where values repeat: not for the points, nor for a column whose values are
        mostly different in the first chunk (ids, coordinates, times), for which the
        writer would build a dictionary only to give it up (a third of its time, and a
        larger file). The options name columns by their Parquet paths, which are the
        fields' names only when none is nested: otherwise pyarrow's defaults."""
        assert self._schema is not None
        if any(pa.types.is_nested(f.type) for f in self._schema):
            return {}
        plain = {*self.unsorted, self._points}
        names = self._schema.names
        return {
            "write_statistics": [n for n in names if n not in plain],
            "use_dictionary": [
                n for n in names if n in self.unsorted or (n not in plain and _repeats(first, n))
            ],
        }

    def _typed(self, table: pa.Table) -> pa.Table:
        for name, kind in self._types.items():
            if pa.types.is_string(kind) or name not in table.column_names:
                continue
            at = table.column_names.index(name)
            table = table.set_column(at, name, self._cast(table.column(name), kind, name))
        return table

    def _cast(self, values: pa.ChunkedArray, kind: pa.DataType, name: str) -> pa.ChunkedArray:
        if pa.types.is_string(values.type):
            try:  # no blank, no white space (Arrow refuses both): the same numbers, faster
                return pc.cast(values, kind)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        # typed as the types were learnt (:class:`CsvTypes`): trimmed, blanks null
        text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
        cleaned = empty_as_null(text)
        try:
            return pc.cast(cleaned, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            bad = next(
                (
                    (k, v)
                    for k, v in enumerate(cleaned.to_pylist())
                    if v is not None and not _fits(v, kind)
                ),
                None,
            )
            if bad is None:  # a value the rules accept but Arrow cannot hold
                raise InputFileError(
                    tr("column {column!r}: {reason}", column=name, reason=exc)
                ) from exc
            row, value = self._rows + bad[0] + 2, bad[1]
            raise InputFileError(
                tr(
                    "row {row}, column {column!r}: {value!r} is not a whole number like the "
                    "rest of the column (the file changed while it was read?)",
                    row=row,
                    column=name,
                    value=value,
                )
                if pa.types.is_integer(kind)
                else tr(
                    "row {row}, column {column!r}: {value!r} is not a number like the rest "
                    "of the column (the file changed while it was read?)",
                    row=row,
                    column=name,
                    value=value,
                )
            ) from None

    def _point_wkb(self, table: pa.Table, coordinates: Coordinates | None) -> pa.Array:
        lay = self.layout
        if coordinates is None:
            x, y = (numbers(table.column(c))[0] for c in (lay.lon_col, lay.lat_col))
        else:
            x, y = coordinates
        return point_wkb(x, y, valid=~bad_lonlat_mask(x, y))

    def _output_schema(self, schema: pa.Schema) -> pa.Schema:
        """The first chunk's schema, text as ``string`` (null columns too), ``geo`` metadata.

        Text is always ``string`` so that the schema does not depend on where
        the chunks happen to be cut (an all-null first chunk has type null).
        """
        text = pa.types.is_null, pa.types.is_large_string, pa.types.is_string
        fields = [f.with_type(pa.string()) if any(t(f.type) for t in text) else f for f in schema]
        fields = [f.remove_metadata() for f in fields]
        metadata: dict[bytes, bytes] = {}
        geometry = self.layout.geometry
        if geometry is not None and geometry in schema.names:
            entry = _geo_metadata(geometry, self.layout.geo_column, self.layout.projected)
            metadata[b"geo"] = json.dumps(entry).encode()
        elif self._points is not None:
            entry = {"encoding": "WKB", "geometry_types": ["Point"], "crs": _crs_json(self.crs)}
            metadata[b"geo"] = json.dumps(_geo_metadata(self._points, entry)).encode()
        return pa.schema(fields, metadata=metadata or None)

    def close(self) -> None:
        if self._writer is None:  # nothing written: an empty table without columns
            pq.write_table(pa.table({}), self.path)
            return
        self._write_held()
        self._writer.close()


# The fewest rows of a Parquet row group but the last: smaller chunks (--chunk-size 1)
# are held and written together. A row group per chunk of one row made the file 50
# times larger (its metadata) and the writer's memory grow with the rows.
MIN_ROW_GROUP = 65_536
_HELD_TABLES = 256


# rows of a first chunk that judge its columns: too few, and a dictionary is kept; the
# first rows are enough (counting a whole chunk's distinct values took 0.1 s)
_JUDGED_ROWS = 1000, 10_000


def _repeats(table: pa.Table, name: str) -> bool:
    """True unless ``table`` has enough rows to judge and most of the column's values
    among its first rows are different (then a dictionary would not pay)."""
    fewest, most = _JUDGED_ROWS
    if table.num_rows < fewest or name not in table.column_names:
        return True
    values = table.column(name).slice(0, most)
    return bool(pc.count_distinct(values).as_py() <= len(values) // 2)


# ISO WKB of a 2D point, little-endian: byte order 1, type 1 (uint32), x, y (float64)
_WKB_POINT = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])


def point_wkb(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], *, valid: npt.NDArray[np.bool_]
) -> pa.Array:
    """Points as a binary column of WKB, null where ``valid`` is False, written straight
    into Arrow buffers: the same bytes as ``shapely.to_wkb`` (little-endian, 2D) at a
    hundredth of its cost (no geometry objects).

    Examples
    --------
    >>> import shapely
    >>> wkb = point_wkb(np.array([110.3, 0.0]), np.array([25.28, 0.0]),
    ...                 valid=np.array([True, False]))
    >>> wkb[0].as_py() == shapely.to_wkb(shapely.Point(110.3, 25.28)), wkb[1].as_py()
    (True, None)
    """
    n = len(x)
    body = np.empty(n, dtype=_WKB_POINT)
    body["order"], body["kind"], body["x"], body["y"] = 1, 1, x, y
    offsets = np.arange(0, (n + 1) * _WKB_POINT.itemsize, _WKB_POINT.itemsize, dtype=np.int32)
    validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        pa.binary(),
        n,
        [validity, pa.py_buffer(offsets), pa.py_buffer(body.tobytes())],
        null_count=int(n - np.count_nonzero(valid)),
    )


class _ColumnKind:
    """What the values of a CSV column seen so far allow: whole numbers, numbers, text.

    Empty values are nulls; a value with a leading zero (``007``, a code or a phone
    number kept as written) makes the column text.
    """

    def __init__(self) -> None:
        self.integer = self.decimal = True
        self.values = False

    @property
    def open(self) -> bool:
        """True while a value may still narrow the type (it is not text yet)."""
        return self.integer or self.decimal

    def see(self, values: pa.ChunkedArray | pa.Array) -> None:
        if self.open:
            self.see_bits(classify(values)[0], values)

    def see_bits(self, bits: npt.NDArray[np.uint8], values: pa.ChunkedArray | pa.Array) -> None:
        """:meth:`see` for values already classified (:func:`classify`'s bits)."""
        if not self.open:
            return
        filled = bits[(bits & BLANK) == 0]
        if filled.size == 0:
            return
        self.values = True
        self.integer = self.integer and bool(np.all(filled & IS_INTEGER))
        self.decimal = self.decimal and bool(np.all(filled & IS_DECIMAL))
        if self.decimal and not self.integer and _holds_long_whole(values, bits):
            self.decimal = False  # a double would round it: text keeps every digit

    @property
    def type(self) -> pa.DataType:
        if not self.values:
            return pa.string()
        if self.integer:
            return pa.int64()
        return pa.float64() if self.decimal else pa.string()


# a whole number of 19 digits or more: past the rules' int64 (INTEGER), and a double
# rounds it (12345678901234567890 became 12345678901234567168): an id, kept as text
_LONG_DIGITS = 19
_LONG_WHOLE = r"^\s*-?[0-9]+\s*$"


def _holds_long_whole(values: pa.ChunkedArray | pa.Array, bits: npt.NDArray[np.uint8]) -> bool:
    """Whether a value :func:`classify` read as a number but not as a whole number of
    int64 is a whole number all the same: one of :data:`_LONG_DIGITS` digits or more.
    Only values that long are looked at (none, in a column of coordinates)."""
    maybe = (bits & (IS_DECIMAL | IS_INTEGER)) == IS_DECIMAL
    if not maybe.any():
        return False
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    maybe &= np.concatenate([_lengths(chunk) for chunk in chunks]) >= _LONG_DIGITS
    rows = np.flatnonzero(maybe)
    if rows.size == 0:
        return False
    text = pc.take(values, from_numpy(rows))
    return bool(pc.any(pc.match_substring_regex(text, _LONG_WHOLE)).as_py())


def _lengths(text: pa.Array) -> npt.NDArray[np.int64]:
    """Each value's length in bytes (0 for a column of nulls only, which has no text)."""
    offsets = text_offsets(text) if len(text) else None
    if offsets is None:
        return np.zeros(len(text), dtype=np.int64)
    return np.diff(offsets).astype(np.int64)


class CsvTypes:
    """The Parquet types of a CSV's text columns from the rows seen so far
    (:func:`infer_type`'s rules), batch after batch.

    A type only ever widens (no values: text; whole numbers; numbers; text), so types
    that did not change from the first batch to the last are those of the whole file:
    what lets ``gridgeo assign`` type a Parquet output without a pass of its own.

    Examples
    --------
    >>> seen = CsvTypes(["a", "b"])
    >>> seen.see(pa.table({"a": ["1", ""], "b": ["", ""]}))
    >>> [str(t) for t in seen.types.values()]
    ['int64', 'string']
    >>> seen.see(pa.table({"a": ["2.5"], "b": ["7"]}))
    >>> [str(t) for t in seen.types.values()]
    ['double', 'int64']
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self._kinds = {name: _ColumnKind() for name in columns}

    def see(
        self,
        batch: pa.Table | pa.RecordBatch,
        classified: Mapping[str, npt.NDArray[np.uint8]] | None = None,
    ) -> None:
        """Take in a batch with these columns (by position); ``classified``: the bits
        of columns already read by :func:`classify`, by name (not read again)."""
        known = classified or {}
        for (name, kind), values in zip(self._kinds.items(), batch.columns, strict=True):
            if name in known:
                kind.see_bits(known[name], values)
            else:
                kind.see(values)

    @property
    def types(self) -> dict[str, pa.DataType]:
        """Each column's type so far, by name."""
        return {name: kind.type for name, kind in self._kinds.items()}


def infer_type(values: pa.ChunkedArray | pa.Array) -> pa.DataType:
    """The Parquet type of a CSV column from its values: ``int64`` when every value is a
    whole number, ``float64`` when every value is a decimal number, else ``string``.

    Empty values are nulls. A value with a leading zero (``007``, a code or a phone
    number kept as written) keeps the column text.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [str(infer_type(pa.chunked_array([v]))) for v in
    ...  (["1", "-20", ""], ["1.5", "2", "3e2"], ["007", "8"], ["110.3", "东"])]
    ['int64', 'double', 'string', 'string']
    """
    kind = _ColumnKind()
    kind.see(pc.cast(values, pa.string()))
    return kind.type


def _fits(value: str, kind: pa.DataType) -> bool:
    pattern = INTEGER if pa.types.is_integer(kind) else DECIMAL
    return bool(pattern.fullmatch(value.strip()))


def _free_name(name: str, taken: Sequence[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _crs_json(crs: str) -> dict[str, Any] | None:
    """PROJJSON of the coordinates' system; None (GeoParquet: unknown) for GCJ-02/BD-09."""
    found = crs_json.BY_NAME.get(crs)
    return copy.deepcopy(found) if found is not None else None


def _geo_metadata(
    column: str, entry: Mapping[str, Any] | None, projected: str | None = None
) -> dict[str, Any]:
    """GeoParquet metadata naming ``column``: the input's entry, else WKB in the CRS the
    input declared (a GeoJSON ``crs`` member: ``projected``, WKT), else lon/lat (CRS84)."""
    if entry is None:
        if projected is not None:
            from pyproj import CRS

            crs: dict[str, Any] = CRS.from_wkt(projected).to_json_dict()
        else:
            crs = copy.deepcopy(crs_json.CRS84)
        entry = {"encoding": "WKB", "geometry_types": [], "crs": crs}
    return {"version": "1.1.0", "primary_column": column, "columns": {column: dict(entry)}}


def _floats(values: pd.Series) -> npt.NDArray[np.float64]:
    """The numbers of a coordinate column, read as ``gridgeo assign`` reads them."""
    from gridgeo.batch import column_numbers  # (loads the grid index: not to read a table)

    return column_numbers(values)[0]


def _json_values(column: pd.Series) -> list[Any]:
    """Python values of a column for JSON: missing values (NA, NaN, NaT) and infinities
    (which JSON has no number for: ``Infinity`` is not JSON) become None."""
    import pandas as pd

    dtype = column.dtype
    is_json = isinstance(dtype, pd.ArrowDtype) and isinstance(dtype.pyarrow_dtype, pa.JsonType)
    values = np.array(column.to_numpy(dtype=object), dtype=object)  # a writable copy
    values[column.isna().to_numpy()] = None
    if pd.api.types.is_float_dtype(dtype):  # NaN and infinities that are values, not nulls
        values[~np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))] = None
    out: list[Any] = values.tolist()
    if is_json:  # GeoJSON objects in properties: GDAL hands them over as JSON text
        out = [json.loads(v) if isinstance(v, str) else v for v in out]
    return out


def _csv_text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """CSV fields of a column: text, nulls empty, quoted (quotes doubled) where needed."""
    if not pa.types.is_large_string(values.type):
        try:
            values = pc.cast(values, pa.large_string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # lists, structs, binary
            text = [None if v is None else str(v) for v in values.to_pylist()]
            values = pa.chunked_array([pa.array(text, pa.large_string())])
    values = pc.fill_null(values, "")
    needs = pc.match_substring_regex(values, _CSV_QUOTE_NEEDED)
    if not pc.any(needs).as_py():
        return values
    quote, empty = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    quoted = pc.binary_join_element_wise(
        quote, pc.replace_substring(values, '"', '""'), quote, empty
    )
    return pc.if_else(needs, quoted, values)


def _csv_lines(fields: Sequence[pa.ChunkedArray]) -> str:
    """The CSV text of rows made of these fields (one array per column), one line each."""
    if not fields:
        return ""
    texts = [_csv_text(f) for f in fields]
    comma = pa.scalar(",", pa.large_string())
    lines = pc.binary_join_element_wise(*texts, comma) if len(texts) > 1 else texts[0]
    return "".join(f"{line}\n" for line in lines.to_pylist())


def _json_default(value: object) -> object:
    """JSON form of the values ``json`` does not know (dates, decimals, numpy scalars)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _head(path: Path, sample_bytes: int = 1 << 20) -> bytes:
    """The first ``sample_bytes`` of a file (what encoding and row estimate look at)."""
    with path.open("rb") as f:
        return f.read(sample_bytes)


def detect_encoding(path: Path, head: bytes) -> str:
    """The encoding of the CSV file ``path`` whose first bytes are ``head``: UTF-8 with or
    without its BOM (Excel writes one), or GB18030 (a superset of GBK and GB2312, which
    Excel on Chinese Windows writes).

    Raises
    ------
    InputFileError
        Neither: the message says how to save the file.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:  # not final: the sample may end inside a character
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise InputFileError(
        tr(
            "{path}: neither UTF-8 nor GBK/GB18030 text; save it as UTF-8 (in Excel: CSV UTF-8)",
            path=path,
        )
    )


def _estimate_csv_rows(size: int, head: bytes) -> int | None:
    """Rows of a CSV file of ``size`` bytes estimated from its first bytes ``head`` (a
    quoted field over several lines makes it a little high; good enough for an ETA)."""
    lines = head.count(b"\n")
    if lines < 2:
        return None
    if len(head) == size:  # the whole file: count, not estimate
        return lines - 1 + (not head.endswith(b"\n"))
    header = head.index(b"\n") + 1
    mean = (len(head) - header) / (lines - 1)
    return max(int((size - header) / mean), 0)


def _gdal_source_error() -> type[Exception]:
    """GDAL's "cannot open" error (evaluated only when an error is being handled: a CSV
    or Parquet run never imports pyogrio)."""
    error: type[Exception] = pyogrio_module().errors.DataSourceError
    return error
