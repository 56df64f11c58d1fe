"""A table's Arrow chunks with their coordinates read, made ahead of the assignment.

``gridgeo assign`` reads a chunk's coordinate columns once (:func:`classify`): for
the assignment, for the points it writes and, for a CSV written to Parquet, for the
columns' types (:class:`CsvTypes`). :class:`PointChunks` does that in a thread of its
own, a chunk ahead of the caller (Arrow reads the next one meanwhile, in a thread of
its own: :meth:`TableReader.read_ahead`), and it can start before the caller has loaded
anything else: the command starts it as soon as the input is open, and loads the
assignment's modules and the grid index meanwhile. (Arrow reads without the
interpreter's lock, but parsing the coordinates takes it often, and the imports hold
it: about one chunk is ready when the index is, and a million-row run ends no sooner
for it; docs/BENCHMARKS.md, "gridgeo assign against DuckDB spatial".)

This module loads only what reading needs (numpy and pyarrow, no grid index, no
settings): that is what lets the command start it first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gridgeo.io.tables import CsvTypes, ReadAhead, TableReader
from gridgeo.number_text import BLANK, classify

if TYPE_CHECKING:
    from gridgeo.batch import Parsed

# a chunk, its coordinates (None where they are not text, read by the assignment
# itself) and the types of the columns up to its end (None where they are not learnt)
PointChunk: TypeAlias = tuple[
    pa.Table, "tuple[Parsed, Parsed] | None", "dict[str, pa.DataType] | None"
]


@dataclass
class PointChunks:
    """The chunks of ``reader`` (:meth:`TableReader.tables`), each with its coordinates
    and, where ``seen`` is given, the types learnt so far, made by a thread of their own
    from :meth:`start` on. Iterate to take them in order; :meth:`close` (or the ``with``
    block) stops the thread and closes the file, however the caller ends."""

    reader: TableReader
    seen: CsvTypes | None
    _ahead: ReadAhead[PointChunk]

    @classmethod
    def start(cls, reader: TableReader, *, learn_types: bool) -> PointChunks:
        """Start reading ``reader`` (an :attr:`TableReader.arrow_ready` table); with
        ``learn_types``, its columns' types are learnt as it is read."""
        seen = CsvTypes(reader.columns) if learn_types else None
        reader.read_ahead()  # Arrow reads the next chunk while this thread parses one
        # one chunk waits, one is parsed, one is read: memory is set by the chunk size
        return cls(reader, seen, ReadAhead(_made(reader, seen)))

    @property
    def learns_types(self) -> bool:
        return self.seen is not None

    def __iter__(self) -> Iterator[PointChunk]:
        return iter(self._ahead)

    def close(self) -> None:
        self._ahead.close()

    def __enter__(self) -> PointChunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _made(reader: TableReader, seen: CsvTypes | None) -> Iterator[PointChunk]:
    chunks = reader.tables()
    try:
        for chunk in chunks:
            coordinates = coordinates_of(chunk, reader, seen)
            yield chunk, coordinates, (seen.types if seen is not None else None)
    finally:
        chunks.close()  # the file closed now, whatever happens


def coordinates_of(
    chunk: pa.Table, reader: TableReader, seen: CsvTypes | None
) -> tuple[Parsed, Parsed] | None:
    """A chunk's coordinates, read once for the assignment, the points written and,
    when the types are learnt, the columns' types (``seen`` takes in the chunk). None
    when they are not text (Parquet numbers): the assignment reads those as they are."""
    names = (reader.layout.lon_col, reader.layout.lat_col)
    if not all(pa.types.is_string(chunk.schema.field(n).type) for n in names):
        if seen is not None:
            seen.see(chunk)
        return None
    read = {name: classify(chunk.column(name)) for name in names}
    if seen is not None:
        seen.see(chunk, {name: bits for name, (bits, _) in read.items()})
    lon, lat = (_parsed(bits, values) for bits, values in read.values())
    return lon, lat


def _parsed(
    bits: npt.NDArray[np.uint8], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    return values, (bits & BLANK).astype(bool)
