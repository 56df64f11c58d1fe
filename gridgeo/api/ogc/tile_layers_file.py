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
sets with their offsets, the payload's size and CRC-32), then the payload: per set
the WKB offsets (int64), the bounds (float64, four per geometry) and the WKB bytes.

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
import os
import struct
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from gridgeo.errors import GridgeoError
from gridgeo.i18n import tr

log = logging.getLogger(__name__)

MAGIC = b"GGTILE\r\n"
FORMAT = 2
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


@dataclass(eq=False)
class ZoomGeometries:
    """A level's geometries per zoom: ``which[z]`` is the set zoom ``z`` uses.

    ``mode`` is the tile layer's simplification (``"coverage"`` or ``"none"``).
    Sets read from a file are decoded from WKB where a tile needs them (a z14 tile
    decodes its forty grids, not the city's 20,000); their bounds come with them, so
    that a tile finds its geometries without decoding any other.
    """

    mode: str
    which: list[int]
    _sets: list[npt.NDArray[np.object_] | None]  # None: in the file, decoded per tile
    _bounds: list[npt.NDArray[np.float64]]
    _wkb: list[tuple[npt.NDArray[np.int64], bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, mode: str, sets: list[npt.NDArray[np.object_]], which: list[int]) -> ZoomGeometries:
        """Geometry sets made in memory."""
        bounds = [np.asarray(shapely.bounds(s), dtype=np.float64) for s in sets]
        return cls(mode, which, [np.asarray(s, dtype=object) for s in sets], bounds)

    @property
    def sets(self) -> int:
        return len(self._sets)

    def bounds(self, z: int) -> npt.NDArray[np.float64]:
        """(n, 4) bounds of zoom ``z``'s geometries, without decoding them."""
        return self._bounds[self.which[z]]

    def take(self, z: int, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """Zoom ``z``'s geometries at ``positions``. Read from a file, they are decoded
        each time and not kept: a tile's geometries die with the tile, so that a service
        does not pile up the city's grids once per zoom (each kept object is one more
        for every full pass of Python's garbage collector, 0.15 s in a service's heap)."""
        i = self.which[z]
        made = self._sets[i]
        if made is not None:
            return made[positions]
        offsets, data = self._wkb[i]
        view = memoryview(data)
        raw = [bytes(view[offsets[p] : offsets[p + 1]]) for p in positions.tolist()]
        return np.asarray(shapely.from_wkb(raw), dtype=object)

    def at(self, z: int) -> npt.NDArray[np.object_]:
        """Every geometry of zoom ``z``."""
        return self.at_set(self.which[z])

    def at_set(self, i: int) -> npt.NDArray[np.object_]:
        """Every geometry of set ``i``."""
        z = self.which.index(i) if i in self.which else None
        made = self._sets[i]
        if made is not None or z is None:  # (a set no zoom uses is never read)
            assert made is not None
            return made
        return self.take(z, np.arange(len(self._bounds[i]), dtype=np.int64))


def save(zooms: ZoomGeometries, path: Path, key: str) -> Path:
    """Write ``zooms`` to ``path`` for ``key``, atomically; :class:`TileLayersFileError`
    naming the path when it cannot be written (nothing is left behind then)."""
    blobs: list[bytes] = []
    table = []
    offset = 0
    for i in range(zooms.sets):
        geoms = zooms.at_set(i)
        wkb = shapely.to_wkb(geoms, output_dimension=2)
        sizes = np.fromiter((len(w) for w in wkb), dtype=np.int64, count=len(wkb))
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype("<i8")
        bounds = np.ascontiguousarray(shapely.bounds(geoms), dtype="<f8")
        data = b"".join(wkb)
        table.append({"count": len(wkb), "offset": offset, "bytes": len(data)})
        blobs += [offsets.tobytes(), bounds.tobytes(), data]
        offset += offsets.nbytes + bounds.nbytes + len(data)
    payload = b"".join(blobs)
    header = json.dumps(
        {
            "format": FORMAT,
            "key": key,
            "mode": zooms.mode,
            "which": zooms.which,
            "sets": table,
            "payload_bytes": len(payload),
            "payload_crc32": zlib.crc32(payload),
        }
    ).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + _LENGTH.pack(len(header)) + header + payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _unwritable(path, exc) from exc
    return path


def load(path: Path, key: str) -> ZoomGeometries:
    """The geometries saved at ``path`` for ``key``.

    Raises
    ------
    TileLayersFileError
        When the file is missing or unreadable, not such a file, of another format
        or key (stale), shorter than its header says, or fails its checksum.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TileLayersFileError(
            tr("cannot read the tile layers file {path}: {error}", path=path, error=_reason(exc))
        ) from exc
    fixed = len(MAGIC) + _LENGTH.size
    if len(raw) < fixed or raw[: len(MAGIC)] != MAGIC:
        raise _bad(path, tr("not a gridgeo tile layers file"))
    (length,) = _LENGTH.unpack(raw[len(MAGIC) : fixed])
    try:
        header: dict[str, Any] = json.loads(raw[fixed : fixed + length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, tr("the header is not readable")) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise _bad(path, tr("written by another format ({found})", found=found))
    if header.get("key") != key:
        raise _bad(path, tr("built for other boundaries ({found})", found=header.get("key")))
    payload = raw[fixed + length :]
    if len(payload) != header["payload_bytes"]:
        raise _bad(
            path,
            tr(
                "truncated: {got:,} of {want:,} bytes",
                got=len(payload),
                want=int(header["payload_bytes"]),
            ),
        )
    if zlib.crc32(payload) != header["payload_crc32"]:
        raise _bad(path, tr("checksum mismatch (damaged or altered)"))
    wkb, bounds = [], []
    for entry in header["sets"]:
        at, count = int(entry["offset"]), int(entry["count"])
        offsets = np.frombuffer(payload, dtype="<i8", count=count + 1, offset=at)
        box = np.frombuffer(payload, dtype="<f8", count=4 * count, offset=at + offsets.nbytes)
        start = at + offsets.nbytes + box.nbytes
        wkb.append((offsets.astype(np.int64), payload[start : start + int(entry["bytes"])]))
        bounds.append(box.reshape(count, 4).astype(np.float64))
    sets: list[npt.NDArray[np.object_] | None] = [None] * len(bounds)
    return ZoomGeometries(header["mode"], list(header["which"]), sets, bounds, wkb)


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


def prune(folder: Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` newest files of ``folder`` (another process may have
    removed one first: that is fine)."""
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
