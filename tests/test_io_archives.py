"""Uploaded zip files unpacked safely: zip slip, zip bombs, entry floods and lying
headers refused (gridgeo.io.archives)."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gridgeo.errors import InputFileError, TooLargeError
from gridgeo.io import archives


def _zip(entries: dict[str, bytes]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    path = Path(tempfile.mkdtemp()) / "up.zip"
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("name", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "C:/x.shp"])
def test_zip_slip_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputFileError, match="refused"):
        archives.extract_zip_safely(_zip({name: b"x"}), tmp_path, max_total_bytes=10_000)
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_bomb_refused(tmp_path: Path) -> None:
    bomb = _zip({"a.shp": b"\0" * 2_000_000})  # compresses to a few kB
    with pytest.raises(TooLargeError, match="unpacks to more than"):
        archives.extract_zip_safely(bomb, tmp_path, max_total_bytes=1_000_000)
    ok = archives.extract_zip_safely(
        _zip({"d/a.shp": b"1", "d/a.dbf": b"2"}), tmp_path, max_total_bytes=100
    )
    assert sorted(p.name for p in ok) == ["a.dbf", "a.shp"]


def test_zip_entry_flood_and_ratio_refused(tmp_path: Path) -> None:
    """More entries than an upload may hold, and an entry that unpacks far more than GIS
    files do, are refused on the headers, before anything is written."""
    flood = _zip({f"f{i}.txt": b"x" for i in range(archives.MAX_ZIP_ENTRIES + 1)})
    with pytest.raises(TooLargeError, match=f"at most {archives.MAX_ZIP_ENTRIES}"):
        archives.extract_zip_safely(flood, tmp_path / "a", max_total_bytes=10**9)
    zeros = _zip({"grids.geojson": b"\0" * 5_000_000})  # about 1,000 to 1
    with pytest.raises(TooLargeError, match="more than 200 times its packed size"):
        archives.extract_zip_safely(zeros, tmp_path / "b", max_total_bytes=10**9)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    # coordinates deflate a few times: a real file of 2.7 MB passes
    rng = np.random.default_rng(7)
    coords = json.dumps((110 + rng.random((100_000, 2))).round(7).tolist()).encode()
    assert len(coords) > 2_500_000
    ok = archives.extract_zip_safely(
        _zip({"c.json": coords}), tmp_path / "c", max_total_bytes=10**9
    )
    assert [p.name for p in ok] == ["c.json"]


def test_a_zip_whose_header_understates_an_entry_is_stopped_while_unpacking(
    tmp_path: Path,
) -> None:
    """The header says 1 MiB from a few kB (allowed); the bytes say 5 MB: stopped at the
    ratio while writing."""
    path = _zip({"grids.geojson": b"\0" * 5_000_000})
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # sizes on both
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (1_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises((TooLargeError, InputFileError), match=r"grids\.geojson"):
        archives.extract_zip_safely(path, tmp_path / "out", max_total_bytes=10**9)
