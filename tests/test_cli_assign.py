"""``gridgeo assign``: tables of points in, the same tables with grid codes out."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from gridgeo.batch import ADDED_COLUMNS, CODE_COLUMNS
from gridgeo.cli import assign_stream
from gridgeo.cli.assign import MAX_CHUNK_SIZE
from gridgeo.cli.main import main
from gridgeo.cli.source import load_source
from gridgeo.coords import wgs84_to_gcj02
from gridgeo.dataset import Dataset
from gridgeo.index import GridIndex, index_file
from gridgeo.index.cache import index_for
from gridgeo.io import dataset as dataset_io
from gridgeo.io.dataset import load
from gridgeo.settings import Settings
from gridgeo.store.datasets import open_dataset

REPO = Path(__file__).resolve().parents[1]
SAMPLE_BOUNDARIES = REPO / "data" / "sample" / "boundaries.gpkg"

WENMING = (110.3005, 25.2785)  # 文明社区
WUMEI = (110.2915, 25.2800)  # 五美社区
OUTSIDE = (100.0, 30.0)

# id, lon, lat (as text, exactly as in the file), expected status
ROWS = [
    ("007", "110.3005", "25.2785", "ok"),
    ("008", "110.2915", "25.2800", "ok"),
    ("009", "100.0", "30.0", "unassigned"),
    ("010", "abc", "25.28", "bad_input"),
    ("011", "", "25.28", "bad_input"),
    ("012", "NaN", "25.28", "bad_input"),
    ("013", "200.0", "25.28", "bad_input"),
    ("014", "25.2785", "110.3005", "bad_input"),  # swapped
    ("015", "110.3005", "", "bad_input"),
    ("016", "110.2915", "25.28", "ok"),
]
COMMUNITY = {"007": "450302001001", "008": "450302001002", "016": "450302001002"}


@pytest.fixture(scope="module")
def sample() -> tuple[Dataset, GridIndex]:
    dataset = open_dataset(Settings())  # the store's published version, as the CLI reads it
    return dataset, GridIndex(dataset.grids)


@pytest.fixture(autouse=True)
def reuse_sample_index(monkeypatch: pytest.MonkeyPatch, sample: tuple[Dataset, GridIndex]) -> None:
    """Load the store's version and build its index once per module (the CLI: once per run)."""
    dataset, index = sample
    real_load, real_index = load_source, index_for  # what gridgeo.cli.assign_stream imports

    def load_once(args: Any, *rest: Any, **kwargs: Any) -> Dataset:
        default = not args.boundaries and args.version is None and args.at is None
        if default and args.workstations is None and not any(kwargs.values()):
            return dataset
        return real_load(args, *rest, **kwargs)

    def index_once(grids: Any, folder: Any) -> GridIndex:
        return index if grids is dataset.grids else real_index(grids, folder)

    monkeypatch.setattr(assign_stream, "load_source", load_once)
    monkeypatch.setattr(assign_stream, "index_for", index_once)


EN = ("--lang", "en")  # errors of the readers, in their English wording


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["assign", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, _ = run(capsys, *args, "--format", "json", "--no-progress")
    assert code == 0
    result: dict[str, Any] = json.loads(out)
    return result


def points_csv(path: Path, rows: list[tuple[str, str, str, str]] = ROWS) -> Path:
    lines = ["id,lon,lat,note"] + [f"{i},{x},{y},n{i}" for i, x, y, _ in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def expected_chain(sample: tuple[Dataset, GridIndex]) -> dict[str, list[str]]:
    """Codes of levels 1-5 of the ok rows, from the lookup core (not the batch index)."""
    dataset, _ = sample
    chains = {}
    for i, x, y, status in ROWS:
        if status == "ok":
            result = dataset.lookup(float(x), float(y))
            chains[i] = sorted(g.code for g in result.grids)  # city first
    return chains


def check_assigned(frame: pd.DataFrame, chains: dict[str, list[str]]) -> None:
    """Statuses, codes and workstations of the ROWS, one per row, in order."""
    assert frame["id"].tolist() == [r[0] for r in ROWS]
    assert frame["status"].tolist() == [r[3] for r in ROWS]
    for _, row in frame.iterrows():
        codes = [row[c] for c in CODE_COLUMNS]
        if row["id"] in chains:
            assert codes == chains[row["id"]]
            assert codes[:3] == ["450300", "450302", "450302001"]
            assert codes[3] == COMMUNITY[row["id"]]
            assert codes[4].startswith(codes[3]) and len(codes[4]) == 15
            assert row["workstation_code"] == f"WS{COMMUNITY[row['id']]}"
        else:
            assert all(c == "" or pd.isna(c) for c in [*codes, row["workstation_code"]])


# --- CSV -------------------------------------------------------------------------------------


def test_csv_rows_columns_codes_and_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, expected_chain: dict[str, list[str]]
) -> None:
    src = points_csv(tmp_path / "points.csv")
    summary = run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    assert {k: summary[k] for k in ("rows", "ok", "unassigned", "bad_input")} == {
        "rows": 10,
        "ok": 3,
        "unassigned": 1,
        "bad_input": 6,
    }
    assert summary["seconds"] >= 0 and summary["rows_per_second"] >= 0
    out = read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "lon", "lat", "note", *ADDED_COLUMNS]
    original = read_csv(src)
    pd.testing.assert_frame_equal(out[original.columns], original)  # "007", "", "NaN" kept
    check_assigned(out, expected_chain)
    # the input lines are the output lines' first fields, byte for byte
    src_lines = src.read_text(encoding="utf-8").splitlines()
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # for Excel
    out_lines = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [o.startswith(s + ",") for s, o in zip(src_lines, out_lines, strict=True)] == [True] * 11


def test_text_summary_and_progress_bar(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = points_csv(tmp_path / "points.csv")
    code, out, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    assert code == 0 and out.startswith("已为 10 行分配网格") and err == ""  # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--lang", "en")
    assert code == 0
    assert "10 rows assigned" in out and "rows/s" in out
    assert "ok          3" in out and "unassigned  1" in out and "bad_input   6" in out
    assert "rows" in err  # tqdm on stderr, with its total (a small CSV: counted)
    assert "10/10" in err
    code, out, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("已为 10 行分配网格，用时 ") and "（每秒 " in lines[0]
    assert lines[1:4] == [
        "  ok          3  落入网格",
        "  unassigned  1  不在任何网格内",
        "  bad_input   6  坐标缺失、不是数字或超出范围",
    ]
    assert "10/10" in err and " 行/s" in err
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--no-progress")
    assert code == 0 and err == ""


def test_gcj02_input_gives_the_same_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    points = [WENMING, WUMEI, OUTSIDE]
    lines = ["id,lon,lat"] + [f"{i},{x!r},{y!r}" for i, (x, y) in enumerate(points)]
    (tmp_path / "wgs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    gx, gy = wgs84_to_gcj02([p[0] for p in points], [p[1] for p in points])
    lines = ["id,lon,lat"] + [
        f"{i},{x!r},{y!r}" for i, (x, y) in enumerate(zip(gx.tolist(), gy.tolist(), strict=True))
    ]
    (tmp_path / "gcj.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert abs(gx[0] - WENMING[0]) > 1e-4  # the shift is real (hundreds of metres)
    run_json(capsys, str(tmp_path / "wgs.csv"), "-o", str(tmp_path / "wgs_out.csv"))
    run_json(
        capsys, str(tmp_path / "gcj.csv"), "-o", str(tmp_path / "gcj_out.csv"), "--crs", "gcj02"
    )
    wgs, gcj = read_csv(tmp_path / "wgs_out.csv"), read_csv(tmp_path / "gcj_out.csv")
    added = list(ADDED_COLUMNS)
    pd.testing.assert_frame_equal(wgs[added], gcj[added])
    assert wgs["code_l4"].tolist() == ["450302001001", "450302001002", ""]
    # without --crs the shifted points land elsewhere (or nowhere)
    run_json(capsys, str(tmp_path / "gcj.csv"), "-o", str(tmp_path / "gcj_as_wgs.csv"))
    assert read_csv(tmp_path / "gcj_as_wgs.csv")["code_l5"].tolist() != wgs["code_l5"].tolist()


def test_other_column_names(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = "编号,经度,纬度\n001,110.3005,25.2785\n"
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")
    args = (str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"))
    summary = run_json(capsys, *args, "--lon-col", "经度", "--lat-col", "纬度")
    assert summary["ok"] == 1
    assert read_csv(tmp_path / "out.csv")["编号"].tolist() == ["001"]


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
def test_many_chunks_give_the_same_output_as_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    src = points_csv(tmp_path / "points.csv")
    one, many = tmp_path / f"one{suffix}", tmp_path / f"many{suffix}"
    s1 = run_json(capsys, str(src), "-o", str(one))
    s3 = run_json(capsys, str(src), "-o", str(many), "--chunk-size", "3")
    assert {k: s1[k] for k in ("rows", "ok", "unassigned", "bad_input")} == {
        k: s3[k] for k in ("rows", "ok", "unassigned", "bad_input")
    }
    if suffix == ".parquet":
        assert pq.read_table(one).equals(pq.read_table(many))
        # chunks this small are written as one row group (test_small_chunks_make_...)
        assert pq.ParquetFile(many).metadata.num_row_groups == 1
    else:
        assert one.read_bytes() == many.read_bytes()


def test_empty_csv_gives_a_header_only_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text("id,lon,lat\n", encoding="utf-8")
    summary = run_json(capsys, str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"))
    assert summary["rows"] == 0
    header = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert header == ",".join(["id", "lon", "lat", *ADDED_COLUMNS]) + "\n"


# --- GeoJSON ---------------------------------------------------------------------------------


def points_geojson(path: Path) -> Path:
    def feature(i: str, xy: tuple[float, float] | None) -> dict[str, Any]:
        geometry = None if xy is None else {"type": "Point", "coordinates": list(xy)}
        return {"type": "Feature", "properties": {"id": i, "名称": f"点{i}"}, "geometry": geometry}

    features = [
        feature("007", WENMING),
        feature("008", None),  # null geometry: bad input, kept
        feature("009", OUTSIDE),
        feature("010", WUMEI),
        {"type": "Feature", "properties": {"id": "011", "名称": "空"}, "geometry": None},
    ]
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


GEOJSON_STATUS = ["ok", "bad_input", "unassigned", "ok", "bad_input"]


def test_geojson_to_geojson(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = points_geojson(tmp_path / "in.geojson")
    summary = run_json(capsys, str(src), "-o", str(tmp_path / "out.geojson"), "--chunk-size", "2")
    assert (summary["ok"], summary["unassigned"], summary["bad_input"]) == (2, 1, 2)
    given = json.loads(src.read_text(encoding="utf-8"))["features"]
    out = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert out["type"] == "FeatureCollection" and len(out["features"]) == 5
    for before, after in zip(given, out["features"], strict=True):
        assert after["geometry"] == before["geometry"]
        props = after["properties"]
        assert list(props) == ["id", "名称", *ADDED_COLUMNS]  # no lon/lat columns added
        assert {k: props[k] for k in ("id", "名称")} == before["properties"]
    props = [f["properties"] for f in out["features"]]
    assert [p["status"] for p in props] == GEOJSON_STATUS
    assert [p["code_l4"] for p in props] == [
        "450302001001",
        None,
        None,
        "450302001002",
        None,
    ]
    assert props[0]["workstation_code"] == "WS450302001001"


def test_geojson_to_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = points_geojson(tmp_path / "in.geojson")
    run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    out = read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["id", "名称", "lon", "lat", *ADDED_COLUMNS]
    assert out["id"].tolist() == ["007", "008", "009", "010", "011"]
    assert out["lon"].tolist() == ["110.3005", "", "100", "110.2915", ""]
    assert out["status"].tolist() == GEOJSON_STATUS


def test_csv_to_geojson_points_from_the_given_coordinates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = points_csv(tmp_path / "points.csv")
    run_json(capsys, str(src), "-o", str(tmp_path / "out.json"))
    features = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["features"]
    assert features[0]["geometry"] == {"type": "Point", "coordinates": [110.3005, 25.2785]}
    assert features[2]["geometry"] == {"type": "Point", "coordinates": [100.0, 30.0]}
    assert [f["geometry"] is None for f in features] == [r[3] == "bad_input" for r in ROWS]
    assert features[4]["properties"]["lon"] == ""  # text kept as text
    assert features[0]["properties"]["id"] == "007"


def test_geojson_output_writes_no_infinity(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A float column's infinities are null in GeoJSON, as NaN is: ``Infinity`` is not
    JSON (a strict reader such as a browser's ``JSON.parse`` refused the file)."""
    src = tmp_path / "in.parquet"
    values = [1.5, float("inf"), float("-inf"), float("nan")]
    n = len(values)
    table = {"v": values, "lon": [WENMING[0]] * n, "lat": [WENMING[1]] * n}
    pq.write_table(pa.table(table), src)
    run_json(capsys, str(src), "-o", str(tmp_path / "out.geojson"))
    text = (tmp_path / "out.geojson").read_text(encoding="utf-8")
    assert "Infinity" not in text and "NaN" not in text

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    features = json.loads(text, parse_constant=refuse)["features"]
    assert [f["properties"]["v"] for f in features] == [1.5, None, None, None]
    assert {f["properties"]["status"] for f in features} == {"ok"}


def test_the_chunk_size_is_bounded_where_every_reader_can_take_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The largest chunk size is taken by every input (GeoJSON's and Parquet's readers
    count rows in 32-bit integers: a larger one was a traceback); one more is refused."""
    geojson = points_geojson(tmp_path / "in.geojson")
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.table({"lon": [WENMING[0]], "lat": [WENMING[1]]}), parquet)
    most = str(MAX_CHUNK_SIZE)
    for src in (geojson, parquet):
        summary = run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--chunk-size", most)
        assert summary["ok"] >= 1
    with pytest.raises(SystemExit) as refused:  # argparse's way: usage and exit code 2
        main(["assign", str(parquet), "-o", str(tmp_path / "x.csv"), "--chunk-size", "2147483648"])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "2,147,483,647" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("name", "epsg"),
    [
        ("web_mercator.parquet", 3857),
        ("gauss_kruger.parquet", 4546),
        ("web_mercator.geojson", 3857),
    ],
)
def test_points_in_a_projected_crs_are_taken_to_lonlat(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, epsg: int
) -> None:
    """Points whose file declares a projected CRS (GeoParquet's ``crs``, a GeoJSON
    ``crs`` member) are assigned at their longitude and latitude: read as degrees, the
    metres were all out of range. A GeoJSON output, which is longitude and latitude,
    holds the points so too; a Parquet output keeps the geometry and its CRS."""
    points = gpd.GeoDataFrame(
        {"id": [1, 2]}, geometry=shapely.points([WENMING, WUMEI]), crs=4326
    ).to_crs(epsg)
    src = tmp_path / name
    if name.endswith(".parquet"):
        points.to_parquet(src)
    else:
        points.to_file(src, driver="GeoJSON")
        assert f"EPSG::{epsg}" in src.read_text(encoding="utf-8")  # the crs member
    summary = run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    assert summary["ok"] == 2
    out = read_csv(tmp_path / "out.csv")
    assert out["code_l4"].tolist() == ["450302001001", "450302001002"]
    assert np.allclose(out["lon"].astype(float), [WENMING[0], WUMEI[0]], atol=1e-9)
    run_json(capsys, str(src), "-o", str(tmp_path / "out.geojson"))
    features = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))["features"]
    got = [f["geometry"]["coordinates"] for f in features]
    assert np.allclose(got, [WENMING, WUMEI], atol=1e-9)
    run_json(capsys, str(src), "-o", str(tmp_path / "out.parquet"))  # the CRS it holds
    kept = gpd.read_parquet(tmp_path / "out.parquet")
    assert kept.crs.to_epsg() == epsg and kept.geometry.x.abs().max() > 1000  # metres


def test_a_geometry_crs_that_cannot_be_read_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "odd.parquet"
    gpd.GeoDataFrame({"id": [1]}, geometry=shapely.points([WENMING]), crs=4326).to_parquet(src)
    table = pq.read_table(src)
    geo = json.loads(table.schema.metadata[b"geo"])
    geo["columns"]["geometry"]["crs"] = {"type": "NoSuchCRS", "name": "nothing"}
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), src)
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--no-progress")
    assert code == 2 and "odd.parquet" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()
    # with the points in lon/lat columns the geometry's CRS is not needed: read as before
    table = pq.read_table(src)
    with_columns = table.append_column("lon", pa.array([WENMING[0]])).append_column(
        "lat", pa.array([WENMING[1]])
    )
    pq.write_table(with_columns, src)
    assert run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))["ok"] == 1


# --- Parquet ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "1,a,110.3005,25.2785\n2,b,110.26\n3,c,110.2915,25.28\n",  # a short row
        "1," + "x" * 3_000_000 + ",110.3005,25.2785\n2,y,110.2915,25.28\n",  # beyond a block
        "1,a,110.3005,25.2785\n   \n3,c,110.2915,25.28\n",  # a line of blanks
    ],
    ids=["short-row", "long-field", "blank-line"],
)
def test_csv_that_arrow_refuses_gives_parquet_as_it_gives_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str
) -> None:
    """Rows pyarrow's reader refuses go the pandas way, typing included: a Parquet
    output failed there ("Expected 4 columns, got 3", "straddling object") while a CSV
    output of the same file succeeded."""
    src = tmp_path / "in.csv"
    src.write_text("id,note,lon,lat\n" + body, encoding="utf-8")
    as_csv = run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    as_parquet = run_json(capsys, str(src), "-o", str(tmp_path / "out.parquet"))
    counts = ("rows", "ok", "unassigned", "bad_input")
    assert {k: as_parquet[k] for k in counts} == {k: as_csv[k] for k in counts}
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("status").to_pylist() == read_csv(tmp_path / "out.csv")["status"].tolist()
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("lat").type == pa.float64()


def test_small_chunks_make_whole_row_groups(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks smaller than a row group are held and written together: a row group per
    chunk of one row made the file fifty times larger and the writer's memory grow with
    the rows. The table is the one larger chunks give."""
    from gridgeo.io import tables

    monkeypatch.setattr(tables, "MIN_ROW_GROUP", 100)
    monkeypatch.setattr(tables, "_HELD_TABLES", 16)  # tiny tables merged as they are held
    src = points_csv(tmp_path / "in.csv", ROWS * 25)  # 250 rows
    outputs = {}
    for chunk in ("1", "7", "1000"):
        out = tmp_path / f"out_{chunk}.parquet"
        run_json(capsys, str(src), "-o", str(out), "--chunk-size", chunk)
        outputs[chunk] = out
    groups = {c: [pq.ParquetFile(p).metadata.row_group(i).num_rows
                  for i in range(pq.ParquetFile(p).metadata.num_row_groups)]
              for c, p in outputs.items()}  # fmt: skip
    assert groups == {"1": [100, 100, 50], "7": [105, 105, 40], "1000": [250]}
    whole = pq.read_table(outputs["1000"])
    for chunk in ("1", "7"):
        assert pq.read_table(outputs[chunk]).equals(whole)


def test_plain_parquet_in_and_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, expected_chain: dict[str, list[str]]
) -> None:
    lon = pd.to_numeric(pd.Series([r[1] for r in ROWS]), errors="coerce")
    lat = pd.to_numeric(pd.Series([r[2] for r in ROWS]), errors="coerce")
    table = pa.table(
        {
            "id": [r[0] for r in ROWS],
            "n": pa.array([1, None, 3, 4, 5, 6, 7, 8, 9, 10], pa.int64()),
            "lon": pa.array(lon, from_pandas=False),  # NaN kept as NaN, not null
            "lat": pa.array(lat, from_pandas=True),  # empty text -> null
        }
    )
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=4)
    summary = run_json(capsys, str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"))
    assert (summary["rows"], summary["ok"], summary["bad_input"]) == (10, 3, 6)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.names == ["id", "n", "lon", "lat", *ADDED_COLUMNS, "geometry"]
    kept = out.select(["id", "n", "lon", "lat"]).to_pandas(types_mapper=pd.ArrowDtype)
    pd.testing.assert_frame_equal(kept, table.to_pandas(types_mapper=pd.ArrowDtype))
    assert out.column("lon").null_count == 0 and out.column("lat").null_count == 1
    assert all(out.schema.field(c).type == pa.string() for c in ADDED_COLUMNS)
    check_assigned(out.to_pandas(), expected_chain)


def test_geoparquet_with_wkb_points(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    points = [shapely.Point(*WENMING), None, shapely.Point(*OUTSIDE), shapely.Point(*WUMEI)]
    frame = gpd.GeoDataFrame({"id": ["a", "b", "c", "d"]}, geometry=points, crs="EPSG:4326")
    frame.to_parquet(tmp_path / "in.parquet")
    args = (str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "--chunk-size", "3")
    summary = run_json(capsys, *args)
    assert (summary["ok"], summary["unassigned"], summary["bad_input"]) == (2, 1, 1)
    out = gpd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["id", "geometry", *ADDED_COLUMNS]
    assert out.geometry.equals(frame.geometry) and out.crs.to_epsg() == 4326
    assert out["status"].tolist() == ["ok", "bad_input", "unassigned", "ok"]
    assert out["code_l4"].tolist()[::3] == ["450302001001", "450302001002"]
    geo = json.loads(pq.read_schema(tmp_path / "out.parquet").metadata[b"geo"])
    assert geo["primary_column"] == "geometry"


def test_parquet_progress_knows_the_total(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    pq.write_table(pa.table({"lon": [110.3005] * 7, "lat": [25.2785] * 7}), tmp_path / "in.parquet")
    code, _, err = run(capsys, str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.csv"))
    assert code == 0 and "7/7" in err


# --- errors ----------------------------------------------------------------------------------


def test_missing_column_exits_2_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text("id,x,lat\n1,110.3,25.2\n", encoding="utf-8")
    code, out, err = run(capsys, str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), *EN)
    assert code == 2 and out == ""
    assert "'lon'" in err and "'id', 'x', 'lat'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("src", "dst"), [("in.txt", "out.csv"), ("in.csv", "out.xlsx")])
def test_unknown_suffix_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, src: str, dst: str
) -> None:
    (tmp_path / src).write_text("id,lon,lat\n1,110.3,25.2\n", encoding="utf-8")
    code, _, err = run(capsys, str(tmp_path / src), "-o", str(tmp_path / dst), *EN)
    assert code == 2 and "unknown table format" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [src]


def test_unreadable_input_and_missing_output_dir_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, str(tmp_path / "none.csv"), "-o", str(tmp_path / "out.csv"), *EN)
    assert code == 2 and "no such file" in err
    src = points_csv(tmp_path / "points.csv")
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "no" / "out.csv"), *EN)
    assert code == 2 and "does not exist" in err
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 nonsense")
    code, _, err = run(capsys, str(tmp_path / "broken.parquet"), "-o", str(tmp_path / "o.csv"), *EN)
    assert code == 2 and "cannot read Parquet" in err


def test_unknown_crs_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = points_csv(tmp_path / "points.csv")
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "out.csv"), "--crs", "wgs85", *EN)
    assert code == 2 and "unknown coordinate system" in err
    assert not (tmp_path / "out.csv").exists()


def test_failure_mid_run_leaves_no_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = "".join(f"{i:07d},110.3005,25.2785\n" for i in range(60_000))
    (tmp_path / "in.csv").write_bytes(b"id,lon,lat\n" + rows.encode() + b"\xff,1,2\n")
    args = (str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--chunk-size", "10000")
    code, _, err = run(capsys, *args, "--no-progress", *EN)
    assert code == 2 and "not UTF-8" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_boundaries_that_fail_stop_the_rows_read_ahead(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The first rows are read while the boundaries load; boundaries that cannot be read
    end the run with their error, and the reading thread with it (no thread left waiting
    with a chunk nobody takes, the file closed)."""
    import threading

    src = points_csv(tmp_path / "points.csv")
    missing = tmp_path / "none.gpkg"
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "o.csv"), "--boundaries",
                       str(missing), *EN)  # fmt: skip
    assert code == 2 and "none.gpkg" in err
    assert not [t for t in threading.enumerate() if t.name == "gridgeo-read-ahead"]
    assert not (tmp_path / "o.csv").exists()
    code, _, err = run(capsys, str(src), "-o", str(tmp_path / "o.csv"), "--boundaries",
                       str(SAMPLE_BOUNDARIES), "--workstations", str(tmp_path / "none.geojson"),
                       *EN)  # fmt: skip
    assert code == 2 and err.strip().endswith("none.geojson: no such file"), err
    assert not [t for t in threading.enumerate() if t.name == "gridgeo-read-ahead"]


def test_a_csv_with_blank_cells_and_a_blank_column_into_parquet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """More rows than the rules read one by one: blank coordinates are bad input, the
    blank column is text, the numbers are numbers (the whole-array reader on columns
    whose other values hold no text)."""
    rows = "".join(f"{i},110.29{i % 10},25.28,\n" for i in range(100)) + "100,,25.28,\n"
    (tmp_path / "in.csv").write_text("id,lon,lat,note\n" + rows, encoding="utf-8")
    out = tmp_path / "out.parquet"
    code, _, err = run(capsys, str(tmp_path / "in.csv"), "-o", str(out), "--boundaries",
                       str(SAMPLE_BOUNDARIES), "--no-progress", *EN)  # fmt: skip
    assert code == 0, err
    table = pq.read_table(out)
    assert table.schema.field("id").type == pa.int64()
    assert table.schema.field("lon").type == pa.float64()
    assert table.schema.field("note").type == pa.string()
    statuses = table.column("status").to_pylist()
    assert statuses[-1] == "bad_input" and statuses.count("bad_input") == 1
    assert table.column("status_reason").to_pylist()[-1] == "missing"


def test_input_with_an_added_column_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text("id,lon,lat,status\n1,110.3,25.2,x\n", encoding="utf-8")
    code, _, err = run(capsys, str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"))
    assert code == 2 and "status" in err


def test_explicit_boundaries_without_workstations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = points_csv(tmp_path / "points.csv")
    args = ("--boundaries", str(SAMPLE_BOUNDARIES))
    run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"), *args)
    out = read_csv(tmp_path / "out.csv")
    assert out["code_l4"].tolist()[:2] == ["450302001001", "450302001002"]
    assert set(out["workstation_code"]) == {""}  # workstations only with the default source


# --- a larger table --------------------------------------------------------------------------


@pytest.fixture
def random_points(tmp_path: Path, sample: tuple[Dataset, GridIndex]) -> Path:
    _, index = sample
    rng = np.random.default_rng(20261128)
    n = 200_000
    xmin, ymin, xmax, ymax = shapely.total_bounds(index.leaves.geometries)
    lon = rng.uniform(xmin - 0.2, xmax + 0.2, n)  # some outside every grid
    lat = rng.uniform(ymin - 0.2, ymax + 0.2, n)
    frame = pd.DataFrame({"id": np.arange(n), "lon": lon, "lat": lat})
    path = tmp_path / "random.csv"
    frame.to_csv(path, index=False, float_format="%.7f")
    return path


def test_200k_rows_match_the_index(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    random_points: Path,
) -> None:
    args = (str(random_points), "-o", str(tmp_path / "out.csv"), "--chunk-size", "50000")
    summary = run_json(capsys, *args)
    points = pd.read_csv(random_points)
    fresh = GridIndex(load().grids)  # the reference: an index of its own, one call
    positions = fresh.assign(points["lon"].to_numpy(), points["lat"].to_numpy(), crs="wgs84")
    ok = int((positions >= 0).sum())
    assert summary["rows"] == 200_000 and summary["bad_input"] == 0
    assert (summary["ok"], summary["unassigned"]) == (ok, 200_000 - ok)
    assert 0 < ok < 200_000
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False, usecols=["code_l5"])
    assert out["code_l5"].tolist() == [c or "" for c in fresh.codes(positions, 5)]


def test_csv_row_estimate_gives_the_bar_a_total(tmp_path: Path) -> None:
    """A CSV too large to count at once: its size over the mean length of its first
    lines, within a few percent (the bar's total and ETA); small files are counted."""
    from gridgeo.io.tables import TableReader

    big = tmp_path / "big.csv"
    rows = [f"{n},110.{n % 9000:04d},25.{n % 7000:04d},上报 {n}" for n in range(60_000)]
    big.write_text("id,lon,lat,note\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert big.stat().st_size > 1 << 20
    estimate = TableReader(big).rows_estimate
    assert estimate is not None and abs(estimate - 60_000) / 60_000 < 0.05
    small = tmp_path / "small.csv"
    small.write_text("id,lon,lat\n1,110.3,25.28\n2,110.3,25.28", encoding="utf-8")
    assert TableReader(small).rows_estimate == 2  # no newline at the end: still 2
    header_only = tmp_path / "empty.csv"
    header_only.write_text("id,lon,lat\n", encoding="utf-8")
    assert TableReader(header_only).rows_estimate is None


def test_no_bom_flag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = points_csv(tmp_path / "points.csv")
    out = tmp_path / "out.csv"
    code, _, _ = run(capsys, str(src), "-o", str(out), "--no-progress", "--no-bom")
    assert code == 0 and out.read_bytes().startswith(b"id,")


@pytest.mark.parametrize(("crs", "expected"), [("cgcs2000", 4490), ("wgs84", "CRS84"),
                                               ("gcj02", None)])  # fmt: skip
def test_csv_to_geoparquet_with_typed_columns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, crs: str, expected: object
) -> None:
    import duckdb
    import geopandas as gpd

    src = tmp_path / "in.csv"
    rows = [
        ("1", "110.3005", "25.2785", "007", "3.5"),
        ("2", "110.2915", "25.28", "008", ""),
        ("3", "110.2915", "25.28", "009", "4"),
        ("4", "abc", "25.28", "010", "1e2"),
    ]
    with src.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "lon", "lat", "code", "score"), *rows])
    out = tmp_path / "out.parquet"
    # chunks of 2: "abc" comes in the second chunk, the types still come from every row
    summary = run_json(capsys, str(src), "-o", str(out), "--crs", crs, "--chunk-size", "2")
    assert (summary["ok"], summary["bad_input"]) == (3, 1)
    schema = pq.read_schema(out)
    types = {name: str(schema.field(name).type) for name in ("id", "lon", "lat", "code", "score")}
    assert types == {"id": "int64", "lon": "string", "lat": "double", "code": "string",
                     "score": "double"}  # fmt: skip
    geo = json.loads(schema.metadata[b"geo"])
    column = geo["columns"][geo["primary_column"]]
    assert (geo["version"], column["encoding"], column["geometry_types"]) == (
        "1.1.0", "WKB", ["Point"])  # fmt: skip
    crs_id = (column["crs"] or {}).get("id", {}).get("code")
    assert crs_id == expected

    frame = gpd.read_parquet(out)  # geopandas reads it as a GeoDataFrame
    assert [(p.x, p.y) if p is not None else None for p in frame.geometry] == [
        (110.3005, 25.2785), (110.2915, 25.28), (110.2915, 25.28), None]  # fmt: skip
    if expected == 4490:
        assert frame.crs.to_epsg() == 4490
    found = duckdb.sql(
        f"SELECT typeof(id), typeof(lat), typeof(code), count(*) FROM '{out}' GROUP BY ALL"
    ).fetchall()
    assert found == [("BIGINT", "DOUBLE", "VARCHAR", 4)]


def test_every_row_that_is_not_ok_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = points_csv(tmp_path / "points.csv")
    run_json(capsys, str(src), "-o", str(tmp_path / "out.csv"))
    out = read_csv(tmp_path / "out.csv").set_index("id")
    reasons = dict(zip(out.index, out["status_reason"], strict=True))
    assert reasons == {
        "007": "", "008": "", "016": "",
        "009": "outside_grids",
        "010": "not_a_number", "012": "not_a_number",
        "011": "missing", "015": "missing",
        "013": "out_of_range",
        "014": "swapped",
    }  # fmt: skip


# --- the index file ----------------------------------------------------------------------


def test_the_index_is_built_once_then_mapped_from_its_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real ones, not the module's shortcuts
    monkeypatch.setattr(assign_stream, "index_for", index_for)
    monkeypatch.setattr(assign_stream, "load_source", load_source)
    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "index"))
    source = points_csv(tmp_path / "in.csv")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert run(capsys, str(source), "-o", str(first), "--no-progress")[0] == 0
    [saved] = (tmp_path / "index").glob("*.gidx")
    before = index_file.mapped_files[str(saved)]
    assert run(capsys, str(source), "-o", str(second), "--no-progress")[0] == 0
    assert index_file.mapped_files[str(saved)] == before + 1  # loaded, not built
    assert first.read_bytes() == second.read_bytes()
    saved.write_bytes(saved.read_bytes()[:-64])  # truncated: refused, rebuilt, replaced
    assert run(capsys, str(source), "-o", str(first), "--no-progress")[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert index_file.load_index(saved, index_file_key(saved)).n_owners > 0


def test_boundary_files_seen_before_are_not_read_again(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDGEO_INDEX_DIR", str(tmp_path / "index"))
    reads: list[object] = []
    real = dataset_io.read_boundaries

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_io, "read_boundaries", counted)
    city = tmp_path / "city.gpkg"
    city.write_bytes(SAMPLE_BOUNDARIES.read_bytes())
    source = points_csv(tmp_path / "in.csv")
    outputs = [tmp_path / f"out{i}.csv" for i in range(3)]
    for out in outputs[:2]:
        assert run(capsys, str(source), "-o", str(out), "--boundaries", str(city))[0] == 0
    assert len(reads) == 1  # the second run mapped the index found by the file's bytes
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    _, text, _ = run(capsys, str(source), "-o", str(outputs[2]), "--boundaries", str(city), *EN)
    assert f"boundaries: files {city}" in text  # where the answers came from, read or not
    with city.open("ab") as fh:  # the file changed: read again
        fh.write(b"\0")
    assert run(capsys, str(source), "-o", str(outputs[2]), "--boundaries", str(city))[0] == 0
    assert len(reads) == 2


def index_file_key(path: Path) -> str:
    """The key written in an index file's header (what it was built for)."""
    data = path.read_bytes()
    length = int.from_bytes(data[len(index_file.MAGIC) : len(index_file.MAGIC) + 8], "little")
    start = len(index_file.MAGIC) + 8
    key: str = json.loads(data[start : start + length])["key"]
    return key


def test_a_small_csv_into_parquet_does_not_load_the_compiled_reader(
    tmp_path: Path,
) -> None:
    """With its boundaries' index built, a run's start-up is what it imports: a small
    file's numbers are read without the compiled reader (numba and LLVM, 0.5 s), and
    neither pandas nor the file readers are loaded (0.5 s more), with the same output."""
    city = tmp_path / "city.gpkg"
    city.write_bytes(SAMPLE_BOUNDARIES.read_bytes())
    source = points_csv(tmp_path / "in.csv")
    script = (
        "import sys, json\n"
        "from gridgeo.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = ('gridgeo.number_kernels', 'numba', 'pandas', 'geopandas', 'pyogrio', 'pyproj')\n"
        "print(json.dumps([code, [m for m in heavy if m in sys.modules]]))\n"
    )
    env = os.environ | {"GRIDGEO_INDEX_DIR": str(tmp_path / "index")}
    outputs = []
    for name in ("first", "second"):  # the first builds the index (and reads the file)
        out = tmp_path / f"{name}.parquet"
        argv = ["assign", str(source), "-o", str(out), "--boundaries", str(city), "--no-progress"]
        run_ = subprocess.run(
            [sys.executable, "-c", script, *argv],
            check=False,
            capture_output=True,
            text=True,
            env=env,
        )
        assert run_.returncode == 0, run_.stderr
        outputs.append((json.loads(run_.stdout.splitlines()[-1]), pq.read_table(out)))
    (code, loaded), second = outputs[1]
    assert code == 0 and loaded == []
    assert second.equals(outputs[0][1]) and second.num_rows == len(ROWS)
    assert second.column("status").to_pylist() == [r[3] for r in ROWS]


def test_a_large_input_loads_the_kernels_meanwhile_with_the_same_output(
    tmp_path: Path,
) -> None:
    """An input of LARGE_INPUT_BYTES or more loads numba in the background and goes on
    in the kernels once they are ready: the output is the same as the numpy path's."""
    city = tmp_path / "city.gpkg"
    city.write_bytes(SAMPLE_BOUNDARIES.read_bytes())
    rng = np.random.default_rng(5)
    source = tmp_path / "in.csv"
    lon = rng.uniform(110.1, 110.5, 60_000).round(4)  # rounded: some land on edges
    lat = rng.uniform(25.1, 25.4, 60_000).round(4)
    source.write_text(
        "id,lon,lat\n"
        + "".join(f"{i},{x},{y}\n" for i, (x, y) in enumerate(zip(lon, lat, strict=True)))
    )
    script = (
        "import sys, json, gridgeo.compiled as compiled\n"
        "from gridgeo.cli.main import main\n"
        "compiled.LARGE_INPUT_BYTES = int(sys.argv[1])\n"
        "code = main(sys.argv[2:])\n"
        "print(json.dumps([code, 'numba' in sys.modules]))\n"
    )
    env = os.environ | {"GRIDGEO_INDEX_DIR": str(tmp_path / "index")}
    tables, loaded = [], []
    runs = (("build", 1 << 40), ("numpy", 1 << 40), ("kernels", 0))  # the first builds
    for name, threshold in runs:  # the index, which loads numba
        out = tmp_path / f"{name}.parquet"
        argv = ["assign", str(source), "-o", str(out), "--boundaries", str(city), "--no-progress"]
        argv += ["--chunk-size", "5000"]  # chunks after the kernels are ready
        run_ = subprocess.run(
            [sys.executable, "-c", script, str(threshold), *argv],
            check=False,
            capture_output=True,
            text=True,
            env=env,
        )
        assert run_.returncode == 0, run_.stderr
        code, numba_loaded = json.loads(run_.stdout.splitlines()[-1])
        assert code == 0
        loaded.append(numba_loaded)
        tables.append(pq.read_table(out))
    assert loaded[1:] == [False, True]
    assert tables[1].equals(tables[2]) and tables[0].equals(tables[1])
    assert tables[1].column("status").to_pylist().count("ok") > 50_000


def test_the_output_cannot_be_the_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Written to its own input, the finished output would replace it: refused, the
    input untouched."""
    src = points_csv(tmp_path / "points.csv")
    before = src.read_bytes()
    code, _, err = run(capsys, str(src), "-o", str(src), "--no-progress", *EN)
    assert code == 2 and "the output is the input" in err
    assert src.read_bytes() == before
    code, _, err = run(capsys, str(src), "-o", str(tmp_path), *EN)  # a folder, named so
    assert code == 2 and "is a directory" in err
