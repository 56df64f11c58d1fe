"""A :class:`~gridgeo.index.GridIndex` saved once per boundary version, loaded by mapping.

Building the index of a city's grids takes seconds (9.5 s at 100,000 grids);
loading it from this file takes a fraction of that, and every process that
loads the same file on one machine (CLI runs, HTTP workers, Dask workers)
shares its pages through the operating system's page cache instead of holding
a copy each.

The file
--------
``MAGIC`` (8 bytes), the header's length (8 bytes, little-endian), the header
(UTF-8 JSON: format, key, lattice, the table of arrays with dtype, shape and
offset, the payload's size and XXH3-64, and the CRC-32 of the header's other fields),
then the payload: every array at a 64-byte aligned offset. Arrays load as views of a
private (copy-on-write) mapping of the file, so nothing is copied until it is written,
and the index never writes them.

A file is used only if its magic, format, key (the boundary version it was
built for, see :func:`version_key` and :func:`file_key`), size and checksum all
match; otherwise :func:`load_index` raises :class:`IndexFileError` and
:func:`cached_index` builds the index again and replaces the file. A file is
written to a temporary name beside it and renamed into place, so a reader
never sees half a file, and a failed write leaves none behind.

Examples
--------
>>> from gridgeo.sample.build import sample_dataset          # doctest: +SKIP
>>> index = cached_index(grids, "/var/cache/gridgeo/v7.gidx", version_key(7, ...))  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import mmap
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
import xxhash

from gridgeo.atomic_files import header_crc32, payload_checksum, write_atomically
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr
from gridgeo.index.grid_index import DEFAULT_CELLS_PER_LEAF, GridIndex
from gridgeo.index.grid_index import _Lattice as Lattice
from gridgeo.levels import Level
from gridgeo.lookup import Locator
from gridgeo.model import GridSet

log = logging.getLogger(__name__)

MAGIC = b"GGIDX\x00\r\n"  # \r\n: a text-mode copy of the file breaks the magic at once
FORMAT = 5  # bump when the arrays or their meaning change: older files are rebuilt
# (2: small leaves get a finer lattice, grid_index.SMALL_LEAF_CELLS 16 -> 64; 3: the
# header's own CRC-32, header_crc32; 4: the owners' bounds, owner_bounds; 5: the
# payload's XXH3-64, payload_checksum, for its CRC-32, and file_key's XXH3-128)
ALIGN = 64
_LENGTH = struct.Struct("<Q")
_CHUNK = 1 << 24  # boundary files hashed in 16 MB steps
# Name in the file -> attribute of a GridIndex: the arrays its queries read.
ARRAYS = {
    "cells": "_cells",
    "cand_start": "_cand_start",
    "cands": "_cands",
    "row_edges": "_row_edges",
    "background": "_background",
    "deep": "_deep",
    "block": "_block",
    "owner_level": "_owner_level",
    "owner_positions": "owner_positions",
    "leaf_positions": "leaf_positions",
}


# The indexes this process has mapped, by (path, key): pickled indexes (Dask tasks,
# scattered data) come back as the same object, each file mapped once per process.
_SHARED: dict[tuple[str, str], GridIndex] = {}
_SHARED_LOCK = threading.Lock()
mapped_files = Counter[str]()  # files this process has mapped, by path (tests count them)


class IndexFileError(GridgeoError):
    """An index file that cannot be used: missing, truncated, tampered, stale or foreign."""


def version_key(
    version_id: int, checksum: str, cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF
) -> str:
    """The key of the index of stored boundary version ``version_id``.

    ``checksum`` is the version's content checksum, so a store rebuilt from
    scratch, whose version 7 is other boundaries, does not reuse the file.
    """
    return f"version:{version_id}:{checksum}:cells={cells_per_leaf}:format={FORMAT}"


def file_key(
    paths: list[Path], options: str = "", cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF
) -> str:
    """The key of the index of boundary files: the XXH3-128 of their bytes and of the
    reading ``options`` (column names, assumed CRS) that change what is read.

    A digest of identity, not of secrecy: whoever could make two files share it could
    as well write the index folder. XXH3 hashes an 8 MB GeoPackage in 1 ms, where
    SHA-256 took 7-13 ms of every ``gridgeo assign --boundaries`` run."""
    digest = xxhash.xxh3_128(options.encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    return f"files:{digest.hexdigest()}:cells={cells_per_leaf}:format={FORMAT}"


# --- write ---------------------------------------------------------------------------


def save_index(index: GridIndex, path: str | Path, key: str) -> Path:
    """Write ``index`` to ``path`` for ``key``, atomically (temporary file, then rename).

    Raises :class:`IndexFileError` naming the path when it cannot be written
    (no such folder, no space, no permission); nothing is left behind then.
    """
    target = Path(path)
    arrays = _arrays_of(index)
    table, offset = [], 0
    for name, array in arrays.items():
        offset = _aligned(offset)
        table.append(
            {"name": name, "dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        )
        offset += array.nbytes
    fields = {
        "format": FORMAT,
        "key": key,
        "lattice": list(_lattice_fields(index.lattice)),
        "payload_bytes": offset,
        "payload_xxh3": payload_checksum(_payload(table, arrays)),
        "arrays": table,
    }
    header = json.dumps({**fields, "header_crc32": header_crc32(fields)}).encode()
    head = MAGIC + _LENGTH.pack(len(header)) + header
    head += b"\0" * (_aligned(len(head)) - len(head))
    try:
        return write_atomically(target, itertools.chain([head], _payload(table, arrays)))
    except OSError as exc:
        raise _unwritable(target, exc) from exc


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def _payload(table: list[dict[str, Any]], arrays: dict[str, npt.NDArray[Any]]) -> Iterator[bytes]:
    """The payload's bytes in order: each array after the zeros that align it."""
    at = 0
    for entry in table:
        yield b"\0" * (entry["offset"] - at)
        array = np.ascontiguousarray(arrays[entry["name"]])
        yield array.tobytes()
        at = entry["offset"] + array.nbytes


def _unwritable(target: Path, exc: OSError) -> IndexFileError:
    return IndexFileError(
        tr("cannot write the index file {path}: {error}", path=target, error=_reason(exc))
    )


def _arrays_of(index: GridIndex) -> dict[str, npt.NDArray[Any]]:
    """Every array a loaded index needs, by name; strings and shapes as Arrow-style
    columns (one byte buffer, int64 offsets, a validity mask)."""
    import pyarrow as pa  # writing only: a process that loads the file never imports it

    arrays: dict[str, npt.NDArray[Any]] = {
        name: np.asarray(getattr(index, attr)) for name, attr in ARRAYS.items()
    }
    arrays["edges"], arrays["edge_start"] = index._edges
    arrays.update(_column("owner_codes", pa.array(list(index._owner_codes), pa.large_string())))
    for level in Level:
        column = pa.array(list(index._chain_codes[level]), pa.large_string())
        arrays.update(_column(f"chain_{int(level)}", column))
    wkb = shapely.to_wkb(index._geoms, output_dimension=2)
    arrays.update(_column("owner_wkb", pa.array(list(wkb), pa.large_binary())))
    arrays["owner_bounds"] = shapely.bounds(index._geoms)
    return arrays


def _column(name: str, column: Any) -> dict[str, npt.NDArray[Any]]:
    """An Arrow string or binary column (``pyarrow.Array``) as its three arrays."""
    _, offsets, data = column.buffers()
    n = len(column)
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    return {
        f"{name}.offsets": np.frombuffer(offsets, dtype=np.int64, count=n + 1).copy(),
        f"{name}.data": np.frombuffer(data, dtype=np.uint8).copy()
        if data is not None
        else np.zeros(0, np.uint8),
        f"{name}.valid": valid,
    }


def _lattice_fields(lattice: Lattice) -> tuple[float, float, float, float, int, int]:
    return (lattice.x0, lattice.y0, lattice.dx, lattice.dy, lattice.nx, lattice.ny)


# --- read ----------------------------------------------------------------------------


def load_index(path: str | Path, key: str) -> GridIndex:
    """The index saved at ``path`` for ``key``, its arrays mapped from the file.

    Raises
    ------
    IndexFileError
        When the file is missing or unreadable, is not an index file, was written
        by another format, belongs to another key (stale: another version or
        other files), is shorter than its header says (truncated) or fails its
        checksum (tampered or damaged). The message names the path and the reason.
    """
    source = Path(path)
    mapped_files[str(source)] += 1
    try:
        with source.open("rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        error = tr("the file is empty") if isinstance(exc, ValueError) else _reason(exc)
        raise IndexFileError(
            tr("cannot read the index file {path}: {error}", path=source, error=error)
        ) from exc
    header, start = _header(mapped, source)
    if header.get("format") != FORMAT:
        raise _bad(source, tr("written by another format ({found})", found=header.get("format")))
    if header.get("header_crc32") != header_crc32(header):  # the lattice, the arrays' table
        raise _bad(source, tr("checksum mismatch (damaged or altered)"))
    if header.get("key") != key:
        raise _bad(source, tr("built for other boundaries ({found})", found=header.get("key")))
    size = int(header["payload_bytes"])
    if len(mapped) < start + size:
        raise _bad(
            source, tr("truncated: {got:,} of {want:,} bytes", got=len(mapped), want=start + size)
        )
    with memoryview(mapped) as view:
        checksum = payload_checksum([view[start : start + size]])
    # The pass above faulted every page into this process; give them back (unmodified
    # private pages re-read from the page cache on next touch), so a worker's resident
    # memory holds only the pages its queries use, and workers share the rest.
    mapped.madvise(mmap.MADV_DONTNEED)
    if checksum != header.get("payload_xxh3"):
        raise _bad(source, tr("checksum mismatch (damaged or altered)"))
    _check_table(header["arrays"], size, source)
    arrays = {
        entry["name"]: np.frombuffer(
            mapped,
            dtype=np.dtype(entry["dtype"]),
            count=int(np.prod(entry["shape"], dtype=np.int64)),
            offset=start + int(entry["offset"]),
        ).reshape(entry["shape"])
        for entry in header["arrays"]
    }
    return MappedGridIndex(arrays, Lattice(*header["lattice"]), source, key)


def _check_table(table: list[dict[str, Any]], size: int, source: Path) -> None:
    """Each array of the table lies within the payload: a header that passed its
    checksum but names more than the file holds (made so on purpose) is refused too."""
    try:
        for entry in table:
            shape = [int(n) for n in entry["shape"]]
            kind = np.dtype(entry["dtype"])
            offset = int(entry["offset"])
            end = offset + math.prod(shape) * kind.itemsize  # Python integers: no wrapping
            if min(shape, default=0) < 0 or kind.kind not in "biuf" or offset < 0 or end > size:
                raise ValueError(entry["name"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(source, tr("the header is not readable")) from exc


def _header(mapped: mmap.mmap, source: Path) -> tuple[dict[str, Any], int]:
    fixed = len(MAGIC) + _LENGTH.size
    if len(mapped) < fixed or mapped[: len(MAGIC)] != MAGIC:
        raise _bad(source, tr("not a gridgeo index file"))
    (length,) = _LENGTH.unpack(mapped[len(MAGIC) : fixed])
    if fixed + length > len(mapped):
        raise _bad(source, tr("truncated: the header is cut off"))
    try:
        header = json.loads(bytes(mapped[fixed : fixed + length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(source, tr("the header is not readable")) from exc
    if not isinstance(header, dict) or not {"key", "arrays", "payload_bytes"} <= set(header):
        raise _bad(source, tr("the header is not readable"))
    return header, -(-(fixed + length) // ALIGN) * ALIGN


def _bad(source: Path, reason: str) -> IndexFileError:
    return IndexFileError(tr("index file {path} is unusable: {reason}", path=source, reason=reason))


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _decode_strings(
    arrays: dict[str, npt.NDArray[Any]], name: str, positions: npt.NDArray[np.intp] | None = None
) -> npt.NDArray[np.object_]:
    """A string column saved by :func:`_column` back as an object array (None where null):
    its items at ``positions``, else all."""
    valid = arrays[f"{name}.valid"]
    valid = valid if positions is None else valid[positions]
    items = _items(arrays, name, positions)
    texts = [item.decode() if ok else None for ok, item in zip(valid.tolist(), items, strict=True)]
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


def _items(
    arrays: dict[str, npt.NDArray[Any]], name: str, positions: npt.NDArray[np.intp] | None = None
) -> list[bytes]:
    """The byte strings of a column saved by :func:`_column` (plain slices: no pyarrow):
    those at ``positions``, else all."""
    offsets = arrays[f"{name}.offsets"].tolist()
    data = arrays[f"{name}.data"]
    if positions is None:
        whole = data.tobytes()
        return [whole[a:b] for a, b in itertools.pairwise(offsets)]
    return [data[offsets[i] : offsets[i + 1]].tobytes() for i in positions.tolist()]


class _LazyColumns(dict[Level, npt.NDArray[np.object_]]):
    """The chain's code columns, each decoded from the file when first asked for
    (a lookup service never asks; a batch asks for the levels it writes)."""

    def __init__(self, arrays: dict[str, npt.NDArray[Any]], names: dict[Level, str]) -> None:
        super().__init__()
        self._arrays, self._names = arrays, names

    def __missing__(self, level: Level) -> npt.NDArray[np.object_]:
        column = self[level] = _decode_strings(self._arrays, self._names[level])
        return column


def _decode_wkb(
    arrays: dict[str, npt.NDArray[Any]], positions: npt.NDArray[np.intp] | None = None
) -> npt.NDArray[np.object_]:
    """The owners' shapes (those at ``positions``, else all)."""
    items = _items(arrays, "owner_wkb", positions)
    wkb = np.empty(len(items), dtype=object)
    wkb[:] = items
    return np.asarray(shapely.from_wkb(wkb), dtype=object)


class MappedGridIndex(GridIndex):
    """A :class:`GridIndex` whose arrays are views of an index file's mapping.

    It answers exactly as the index it was saved from. The grids' shapes are needed
    only by the GEOS fallback (points on an edge or too close to call): the first
    :attr:`FEW_UNSURE` such points in the index's life are decided among the grids whose
    bounds hold them, from those grids' shapes alone; after them every shape is decoded,
    once. How many a batch has depends on the boundaries: a million random points had
    three on the 20,000-grid tessellation of the benchmarks (decoding every shape for
    them took 0.1 s, and as much memory as the rest of the index) and 8,649 on the
    pilot's detailed district outlines. Pickling it (Dask sends it to workers) sends the
    path and key, and each worker process maps the file itself.
    """

    FEW_UNSURE = 64

    def __init__(
        self, arrays: dict[str, npt.NDArray[Any]], lattice: Lattice, source: Path, key: str
    ) -> None:
        # no GridIndex.__init__: that builds, this takes what was built
        for name, attr in ARRAYS.items():
            setattr(self, attr, arrays[name])
        self._edges = (arrays["edges"], arrays["edge_start"])
        self.lattice = lattice
        self._lattice_array = lattice.as_array()
        self._chain_codes = _LazyColumns(arrays, {lv: f"chain_{int(lv)}" for lv in Level})
        self._arrays = arrays
        self._token = key
        self.source = source
        self.key = key
        self._unsure_seen = 0  # points the GEOS fallback took, for FEW_UNSURE

    @property
    def n_owners(self) -> int:
        return len(self.owner_positions)

    @cached_property
    def _owner_codes(self) -> npt.NDArray[np.object_]:  # type: ignore[override]
        return _decode_strings(self._arrays, "owner_codes")  # lookups ask; a batch need not

    @cached_property
    def _geoms(self) -> npt.NDArray[np.object_]:  # type: ignore[override]
        return _decode_wkb(self._arrays)

    def stored_codes(
        self, level: int | Level
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
        name = f"chain_{int(Level(int(level)))}"
        arrays = self._arrays
        return arrays[f"{name}.offsets"], arrays[f"{name}.data"], arrays[f"{name}.valid"]

    @cached_property
    def _locator(self) -> Locator:  # type: ignore[override]
        owners = GridSet.of_owners(list(self._owner_codes), self._owner_level, self._geoms)
        return Locator(owners, assume_valid=True)

    def _geos_owner_one(self, lon: float, lat: float) -> int:
        return int(self._geos_owners(np.array([lon]), np.array([lat]))[0])

    def _geos_owners(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.intp]:
        # a lifetime's budget: past it (data whose points often fall on edges or in the
        # gaps between children), every shape is decoded once and the Locator kept
        self._unsure_seen += x.size
        if self._unsure_seen > self.FEW_UNSURE or "_locator" in vars(self):
            return self._locator.locate(x, y)
        # a grid covering a point holds it within its bounds (the hull of its vertices):
        # the grids whose bounds hold none of the points cannot be the answer. The
        # owners are numbered in rank order, so the candidates, kept in that order,
        # are ranked among themselves as among all.
        xmin, ymin, xmax, ymax = self._arrays["owner_bounds"].T
        px, py = x[:, np.newaxis], y[:, np.newaxis]
        held = (xmin <= px) & (px <= xmax) & (ymin <= py) & (py <= ymax)
        candidates = np.flatnonzero(held.any(axis=0))
        if candidates.size == 0:  # in no grid's bounds (a gap beside a parent's child)
            return np.full(x.shape, -1, dtype=np.intp)
        codes = _decode_strings(self._arrays, "owner_codes", candidates)
        shapes = _decode_wkb(self._arrays, candidates)
        owners = GridSet.of_owners(list(codes), self._owner_level[candidates], shapes)
        found = Locator(owners, assume_valid=True).locate(x, y)
        return np.where(found >= 0, candidates[np.maximum(found, 0)], -1)

    @property
    def stats(self) -> dict[str, int]:
        arrays = [a for name, a in self._arrays.items() if not name.startswith("owner_wkb")]
        return {
            "leaves": len(self.leaf_positions),
            "edges": int(self._edges[0].shape[0]),
            "cells": self.lattice.size,
            "boundary_cells": int(self._cand_start.size - 1),
            "candidates": int(self._cands.shape[0]),
            "bytes": int(sum(a.nbytes for a in arrays)),
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (shared_index, (str(self.source), self.key))


def shared_index(path: str | Path, key: str) -> GridIndex:
    """The index at ``path`` for ``key``, mapped once per process and then shared.

    What an unpickled index calls: however many tasks a Dask worker runs with
    the index, the worker process maps the file once (``mapped_files`` counts it).
    """
    name = (str(Path(path).resolve()), key)
    with _SHARED_LOCK:
        found = _SHARED.get(name)
        if found is None:
            found = _SHARED[name] = load_index(path, key)
    return found


# --- load or build -------------------------------------------------------------------


def cached_index(
    build: Callable[[], GridSet] | GridSet,
    path: str | Path,
    key: str,
    *,
    cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF,
    on_rebuild: Callable[[IndexFileError], None] | None = None,
) -> GridIndex:
    """The index for ``key`` from ``path`` when it is good, else built and saved there.

    Parameters
    ----------
    build
        The grids, or a function that reads them (called only when building).
    path, key
        The index file and the key it must carry (:func:`version_key`, :func:`file_key`).
    on_rebuild
        Called with the reason when a file exists but cannot be used (so a log can
        say why it was rebuilt); a missing file is simply built.

    A file that cannot be written (read-only folder, disk full) does not stop the
    work: the built index is returned, and the next run tries again.
    """
    target = Path(path)
    try:
        return load_index(target, key)
    except IndexFileError as exc:
        if target.exists() and on_rebuild is not None:
            on_rebuild(exc)
    grids = build() if callable(build) else build
    index = GridIndex(grids, cells_per_leaf=cells_per_leaf)
    try:
        save_index(index, target, key)
    except IndexFileError as exc:  # not a rebuild: the index built is used, unsaved
        log.warning("%s; the index built is used, not saved: the next run builds it again", exc)
    return index
