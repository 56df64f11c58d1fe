"""``gridgeo assign`` on the files people really have and the faults machines really
meet (issue 16): quoted values with line breaks, a byte-order mark, GBK-encoded Chinese,
a disk that fills while the output is written, an input far larger than memory. Nothing
half-written is left behind, no traceback reaches the user, and the error names the
file."""

from __future__ import annotations

import csv
import errno
import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gridgeo.cli.main import main
from gridgeo.io import tables

REPO = Path(__file__).resolve().parents[1]
BOUNDARIES = REPO / "data" / "sample" / "boundaries.gpkg"
WENMING = ("110.3005", "25.2785")  # 文明社区, in the sample's grid 450302001001...
FROM_FILE = ("--boundaries", str(BOUNDARIES), "--no-progress")


def assign(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["assign", *args, *FROM_FILE])
    out, err = capsys.readouterr()
    return code, out, err


def notes_csv(rows: int) -> str:
    """A CSV whose every row has a quoted two-line note, as Excel saves one."""
    lines = io.StringIO()
    writer = csv.writer(lines, lineterminator="\r\n")
    writer.writerow(["id", "lon", "lat", "备注"])
    for i in range(rows):
        writer.writerow([f"{i:05d}", *WENMING, f"第{i}行，\n“换行”, 逗号"])
    return lines.getvalue()


@pytest.mark.parametrize("suffix", ["csv", "parquet", "geojson"])
def test_quoted_values_with_line_breaks_cross_every_block(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    suffix: str,
) -> None:
    # tiny blocks, so that values with line breaks straddle many of pyarrow's block
    # boundaries, as they do at the real 16 MB in a large file (it failed there:
    # "CSV parse error: Expected 4 columns, got 1")
    monkeypatch.setattr(tables, "CSV_BLOCK_BYTES", 1024)
    source = tmp_path / "notes.csv"
    source.write_text(notes_csv(600), encoding="utf-8")
    out = tmp_path / f"out.{suffix}"
    code, _, err = assign(capsys, str(source), "-o", str(out), "--chunk-size", "97")
    assert code == 0, err
    frame = read_output(out)
    assert len(frame) == 600
    assert list(frame["备注"][:2]) == ["第0行，\n“换行”, 逗号", "第1行，\n“换行”, 逗号"]
    assert set(frame["status"]) == {"ok"}
    assert frame["id"].astype(str).str.zfill(5).tolist() == [f"{i:05d}" for i in range(600)]


def read_output(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".geojson":
        import geopandas as gpd

        return pd.DataFrame(gpd.read_file(path).drop(columns="geometry"))
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)


@pytest.mark.parametrize(
    ("suffix", "encoding"), [("csv", "utf-8"), ("parquet", "utf-8"), ("csv", "utf-8-sig"),
                             ("parquet", "gbk")]
)  # fmt: skip
def test_a_row_with_too_many_fields_is_named_by_its_line_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str, encoding: str
) -> None:
    # the fields of line 6 are one too many; pandas said "line 4", its count of
    # records, which the quoted three-line note before it throws off
    lines = ["id,lon,lat,备注", f'1,{",".join(WENMING)},"占道、', "多行", '备注"']
    lines += [f"2,{','.join(WENMING)},乙", f"3,{','.join(WENMING)},丙,多余", "4,1,2,丁"]
    src = tmp_path / "many.csv"
    src.write_text("\n".join(lines) + "\n", encoding=encoding)
    assert src.read_text(encoding=encoding).splitlines()[5].endswith(",多余")
    out = tmp_path / f"out.{suffix}"
    code, _, err = assign(capsys, str(src), "-o", str(out), "--lang", "en")
    assert code == 2 and "Traceback" not in err
    assert f"{src}: line 6 has 5 fields, the header 4" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.csv"]
    code, _, err = assign(capsys, str(src), "-o", str(out))
    assert code == 2 and f"{src}：第 6 行有 5 个字段，而表头只有 4 个" in err


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b"\xef\xbb\xbf"), ("gbk", b""), ("gb18030", b"")],
    ids=["utf-8 with BOM", "GBK", "GB18030"],
)
def test_chinese_files_of_excel_and_older_systems_read_as_they_come(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, encoding: str, prefix: bytes
) -> None:
    text = "编号,经度,纬度,地址\nA1,110.3005,25.2785,叠彩区文明路１号\nA2,abc,25.2785,坐标错误\n"
    source = tmp_path / "reports.csv"
    source.write_bytes(prefix + text.encode(encoding))
    out = tmp_path / "out.parquet"
    code, _, err = assign(capsys, str(source), "-o", str(out))
    assert code == 0, err
    table = pq.read_table(out).to_pydict()
    assert table["编号"] == ["A1", "A2"]  # the BOM is not part of the first column's name
    assert table["地址"] == ["叠彩区文明路１号", "坐标错误"]
    assert table["status"] == ["ok", "bad_input"]
    assert table["code_l4"][0] == "450302001001"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_gbk_past_the_first_megabyte_names_encoding_and_reads_with_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    """The encoding is told from the first megabyte: a GBK file whose Chinese starts
    later is refused with a message naming ``--encoding`` (it said only "save it as
    UTF-8", and a Parquet output gave Arrow's "invalid UTF8 data"), and read whole
    with ``--encoding gbk``; a folder given as the input is named as one."""
    plain = "".join(f"{i},{WENMING[0]},{WENMING[1]},ascii\n" for i in range(40_000))
    text = "id,lon,lat,note\n" + plain + f"40000,{WENMING[0]},{WENMING[1]},叠彩区文明路\n"
    source = tmp_path / "late.csv"
    source.write_bytes(text.encode("gbk"))
    assert len(plain) > 1 << 20
    out = tmp_path / f"out.{suffix}"
    code, _, err = assign(capsys, str(source), "-o", str(out), "--lang", "en")
    assert code == 2 and "late.csv" in err and "--encoding" in err and "Traceback" not in err
    assert not out.exists()
    code, _, err = assign(capsys, str(source), "-o", str(out), "--encoding", "gbk")
    assert code == 0, err
    frame = read_output(out)
    assert len(frame) == 40_001 and frame["note"].iloc[-1] == "叠彩区文明路"
    code, _, err = assign(capsys, str(source), "-o", str(out), "--encoding", "klingon")
    assert code == 2 and "klingon" in err
    for wrong in ("utf-16", "ascii"):  # one the bytes are not in: said so, no traceback
        code, _, err = assign(
            capsys, str(source), "-o", str(out), "--encoding", wrong, "--lang", "en"
        )
        assert code == 2 and "check --encoding" in err and "Traceback" not in err
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    code, _, err = assign(capsys, str(folder), "-o", str(tmp_path / "x.csv"), "--lang", "en")
    assert code == 2 and "exports.csv: a folder" in err


def test_text_in_no_known_encoding_is_refused_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "binary.csv"
    source.write_bytes(b"id,lon,lat\n1,110.3,25.28\n\xff\xfe\x00\x81\x00\xff\n")
    out = tmp_path / "out.csv"
    code, _, err = assign(capsys, str(source), "-o", str(out), "--lang", "en")
    assert code != 0
    assert "binary.csv" in err and "UTF-8" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [source]


class FullDisk:
    """A file that accepts ``room`` characters, then fails as a full disk does."""

    def __init__(self, real: Any, room: int) -> None:
        self._real, self._room = real, room

    def write(self, text: str) -> int:
        if len(text) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(text)
        return int(self._real.write(text))

    def close(self) -> None:
        self._real.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_disk_full_while_writing_removes_the_partial_output_and_names_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lang: str,
) -> None:
    source = tmp_path / "notes.csv"
    source.write_text(notes_csv(400), encoding="utf-8")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "assigned.csv"
    real_init = tables._CsvSink.__init__

    def filling_up(self: Any, path: Path, layout: Any) -> None:
        real_init(self, path, layout)
        self._file = FullDisk(self._file, room=5000)  # a few chunks fit, then the disk is full

    monkeypatch.setattr(tables._CsvSink, "__init__", filling_up)
    code, _, err = assign(capsys, str(source), "-o", str(out), "--chunk-size", "50", "--lang", lang)
    assert code != 0
    assert str(out) in err
    assert os.strerror(errno.ENOSPC) in err  # the reason, as the system gives it
    assert ("cannot write" if lang == "en" else "无法写入") in err
    assert "Traceback" not in err
    assert list(out_dir.iterdir()) == []  # neither the output nor its temporary folder


def test_disk_full_on_the_last_flush_is_reported_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "notes.csv"
    source.write_text(notes_csv(20), encoding="utf-8")
    out = tmp_path / "out" / "assigned.parquet"
    out.parent.mkdir()
    real_close = tables._ParquetSink.close

    def close_on_full_disk(self: Any) -> None:
        real_close(self)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tables._ParquetSink, "close", close_on_full_disk)
    code, _, err = assign(capsys, str(source), "-o", str(out), "--lang", "en")
    assert code != 0
    assert f"{out}: cannot write" in err
    assert list(out.parent.iterdir()) == []


PEAK_SCRIPT = """
import resource, sys
from gridgeo.cli.main import main
code = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def peak_rss_mb(source: Path, out: Path) -> float:
    """Peak resident memory of one ``gridgeo assign`` run in a fresh interpreter."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_SCRIPT,
            "assign",
            str(source),
            "-o",
            str(out),
            "--chunk-size",
            "20000",
            *FROM_FILE,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GRIDGEO_LANG": "en"},
    )
    return int(run.stdout.strip().splitlines()[-1]) / 1024  # ru_maxrss is in KiB on Linux


def write_points(path: Path, rows: int) -> None:
    block = "".join(f"{i},110.3005,25.2785,note {i:08d} {'x' * 60}\n" for i in range(20_000))
    with path.open("w", encoding="utf-8") as f:
        f.write("id,lon,lat,note\n")
        for _ in range(rows // 20_000):
            f.write(block)


@pytest.mark.slow
def test_memory_is_bounded_by_the_chunk_not_the_file(tmp_path: Path) -> None:
    """An input far larger than memory streams: the memory a run holds stops growing
    once the reader's read-ahead (up to 32 blocks of 1 MiB: pyarrow's streaming reader
    buffered 235 MB of a 190 MB file with 16 MiB blocks) and the chunks in flight (one
    read, one assigned, one written) are full, both to CSV and to Parquet (whose column
    types take a streaming pass of their own)."""
    sizes = {"small": 60_000, "large": 960_000, "quad": 3_840_000}  # ~6, 95, 380 MB
    files = {name: tmp_path / f"{name}.csv" for name in sizes}
    for name, rows in sizes.items():
        write_points(files[name], rows)
    assert files["large"].stat().st_size > 15 * files["small"].stat().st_size
    for suffix in ("csv", "parquet"):
        peak = {
            name: peak_rss_mb(path, tmp_path / f"{name}_out.{suffix}")
            for name, path in files.items()
        }
        # 6 -> 95 MB of input: the read-ahead, the chunks in flight and the allocators'
        # caches fill up (50-110 MB from run to run)
        assert peak["large"] - peak["small"] < 150, (suffix, peak)
        # 95 -> 380 MB: no more than that noise; a run holding the file would grow by 285 MB
        assert peak["quad"] - peak["large"] < 60, (suffix, peak)
        assert (tmp_path / f"quad_out.{suffix}").stat().st_size > 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_a_terminated_run_leaves_no_half_written_output(tmp_path: Path) -> None:
    """SIGTERM (``kill``, ``timeout``, a scheduler's stop) ends a run as Ctrl-C does: the
    output half written is removed, the hidden folder it was written in too (it stayed,
    32 MB at a time); the process still ends by the signal (systemd counts that a clean
    stop, an exit code of 143 a failure)."""
    source = tmp_path / "many.csv"
    rows = "".join(f"{i},{WENMING[0]},{WENMING[1]}\n" for i in range(200_000))
    source.write_text("id,lon,lat\n" + rows, encoding="utf-8")
    out = tmp_path / "out.parquet"
    command = [sys.executable, "-m", "gridgeo.cli.main", "assign", str(source), "-o", str(out)]
    run = subprocess.Popen(  # small chunks: a run of seconds, written as it goes
        [*command, *FROM_FILE, "--chunk-size", "500"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.parquet.*")):  # the writing has begun
        assert run.poll() is None and time.monotonic() < deadline, run.stderr
        time.sleep(0.005)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == -signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.csv"]
    assert "Traceback" not in (run.stderr.read() if run.stderr else "")


def test_an_interrupt_as_the_output_opens_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM right after the output's hidden folder is made (before the
    ``with`` block holds the writer): the folder is removed (it stayed, one run in
    fourteen of the SIGTERM test on a loaded machine)."""
    from gridgeo.io import tables

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tables._ParquetSink, "__init__", interrupted)
    with pytest.raises(KeyboardInterrupt), tables.TableWriter(tmp_path / "out.parquet"):
        pass
    assert list(tmp_path.iterdir()) == []
