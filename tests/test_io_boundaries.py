"""Reading boundary files: formats, columns, levels, CRS handling and refusals."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, box

from gridgeo.errors import CRSError, FeatureError, InputFileError
from gridgeo.i18n import use_lang
from gridgeo.io.boundaries import ColumnMap, read_boundaries, read_boundary_file

# Two boxes inside 秀峰区, Guilin (lon, lat), and one in 象山区.
WEST = box(110.28, 25.27, 110.29, 25.28)
EAST = box(110.29, 25.27, 110.30, 25.28)
SOUTH = box(110.28, 25.25, 110.30, 25.26)
LONLAT_RING = np.array(
    [[110.28, 25.27], [110.30, 25.27], [110.30, 25.29], [110.28, 25.29], [110.28, 25.27]]
)


def write(
    path: Path,
    geoms: list[Polygon],
    crs: object = "EPSG:4490",
    layer: str | None = None,
    **columns: list[object],
) -> Path:
    """Write a small vector file (format from the suffix) with pyogrio."""
    frame = gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "crs was not provided"
        pyogrio.write_dataframe(frame, path, layer=layer)
    return path


def project(epsg: int, ring: np.ndarray = LONLAT_RING) -> Polygon:
    """The lon/lat ring (EPSG:4490) projected to ``epsg`` (x = easting)."""
    tr = Transformer.from_crs(4490, epsg, always_xy=True)
    x, y = tr.transform(ring[:, 0], ring[:, 1])
    return Polygon(np.column_stack([x, y]))


# --- GeoJSON ------------------------------------------------------------------


def test_geojson_codes_names_levels_parents_refs_and_crs(tmp_path: Path) -> None:
    """A GeoJSON reads into codes, names, levels and parents implied by the codes, refs file#i."""
    geoms = [box(110.2, 25.2, 110.4, 25.4), WEST, EAST, SOUTH]
    path = write(
        tmp_path / "b.geojson",
        geoms,
        code=["450300", "450302", "450304", "450302001"],
        name=["桂林市", "秀峰区", "象山区", "秀峰街道"],
    )
    grids = read_boundaries([path])
    assert grids.codes == ["450300", "450302", "450304", "450302001"]
    assert grids.names == ["桂林市", "秀峰区", "象山区", "秀峰街道"]
    assert grids.levels.tolist() == [1, 2, 2, 3]
    assert grids.parent_codes == [None, "450300", "450300", "450302"]
    assert grids.refs == ["b.geojson#0", "b.geojson#1", "b.geojson#2", "b.geojson#3"]
    assert grids.frame.crs.to_epsg() == 4490
    assert shapely.equals_exact(grids.geometries, np.array(geoms, dtype=object), 1e-12).all()


def test_geojson_explicit_parent_kept_over_derived(tmp_path: Path) -> None:
    """A parent_code written in the file wins over the parent derived from the code."""
    path = write(tmp_path / "p.geojson", [WEST], code=["450302001"], parent_code=["450304"])
    assert read_boundaries([path]).parent_codes == ["450304"]


# --- GeoPackage -----------------------------------------------------------------


def test_gpkg_one_layer_per_level_gives_levels_from_layer_names(tmp_path: Path) -> None:
    """Layers level1_city..level5_grid (no level column) give features their layer's level."""
    path = tmp_path / "levels.gpkg"
    layers = {
        "level1_city": "450300",
        "level2_district": "450302",
        "level3_street": "450302001",
        "level4_community": "450302001001",
        "level5_grid": "450302001001001",
    }
    for layer, code in layers.items():
        write(path, [WEST, EAST], layer=layer, code=[code, None])
    grids = read_boundaries([path])
    assert grids.codes == [c for code in layers.values() for c in (code, None)]
    # the code-less second feature of each layer still gets the layer's level
    assert grids.levels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert grids.parent_codes[::2] == [None, "450300", "450302", "450302001", "450302001001"]
    assert grids.refs[:2] == ["levels.gpkg:level1_city#0", "levels.gpkg:level1_city#1"]
    assert grids.refs[-1] == "levels.gpkg:level5_grid#1"


@pytest.mark.parametrize(("layer", "level"), [("l4", 4), ("社区", 4), ("l3", 3), ("街道", 3)])
def test_gpkg_short_and_chinese_layer_names_carry_the_level(
    tmp_path: Path, layer: str, level: int
) -> None:
    """Layer names ``l4`` or ``社区`` give the level when there is no level column."""
    path = tmp_path / "short.gpkg"
    write(path, [WEST], layer="level1_city", code=["450300"])
    write(path, [EAST], layer=layer, name=["无编码"])
    grids = read_boundaries([path])
    assert grids.levels.tolist() == [1, level]
    assert grids.codes == ["450300", None]
    assert grids.refs[1] == f"short.gpkg:{layer}#0"


def test_gpkg_single_layer_with_numeric_level_column(tmp_path: Path) -> None:
    """One layer with a level column 1-5: the column gives the level, even without codes."""
    path = write(
        tmp_path / "one.gpkg",
        [WEST] * 5,
        layer="boundaries",
        name=["a", "b", "c", "d", "e"],
        level=[1, 2, 3, 4, 5],
    )
    grids = read_boundaries([path])
    assert grids.levels.tolist() == [1, 2, 3, 4, 5]
    assert grids.codes == [None] * 5
    assert grids.refs == [f"one.gpkg#{i}" for i in range(5)]


def test_gpkg_level_column_with_chinese_words_beats_layer_name(tmp_path: Path) -> None:
    """A level column of 街道/社区 words is read, and wins over the level the layer name states."""
    path = write(
        tmp_path / "words.gpkg",
        [WEST, EAST],
        layer="level5_grid",
        code=["450302001", "450302001001"],
        level=["街道", "社区"],
    )
    grids = read_boundaries([path])
    assert grids.levels.tolist() == [3, 4]
    assert grids.parent_codes == ["450302", "450302001"]


def test_gpkg_non_spatial_layer_is_skipped(tmp_path: Path) -> None:
    """An attribute-only table in a GeoPackage is ignored; the spatial layer is read alone."""
    path = write(
        tmp_path / "mixed.gpkg", [WEST, EAST], layer="districts", code=["450302", "450304"]
    )
    attrs = pd.DataFrame({"code": ["999999"], "note": ["元数据"]})
    pyogrio.write_dataframe(attrs, path, layer="metadata", driver="GPKG", append=True)
    assert [str(name) for name, _ in pyogrio.list_layers(path)] == ["districts", "metadata"]
    grids = read_boundaries([path])
    assert grids.codes == ["450302", "450304"]
    # only one spatial layer: refs carry no layer name
    assert grids.refs == ["mixed.gpkg#0", "mixed.gpkg#1"]


# --- zipped Shapefile ---------------------------------------------------------------


def test_zipped_shapefile_read_from_the_zip(tmp_path: Path) -> None:
    """A .zip holding a Shapefile (with .prj and UTF-8 .cpg) is read directly."""
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    write(
        shp_dir / "districts.shp",
        [WEST, EAST],
        code=["450302", "450304"],
        name=["秀峰区", "象山区"],
    )
    archive = tmp_path / "districts.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for member in sorted(shp_dir.iterdir()):
            zf.write(member, member.name)
    assert {"districts.shp", "districts.prj"} <= set(zipfile.ZipFile(archive).namelist())
    grids = read_boundaries([archive])
    assert grids.codes == ["450302", "450304"]
    assert grids.names == ["秀峰区", "象山区"]
    assert grids.levels.tolist() == [2, 2]
    assert grids.refs == ["districts.zip#0", "districts.zip#1"]
    assert grids.frame.crs.to_epsg() == 4490
    # shapefiles store outer rings clockwise: compare shapes, not vertex order
    got = shapely.normalize(grids.geometries)
    want = shapely.normalize(np.array([WEST, EAST], dtype=object))
    assert shapely.equals_exact(got, want, 1e-12).all()


# --- columns ------------------------------------------------------------------------


def test_chinese_column_names_recognised(tmp_path: Path) -> None:
    """编码/名称/级别/上级编码 are read as code/name/level/parent_code."""
    path = write(
        tmp_path / "zh.geojson",
        [WEST],
        **{"编码": ["450302001"], "名称": ["秀峰街道"], "级别": ["街道"], "上级编码": ["450399"]},
    )
    grids = read_boundaries([path])
    assert grids.codes == ["450302001"]
    assert grids.names == ["秀峰街道"]
    assert grids.levels.tolist() == [3]
    assert grids.parent_codes == ["450399"]  # as written, not derived
    assert "编码" not in grids.frame.columns


def test_explicit_column_map_used(tmp_path: Path) -> None:
    """ColumnMap(code="GRID_ID", ...) picks the named columns; a clashing 'code' column yields."""
    path = write(
        tmp_path / "cm.geojson",
        [WEST],
        GRID_ID=["450302001001"],
        NM=["文明社区"],
        LV=[4],
        UP=["450302001"],
        code=["not-this"],
    )
    columns = ColumnMap(code="GRID_ID", name="NM", level="LV", parent_code="UP")
    grids = read_boundaries([path], columns=columns)
    assert grids.codes == ["450302001001"]
    assert grids.names == ["文明社区"]
    assert grids.levels.tolist() == [4]
    assert grids.parent_codes == ["450302001"]
    assert list(grids.frame.columns).count("code") == 1


def test_column_map_naming_missing_column_lists_columns(tmp_path: Path) -> None:
    """A ColumnMap naming an absent column raises InputFileError listing the file's columns."""
    path = write(tmp_path / "cm.geojson", [WEST], GRID_ID=["450302"], NM=["秀峰区"])
    with pytest.raises(InputFileError) as info:
        read_boundaries([path], columns=ColumnMap(code="网格ID"))
    message = str(info.value)
    assert "cm.geojson" in message
    assert "'网格ID'" in message
    assert "GRID_ID" in message
    assert "NM" in message


@pytest.mark.parametrize(
    ("suffix", "values"),
    [(".geojson", [450302, 450304]), (".gpkg", [450302.0, 450304.0])],
    ids=["int", "float"],
)
def test_numeric_code_column_becomes_digit_string(
    tmp_path: Path, suffix: str, values: list[float]
) -> None:
    """A numeric code column (int, or float such as 450302.0) gives the string '450302'."""
    path = write(tmp_path / f"num{suffix}", [WEST, EAST], code=values)
    assert pyogrio.read_dataframe(path)["code"].dtype.kind in "if"
    grids = read_boundaries([path])
    assert grids.codes == ["450302", "450304"]
    assert grids.levels.tolist() == [2, 2]
    assert grids.parent_codes == ["450300", "450300"]


# --- CRS ------------------------------------------------------------------------------


def test_wgs84_accepted_with_coordinates_unchanged(tmp_path: Path) -> None:
    """EPSG:4326 input is stored in EPSG:4490, coordinates unchanged within 1e-6 deg."""
    path = write(tmp_path / "wgs.geojson", [Polygon(LONLAT_RING)], crs="EPSG:4326", code=["450302"])
    grids = read_boundaries([path])
    assert grids.frame.crs.to_epsg() == 4490
    got = shapely.get_coordinates(grids.geometries[0])
    np.testing.assert_allclose(got, LONLAT_RING, atol=1e-6, rtol=0)


@pytest.mark.parametrize("epsg", [4546, 4525], ids=["gk3-no-prefix", "gk3-zone-37-prefix"])
def test_gauss_kruger_zone_transformed_to_lonlat(tmp_path: Path, epsg: int) -> None:
    """GK metres (EPSG:4546; EPSG:4525 with 37 500 000 false easting) become lon/lat."""
    metres = project(epsg)
    xs = shapely.get_coordinates(metres)[:, 0]
    assert (xs > 37_000_000).all() if epsg == 4525 else (xs < 1_000_000).all()
    path = write(tmp_path / "gk.gpkg", [metres], crs=f"EPSG:{epsg}", code=["450302"])
    grids = read_boundaries([path])
    assert grids.frame.crs.to_epsg() == 4490
    coords = shapely.get_coordinates(metres)
    lon, lat = Transformer.from_crs(epsg, 4490, always_xy=True).transform(
        coords[:, 0], coords[:, 1]
    )
    got = shapely.get_coordinates(grids.geometries[0])
    np.testing.assert_allclose(got, np.column_stack([lon, lat]), atol=1e-7, rtol=0)
    np.testing.assert_allclose(got, LONLAT_RING, atol=1e-7, rtol=0)


def test_web_mercator_refused_naming_the_crs(tmp_path: Path) -> None:
    """EPSG:3857 is not accepted: CRSError naming it."""
    path = write(
        tmp_path / "merc.gpkg",
        [box(12_276_000, 2_910_000, 12_278_000, 2_912_000)],
        crs="EPSG:3857",
        code=["450302"],
    )
    with pytest.raises(CRSError, match="3857") as info:
        read_boundaries([path])
    assert "Pseudo-Mercator" in str(info.value)


def test_shapefile_without_prj_needs_assume_crs(tmp_path: Path) -> None:
    """A .shp without .prj is refused mentioning --assume-crs; assume_crs=EPSG:4490 reads it."""
    path = write(tmp_path / "noprj.shp", [WEST], crs=None, code=["450302"])
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(CRSError, match="--assume-crs") as info:
        read_boundaries([path])
    assert "noprj.shp" in str(info.value)
    grids = read_boundaries([path], assume_crs="EPSG:4490")
    assert grids.codes == ["450302"]
    assert grids.frame.crs.to_epsg() == 4490
    got = shapely.normalize(grids.geometries[0])
    assert shapely.equals_exact(got, shapely.normalize(WEST), 1e-12)


def test_assume_crs_projected_zone_transforms(tmp_path: Path) -> None:
    """assume_crs of a GK zone is applied to a CRS-less file and transformed to lon/lat."""
    path = write(tmp_path / "noprj.shp", [project(4546)], crs=None, code=["450302"])
    grids = read_boundaries([path], assume_crs="EPSG:4546")
    got = shapely.normalize(grids.geometries[0])
    want = shapely.normalize(Polygon(LONLAT_RING))
    assert shapely.equals_exact(got, want, 1e-7)


# --- coordinates contradicting the CRS ------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "geom", "fragment"),
    [
        ("EPSG:4326", box(25.27, 110.28, 25.28, 110.29), ""),  # (lat, lon) near Guilin
        ("EPSG:4326", box(39.46, 75.98, 39.47, 75.99), "swapped"),  # (lat, lon) near Kashgar
        ("EPSG:4490", box(37_427_000, 2_796_000, 37_428_000, 2_797_000), "not degrees"),
        ("EPSG:4490", box(427_000, 2_796_000, 428_000, 2_797_000), "not degrees"),
        ("EPSG:4546", box(110.28, 25.27, 110.29, 25.28), "look like degrees"),
        ("EPSG:4490", box(2.33, 48.85, 2.34, 48.86), "outside China"),
        ("EPSG:4546", box(300_000, 0, 301_000, 1_000), "outside China"),
    ],
    ids=[
        "swapped-guilin",
        "swapped-kashgar",
        "gk-prefixed-metres-as-4490",
        "gk-metres-as-4490",
        "degrees-as-4546",
        "paris",
        "gk-metres-outside-china",
    ],
)
def test_coordinates_contradicting_crs_refused_naming_feature(
    tmp_path: Path, crs: str, geom: Polygon, fragment: str
) -> None:
    """Swapped, mislabelled or foreign coordinates raise FeatureError naming the bad feature."""
    good = project(4546) if crs == "EPSG:4546" else WEST
    path = write(
        tmp_path / "bad.gpkg",
        [good, geom],
        crs=crs,
        code=["450302001", "450302002"],
        name=["秀峰街道", "丽君街道"],
    )
    with pytest.raises(FeatureError) as info:
        read_boundaries([path])
    err = info.value
    assert isinstance(err, InputFileError)
    assert "450302002" in str(err)
    assert err.feature.startswith("#1 450302002")
    assert "丽君街道" in err.feature
    assert err.source == "bad.gpkg"
    assert fragment in err.problem


def test_swapped_guilin_coordinates_reported_as_swapped(tmp_path: Path) -> None:
    """(lat, lon) for Guilin (lon 110 > 90) is diagnosed as swapped, not as metres."""
    path = write(
        tmp_path / "sw.geojson",
        [box(25.27, 110.28, 25.28, 110.29)],
        crs="EPSG:4326",
        code=["450302"],
    )
    with pytest.raises(FeatureError) as info:
        read_boundaries([path])
    assert "swapped" in info.value.problem
    assert "metres" not in info.value.problem


# --- unreadable inputs -----------------------------------------------------------------


def test_missing_file_refused_with_path(tmp_path: Path) -> None:
    """A missing file raises InputFileError with its path."""
    path = tmp_path / "nope.geojson"
    with pytest.raises(InputFileError, match="no such file") as info:
        read_boundaries([path])
    assert str(path) in str(info.value)


def test_garbage_bytes_refused_with_path(tmp_path: Path) -> None:
    """A file that is no vector data (random bytes named .geojson) raises InputFileError."""
    path = tmp_path / "x.geojson"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match="cannot open as a vector file") as info:
        read_boundaries([path])
    assert str(path) in str(info.value)


def test_zero_byte_gpkg_refused_with_path(tmp_path: Path) -> None:
    """An empty file named .gpkg raises InputFileError with its path."""
    path = tmp_path / "empty.gpkg"
    path.write_bytes(b"")
    with pytest.raises(InputFileError) as info:
        read_boundaries([path])
    assert str(path) in str(info.value)


def test_gpkg_without_spatial_layer_refused_with_path(tmp_path: Path) -> None:
    """A GeoPackage holding only an attribute table raises InputFileError with its path."""
    path = tmp_path / "attrs.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"code": ["450302"]}), path, layer="t", driver="GPKG")
    with pytest.raises(InputFileError, match="no layer with geometries") as info:
        read_boundaries([path])
    assert str(path) in str(info.value)


def test_no_file_given_refused() -> None:
    """read_boundaries of no paths raises InputFileError."""
    with pytest.raises(InputFileError, match="no boundary file"):
        read_boundaries([])


def test_read_errors_are_chinese_in_chinese_naming_file_column_and_feature(
    tmp_path: Path,
) -> None:
    """Under Chinese the messages read in Chinese and still name the file, the column, the
    feature and its coordinates."""
    path = write(tmp_path / "cm.geojson", [WEST], GRID_ID=["450302"], NM=["秀峰区"])
    with use_lang("zh"), pytest.raises(InputFileError) as info:
        read_boundaries([path], columns=ColumnMap(code="网格ID"))
    assert str(info.value) == ("cm.geojson：没有用作 code 的字段 '网格ID'；现有字段：GRID_ID、NM")
    swapped = write(
        tmp_path / "sw.geojson",
        [box(25.27, 110.28, 25.28, 110.29)],
        crs="EPSG:4326",
        code=["450302"],
    )
    with use_lang("zh"), pytest.raises(FeatureError) as feature_info:
        read_boundaries([swapped])
    assert str(feature_info.value) == (
        "sw.geojson：要素 #0 450302：坐标 (25.27, 110.28) 似乎经纬度颠倒（纬度在前）：应经度在前"
    )
    with use_lang("zh"), pytest.raises(InputFileError) as missing:
        read_boundaries([tmp_path / "nope.geojson"])
    assert str(missing.value) == f"{tmp_path / 'nope.geojson'}：文件不存在"


# --- several files, real files -----------------------------------------------------------


def test_two_files_concatenated(tmp_path: Path) -> None:
    """Two files read together give one set, first file's features first, levels from both."""
    first = write(tmp_path / "districts.geojson", [WEST, EAST], code=["450302", "450304"])
    second = write(tmp_path / "streets.gpkg", [SOUTH], layer="level3_street", code=["450302001"])
    grids = read_boundaries([first, second])
    assert grids.codes == ["450302", "450304", "450302001"]
    assert grids.levels.tolist() == [2, 2, 3]
    assert grids.refs == ["districts.geojson#0", "districts.geojson#1", "streets.gpkg#0"]
    assert grids.parent_codes[2] == "450302"
    assert grids.levels_present() == [2, 3]
    assert grids.frame.crs.to_epsg() == 4490
    single = read_boundary_file(second)
    assert single.codes == ["450302001"]


@pytest.mark.slow
def test_real_files_read_as_is(real_file: Path) -> None:
    """The real district files read whole: all level 2, invalid rings kept exactly as read."""
    grids = read_boundaries([real_file])
    expected = {"guilin": 17, "nanning": 12}[real_file.name.split("_")[0]]
    assert len(grids) == expected
    assert set(grids.levels.tolist()) == {2}
    prefix = "4503" if "guilin" in real_file.name else "4501"
    assert all(c is not None and c.startswith(prefix) for c in grids.codes)
    assert set(grids.parent_codes) == {f"{prefix}00"}
    assert all(grids.names)
    assert grids.frame.crs.to_epsg() == 4490
    raw = np.asarray(pyogrio.read_dataframe(real_file).geometry.array, dtype=object)
    assert (~shapely.is_valid(grids.geometries)).sum() > 0
    assert (shapely.is_valid(grids.geometries) == shapely.is_valid(raw)).all()
    assert shapely.equals_exact(grids.geometries, raw, tolerance=0).all()


def test_a_known_crs_member_is_read_an_unknown_one_refused(tmp_path: Path) -> None:
    import json

    def file_with(name: str) -> Path:
        ring = [[110.0, 25.0], [110.1, 25.0], [110.1, 25.1], [110.0, 25.0]]
        doc = {
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": name}},
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": "450300", "name": "桂林市", "level": 1},
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            ],
        }
        path = tmp_path / f"{len(name)}.geojson"
        path.write_text(json.dumps(doc))
        return path

    grids = read_boundaries([file_with("urn:ogc:def:crs:EPSG::4490")])
    assert len(grids) == 1
    with pytest.raises(InputFileError, match="'EPSG::999999', which is not a known"):
        read_boundaries([file_with("EPSG::999999")])
