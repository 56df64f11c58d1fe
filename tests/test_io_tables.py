"""Chunked table reading and writing: every format, chunk boundaries, empty tables, atomicity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from gridgeo.errors import InputFileError
from gridgeo.i18n import use_lang
from gridgeo.io.tables import (
    CsvShapeError,
    Layout,
    TableReader,
    TableWriter,
    read_chunks,
    table_format,
)

CSV_TEXT = (
    "id,name,lon,lat,note\n"
    "007,文明社区,110.3005,25.2785,\n"
    '008,"Wu, Mei",110.2915,25.2800,"say ""hi"""\n'
    "009,,abc,,\n"
    '010, padded ,100.0,30.0,"two\nlines"\n'
    "011,x,200.0,25.28,0.50\n"
)


def write_text(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def read_all(path: Path, chunk_size: int = 2, **kwargs: str) -> list[pd.DataFrame]:
    return list(read_chunks(path, chunk_size, **kwargs))


def geojson_features() -> list[dict[str, Any]]:
    def feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
        return {"type": "Feature", "properties": props, "geometry": geometry}

    return [
        feature(
            {"id": "007", "n": 1, "name": "文明"}, {"type": "Point", "coordinates": [110.3, 25.2]}
        ),
        feature({"id": "008", "n": None, "name": "五美"}, None),
        feature(
            {"id": "009", "n": 3, "name": None}, {"type": "Point", "coordinates": [100.0, 30.0]}
        ),
    ]


def write_geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "csv"), ("a.CSV", "csv"), ("a.geojson", "geojson"), ("a.json", "geojson"),
     ("a.parquet", "parquet")],
)  # fmt: skip
def test_table_format_follows_suffix(name: str, expected: str) -> None:
    assert table_format(name) == expected


@pytest.mark.parametrize("name", ["a.txt", "a.xlsx", "a"])
def test_unknown_suffix_is_an_input_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputFileError, match="unknown table format"):
        table_format(name)
    (tmp_path / name).write_text("x")
    with pytest.raises(InputFileError):
        TableReader(tmp_path / name)
    with pytest.raises(InputFileError):
        TableWriter(tmp_path / f"out_{name}")


# --- CSV -------------------------------------------------------------------------------------


def test_csv_chunks_are_text_exactly_as_given(tmp_path: Path) -> None:
    path = write_text(tmp_path / "in.csv", CSV_TEXT)
    chunks = read_all(path, chunk_size=2)
    assert [len(c) for c in chunks] == [2, 2, 1]
    frame = pd.concat(chunks, ignore_index=True)
    assert list(frame.columns) == ["id", "name", "lon", "lat", "note"]
    assert frame["id"].tolist() == ["007", "008", "009", "010", "011"]
    assert frame["name"].tolist() == ["文明社区", "Wu, Mei", "", " padded ", "x"]
    assert frame["lat"].tolist() == ["25.2785", "25.2800", "", "30.0", "25.28"]
    assert frame["note"].tolist() == ["", 'say "hi"', "", "two\nlines", "0.50"]


@pytest.mark.parametrize("chunk_size", [1, 2, 4, 5, 6, 1000])
def test_csv_round_trip_is_byte_identical(tmp_path: Path, chunk_size: int) -> None:
    path = write_text(tmp_path / "in.csv", CSV_TEXT)
    reader = TableReader(path, chunk_size=chunk_size)
    sizes = []
    with TableWriter(tmp_path / "out.csv", reader.layout) as writer:
        for chunk in reader:
            sizes.append(len(chunk))
            writer.write(chunk)
    assert sum(sizes) == 5 and max(sizes) <= chunk_size
    # the UTF-8 byte order mark (for Excel on Chinese Windows), then the input's bytes
    assert (tmp_path / "out.csv").read_bytes() == b"\xef\xbb\xbf" + CSV_TEXT.encode("utf-8")


def test_csv_with_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,lon,lat\n1,110.3,25.2\n")
    [chunk] = read_all(path)
    assert list(chunk.columns) == ["id", "lon", "lat"]


def test_header_only_csv_gives_one_empty_chunk_and_a_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "empty.csv", "id,lon,lat\n")
    reader = TableReader(path)
    chunks = list(reader)
    assert len(chunks) == 1 and len(chunks[0]) == 0
    assert list(chunks[0].columns) == ["id", "lon", "lat"]
    with TableWriter(tmp_path / "out.csv", reader.layout) as writer:
        writer.write(chunks[0])
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig") == "id,lon,lat\n"


def test_csv_missing_column_names_it_and_lists_the_others(tmp_path: Path) -> None:
    path = write_text(tmp_path / "in.csv", "id,x,lat\n1,2,3\n")
    with pytest.raises(InputFileError, match=r"'lon'.*available columns: 'id', 'x', 'lat'"):
        TableReader(path)
    with pytest.raises(InputFileError, match="'longitude'"):
        read_chunks(path, lon_col="longitude", lat_col="lat")
    [chunk] = read_all(path, lon_col="x")
    assert chunk["x"].tolist() == ["2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b"id,lon,lat\n\xff\xfe,1,2\n", "neither UTF-8 nor GBK/GB18030")],
)
def test_unreadable_csv_is_an_input_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        list(TableReader(path))


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        TableReader(tmp_path / "nope.csv")


def test_bad_utf8_after_the_first_chunks_is_an_input_error(tmp_path: Path) -> None:
    rows = "".join(f"{i:07d},110.3,25.2\n" for i in range(60_000))  # past the parser's buffer
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,lon,lat\n" + rows.encode() + b"\xff,1,2\n")
    reader = TableReader(path, chunk_size=10_000)
    with pytest.raises(InputFileError, match="not UTF-8"):
        for _ in reader:
            pass


# --- GeoJSON ---------------------------------------------------------------------------------


def test_geojson_coordinates_come_from_the_geometry(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "in.geojson", geojson_features())
    reader = TableReader(path, chunk_size=2)
    assert reader.layout == Layout("lon", "lat", "geometry", derived=True)
    chunks = list(reader)
    assert [len(c) for c in chunks] == [2, 1]
    frame = pd.concat(chunks, ignore_index=True)
    assert list(frame.columns) == ["id", "n", "name", "geometry", "lon", "lat"]
    assert frame["id"].tolist() == ["007", "008", "009"]
    assert frame["lon"].iloc[0] == 110.3 and frame["lat"].iloc[2] == 30.0
    assert np.isnan(frame["lon"].iloc[1])  # null geometry: kept, coordinates missing


def test_geojson_lon_lat_properties_win_over_the_geometry(tmp_path: Path) -> None:
    features = geojson_features()
    for f, x in zip(features, ["1", "2", "3"], strict=True):
        f["properties"] = {**f["properties"], "x": x, "y": "25"}
    path = write_geojson(tmp_path / "in.geojson", features)
    reader = TableReader(path, lon_col="x", lat_col="y")
    assert not reader.layout.derived and reader.layout.geometry == "geometry"
    [chunk] = list(reader)
    assert chunk["x"].tolist() == ["1", "2", "3"] and "lon" not in chunk.columns


def test_geojson_without_coordinates_names_the_columns(tmp_path: Path) -> None:
    features = [{"type": "Feature", "properties": {"id": 1, "lon": 2.0}, "geometry": None}]
    path = write_geojson(tmp_path / "in.geojson", features)
    with pytest.raises(InputFileError, match="'lat'"):
        TableReader(path)


@pytest.mark.parametrize("chunk_size", [1, 2, 10])
def test_geojson_round_trip_keeps_properties_and_geometry(tmp_path: Path, chunk_size: int) -> None:
    features = geojson_features()
    path = write_geojson(tmp_path / "in.geojson", features)
    reader = TableReader(path, chunk_size=chunk_size)
    with TableWriter(tmp_path / "out.geojson", reader.layout) as writer:
        for chunk in reader:
            writer.write(chunk)
    out = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert out["type"] == "FeatureCollection"
    assert out["features"] == features  # derived lon/lat are not added to the properties
    assert "文明" in (tmp_path / "out.geojson").read_text(encoding="utf-8")  # not \\u-escaped


def test_geojson_nested_property_values_survive(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"tags": {"a": [1, 2], "b": "中"}},
            "geometry": {"type": "Point", "coordinates": [1.5, 2.5]},
        }
    ]
    path = write_geojson(tmp_path / "in.geojson", features)
    reader = TableReader(path)
    with TableWriter(tmp_path / "out.json", reader.layout) as writer:
        for chunk in reader:
            writer.write(chunk)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["features"] == features


def test_empty_feature_collection_gives_an_empty_collection(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "in.geojson", [])
    reader = TableReader(path)
    chunks = list(reader)
    assert len(chunks) == 1 and len(chunks[0]) == 0
    with TableWriter(tmp_path / "out.geojson", reader.layout) as writer:
        writer.write(chunks[0])
    out = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert out == {"type": "FeatureCollection", "features": []}


def test_geojson_written_from_lon_lat_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"id": ["1", "2", "3"], "lon": ["110.3", "abc", "200"], "lat": ["25.2"] * 3}
    )
    with TableWriter(tmp_path / "out.geojson", Layout("lon", "lat")) as writer:
        writer.write(frame)
    out = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert [f["geometry"] for f in out["features"]] == [
        {"type": "Point", "coordinates": [110.3, 25.2]},
        None,
        None,
    ]
    assert [f["properties"] for f in out["features"]][1] == {"id": "2", "lon": "abc", "lat": "25.2"}


# --- Parquet ---------------------------------------------------------------------------------


def plain_table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(["007", "008", None, "010", "011"]),
            "count": pa.array([1, None, 3, 4, 5], pa.int64()),
            "lon": pa.array([110.3005, 110.2915, None, 100.0, 200.0]),
            "lat": pa.array([25.2785, 25.28, 25.0, 30.0, 25.0]),
        }
    )


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 100])
def test_parquet_round_trip_keeps_types_and_nulls(tmp_path: Path, chunk_size: int) -> None:
    pq.write_table(plain_table(), tmp_path / "in.parquet", row_group_size=3)
    reader = TableReader(tmp_path / "in.parquet", chunk_size=chunk_size)
    assert reader.rows == 5 and reader.layout == Layout("lon", "lat")
    sizes = []
    with TableWriter(tmp_path / "out.parquet", reader.layout) as writer:
        for chunk in reader:
            sizes.append(len(chunk))
            writer.write(chunk)
    assert sum(sizes) == 5 and max(sizes) <= chunk_size
    out = pq.read_table(tmp_path / "out.parquet")
    # the columns as they were, and a GeoParquet point column built from lon/lat
    assert out.drop_columns(["geometry"]).equals(plain_table())
    geo = json.loads(out.schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["version"] == "1.1.0"
    assert geo["columns"]["geometry"]["geometry_types"] == ["Point"]
    points = shapely.from_wkb(out.column("geometry").to_pylist())
    lon, lat = plain_table().column("lon").to_pylist(), plain_table().column("lat").to_pylist()
    for point, x, y in zip(points, lon, lat, strict=True):
        if x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90):
            assert point is None
        else:
            assert (point.x, point.y) == (x, y)


def test_parquet_to_csv_writes_the_values(tmp_path: Path) -> None:
    pq.write_table(plain_table(), tmp_path / "in.parquet")
    reader = TableReader(tmp_path / "in.parquet")
    with TableWriter(tmp_path / "out.csv", reader.layout) as writer:
        for chunk in reader:
            writer.write(chunk)
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "id,count,lon,lat"
    assert lines[1] == "007,1,110.3005,25.2785"
    assert lines[2] == "008,,110.2915,25.28"
    assert lines[3] == ",3,,25"


def geoparquet(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"id": ["007", "008", "009"], "n": [1, 2, 3]},
        geometry=[shapely.Point(110.3005, 25.2785), None, shapely.Point(100.0, 30.0)],
        crs="EPSG:4326",
    )
    frame.to_parquet(path)
    return frame


@pytest.mark.parametrize("chunk_size", [1, 2, 10])
def test_geoparquet_round_trip_keeps_wkb_geometry(tmp_path: Path, chunk_size: int) -> None:
    frame = geoparquet(tmp_path / "in.parquet")
    reader = TableReader(tmp_path / "in.parquet", chunk_size=chunk_size)
    assert reader.layout.geometry == "geometry" and reader.layout.derived
    chunks = list(reader)
    lon = np.concatenate([c["lon"].to_numpy() for c in chunks])
    np.testing.assert_array_equal(lon, [110.3005, np.nan, 100.0])
    with TableWriter(tmp_path / "out.parquet", reader.layout) as writer:
        for chunk in chunks:
            writer.write(chunk)
    schema = pq.read_schema(tmp_path / "out.parquet")
    assert schema.names == ["id", "n", "geometry"]  # derived lon/lat dropped again
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    back = gpd.read_parquet(tmp_path / "out.parquet")
    assert back.crs.to_epsg() == 4326
    assert back["id"].tolist() == ["007", "008", "009"]
    assert back.geometry.equals(frame.geometry)


def test_geoparquet_to_csv_has_lon_lat_instead_of_wkb(tmp_path: Path) -> None:
    geoparquet(tmp_path / "in.parquet")
    reader = TableReader(tmp_path / "in.parquet")
    with TableWriter(tmp_path / "out.csv", reader.layout) as writer:
        for chunk in reader:
            writer.write(chunk)
    assert (tmp_path / "out.csv").read_text(encoding="utf-8-sig").splitlines() == [
        "id,n,lon,lat",
        "007,1,110.3005,25.2785",
        "008,2,,",
        "009,3,100,30",
    ]


def test_plain_parquet_with_wkb_geometry_column(tmp_path: Path) -> None:
    wkb = shapely.to_wkb(shapely.points([[110.3, 25.2], [1.0, 2.0]]))
    pq.write_table(
        pa.table({"id": ["a", "b"], "geometry": pa.array(list(wkb))}), tmp_path / "in.parquet"
    )
    [chunk] = list(TableReader(tmp_path / "in.parquet"))
    assert chunk["lon"].tolist() == [110.3, 1.0] and chunk["lat"].tolist() == [25.2, 2.0]


def test_empty_parquet_gives_an_empty_table(tmp_path: Path) -> None:
    pq.write_table(plain_table().slice(0, 0), tmp_path / "in.parquet")
    reader = TableReader(tmp_path / "in.parquet")
    chunks = list(reader)
    assert reader.rows == 0 and len(chunks) == 1 and len(chunks[0]) == 0
    with TableWriter(tmp_path / "out.parquet", reader.layout) as writer:
        writer.write(chunks[0])
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == 0 and out.schema.names == ["id", "count", "lon", "lat", "geometry"]


def test_parquet_schema_does_not_depend_on_the_chunking(tmp_path: Path) -> None:
    codes = [None, None, "450302001001", "450302001002"]
    frame = pd.DataFrame({"id": ["1", "2", "3", "4"], "code": np.array(codes, dtype=object)})
    for name, parts in (("one.parquet", [frame]), ("two.parquet", [frame[:2], frame[2:]])):
        with TableWriter(tmp_path / name, Layout("id", "id")) as writer:
            for part in parts:
                writer.write(part)
    one, two = (pq.read_table(tmp_path / n) for n in ("one.parquet", "two.parquet"))
    assert one.schema.field("code").type == pa.string() == two.schema.field("code").type
    assert one.equals(two) and one.column("code").to_pylist() == codes


def test_unreadable_parquet_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputFileError, match="Parquet"):
        TableReader(tmp_path / "in.parquet")


# --- writer ----------------------------------------------------------------------------------


def test_writer_needs_an_existing_directory(tmp_path: Path) -> None:
    with (
        pytest.raises(InputFileError, match="does not exist"),
        TableWriter(tmp_path / "no/out.csv"),
    ):
        pass


@pytest.mark.parametrize("name", ["out.csv", "out.geojson", "out.parquet"])
def test_failed_write_leaves_nothing_behind(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"id": ["1"], "lon": ["110.3"], "lat": ["25.2"]})
    with pytest.raises(RuntimeError, match="boom"), TableWriter(tmp_path / name) as writer:
        writer.write(frame)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.csv", "out.geojson", "out.parquet"])
def test_existing_output_is_replaced_only_on_success(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.write_bytes(b"old")
    frame = pd.DataFrame({"id": ["1"], "lon": ["110.3"], "lat": ["25.2"]})
    with pytest.raises(RuntimeError), TableWriter(target) as writer:
        writer.write(frame)
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    with TableWriter(target) as writer:
        writer.write(frame)
    assert target.read_bytes() != b"old" and writer.rows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_chinese_spreadsheets_are_read_as_they_come(tmp_path: Path) -> None:
    """经度/纬度 columns, GBK from Excel on Chinese Windows, UTF-8 with a BOM."""
    text = "编号,经度,纬度,备注\n1,110.2965,25.2775,井盖缺失\n2,110.3,25.28,占道\n"
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gbk"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(text.encode("utf-8-sig"))
    for path in (gbk, bom):
        reader = TableReader(path)
        assert (reader.layout.lon_col, reader.layout.lat_col) == ("经度", "纬度")
        (chunk,) = list(reader)
        assert list(chunk["备注"]) == ["井盖缺失", "占道"]
        assert chunk.columns[0] == "编号"  # no BOM glued to the first name


def test_usual_names_only_stand_in_for_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,lng,latitude\n1,110.3,25.28\n", encoding="utf-8")
    layout = TableReader(path).layout
    assert (layout.lon_col, layout.lat_col) == ("lng", "latitude")
    # a name the user gave is never swapped for another
    with pytest.raises(InputFileError, match="missing coordinate column 'east'"):
        TableReader(path, lon_col="east")
    # two candidates: no guess, the columns are listed
    both = tmp_path / "both.csv"
    both.write_text("lng,经度,纬度\n1,110.3,25.28\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"missing coordinate column 'lon'.*'经度'"):
        TableReader(both)


def test_text_in_no_known_encoding_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"lon,lat\n\xff\xfe\xff,25\n")
    with pytest.raises(
        InputFileError, match="neither UTF-8 nor GBK/GB18030 text; save it as UTF-8"
    ):
        TableReader(path)


def test_read_errors_are_chinese_in_chinese_naming_the_file_and_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "点位.csv", "编号,x,纬度\n1,2,3\n")
    with use_lang("zh"), pytest.raises(InputFileError) as info:
        TableReader(path)
    assert str(info.value) == (
        f"{path}：缺少坐标列 'lon'，也没有点几何图形（可用 --lon-col/--lat-col 指定坐标列）；"
        "现有列：'编号'、'x'、'纬度'"
    )
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"lon,lat\n\xff\xfe\xff,25\n")
    with use_lang("zh"), pytest.raises(InputFileError) as info:
        TableReader(binary)
    assert str(info.value) == (
        f"{binary}：既不是 UTF-8 也不是 GBK/GB18030 文本；请另存为 UTF-8 编码"
        "（Excel 中选“CSV UTF-8”格式）"
    )
    with use_lang("zh"), pytest.raises(InputFileError, match=r"：文件不存在$"):
        TableReader(tmp_path / "nope.csv")
    with use_lang("zh"), pytest.raises(InputFileError, match=r"未知的表格格式 '\.txt'；可用格式"):
        TableReader(tmp_path / "in.txt")


def test_csv_without_bom_is_the_input_byte_for_byte(tmp_path: Path) -> None:
    src = write_text(tmp_path / "in.csv", CSV_TEXT)
    reader = TableReader(src)
    with TableWriter(tmp_path / "out.csv", reader.layout, bom=False) as writer:
        for chunk in reader:
            writer.write(chunk)
    assert (tmp_path / "out.csv").read_bytes() == CSV_TEXT.encode("utf-8")
    # and a file with a BOM reads back the same as one without
    [chunk] = list(TableReader(tmp_path / "out.csv"))
    assert list(chunk.columns) == CSV_TEXT.splitlines()[0].split(",")


def test_parquet_statistics_and_dictionaries_only_where_they_pay(tmp_path: Path) -> None:
    """Unsorted columns are written without min/max, the points and a column of mostly
    different values without a dictionary; the values read back are the same."""
    n = 5000
    table = pa.table(
        {
            "id": pa.array(range(n)),  # all different: no dictionary
            "kind": pa.array(["a", "b"] * (n // 2)),  # repeated: a dictionary
            "lon": pa.array([110.3 + k * 1e-6 for k in range(n)]),
            "lat": pa.array([25.28] * n),
            "code": pa.array(["450302"] * n),  # in no order: no statistics
        }
    )
    out = tmp_path / "out.parquet"
    with TableWriter(out, Layout("lon", "lat"), unsorted=["code"]) as writer:
        writer.write_table(table)
    assert pq.read_table(out).drop_columns(["geometry"]).equals(table)
    meta = pq.read_metadata(out).row_group(0)
    chunks = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert {n for n, c in chunks.items() if c.has_dictionary_page} == {"kind", "lat", "code"}
    assert {n for n, c in chunks.items() if not c.is_stats_set} == {"code", "geometry"}


@pytest.mark.parametrize(
    "header",
    [
        "id,lon,lat,note",
        '"id","lon","lat"',
        " id , lon,lat",
        "编号,经度,纬度,备注",
        'id,"a ""quoted"" name",lon,lat',
        "id,lon,lat,",  # a blank last name
        "id,lon,id,lat,id",  # repeated names
        "id,lon,lat,lon.1,lon",  # a repeat meeting a name pandas would give
        ",lon,lat",
        "\nid,lon,lat",  # a blank first line
        "\ufeffid,lon,lat",  # a byte-order mark read as UTF-8
        'id,"two\nlines",lon,lat',
        "id,lon,lat,lon ",  # a name that differs from another by a space
    ],
)
def test_csv_header_names_as_pandas_gives_them(tmp_path: Path, header: str) -> None:
    """The header is read without pandas when pandas would take its names as written,
    else by pandas: either way the names are pandas' (those of the pandas chunks)."""
    path = tmp_path / "points.csv"
    path.write_text(f"{header}\r\n1,110.3,25.2,x,y\r\n", encoding="utf-8")
    reader = TableReader(path)
    want = pd.read_csv(path, nrows=0, dtype=str, keep_default_na=False, index_col=False)
    assert reader.columns == [str(c) for c in want.columns]


def test_csv_header_in_gbk_as_pandas_gives_it(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_bytes("编号,经度,纬度\n1,110.3,25.2\n".encode("gbk"))
    reader = TableReader(path)
    assert reader.columns == ["编号", "经度", "纬度"]


@pytest.mark.parametrize(("name", "crs"), [("wgs84", "OGC:CRS84"), ("cgcs2000", "EPSG:4490")])
def test_the_geoparquet_crs_is_what_pyproj_gives(name: str, crs: str) -> None:
    """The PROJJSON kept as data (gridgeo.io.crs_json, so a batch of points needs no
    pyproj) is what pyproj gives; GCJ-02 and BD-09 have none."""
    from pyproj import CRS

    from gridgeo.io import crs_json
    from gridgeo.io.tables import _crs_json, _geo_metadata

    assert _crs_json(name) == CRS(crs).to_json_dict()
    assert CRS.from_json_dict(crs_json.BY_NAME[name]) == CRS(crs)
    assert _crs_json("gcj02") is None
    assert _geo_metadata("g", None)["columns"]["g"]["crs"] == CRS("OGC:CRS84").to_json_dict()


# --- reading ahead ---------------------------------------------------------------------------


def test_read_ahead_hands_items_over_in_order_and_errors_at_their_place() -> None:
    from gridgeo.io.tables import ReadAhead

    def source():
        yield from range(3)
        raise InputFileError("row 4: broken")

    seen = []
    with ReadAhead(source(), depth=2) as items, pytest.raises(InputFileError, match="row 4"):
        seen.extend(items)
    assert seen == [0, 1, 2]
    with ReadAhead(iter([])) as empty:
        assert list(empty) == [] and list(empty) == []


def test_closing_a_read_ahead_stops_its_thread_and_closes_the_source() -> None:
    """A caller that stops early (its own error) leaves no thread reading on and no file
    open: the source is closed by the thread that ran it."""
    import threading

    from gridgeo.io.tables import ReadAhead

    made, closed = [], threading.Event()

    def source():
        try:
            for n in range(1_000_000):
                made.append(n)
                yield n
        finally:
            closed.set()

    items = ReadAhead(source(), depth=1)
    assert next(items) == 0
    items.close()
    assert closed.is_set() and len(made) <= 4  # at most the queue's and the put's items
    assert list(items) == []


def test_a_reader_reads_its_first_chunk_ahead_in_the_run_s_language(tmp_path: Path) -> None:
    """``read_ahead`` starts the reading at once (a thread of its own, in the caller's
    language); ``tables`` then goes on from it, with the chunks it would have read, and a
    file that fails is reported when its chunks are asked for, worded as the run's."""
    rows = "".join(f"{i},110.3,25.2\n" for i in range(25_000))
    good = write_text(tmp_path / "in.csv", "id,lon,lat\n" + rows)
    plain = [t.to_pylist() for t in TableReader(good, chunk_size=10_000).tables()]
    reader = TableReader(good, chunk_size=10_000)
    reader.read_ahead()
    assert [t.to_pylist() for t in reader.tables()] == plain and len(plain) == 3
    assert [t.to_pylist() for t in reader.tables()] == plain  # read again: from the start
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,lon,lat\n" + rows.encode() * 3 + b"\xff,1,2\n")
    with use_lang("zh"):
        reader = TableReader(bad, chunk_size=200_000)
        reader.read_ahead()
    with use_lang("en"), pytest.raises(InputFileError) as info:
        list(reader.tables())
    assert "无法读取 CSV" in str(info.value)  # worded where the reading began


@pytest.mark.parametrize("given", [None, "utf-8"])
def test_bytes_that_are_not_text_are_named_by_their_line(tmp_path: Path, given: str | None) -> None:
    """Past the megabyte the encoding is told from, or against the one given: the
    message names the line of the first bad bytes (a character cut by the reader's
    blocks counted right)."""
    rows = "".join(f"{i},110.3,25.2,备注\n" for i in range(60_000)).encode()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,lon,lat,note\n" + rows + b"60000,110.3,25.2,\xff\n1,2,3,x\n")
    reader = TableReader(bad, encoding=given)
    with pytest.raises(CsvShapeError):  # Arrow's reader refuses it; the pandas one names it
        list(reader.tables())
    with pytest.raises(InputFileError, match=r"bad\.csv, line 60002: not UTF-8 text"):
        list(reader)
