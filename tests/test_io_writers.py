"""Writing grid sets (GeoPackage, GeoJSON, zipped Shapefile) and JSON, atomically."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pyogrio
import pytest
import shapely

from gridgeo.errors import GridgeoError, InputFileError
from gridgeo.io import writers
from gridgeo.io.boundaries import read_boundaries
from gridgeo.io.writers import layer_name, write_grids, write_json
from gridgeo.levels import Level
from gridgeo.model import GridSet

LEVEL_COUNTS = {1: 1, 2: 2, 3: 4, 4: 8, 5: 32}


@pytest.fixture
def grids(nested: GridSet) -> GridSet:
    """The nested five-level set with two extra attribute columns."""
    frame = nested.frame.copy()
    frame["pilot"] = [i % 2 for i in range(len(frame))]
    frame["备注"] = [f"说明{i}" for i in range(len(frame))]
    return GridSet.from_frame(frame)


def aligned(read: GridSet, original: GridSet) -> GridSet:
    """``read`` reordered to ``original``'s code order (writers group features by level)."""
    assert sorted(read.codes) == sorted(original.codes)  # type: ignore[type-var]
    position = {code: i for i, code in enumerate(read.codes)}
    return read.subset([position[c] for c in original.codes])  # type: ignore[index]


def assert_same_grids(read: GridSet, original: GridSet, *, normalize: bool = False) -> None:
    """Codes, names, levels, parents, extras and geometries (within 1e-9) survive the trip."""
    got = aligned(read, original)
    assert got.codes == original.codes
    assert got.names == original.names
    assert got.levels.tolist() == original.levels.tolist()
    assert got.parent_codes == original.parent_codes
    assert got.frame["pilot"].tolist() == original.frame["pilot"].tolist()
    assert got.frame["备注"].tolist() == original.frame["备注"].tolist()
    a, b = got.geometries, original.geometries
    if normalize:
        a, b = shapely.normalize(a), shapely.normalize(b)
    assert shapely.equals_exact(a, b, tolerance=1e-9).all()
    assert got.frame.crs.to_epsg() == 4490


def test_layer_names() -> None:
    """GeoPackage layer names are level<n>_<english name>."""
    assert [layer_name(lv) for lv in Level] == [
        "level1_city",
        "level2_district",
        "level3_street",
        "level4_community",
        "level5_grid",
    ]


def test_gpkg_one_layer_per_level_and_round_trip(grids: GridSet, tmp_path: Path) -> None:
    """A .gpkg gets one Polygon layer per level and reads back identically (extras kept)."""
    out = write_grids(grids, tmp_path / "out.gpkg")
    assert out == tmp_path / "out.gpkg"
    listed = pyogrio.list_layers(out)
    levels = [layer_name(Level(i)) for i in range(1, 6)]
    assert [str(n) for n, _ in listed] == [*levels, "layer_styles"]  # QGIS's styles table
    assert {str(t) for n, t in listed if n in levels} == {"Polygon"}
    for level, count in LEVEL_COUNTS.items():
        layer = pyogrio.read_dataframe(out, layer=layer_name(Level(level)))
        assert len(layer) == count
        assert set(layer["level"]) == {level}
        assert "ref" not in layer.columns
    read = read_boundaries([out])
    assert len(read) == len(grids) == 47
    assert_same_grids(read, grids)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


def test_gpkg_unknown_level_layer(tmp_path: Path) -> None:
    """Features of unknown level go to an ``unknown_level`` layer and read back at level -1."""
    grids = GridSet.from_records(
        ["450302", "bad-code"], [shapely.box(110.28, 25.27, 110.29, 25.28)] * 2
    )
    assert grids.levels.tolist() == [2, -1]
    out = write_grids(grids, tmp_path / "u.gpkg")
    listed = [str(n) for n, _ in pyogrio.list_layers(out)]
    assert listed == ["level2_district", "unknown_level", "layer_styles"]
    read = read_boundaries([out])
    assert read.codes == ["450302", "bad-code"]
    assert read.levels.tolist() == [2, -1]


@pytest.mark.parametrize("suffix", [".geojson", ".json"])
def test_geojson_round_trip(grids: GridSet, tmp_path: Path, suffix: str) -> None:
    """A .geojson/.json is one FeatureCollection with a level column that reads back identically."""
    out = write_grids(grids, tmp_path / f"out{suffix}")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 47
    first = data["features"][0]["properties"]
    assert first["level"] == 1
    assert first["name"] == "桂林市"
    assert "ref" not in first
    read = read_boundaries([out])
    assert_same_grids(read, grids)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out{suffix}"]


def test_geojson_output_does_not_carry_temp_name(grids: GridSet, tmp_path: Path) -> None:
    """The same grids written twice give the same GeoJSON, with no temp file name inside."""
    first = write_grids(grids, tmp_path / "out.geojson").read_bytes()
    second = write_grids(grids, tmp_path / "out.geojson").read_bytes()
    name = json.loads(first).get("name", "out")
    assert not name.startswith(".out.")
    assert first == second


def test_zipped_shapefile_round_trip(grids: GridSet, tmp_path: Path) -> None:
    """A .zip holds grids.shp with a UTF-8 .cpg and a ``parent`` column; it reads back."""
    out = write_grids(grids, tmp_path / "out.zip")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        cpg = zf.read("grids.cpg").decode("ascii").strip().upper()
    assert names == {"grids.shp", "grids.shx", "grids.dbf", "grids.prj", "grids.cpg"}
    assert cpg in ("UTF-8", "UTF8")
    raw = pyogrio.read_dataframe(out)
    assert "parent" in raw.columns
    assert "parent_code" not in raw.columns
    read = read_boundaries([out])
    # written with promote_to_multi: each feature is one part; shapefile rings run clockwise
    assert (shapely.get_num_geometries(read.geometries) == 1).all()
    parts = read.with_geometries(shapely.get_geometry(read.geometries, 0))
    assert_same_grids(parts, grids, normalize=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]


def test_unknown_suffix_refused(grids: GridSet, tmp_path: Path) -> None:
    """A suffix other than .gpkg/.geojson/.json/.zip raises InputFileError and writes nothing."""
    target = tmp_path / "sub" / "out.kml"
    with pytest.raises(InputFileError, match=r"unknown output format") as info:
        write_grids(grids, target)
    assert str(target) in str(info.value)
    assert not (tmp_path / "sub").exists()


def test_write_creates_parent_directories(grids: GridSet, tmp_path: Path) -> None:
    """Missing parent directories of the output are created."""
    out = write_grids(grids, tmp_path / "a" / "b" / "out.gpkg")
    assert out.is_file()


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".zip"])
def test_failed_write_leaves_nothing(
    grids: GridSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """A write failing part-way leaves no output and no temp file behind."""
    real = pyogrio.write_dataframe
    calls: list[Path] = []

    def flaky(df: object, path: object, **kwargs: object) -> None:
        calls.append(Path(str(path)))
        if len(calls) == 3 or suffix != ".gpkg":  # gpkg: two layers written, then failure
            Path(str(path)).write_bytes(b"half a file")
            raise OSError("disk full")
        real(df, path, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", flaky)  # what the writers call
    with pytest.raises(OSError, match="disk full"):
        write_grids(grids, tmp_path / f"out{suffix}")
    assert calls  # the writer really ran
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_output(
    grids: GridSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed rewrite leaves the earlier file as it was (written to a temp name, then moved)."""
    out = write_grids(grids, tmp_path / "out.gpkg")
    before = out.read_bytes()

    def broken(frame: object, path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("writer crashed")

    monkeypatch.setattr(writers, "_write_gpkg", broken)
    with pytest.raises(RuntimeError, match="writer crashed"):
        write_grids(grids, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


def test_empty_set_to_gpkg_is_not_a_raw_os_error(grids: GridSet, tmp_path: Path) -> None:
    """Writing an empty grid set to .gpkg gives a file or a gridgeo error, not FileNotFoundError."""
    out = tmp_path / "empty.gpkg"
    try:
        write_grids(grids.subset([]), out)
    except GridgeoError:
        return
    assert out.is_file()


def test_write_json_utf8_unescaped(tmp_path: Path) -> None:
    """write_json writes UTF-8 with Chinese characters as themselves, atomically."""
    data = {"名称": "秀峰区", "levels": [1, 2], "note": "网格长"}
    out = write_json(data, tmp_path / "r" / "report.json")
    raw = out.read_bytes()
    assert "秀峰区".encode() in raw
    assert b"\\u" not in raw
    assert raw.endswith(b"\n")
    assert json.loads(raw.decode("utf-8")) == data
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.json"]


def test_write_json_unserialisable_leaves_nothing(tmp_path: Path) -> None:
    """A value JSON cannot encode raises TypeError and writes no file."""
    with pytest.raises(TypeError):
        write_json({"x": object()}, tmp_path / "bad.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo not on PATH")
def test_gpkg_readable_by_ogrinfo(grids: GridSet, tmp_path: Path) -> None:
    """GDAL's own ogrinfo lists the five level layers with their feature counts, and the
    QGIS styles table with one style per level."""
    out = write_grids(grids, tmp_path / "out.gpkg")
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    layers = re.findall(r"^Layer name: (\S+)$", result.stdout, flags=re.MULTILINE)
    counts = re.findall(r"^Feature Count: (\d+)$", result.stdout, flags=re.MULTILINE)
    assert layers == [*(layer_name(Level(i)) for i in range(1, 6)), "layer_styles"]
    assert [int(c) for c in counts] == [*LEVEL_COUNTS.values(), 5]
    assert result.stdout.count("Geometry: Polygon") == 5
    assert 'ID["EPSG",4490]' in result.stdout
    assert "备注: String" in result.stdout
