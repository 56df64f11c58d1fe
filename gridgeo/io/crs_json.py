"""PROJJSON of the two coordinate systems ``gridgeo assign`` writes GeoParquet in.

What ``pyproj.CRS(name).to_json_dict()`` gives (pyproj 3.7.2, PROJ
9.5.1), kept as data: a run that reads and writes lon/lat points
has no other use for pyproj, whose import costs 40 ms of a second's run.
``tests/test_io_tables.py`` checks that they are still what pyproj gives.
"""

from __future__ import annotations

from typing import Any

# GeoParquet's default: WGS 84 longitude/latitude
CRS84: dict[str, Any] = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum_ensemble": {
        "name": "World Geodetic System 1984 ensemble",
        "members": [
            {
                "name": "World Geodetic System 1984 (Transit)",
                "id": {"authority": "EPSG", "code": 1166},
            },
            {
                "name": "World Geodetic System 1984 (G730)",
                "id": {"authority": "EPSG", "code": 1152},
            },
            {
                "name": "World Geodetic System 1984 (G873)",
                "id": {"authority": "EPSG", "code": 1153},
            },
            {
                "name": "World Geodetic System 1984 (G1150)",
                "id": {"authority": "EPSG", "code": 1154},
            },
            {
                "name": "World Geodetic System 1984 (G1674)",
                "id": {"authority": "EPSG", "code": 1155},
            },
            {
                "name": "World Geodetic System 1984 (G1762)",
                "id": {"authority": "EPSG", "code": 1156},
            },
            {
                "name": "World Geodetic System 1984 (G2139)",
                "id": {"authority": "EPSG", "code": 1309},
            },
            {
                "name": "World Geodetic System 1984 (G2296)",
                "id": {"authority": "EPSG", "code": 1383},
            },
        ],
        "ellipsoid": {
            "name": "WGS 84",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257223563,
        },
        "accuracy": "2.0",
        "id": {"authority": "EPSG", "code": 6326},
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {
                "name": "Geodetic longitude",
                "abbreviation": "Lon",
                "direction": "east",
                "unit": "degree",
            },
            {
                "name": "Geodetic latitude",
                "abbreviation": "Lat",
                "direction": "north",
                "unit": "degree",
            },
        ],
    },
    "scope": "Not known.",
    "area": "World.",
    "bbox": {
        "south_latitude": -90,
        "west_longitude": -180,
        "north_latitude": 90,
        "east_longitude": 180,
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}

# CGCS2000 geographic, the store's system
EPSG_4490: dict[str, Any] = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "China Geodetic Coordinate System 2000",
    "datum": {
        "type": "GeodeticReferenceFrame",
        "name": "China 2000",
        "ellipsoid": {
            "name": "CGCS2000",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257222101,
        },
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {
                "name": "Geodetic latitude",
                "abbreviation": "Lat",
                "direction": "north",
                "unit": "degree",
            },
            {
                "name": "Geodetic longitude",
                "abbreviation": "Lon",
                "direction": "east",
                "unit": "degree",
            },
        ],
    },
    "scope": "Horizontal component of 3D system.",
    "area": "China - onshore and offshore.",
    "bbox": {
        "south_latitude": 16.7,
        "west_longitude": 73.62,
        "north_latitude": 53.56,
        "east_longitude": 134.77,
    },
    "id": {"authority": "EPSG", "code": 4490},
}

BY_NAME: dict[str, dict[str, Any]] = {"wgs84": CRS84, "cgcs2000": EPSG_4490}
"""By the names of :func:`gridgeo.coords.parse_coord_system`; GCJ-02 and BD-09 have
none (GeoParquet: unknown)."""
