"""Response and request models of ``/v1/lookup`` (OpenAPI schemas and examples).

The routes build plain dicts on the hot path and declare these models as
``response_model`` so that the OpenAPI document is complete; the API tests
and schemathesis check that every answer matches them. ``GET``'s query is the
model :class:`LookupQuery`, which the handler validates itself (see
:func:`gridgeo.api.routers.lookup.parse_query`) and the document lists with
:func:`query_parameters`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from gridgeo.api.output_crs import OUT_CRS_HELP
from gridgeo.store.schema import MAX_ID

MAX_BATCH_POINTS = 10_000
"""Largest ``POST /v1/lookup`` batch; larger ones belong to ``gridgeo assign`` or Dask."""

CRS_HELP = (
    "coordinate system of lon/lat: wgs84 (GPS, default), cgcs2000, gcj02 (Amap, Tencent, "
    "WeChat) or bd09 (Baidu)"
)
VERSION_HELP = "boundaries version to answer from (default: the published one)"
AT_HELP = "answer with the boundaries published at this time (ISO 8601), e.g. 2026-01-01T00:00:00Z"


class LookupQuery(BaseModel):
    """The query of ``GET /v1/lookup``; other parameters (``api_key``) are let through."""

    lon: float = Field(description="longitude (degrees, east positive)", examples=[110.2965])
    lat: float = Field(description="latitude (degrees, north positive)", examples=[25.2775])
    crs: str = Field(
        "wgs84", max_length=40, description=CRS_HELP, examples=["wgs84", "gcj02", "bd09"]
    )
    out_crs: str | None = Field(
        None, max_length=40, description=OUT_CRS_HELP, examples=["gcj02", "bd09"]
    )
    version: int | None = Field(None, ge=1, le=MAX_ID, description=VERSION_HELP, examples=[1])
    at: datetime | None = Field(None, description=AT_HELP, examples=["2026-01-01T00:00:00Z"])
    category: str | None = Field(
        None,
        max_length=100,
        description="report category (code such as 0505, or Chinese name): adds the dispatch "
        "and keeps only the partner units it routes to, with reasons",
        examples=["0505", "机动车乱停放"],
    )
    role: str | None = Field(
        None,
        max_length=200,
        description="only staff in these posts: leader, executive_deputy, deputy, member (or "
        "网格长, 常务副网格长, 副网格长, 网格员), comma-separated",
        examples=["leader", "网格员,deputy"],
    )


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``model``'s fields, as FastAPI writes those of a
    declared query model, for a route that validates the model itself.

    Examples
    --------
    >>> [(p["name"], p["required"]) for p in query_parameters(LookupQuery)][:3]
    [('lon', True), ('lat', True), ('crs', False)]
    """
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field,
            "description": field.get("description", ""),
        }
        for name, field in schema["properties"].items()
    ]


class InputPoint(BaseModel):
    """The point as given."""

    lon: float
    lat: float
    crs: str = Field(description="wgs84, cgcs2000, gcj02 or bd09 (normalised)")


class OutputPoint(BaseModel):
    """The point converted to CGCS2000 (EPSG:4490), the storage CRS, or to the system
    ``out_crs`` asked for (GCJ-02, BD-09), named in ``crs``."""

    lon: float
    lat: float
    crs: Literal["EPSG:4490", "GCJ-02", "BD-09"] = "EPSG:4490"


class Grid(BaseModel):
    """One grid of the chain."""

    level: int = Field(ge=1, le=5, description="1 city 市 ... 5 fifth-level grid 五级网格")
    level_name: str = Field(description="level name, e.g. grid (五级网格)")
    code: str
    name: str


class WorkstationOut(BaseModel):
    """The urban-management workstation (城市管理工作站) serving the point's community."""

    code: str
    name: str
    lon: float
    lat: float
    crs: Literal["EPSG:4490", "GCJ-02", "BD-09"] = Field(
        "EPSG:4490", description="given only when out_crs asked for GCJ-02 or BD-09"
    )
    community_codes: list[str]
    address: str
    illustrative: bool
    note: str


class Nearest(BaseModel):
    """For a point outside every grid: the closest grid within the tolerance."""

    code: str
    name: str
    distance_m: float


class Person(BaseModel):
    """One responsible person. ``name`` and ``phone`` are null unless the caller's API
    role may see them (``staff_names`` and ``staff_contacts`` in the answer say so)."""

    person_id: str
    role: str = Field(description="post: leader, executive_deputy, deputy or member")
    role_zh: str
    employment: str = Field(description="sworn 在编, auxiliary 协管 or cadre 兼任")
    employment_zh: str
    grid_code: str
    title: str
    name: str | None = None
    phone: str | None = None


class LevelStaff(BaseModel):
    """The people of one grid of the chain, in post order (leader first)."""

    grid: Grid
    people: list[Person]


class Partner(BaseModel):
    """A 1+2+N partner unit whose zone covers the point.

    With ``category``, only the units the routing rule sends that category to,
    each with the rule and the reason; without, every covering unit.
    """

    code: str
    type: str
    type_zh: str
    type_en: str
    group: str = Field(description='"1" (enforcement team) or "N"')
    name: str
    zone_description: str
    rule: str | None = Field(None, description="routing rule (category code) that matched")
    reason: str | None = None
    on_boundary: bool | None = None
    distance_m: float | None = Field(None, description="buffer zones: metres to the line/point")
    contact: str | None = None
    phone: str | None = None


class Dispatch(BaseModel):
    """Who handles a report of ``category`` here (docs/DISPATCH.md)."""

    category: dict[str, Any]
    rule: dict[str, Any] | None
    grid_involved: bool
    grid_reason: str
    uncovered_types: list[str]
    reached: bool
    notes: list[str]


class LookupResponse(BaseModel):
    """The answer of ``GET /v1/lookup``."""

    input: InputPoint
    point: OutputPoint
    version: int | None = Field(description="boundaries version used (null: fixed data)")
    grids: list[Grid] = Field(description="the chain, leaf first (empty outside every grid)")
    workstation: WorkstationOut | None
    nearest: Nearest | None
    staff: list[LevelStaff] = Field(description="responsible people per level, leaf first")
    staff_names: bool = Field(description="names of staff and partner contacts are included")
    staff_contacts: bool = Field(description="phone numbers are included")
    partners: list[Partner]
    dispatch: Dispatch | None = Field(description="present when category was given")


class BatchWorkstation(BaseModel):
    """Workstation of a batch answer (code and name only)."""

    code: str
    name: str


class BatchResult(BaseModel):
    """One point of a batch, in input order."""

    index: int = Field(description="position in the request")
    id: str | int | float | None = Field(None, description="the point's id, if given")
    status: Literal["ok", "unassigned", "bad_input"] = Field(
        description="ok: in a grid; unassigned: outside every grid; bad_input: see error"
    )
    error: str | None = None
    point: OutputPoint | None = None
    grids: list[Grid] = Field(default_factory=list)
    workstation: BatchWorkstation | None = None
    nearest: Nearest | None = None


class BatchResponse(BaseModel):
    """The answer of ``POST /v1/lookup``."""

    version: int | None
    crs: str
    count: int
    counts: dict[str, int] = Field(description="points per status")
    results: list[BatchResult]


class ErrorOut(BaseModel):
    """A refusal: what was wrong, in one sentence."""

    detail: Any
    error: str | None = None
    message: str | None = Field(None, description="validation errors in one sentence")


_GRIDS_EXAMPLE = [
    {
        "level": 5,
        "level_name": "grid (五级网格)",
        "code": "450302001001001",
        "name": "文明社区第1网格",
    },
    {"level": 4, "level_name": "community (社区)", "code": "450302001001", "name": "文明社区"},
    {"level": 3, "level_name": "street (街道)", "code": "450302001", "name": "秀峰街道"},
    {"level": 2, "level_name": "district (区)", "code": "450302", "name": "秀峰区"},
    {"level": 1, "level_name": "city (市)", "code": "450300", "name": "桂林市"},
]
_WS_EXAMPLE = {
    "code": "WS450302001001",
    "name": "文明社区城市管理工作站",
    "lon": 110.3005,
    "lat": 25.2785,
    "community_codes": ["450302001001"],
    "address": "滨江路, 皇家维也纳酒店对面",
    "illustrative": True,
    "note": "坐标为示意位置 (illustrative location)",
}

LOOKUP_EXAMPLE: dict[str, Any] = {
    "input": {"lon": 110.2965, "lat": 25.2775, "crs": "wgs84"},
    "point": {"lon": 110.2965, "lat": 25.2775, "crs": "EPSG:4490"},
    "version": 1,
    "grids": _GRIDS_EXAMPLE,
    "workstation": _WS_EXAMPLE,
    "nearest": None,
    "staff": [
        {
            "grid": _GRIDS_EXAMPLE[0],
            "people": [
                {
                    "person_id": "P034",
                    "role": "leader",
                    "role_zh": "网格长",
                    "employment": "auxiliary",
                    "employment_zh": "协管",
                    "grid_code": "450302001001001",
                    "title": "能力突出的协管队员",
                    "name": "郭颖",
                    "phone": None,
                }
            ],
        }
    ],
    "staff_names": True,
    "staff_contacts": False,
    "partners": [
        {
            "code": "PS-YANGQIAO",
            "type": "police",
            "type_zh": "公安",
            "type_en": "police",
            "group": "N",
            "name": "阳桥派出所",
            "zone_description": "grids 450302001",
            "rule": None,
            "reason": None,
            "on_boundary": None,
            "distance_m": None,
            "contact": None,
            "phone": None,
        }
    ],
    "dispatch": None,
}

BATCH_EXAMPLE: dict[str, Any] = {
    "version": 1,
    "crs": "wgs84",
    "count": 2,
    "counts": {"ok": 1, "unassigned": 0, "bad_input": 1},
    "results": [
        {
            "index": 0,
            "id": "r1",
            "status": "ok",
            "error": None,
            "point": {"lon": 110.2965, "lat": 25.2775, "crs": "EPSG:4490"},
            "grids": _GRIDS_EXAMPLE,
            "workstation": {"code": "WS450302001001", "name": "文明社区城市管理工作站"},
            "nearest": None,
        },
        {
            "index": 1,
            "id": "r2",
            "status": "bad_input",
            "error": "latitude 110.29 is outside [-90, 90]; looks like (lat, lon) swapped: "
            "pass longitude first",
            "point": None,
            "grids": [],
            "workstation": None,
            "nearest": None,
        },
    ],
}

_POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["lon", "lat"],
    "properties": {
        "lon": {"type": "number", "description": "longitude"},
        "lat": {"type": "number", "description": "latitude"},
        "id": {"type": ["string", "integer", "null"], "description": "echoed back"},
    },
}
_FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "maxItems": MAX_BATCH_POINTS,
            "items": {
                "type": "object",
                "required": ["type", "geometry"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": ["string", "integer", "null"]},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"const": "Point"},
                            "coordinates": {
                                "type": "array",
                                "items": {"type": "number"},
                                "minItems": 2,
                                "maxItems": 3,
                            },
                        },
                    },
                    "properties": {"type": ["object", "null"]},
                },
            },
        },
    },
}

BATCH_REQUEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "array",
                            "maxItems": MAX_BATCH_POINTS,
                            "items": _POINT_SCHEMA,
                            "title": "points",
                        },
                        {**_FEATURE_COLLECTION_SCHEMA, "title": "FeatureCollection"},
                    ]
                },
                "examples": {
                    "points": {
                        "summary": "JSON array of points",
                        "value": [
                            {"id": "r1", "lon": 110.2965, "lat": 25.2775},
                            {"id": "r2", "lon": 25.2775, "lat": 110.2965},
                        ],
                    },
                    "geojson": {
                        "summary": "GeoJSON FeatureCollection of Points",
                        "value": {
                            "type": "FeatureCollection",
                            "features": [
                                {
                                    "type": "Feature",
                                    "id": "r1",
                                    "geometry": {
                                        "type": "Point",
                                        "coordinates": [110.2965, 25.2775],
                                    },
                                    "properties": {},
                                }
                            ],
                        },
                    },
                },
            },
            "application/geo+json": {"schema": _FEATURE_COLLECTION_SCHEMA},
        },
    }
}
