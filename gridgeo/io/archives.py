"""Uploaded archives and files written safely: zip slip, zip bombs and size limits refused.

A boundary upload may be a zipped Shapefile: :func:`extract_zip_safely` unpacks it
only after its entry names, entry count and sizes pass, and stops while writing
when a header lied. :func:`copy_limited` saves an upload up to a byte limit.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from gridgeo.errors import InputFileError, TooLargeError
from gridgeo.i18n import tr


def unsafe_member(name: str) -> str | None:
    """Why a zip entry name is unsafe to extract (zip slip), or None."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":"):
        return tr("is an absolute path")
    if ".." in PurePosixPath(normal).parts:
        return tr("climbs out of the archive with '..'")
    return None


MAX_ZIP_ENTRIES = 1000  # a zipped Shapefile holds a handful; thousands are an attack
MAX_ZIP_RATIO = 200  # unpacked/packed size of an entry: GIS files deflate 5 to 30 times
_RATIO_FLOOR = 1 << 20  # entries smaller than this may deflate as they like
_EOCD = b"PK\x05\x06"  # end of central directory record


def _central_directory_bytes(archive: Path) -> int | None:
    """The size the zip's end record gives its central directory (None: no end record).

    Read before ``zipfile`` parses the directory into an object per entry: a small upload
    listing millions of entries would take gigabytes there.
    """
    size = archive.stat().st_size
    with archive.open("rb") as f:
        f.seek(max(0, size - (22 + 65535)))  # the record, after at most a 64 KiB comment
        tail = f.read()
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        return None
    return int.from_bytes(tail[at + 12 : at + 16], "little")


def extract_zip_safely(archive: Path, dest: Path, *, max_total_bytes: int) -> list[Path]:
    """Extract ``archive`` into ``dest``, refusing zip slip and zip bombs.

    Bombs are refused on the headers first (more than :data:`MAX_ZIP_ENTRIES` entries,
    sizes adding up to more than ``max_total_bytes``, an entry over 1 MiB unpacking to
    more than :data:`MAX_ZIP_RATIO` times its packed size), then on the bytes really
    written, since a header can lie.

    Raises
    ------
    InputFileError
        Not a zip file, or an entry with an absolute path or ``..``, or a link.
    TooLargeError
        The entries' uncompressed sizes add up to more than ``max_total_bytes``
        (checked on the headers first, then on the bytes really written, since a
        header can lie).
    """
    listed = _central_directory_bytes(archive)
    if listed is not None and listed > MAX_ZIP_ENTRIES * 1024:
        raise TooLargeError(
            tr(
                "the zip file's directory takes {size} bytes: more entries than the "
                "{most} an upload may hold; refused",
                size=listed,
                most=MAX_ZIP_ENTRIES,
            )
        )
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise InputFileError(tr("the upload is not a valid zip file")) from None
    except (NotImplementedError, OSError) as exc:  # a zip feature Python cannot read
        raise InputFileError(
            tr("the upload is a zip file that cannot be read ({reason})", reason=exc)
        ) from None
    with zf:
        infos = zf.infolist()
        for info in infos:
            why = unsafe_member(info.filename)
            if why:
                raise InputFileError(
                    tr("zip entry {name!r} {problem}: refused", name=info.filename, problem=why)
                )
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise InputFileError(
                    tr("zip entry {name!r} is a symbolic link: refused", name=info.filename)
                )
        if len(infos) > MAX_ZIP_ENTRIES:
            raise TooLargeError(
                tr(
                    "the zip file holds {count} entries; an upload may hold at most {most}: "
                    "refused",
                    count=len(infos),
                    most=MAX_ZIP_ENTRIES,
                )
            )
        declared = sum(i.file_size for i in infos)
        if declared > max_total_bytes:
            raise TooLargeError(_bomb_message(declared, max_total_bytes))
        for info in infos:
            if info.file_size > _ratio_limit(info):
                raise TooLargeError(_ratio_message(info.filename, info.file_size, info))
        return _extract(zf, infos, dest, max_total_bytes)


def _extract(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path, limit: int
) -> list[Path]:
    written, out = 0, []
    root = dest.resolve()
    for info in infos:
        target = (root / info.filename).resolve()
        if not target.is_relative_to(root):  # belt and braces after unsafe_member
            raise InputFileError(
                tr("zip entry {name!r} lands outside the archive", name=info.filename)
            )
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            entry, most = 0, _ratio_limit(info)
            with zf.open(info) as src, target.open("wb") as dst:
                while block := src.read(1 << 20):
                    written += len(block)
                    entry += len(block)
                    if written > limit:
                        raise TooLargeError(_bomb_message(written, limit))
                    if entry > most:  # its header understated it
                        raise TooLargeError(_ratio_message(info.filename, entry, info))
                    dst.write(block)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            # a damaged entry, a header that lies about its size, checksum or place (OSError:
            # a seek before the file's start)
            raise InputFileError(
                tr(
                    "zip entry {name!r} is damaged or its header does not match its content "
                    "({reason}): refused",
                    name=info.filename,
                    reason=exc,
                )
            ) from None
        except (NotImplementedError, RuntimeError) as exc:
            # an unknown compression method, or an encrypted entry (no password is asked)
            raise InputFileError(
                tr(
                    "zip entry {name!r} cannot be read ({reason}): send a plain zip "
                    "(deflate or stored, no password)",
                    name=info.filename,
                    reason=exc,
                )
            ) from None
        out.append(target)
    return out


def _ratio_limit(info: zipfile.ZipInfo) -> int:
    """The most bytes entry ``info`` may unpack to (:data:`MAX_ZIP_RATIO` times its packed
    size, or 1 MiB)."""
    return max(MAX_ZIP_RATIO * info.compress_size, _RATIO_FLOOR)


def _ratio_message(name: str, size: int, info: zipfile.ZipInfo) -> str:
    return tr(
        "zip entry {name!r} unpacks to {size} bytes from {packed}: more than {ratio} times "
        "its packed size, as zip bombs do; refused",
        name=name,
        size=size,
        packed=info.compress_size,
        ratio=MAX_ZIP_RATIO,
    )


def _bomb_message(size: int, limit: int) -> str:
    return tr(
        "the zip file unpacks to more than {limit} bytes ({size}; GRIDGEO_MAX_UNZIPPED_BYTES): "
        "refused",
        limit=limit,
        size=size,
    )


def copy_limited(src: Any, dst: Path, limit: int) -> int:
    """Copy a file-like upload to ``dst``, refusing it once it passes ``limit`` bytes (413)."""
    size = 0
    with dst.open("wb") as out:
        while block := src.read(1 << 20):
            size += len(block)
            if size > limit:
                raise TooLargeError(
                    tr(
                        "the upload is larger than {limit} bytes (GRIDGEO_MAX_UPLOAD_BYTES)",
                        limit=limit,
                    )
                )
            out.write(block)
    return size


def remove_tree(path: Path) -> None:
    """Remove a temporary upload directory."""
    shutil.rmtree(path, ignore_errors=True)
