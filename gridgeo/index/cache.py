"""The index files of a machine: one per set of boundaries, found by their content.

:func:`index_for` is what the CLI, the service and the batch call instead of
building a :class:`~gridgeo.index.GridIndex`: it names the file by a digest of
the grids (geometry, codes, levels, parents, code scheme), so a published
version, a rollback to it, or the same file read again all find the same index,
and boundaries that differ in any vertex or code never do. Old files are pruned
(the newest :data:`KEEP` stay).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import shapely

from gridgeo.atomic_files import write_atomically
from gridgeo.i18n import tr
from gridgeo.index.grid_index import DEFAULT_CELLS_PER_LEAF, GridIndex
from gridgeo.index.index_file import (
    FORMAT,
    IndexFileError,
    cached_index,
    file_key,
    load_index,
)
from gridgeo.model import GridSet

log = logging.getLogger(__name__)

SUFFIX = ".gidx"
KEEP = 8  # index files kept in a folder: the versions a service may still be asked for
FILES_FOLDER = "files"  # the indexes of boundary files, beside those of stored boundaries
# the pointers from stored versions to their indexes (index_of_version)
VERSIONS_FOLDER = "versions"
KEEP_POINTERS = 64  # tiny files: those of the versions of several stores


def grids_key(grids: GridSet, cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF) -> str:
    """A key that changes with anything the index depends on.

    >>> from gridgeo.model import GridSet
    >>> import shapely
    >>> a = GridSet.from_records(codes=["1"], geometries=[shapely.box(0, 0, 1, 1)], levels=[5])
    >>> b = GridSet.from_records(codes=["2"], geometries=[shapely.box(0, 0, 1, 1)], levels=[5])
    >>> grids_key(a) == grids_key(a), grids_key(a) == grids_key(b)
    (True, False)
    """
    digest = hashlib.sha256()
    for wkb in shapely.to_wkb(grids.geometries, output_dimension=2):
        digest.update(b"" if wkb is None else wkb)
        digest.update(b"\0")
    for column in (grids.codes, grids.parent_codes):
        digest.update("\0".join("" if v is None else v for v in column).encode())
        digest.update(b"\1")
    digest.update(np.ascontiguousarray(grids.levels, dtype=np.int64).tobytes())
    digest.update(repr(grids.scheme).encode())
    return f"grids:{digest.hexdigest()}:cells={cells_per_leaf}:format={FORMAT}"


def index_for(
    grids: GridSet, folder: str | Path | None, cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF
) -> GridIndex:
    """The index of ``grids``: loaded from ``folder`` when it holds it, else built and
    saved there (then older files beyond :data:`KEEP` are removed). ``folder`` None:
    built, not saved."""
    if folder is None:
        return GridIndex(grids, cells_per_leaf=cells_per_leaf)
    return _indexed(grids, Path(folder), grids_key(grids, cells_per_leaf), cells_per_leaf)


def _indexed(grids: GridSet, folder: Path, key: str, cells_per_leaf: int) -> GridIndex:
    path = _index_path(folder, key)
    existed = path.exists()
    index = cached_index(grids, path, key, cells_per_leaf=cells_per_leaf, on_rebuild=_say_why)
    if not existed and path.exists():
        prune(folder)
    return index


def _index_path(folder: Path, key: str) -> Path:
    return folder / f"{_digest(key)}{SUFFIX}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def version_name(
    database_url: str,
    version_id: int,
    created_at: datetime,
    scheme: object,
    cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF,
) -> str:
    """The name of a stored boundaries version, for :func:`index_of_version`.

    A stored version never changes (an edit or a repair writes a new draft), so its
    store, number and creation time name its grids; the creation time tells a store
    rebuilt in the same place, whose version 3 is other boundaries, from the old one.
    The code scheme is in it as it is in :func:`grids_key`.
    """
    store = _digest(database_url)  # the address may carry a password: not written out
    made = created_at.isoformat()
    return f"store:{store}:version={version_id}:{made}:{scheme!r}:cells={cells_per_leaf}"


def index_of_version(
    name: str,
    grids: Callable[[], GridSet],
    folder: str | Path | None,
    cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF,
) -> GridIndex:
    """The index of the stored version named ``name`` (:func:`version_name`), without
    reading its grids when this folder knows it: :func:`index_for` saves indexes under
    their grids' digest, which only the grids give, so the version's name points to
    it (a small file in ``versions/``, written by the first run that read the grids).

    What makes ``gridgeo assign`` from the store skip loading the published version's
    grids (0.5 s at 20,000 grids) on every run. A pointer that is unreadable, or names
    an index that is gone or bad, is passed over: ``grids`` is called and the index
    found or built as :func:`index_for` does.
    """
    if folder is None:
        return GridIndex(grids(), cells_per_leaf=cells_per_leaf)
    base = Path(folder)
    pointer = base / VERSIONS_FOLDER / f"{_digest(name)}.json"
    found = _pointed(pointer, name, base)
    if found is not None:
        return found
    read = grids()
    index_key = grids_key(read, cells_per_leaf)
    index = _indexed(read, base, index_key, cells_per_leaf)
    if _index_path(base, index_key).exists():
        with contextlib.suppress(OSError):  # a read-only folder: the next run reads again
            write_atomically(pointer, [json.dumps({"version": name, "index": index_key}).encode()])
            prune(pointer.parent, KEEP_POINTERS, ".json")
    return index


def _pointed(pointer: Path, name: str, folder: Path) -> GridIndex | None:
    """The index ``pointer`` names for version ``name``, or None when it cannot be used."""
    try:
        named = json.loads(pointer.read_bytes())
        if named["version"] != name:
            return None
        index_key = str(named["index"])
        return load_index(_index_path(folder, index_key), index_key)
    except (OSError, ValueError, KeyError, TypeError, IndexFileError):
        return None


def index_for_files(
    paths: Sequence[Path],
    read: Callable[[], GridSet],
    folder: str | Path | None,
    *,
    options: str = "",
    cells_per_leaf: int = DEFAULT_CELLS_PER_LEAF,
) -> GridIndex:
    """The index of the grids in boundary files, found by the files' bytes: ``read`` is
    called (the files parsed) only when this folder holds no good index for them.

    What makes a second ``gridgeo assign --boundaries city.gpkg`` skip reading the
    file (0.8 s at 20,000 grids): the key is a digest of the files (a shapefile
    with its sidecars, a FileGDB folder with its files) and of the reading ``options``
    (column names, assumed CRS, code scheme), so a file changed in any byte is read
    again. The files are hashed, then read: a file rewritten between the two is indexed
    under its old bytes' key, and read again by the next run. ``folder`` None: read and
    built, not saved.
    """
    if folder is None:
        return GridIndex(read(), cells_per_leaf=cells_per_leaf)
    parts = [part for path in paths for part in _source_files(Path(path))]
    try:
        key = file_key(parts, options, cells_per_leaf)
    except OSError:  # missing or unreadable: the readers say so, as for every command
        return GridIndex(read(), cells_per_leaf=cells_per_leaf)
    # a folder of their own, pruned apart: files tried one after another must not push
    # the published versions' indexes out of the folder the service starts from
    files = Path(folder) / FILES_FOLDER
    path = files / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}{SUFFIX}"
    existed = path.exists()
    index = cached_index(read, path, key, cells_per_leaf=cells_per_leaf, on_rebuild=_say_why)
    if not existed and path.exists():
        prune(files)
    return index


# a shapefile is several files: its geometry, index, attributes, CRS and encoding
_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


def _source_files(path: Path) -> list[Path]:
    """The files whose bytes make one boundary source: a shapefile with its sidecars, a
    folder that GDAL reads as one dataset (a FileGDB ``city.gdb``) with every file in it
    but the lock files a program leaves while it has the folder open (they hold no data)."""
    if path.is_dir():
        files = (p for p in path.rglob("*") if p.is_file() and not p.name.endswith(".lock"))
        return sorted(files)
    if path.suffix.lower() != ".shp":
        return [path]
    sidecars = [path.with_suffix(s) for s in (*_SIDECARS, *(s.upper() for s in _SIDECARS))]
    return [path, *sorted({p for p in sidecars if p.exists()})]


def prune(folder: Path, keep: int = KEEP, suffix: str = SUFFIX) -> list[Path]:
    """Remove all but the ``keep`` newest index files (files ending in ``suffix``) of
    ``folder``; return the removed.

    A file another process has mapped stays readable to it until it lets go (POSIX).
    """
    files = sorted(folder.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for old in files[keep:]:
        try:
            old.unlink()
            removed.append(old)
        except OSError as exc:  # another process pruned it first, or no permission
            log.debug("could not remove %s: %s", old, exc)
    return removed


def _say_why(exc: IndexFileError) -> None:
    log.warning("%s", tr("{error}; building it again", error=exc))
