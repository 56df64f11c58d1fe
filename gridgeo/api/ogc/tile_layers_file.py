"""A level's tile geometries for every zoom, saved once per set of boundaries.

A level's first tile at a zoom used to check the level is a coverage (0.2 s at
20,000 grids), project it (0.15 s) and simplify all of it for that zoom
(0.25-0.4 s). These files hold the result for every zoom: the noded Web Mercator
geometries and each distinct simplification, written when a version is published
(``gridgeo publish``/``rollback``) or, for a service that finds none, by a
background thread after its first tile. A start reads the file of the level asked
for and decodes only the zooms asked for.

The file
--------
``MAGIC`` (8 bytes), the header's length (8 bytes, little-endian), the header
(UTF-8 JSON: format, key, simplify mode, per zoom the set it uses, the table of
sets' arrays with their offsets, the payload's size and XXH3-64), then the payload: per
set the coordinates (float64), the ring, polygon and part offsets (int64, shapely's
ragged layout) and each feature's bounds (float64), read as views of the file's bytes.

The file is named by, and carries, a key made of everything its content depends
on (:func:`layer_key`: the level's ids and geometries, the base-map shift, the
zooms and tolerances, this format and the GEOS version that simplified). A file
whose magic, format, key, size or checksum does not match is never used
(:class:`TileLayersFileError`): the tiles are made in memory and the file is
written again. Writes go to a temporary name and are renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.api.ogc.mvt_encoder import Ragged
from gridgeo.atomic_files import header_crc32, payload_checksum, write_atomically
from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr

log = logging.getLogger(__name__)

MAGIC = b"GGTILE\r\n"
FORMAT = 5  # 4: the header has a checksum of its own; 5: the payload an XXH3-64
SUFFIX = ".gtiles"
KEEP = 40  # files kept in a folder: five levels of eight versions
_LENGTH = struct.Struct("<Q")


class TileLayersFileError(GridgeoError):
    """A tile layers file that cannot be used: missing, truncated, damaged or stale."""


def layer_key(
    ids: Sequence[str],
    geometries: npt.NDArray[np.object_],
    shift: str | None,
    tolerances: Sequence[float],
) -> str:
    """A key that changes with anything the saved geometries depend on."""
    digest = hashlib.sha256()
    digest.update("\0".join(ids).encode() + b"\1")
    for wkb in shapely.to_wkb(geometries, output_dimension=2):
        digest.update(b"" if wkb is None else wkb)
        digest.update(b"\0")
    digest.update(repr((shift, [float(t) for t in tolerances])).encode())
    return f"tiles:{digest.hexdigest()}:geos={shapely.geos_version_string}:format={FORMAT}"


def path_for(folder: Path, key: str) -> Path:
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}{SUFFIX}"


ARRAYS = ("coords", "rings", "polygons", "parts", "bounds")
"""A set's arrays in the file, in order (:class:`~gridgeo.api.ogc.mvt_encoder.Ragged`'s
and each feature's bounds)."""


@dataclass(eq=False)
class ZoomGeometries:
    """A level's geometries per zoom: ``which[z]`` is the set zoom ``z`` uses.

    ``mode`` is the tile layer's simplification (``"coverage"`` or ``"none"``). A set is
    held as arrays (coordinates and offsets, :class:`Ragged`), never as one object per
    grid: a tile takes its features' coordinates and makes geometries only to cut the
    features that cross its edge (each object kept would be one more for every full
    pass of Python's garbage collector, 0.15 s in a service's heap). Each feature's
    bounds come with it, so that a tile finds its features without reading any other.
    """

    mode: str
    which: list[int]
    _sets: list[Ragged]
    _bounds: list[npt.NDArray[np.float64]]

    @classmethod
    def of(cls, mode: str, sets: list[npt.NDArray[np.object_]], which: list[int]) -> ZoomGeometries:
        """Geometry sets made in memory."""
        ragged = [Ragged.of(np.asarray(s, dtype=object)) for s in sets]
        return cls(mode, which, ragged, [r.bounds() for r in ragged])

    @property
    def sets(self) -> int:
        return len(self._sets)

    def bounds(self, z: int) -> npt.NDArray[np.float64]:
        """(n, 4) bounds of zoom ``z``'s features."""
        return self._bounds[self.which[z]]

    def arrays(self, z: int) -> tuple[Ragged, npt.NDArray[np.float64]]:
        """Zoom ``z``'s features as arrays, and their bounds."""
        return self._sets[self.which[z]], self._bounds[self.which[z]]

    def at(self, z: int) -> npt.NDArray[np.object_]:
        """Every geometry of zoom ``z`` (as multipolygons)."""
        return self._sets[self.which[z]].geometries()


def save(zooms: ZoomGeometries, path: Path, key: str) -> Path:
    """Write ``zooms`` to ``path`` for ``key``, atomically; :class:`TileLayersFileError`
    naming the path when it cannot be written (nothing is left behind then)."""
    blobs: list[bytes] = []
    table = []
    offset = 0
    for ragged, bounds in zip(zooms._sets, zooms._bounds, strict=True):
        entry: dict[str, Any] = {}
        for name, array in zip(ARRAYS, [*_arrays(ragged), bounds], strict=True):
            data = np.ascontiguousarray(array, dtype="<f8" if array.dtype.kind == "f" else "<i8")
            entry[name] = {"offset": offset, "dtype": data.dtype.str, "shape": list(data.shape)}
            blobs.append(data.tobytes())
            offset += data.nbytes
        table.append(entry)
    payload = b"".join(blobs)
    fields = {
        "format": FORMAT,
        "key": key,
        "mode": zooms.mode,
        "which": zooms.which,
        "sets": table,
        "payload_bytes": len(payload),
        "payload_xxh3": payload_checksum([payload]),
    }
    header = json.dumps({**fields, "header_crc32": header_crc32(fields)}).encode()
    try:
        return write_atomically(path, [MAGIC, _LENGTH.pack(len(header)), header, payload])
    except OSError as exc:
        raise _unwritable(path, exc) from exc


def _arrays(ragged: Ragged) -> list[npt.NDArray[Any]]:
    return [ragged.coords, ragged.rings, ragged.polygons, ragged.parts]


def load(path: Path, key: str) -> ZoomGeometries:
    """The geometries saved at ``path`` for ``key``.

    Raises
    ------
    TileLayersFileError
        When the file is missing or unreadable, not such a file, of another format
        or key (stale), shorter than its header says, or fails its checksum.
    """
    try:
        with path.open("rb") as fh:
            # an empty file cannot be mapped; it is refused below as not such a file
            empty = os.fstat(fh.fileno()).st_size == 0
            mapped = None if empty else mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise TileLayersFileError(
            tr("cannot read the tile layers file {path}: {error}", path=path, error=_reason(exc))
        ) from exc
    # The arrays are views of the mapping: the file's pages are the page cache's, one
    # copy for every worker of the machine, instead of a private copy in each.
    raw = memoryview(mapped if mapped is not None else b"")
    fixed = len(MAGIC) + _LENGTH.size
    if len(raw) < fixed or bytes(raw[: len(MAGIC)]) != MAGIC:
        raise _bad(path, tr("not a gridgeo tile layers file"))
    (length,) = _LENGTH.unpack(raw[len(MAGIC) : fixed])
    try:
        header: dict[str, Any] = json.loads(bytes(raw[fixed : fixed + length]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, tr("the header is not readable")) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise _bad(path, tr("written by another format ({found})", found=found))
    if header.get("key") != key:
        raise _bad(path, tr("built for other boundaries ({found})", found=header.get("key")))
    # the offsets, shapes and zoom table matter as much as the payload: a flipped digit
    # there would serve another zoom's shapes or fail every tile of the level
    if header.pop("header_crc32", None) != header_crc32(header):
        raise _bad(path, tr("checksum mismatch (damaged or altered)"))
    try:
        zooms = _decoded(path, header, raw[fixed + length :])
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # well formed, not ours
        raise _bad(path, tr("the header is not readable")) from exc
    if mapped is not None:  # the checksum pass faulted every page in: hand them back
        mapped.madvise(mmap.MADV_DONTNEED)
    return zooms


def _decoded(path: Path, header: dict[str, Any], payload: memoryview) -> ZoomGeometries:
    """The geometries of a file whose header is sound, once its payload checks out."""
    if len(payload) != header["payload_bytes"]:
        raise _bad(
            path,
            tr(
                "truncated: {got:,} of {want:,} bytes",
                got=len(payload),
                want=int(header["payload_bytes"]),
            ),
        )
    if payload_checksum([payload]) != header["payload_xxh3"]:
        raise _bad(path, tr("checksum mismatch (damaged or altered)"))
    sets, bounds = [], []
    for entry in header["sets"]:
        arrays = [
            np.frombuffer(
                payload,
                dtype=np.dtype(entry[name]["dtype"]),
                count=int(np.prod(entry[name]["shape"], dtype=np.int64)),
                offset=int(entry[name]["offset"]),
            ).reshape(entry[name]["shape"])
            for name in ARRAYS
        ]
        sets.append(Ragged(*arrays[:4]))
        bounds.append(arrays[4])
    which = [int(k) for k in header["which"]]
    if any(not 0 <= k < len(sets) for k in which):
        raise IndexError("a zoom points past the saved sets")
    return ZoomGeometries(header["mode"], which, sets, bounds)


def _unwritable(path: Path, exc: OSError) -> TileLayersFileError:
    return TileLayersFileError(
        tr("cannot write the tile layers file {path}: {error}", path=path, error=_reason(exc))
    )


def _bad(path: Path, reason: str) -> TileLayersFileError:
    return TileLayersFileError(
        tr("tile layers file {path} is unusable: {reason}", path=path, reason=reason)
    )


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


STALE_TEMPORARY_S = 3600.0
"""A temporary file older than this is a write that never finished (a service stopped
while its background write ran): :func:`prune` removes it."""


def prune(folder: Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` newest files of ``folder``, and temporary files of
    writes that never finished (another process may have removed one first: fine)."""
    now = time.time()
    for partial in folder.glob(f".*{SUFFIX}.*"):
        try:
            if now - partial.stat().st_mtime > STALE_TEMPORARY_S:
                partial.unlink()
        except OSError as exc:
            log.debug("could not remove %s: %s", partial, exc)
    dated = []
    for path in folder.glob(f"*{SUFFIX}"):
        try:
            dated.append((path.stat().st_mtime, path))
        except OSError:  # removed meanwhile
            continue
    for _, old in sorted(dated, reverse=True)[keep:]:
        try:
            old.unlink()
        except OSError as exc:
            log.debug("could not remove %s: %s", old, exc)
