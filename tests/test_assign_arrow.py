"""``gridgeo assign``'s Arrow path (CSV and Parquet in, any format out) writes what its
pandas path writes, row for row and byte for byte, on the awkward files people have; a
CSV Arrow refuses is read by pandas instead, as before."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gridgeo.batch import ADDED_COLUMNS, assign_batch
from gridgeo.cli.assign_stream import Boundaries, _progress_bar, _Run, output_types
from gridgeo.cli.main import main
from gridgeo.errors import InputFileError
from gridgeo.io import tables
from gridgeo.io.dataset import load
from gridgeo.io.tables import CsvShapeError, TableReader, TableWriter, WriteBehind

REPO = Path(__file__).resolve().parents[1]
BOUNDARIES = REPO / "data" / "sample" / "boundaries.gpkg"
WENMING = ("110.3005", "25.2785")  # in the sample's grid 450302001001...

AWKWARD = (
    "id,lon,lat,备注,id\r\n"  # a repeated name (pandas numbers it: id.1)
    '1,110.3005,25.2785,"两行\n备注，含逗号",a\r\n'
    "2, 110.3005 ,\t25.2785 ,,b\r\n"  # blanks around numbers
    "3,,25.2785,空经度,c\r\n"
    "4,abc,25.2785,非数字,d\r\n"
    "5,25.2785,110.3005,经纬颠倒,e\r\n"
    "\r\n"  # a blank line: skipped by both readers
    "6,110.30050000000000001,25.27850000000000001,十八位以上,f\r\n"
    "7,1e400,25.2785,无穷,g\r\n"
    "8,200.5,25.2785,越界,h\r\n"
    "9,０.５,25.2785,全角,i\r\n"
    "10,-0,0,零,j\r\n"
    '11,110.3005,25.2785,"引号""里""的字",k\r\n'
)


@pytest.fixture(scope="module")
def sample() -> Boundaries:
    return Boundaries.of(load([BOUNDARIES]))


def run_both(
    sample: Boundaries, source: Path, out_dir: Path, suffix: str, chunk: int = 3
) -> tuple[Path, Path]:
    """The same input through the Arrow path and the pandas path; their outputs."""
    outputs = []
    for way in ("in_arrow", "in_pandas"):
        reader = TableReader(source, chunk_size=chunk)
        output = out_dir / f"{way}.{suffix}"
        types = output_types(reader, output)
        run = _Run(reader, output, sample, "wgs84", None, True, types)
        with _progress_bar(reader, progress=False) as bar:
            getattr(run, way)(bar)
        outputs.append(output)
    return outputs[0], outputs[1]


@pytest.mark.parametrize("suffix", ["csv", "parquet", "geojson"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_awkward_csv_the_same_either_way(
    sample: Boundaries, tmp_path: Path, suffix: str, encoding: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(AWKWARD.encode(encoding))
    arrow, pandas = run_both(sample, source, tmp_path, suffix)
    if suffix != "parquet":
        assert arrow.read_bytes() == pandas.read_bytes()
        return
    a, b = pq.read_table(arrow), pq.read_table(pandas)
    assert a.equals(b) and a.schema.metadata == b.schema.metadata
    assert a.schema.field("id").type == pa.int64()  # typed from every value, as before
    rows = {r["id"]: r for r in a.to_pylist()}
    assert rows[1]["status"] == "ok" and rows[1]["备注"] == "两行\n备注，含逗号"
    assert rows[2]["status"] == "ok"  # blanks around a number are no fault
    expected = {
        3: "missing",
        4: "not_a_number",
        5: "swapped",
        6: "",  # 20 significant digits: float()'s value, as pandas had it
        7: "not_finite",
        8: "out_of_range",
        9: "not_a_number",  # full-width digits
    }
    assert {k: rows[k]["status_reason"] for k in expected} == expected
    assert rows[11]["备注"] == '引号"里"的字'
    assert [r["id.1"] for r in rows.values()] == list("abcdefghijk")


@pytest.mark.parametrize("chunk", [1, 4, 1000])
def test_parquet_input_the_same_either_way(sample: Boundaries, tmp_path: Path, chunk: int) -> None:
    source = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "id": pa.array(range(10)),
                "lon": pa.array([110.3005, None, 200.0, 110.3005, 1.0] * 2),
                "lat": pa.array([25.2785, 25.2, 25.2, None, 1.0] * 2),
                "when": pa.array([None, "2026-12-07"] * 5, pa.string()),
            }
        ),
        source,
    )
    arrow, pandas = run_both(sample, source, tmp_path, "parquet", chunk)
    a, b = pq.read_table(arrow), pq.read_table(pandas)
    assert a.equals(b)
    assert a.column("status").to_pylist()[:5] == [
        "ok",
        "bad_input",
        "bad_input",
        "bad_input",
        "unassigned",
    ]


def test_chunks_are_regrouped_to_the_asked_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tables, "CSV_BLOCK_BYTES", 64)  # many small Arrow batches
    source = tmp_path / "in.csv"
    source.write_text("id,lon,lat\n" + "".join(f"{i},110.3,25.2\n" for i in range(100)))
    sizes = [t.num_rows for t in TableReader(source, chunk_size=30).tables()]
    assert sizes == [30, 30, 30, 10]
    header_only = tmp_path / "empty.csv"
    header_only.write_text("id,lon,lat\n")
    (empty,) = list(TableReader(header_only).tables())
    assert empty.num_rows == 0 and empty.column_names == ["id", "lon", "lat"]


def test_a_short_row_is_read_by_pandas_and_a_long_one_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    short = tmp_path / "short.csv"
    short.write_text("id,lon,lat,note\n1,110.3005,25.2785,x\n2,110.3005\n")
    with pytest.raises(CsvShapeError):
        list(TableReader(short).tables())
    out = tmp_path / "short_out.csv"
    assert (
        main(
            [
                "assign",
                str(short),
                "-o",
                str(out),
                "--boundaries",
                str(BOUNDARIES),
                "--no-progress",
                "--format",
                "json",
            ]
        )
        == 0
    )
    text = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(text) == 3 and text[2].startswith("2,110.3005,,,")
    assert text[2].endswith(",bad_input,missing")
    capsys.readouterr()
    long = tmp_path / "long.csv"
    long.write_text("id,lon,lat\n1,110.3005,25.2785\n2,110.3005,25.2785,extra\n")
    code = main(
        [
            "assign",
            str(long),
            "-o",
            str(tmp_path / "long_out.csv"),
            "--boundaries",
            str(BOUNDARIES),
            "--no-progress",
            "--lang",
            "en",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "long.csv" in err and "line 3" in err
    assert not (tmp_path / "long_out.csv").exists()


def test_write_behind_hands_the_writers_error_back(tmp_path: Path) -> None:
    calls = []

    class Failing(TableWriter):
        def write_table(self, table: pa.Table, coordinates: object = None) -> None:
            calls.append(threading.current_thread().name)
            raise InputFileError("out.parquet: cannot write: No space left on device")

    table = pa.table({"a": [1]})
    with pytest.raises(InputFileError, match="No space left"):  # noqa: SIM117 - order matters
        with Failing(tmp_path / "out.parquet") as out, WriteBehind(out) as behind:
            for _ in range(5):
                behind.put(table)
    assert calls == ["gridgeo-writer"]  # written by its own thread; nothing after a failure
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_blank_header_cell_is_typed_whatever_the_chunks(tmp_path: Path) -> None:
    # what DataFrame.to_csv() writes: the index column has no name (pandas: "Unnamed: 0")
    source = tmp_path / "in.csv"
    source.write_text(",lon,lat\n007,110.3005,25.2785\n008,110.3005,25.2785\n")
    outputs = []
    for chunk in ("1", "5"):
        out = tmp_path / f"out{chunk}.parquet"
        code = main(["assign", str(source), "-o", str(out), "--boundaries", str(BOUNDARIES),
                     "--no-progress", "--chunk-size", chunk])  # fmt: skip
        assert code == 0
        outputs.append(pq.read_table(out))
    assert outputs[0].equals(outputs[1])
    assert outputs[0].column("Unnamed: 0").to_pylist() == ["007", "008"]  # codes stay text


def test_a_bad_byte_past_the_sniffed_head_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "gbk.csv"
    rows = "".join(f"{i},110.3005,25.2785,文明社区\n" for i in range(120_000))
    source.write_bytes(("id,lon,lat,名称\n" + rows).encode("gbk") + b"9,1,2,\xff\xff\n")
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"out.{suffix}"
        code = main(["assign", str(source), "-o", str(out), "--boundaries", str(BOUNDARIES),
                     "--no-progress", "--lang", "en"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2 and "gbk.csv" in err and "Traceback" not in err, err
        assert not out.exists()


def test_the_typing_pass_stops_when_asked(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,lon,lat\n" + "".join(f"{i},110.3,25.2\n" for i in range(1000)))
    stop = threading.Event()
    stop.set()  # the run failed elsewhere: nothing read, nothing typed
    assert set(TableReader(source).csv_types(stop).values()) == {pa.string()}
    assert TableReader(source).csv_types()["id"] == pa.int64()


@pytest.mark.parametrize("chunk", ["2", "3", "100"])
def test_a_parquet_output_is_typed_by_all_rows_without_a_pass_of_its_own(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, chunk: str
) -> None:
    """Types learnt from the first chunk are checked against every further one; a change
    writes the output again with all rows' types, which are the typing pass's."""
    source = tmp_path / "in.csv"
    source.write_text(
        "id,lon,lat,phone,code,amount\n"
        "1,110.3005,25.2785,,12,1\n"
        "2,110.3005,25.2785,,13,2\n"
        "3,110.3005,25.2785,13800138000,014,2.5\n"  # past the first chunk: a number,
        "4,abc,25.2785,13800138001,15,\n"  # a leading zero (text), a decimal
    )
    out = tmp_path / "out.parquet"
    with caplog.at_level("INFO", logger="gridgeo.cli.assign_stream"):
        code = main(["assign", str(source), "-o", str(out), "--boundaries", str(BOUNDARIES),
                     "--no-progress", "--chunk-size", chunk])  # fmt: skip
    assert code == 0
    table = pq.read_table(out)
    expected = TableReader(source).csv_types()  # the pass the run no longer makes
    assert {n: table.schema.field(n).type for n in expected} == expected
    assert [str(expected[n]) for n in ("id", "lon", "phone", "code", "amount")] == [
        "int64", "string", "int64", "string", "double"
    ]  # fmt: skip
    assert table.column("phone").to_pylist() == [None, None, 13800138000, 13800138001]
    assert table.column("code").to_pylist() == ["12", "13", "014", "15"]
    assert table.num_rows == 4 and sorted(p.name for p in tmp_path.iterdir()) == [
        "in.csv",
        "out.parquet",
    ]
    # written twice only when the first chunk did not tell all the types
    assert ("type changed" in caplog.text) == (chunk != "100")


def test_the_csv_is_read_once_when_its_first_chunk_tells_the_types(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,lon,lat\n" + "".join(f"{i},110.3005,25.2785\n" for i in range(10)))
    reads = []
    batches = TableReader._csv_batches

    def counted(self: TableReader, stop: threading.Event | None = None):  # type: ignore[no-untyped-def]
        reads.append(self.path)
        return batches(self, stop)

    monkeypatch.setattr(TableReader, "_csv_batches", counted)
    out = tmp_path / "out.parquet"
    code = main(["assign", str(source), "-o", str(out), "--boundaries", str(BOUNDARIES),
                 "--no-progress", "--chunk-size", "3"])  # fmt: skip
    assert code == 0 and reads == [source]  # no typing pass before the run
    assert pq.read_table(out).schema.field("id").type == pa.int64()


def test_dictionary_columns_hold_the_same_text_and_read_back_as_text(
    sample: Boundaries, tmp_path: Path
) -> None:
    """The added columns as dictionaries (what a Parquet output takes) are the text
    columns, value for value; written, they read back as text, each row group's
    dictionary only the values it uses."""
    points = pa.table(
        {
            "lon": [WENMING[0], "110.2915", "abc", "100.0", "", WENMING[0]],
            "lat": [WENMING[1], "25.2800", "25.28", "30.0", "25.28", WENMING[1]],
        }
    )
    index, stations = sample.index, sample.stations
    for rows in (points, points.slice(2, 3)):  # a chunk where no point is in a grid too
        for station_table in (stations, {}):
            text = assign_batch(rows, index, stations=station_table)
            coded = assign_batch(rows, index, stations=station_table, dictionary=True)
            for name in ADDED_COLUMNS:
                assert pa.types.is_dictionary(coded.column(name).type)
                assert coded.column(name).to_pylist() == text.column(name).to_pylist(), name
    out = tmp_path / "out.parquet"
    with TableWriter(out, tables.Layout("lon", "lat"), unsorted=ADDED_COLUMNS) as writer:
        for start in (0, 3):
            writer.write_table(assign_batch(points.slice(start, 3), index, dictionary=True))
    read = pq.read_table(out)
    expected = assign_batch(points, index)
    assert read.drop_columns(["geometry"]).equals(expected.combine_chunks())
    group = pq.ParquetFile(out, read_dictionary=["code_l5"]).read_row_group(0)
    used = {v for v in expected.column("code_l5").to_pylist()[:3] if v is not None}
    assert sorted(group.column("code_l5").chunk(0).dictionary.to_pylist()) == sorted(used)


def test_a_failed_run_closes_the_csv_it_was_reading(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A run that fails mid-file closes its CSV reader then and there: one left to the
    interpreter's exit (held by the error's traceback) can hang Arrow's shutdown."""
    opened: list[Tracked] = []

    class Tracked:
        def __init__(self, reader: pa.RecordBatchReader) -> None:
            self.reader, self.closed = reader, False
            opened.append(self)

        @property
        def schema(self) -> pa.Schema:
            return self.reader.schema

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(self.reader)

        def close(self) -> None:
            self.closed = True
            self.reader.close()

    open_csv = tables.pacsv.open_csv
    monkeypatch.setattr(tables.pacsv, "open_csv", lambda *a, **k: Tracked(open_csv(*a, **k)))

    def full_disk(self: TableWriter, table: pa.Table, coordinates: object = None) -> None:
        raise InputFileError(f"{self.path}: cannot write: No space left on device")

    monkeypatch.setattr(TableWriter, "write_table", full_disk)
    source = tmp_path / "in.csv"
    source.write_text("id,lon,lat\n" + "".join(f"{i},110.3005,25.2785\n" for i in range(50)))
    code = main(["assign", str(source), "-o", str(tmp_path / "out.parquet"), "--no-progress",
                 "--boundaries", str(BOUNDARIES), "--chunk-size", "5"])  # fmt: skip
    assert code == 2 and "No space left" in capsys.readouterr().err
    assert opened and all(r.closed for r in opened)


def test_whole_numbers_too_long_for_int64_stay_text_in_parquet(
    sample: Boundaries, tmp_path: Path
) -> None:
    """A column of whole numbers of 19 digits or more (ids, account numbers) is text in
    a Parquet output, every digit kept: it was typed double, which rounded
    12345678901234567890 to 12345678901234567168. Shorter whole numbers stay int64,
    decimals double; the Arrow and pandas paths agree."""
    source = tmp_path / "in.csv"
    rows = [
        ("12345678901234567890", "9223372036854775807", "123456789012345678", "1.5"),
        ("5", "", "-7", "1e30"),
    ]
    lines = ["big,max,fits,dec,lon,lat\n"] + [
        f"{a},{b},{c},{d},110.3005,25.2785\n" for a, b, c, d in rows
    ]
    source.write_text("".join(lines), encoding="utf-8")
    for chunk in (1, 3):  # the long value in the first chunk, and after it
        arrow, pandas = run_both(sample, source, tmp_path, "parquet", chunk=chunk)
        for output in (arrow, pandas):
            table = pq.read_table(output)
            types = {n: str(table.schema.field(n).type) for n in ("big", "max", "fits", "dec")}
            assert types == {"big": "string", "max": "string", "fits": "int64", "dec": "double"}
            assert table.column("big").to_pylist() == ["12345678901234567890", "5"]
            assert table.column("max").to_pylist() == ["9223372036854775807", ""]  # as written


def test_the_command_reads_its_input_while_the_assignment_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``gridgeo assign`` starts reading before it loads the index, and those chunks are
    the run's: the input is read once, and the output is the one a run started late
    writes."""
    from gridgeo.cli import assign_stream
    from gridgeo.io import point_chunks

    source = tmp_path / "in.csv"
    source.write_bytes(AWKWARD.encode())
    events: list[str] = []
    real_boundaries, real_start = assign_stream._boundaries, point_chunks.PointChunks.start
    real_tables = TableReader.tables

    def boundaries(args: object) -> Boundaries:
        events.append("boundaries")
        return real_boundaries(args)  # type: ignore[arg-type]

    def start(reader: TableReader, *, learn_types: bool) -> point_chunks.PointChunks:
        events.append(f"start learning types: {learn_types}")
        return real_start(reader, learn_types=learn_types)

    def tables(reader: TableReader) -> object:
        events.append("read")
        return real_tables(reader)

    monkeypatch.setattr(assign_stream, "_boundaries", boundaries)
    monkeypatch.setattr(point_chunks.PointChunks, "start", start)
    monkeypatch.setattr(TableReader, "tables", tables)
    out = tmp_path / "out.parquet"
    args = ["assign", str(source), "-o", str(out), "--boundaries", str(BOUNDARIES)]
    assert main([*args, "--no-progress"]) == 0
    assert events == ["start learning types: True", "read", "boundaries"]
    monkeypatch.setattr(TableReader, "tables", real_tables)
    late, _ = run_both(Boundaries.of(load([BOUNDARIES])), source, tmp_path, "parquet")
    assert pq.read_table(out).equals(pq.read_table(late))
    assert not [t for t in threading.enumerate() if t.name == "gridgeo-read-ahead"]


def test_a_refused_option_or_column_stops_the_command_before_it_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Options that contradict each other and an input that already has an added column
    are refused before any row is read (a huge ``--chunk-size`` would read it whole)."""
    from gridgeo.io import point_chunks

    started: list[bool] = []
    monkeypatch.setattr(point_chunks.PointChunks, "start", lambda *a, **k: started.append(True))
    source = tmp_path / "in.csv"
    source.write_text("id,lon,lat,code_l5\n1,110.3,25.2,x\n", encoding="utf-8")
    out = str(tmp_path / "out.parquet")
    assert main(["assign", str(source), "-o", out, "--no-progress", "--lang", "en"]) == 2
    source.write_text("id,lon,lat\n1,110.3,25.2\n", encoding="utf-8")
    both = ["--boundaries", str(BOUNDARIES), "--version", "1", "--no-progress", "--lang", "en"]
    assert main(["assign", str(source), "-o", out, *both]) == 2
    assert started == []


def test_early_chunks_that_do_not_learn_the_run_s_types_are_put_aside(
    sample: Boundaries, tmp_path: Path
) -> None:
    """Chunks started to learn the types, for a run whose types are given: stopped (their
    thread ends), and the run reads the input itself; the output is the same."""
    from gridgeo.cli.assign_stream import assign_table
    from gridgeo.io.point_chunks import PointChunks

    source = tmp_path / "in.csv"
    source.write_bytes(AWKWARD.encode())
    reader = TableReader(source, chunk_size=3)
    types = output_types(reader, tmp_path / "x.parquet")
    early = PointChunks.start(reader, learn_types=True)
    out = tmp_path / "out.parquet"
    report = assign_table(reader, out, sample, progress=False, types=types, early=early)
    assert report.summary.rows == 11
    assert not early._ahead._thread.is_alive()
    arrow, _ = run_both(sample, source, tmp_path, "parquet")
    assert pq.read_table(out).equals(pq.read_table(arrow))


def test_parsing_the_command_loads_no_index_and_no_settings() -> None:
    """What ``gridgeo assign`` loads before it starts reading: no pydantic, no grid index,
    no shapely-backed boundary reader (they load while the first chunk is read)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gridgeo.cli.main import build_parser\n"
        "build_parser(['assign']).parse_args(['assign', 'a.csv', '-o', 'b.parquet'])\n"
        "print(sorted(m for m in ('pydantic', 'gridgeo.settings', 'gridgeo.index',"
        " 'gridgeo.io.boundaries') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_interrupt_while_the_writer_is_busy_waits_for_it() -> None:
    """Ctrl-C while the caller hands the writer its end (a table being written, another
    waiting): raised only once the writer has let go of the file, and the waiting table
    is not written (closing a Parquet file under its writer crashed the process)."""
    import signal
    import time

    class Slow:
        def __init__(self) -> None:
            self.busy, self.written = False, 0

        def write_table(self, table: pa.Table, coordinates: object = None) -> None:
            self.busy = True
            time.sleep(0.4)
            self.written += 1
            self.busy = False

    slow, table = Slow(), pa.table({"a": [1]})
    main_thread = threading.main_thread().ident
    assert main_thread is not None
    timer = threading.Timer(0.15, signal.pthread_kill, (main_thread, signal.SIGINT))
    # the interrupt lands in the writer's exit, while it hands the end over
    with pytest.raises(KeyboardInterrupt), WriteBehind(slow) as behind:  # type: ignore[arg-type]
        behind.put(table)
        time.sleep(0.05)  # the first is being written
        behind.put(table)  # the second waits: the end cannot be handed over yet
        timer.start()
    assert not slow.busy and slow.written == 1
