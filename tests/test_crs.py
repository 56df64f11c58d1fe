"""gridgeo.crs: accepted CRSs, the Gauss-Kruger zone for metres, areas."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS, Geod
from shapely.geometry import box

from gridgeo.crs import MetricFrame, accepted_epsg, gk_zone_epsg, parse_crs
from gridgeo.errors import CRSError


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (110.3, 4546),
        (111.0, 4546),
        (109.6, 4546),
        (109.4, 4545),
        (108.3, 4545),
        (116.4, 4548),
        (75.0, 4534),
        (60.0, 4534),
        (135.0, 4554),
        (140.0, 4554),
    ],
)
def test_zone_from_longitude(lon: float, epsg: int) -> None:
    assert gk_zone_epsg(lon) == epsg


def test_zone_of_guilin_has_central_meridian_111() -> None:
    params = CRS.from_epsg(gk_zone_epsg(110.3)).to_dict()
    assert params["lon_0"] == 111
    assert params["x_0"] == 500000


def test_zone_for_nan_is_an_error() -> None:
    with pytest.raises(CRSError, match="longitude"):
        gk_zone_epsg(float("nan"))


@pytest.mark.parametrize(
    "value",
    ["EPSG:4490", 4326, "cgcs2000", "wgs84", "OGC:CRS84", "EPSG:4546", "EPSG:4525", "EPSG:4499"],
)
def test_accepted_crs(value: object) -> None:
    assert accepted_epsg(parse_crs(value)) in {4490, 4326} | set(range(4491, 4555))


@pytest.mark.parametrize("value", ["EPSG:3857", "EPSG:4214", "EPSG:32649"])
def test_other_crs_refused_with_name(value: str) -> None:
    with pytest.raises(CRSError, match="unsupported CRS"):
        accepted_epsg(parse_crs(value))


def test_unknown_crs_string() -> None:
    with pytest.raises(CRSError, match="unknown CRS"):
        parse_crs("EPSG:99999999")


def test_area_in_metres_matches_the_geodesic_area() -> None:
    cell = box(110.29, 25.27, 110.30, 25.28)
    frame = MetricFrame(110.3)
    geodesic = abs(Geod(ellps="GRS80").geometry_area_perimeter(cell)[0])
    assert frame.area([cell])[0] == pytest.approx(geodesic, rel=2e-4)


def test_project_round_trip_is_sub_millimetre() -> None:
    frame = MetricFrame(110.3)
    cell = box(110.29, 25.27, 110.30, 25.28)
    back = frame.unproject(frame.project(np.array([cell], dtype=object)))[0]
    assert back.hausdorff_distance(cell) < 1e-9
    x, _ = frame.xy(111.0, 25.0)
    assert float(x) == pytest.approx(500000.0, abs=1e-6)
