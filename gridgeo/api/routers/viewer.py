"""The live map viewer at ``/map`` and what only it needs (Leaflet, staff, case points).

Leaflet is served from the installed XStatic-Leaflet package and the viewer's
script from the gridgeo package, so the page needs no internet. Grids come
from the OGC API Features routes and the chain of a point from ``/v1/lookup``;
this router adds the people responsible for grids (names, posts; no phone
numbers) and the case points of ``/map/cases.geojson``: the store's cases
(newest first, at most ``STORE_CASES_SHOWN``), or those of the file
``GRIDGEO_MAP_CASES`` while the store holds none (a new store shows the sample
cases).

The viewer's case layer reads the work loop (``/v1/cases``, ``/v1/events``) when
the service runs on a store, else ``/map/cases.geojson``;
``GRIDGEO_VIEWER_CASES_URL`` points it elsewhere (a ``/v1/cases`` URL is read as
the work loop, any other as GeoJSON).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from gridgeo.api.auth import require
from gridgeo.api.deps import current_dataset, dataset
from gridgeo.api.output_crs import output_system
from gridgeo.api.redaction import StaffAccess, redact_people, staff_access
from gridgeo.api.responses import SafeJSONResponse, file_inside
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.state import app_settings, app_store_or_none
from gridgeo.coords import from_cgcs2000
from gridgeo.dataset import Dataset
from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr
from gridgeo.maps.assets import leaflet_dir
from gridgeo.maps.basemap import basemap_from
from gridgeo.maps.editor import editor_config, editor_page
from gridgeo.maps.viewer import MAX_CASES, viewer_config, viewer_page
from gridgeo.roles import Role
from gridgeo.store.cases import CaseQuery, CaseRecord, list_cases

router = GatedRouter(tags=["viewer"], dependencies=[Depends(require(Role.VIEWER))])
STATIC = Path(__file__).resolve().parents[2] / "maps" / "static"
MAX_CODES = 50

STORE_CASES_SHOWN = 5000
VIEWER_MAX_CASES = MAX_CASES  # work-loop cases the viewer loads whole (then per view)
_cases_lock = threading.Lock()
_cases_cache: dict[tuple[int, str, float], dict[str, Any]] = {}


@router.get("/map", response_class=HTMLResponse, summary="Live map viewer (HTML)")
def viewer(request: Request) -> str:
    settings = app_settings(request)
    prefix = str(request.scope.get("root_path", "")).rstrip("/")
    data = current_dataset(request)
    zh = settings.lang == "zh"
    config = viewer_config(
        lang=settings.lang,
        prefix=prefix,
        cases_url=settings.maps.viewer_cases_url,
        basemap=basemap_from(settings),
        counts=data.grids.level_counts(),
        max_features=settings.maps.viewer_max_features,
        work_loop=app_store_or_none(request) is not None,
        max_cases=VIEWER_MAX_CASES,
        categories={code: c.name_zh if zh else c.name_en for code, c in data.categories.items()},
    )
    return viewer_page(config, lib=f"{prefix}/map/lib/leaflet", static=f"{prefix}/map/static")


@router.get(
    "/map/edit",
    response_class=HTMLResponse,
    summary="Boundary editor (HTML); its edits need a planner's API key",
)
def editor(request: Request) -> str:
    settings = app_settings(request)
    prefix = str(request.scope.get("root_path", "")).rstrip("/")
    config = editor_config(lang=settings.lang, prefix=prefix)
    return editor_page(config, lib=f"{prefix}/map/lib/leaflet", static=f"{prefix}/map/static")


@router.get("/map/lib/leaflet/{path:path}", include_in_schema=False)
def leaflet_file(path: str) -> FileResponse:
    return FileResponse(file_inside(leaflet_dir(), path))


@router.get("/map/static/{path:path}", include_in_schema=False)
def static_file(path: str) -> FileResponse:
    return FileResponse(file_inside(STATIC, path))


@router.get("/map/staff", summary="People responsible for grids (names and posts)")
def staff(
    data: Annotated[Dataset, Depends(dataset)],
    codes: Annotated[str, Query(description="grid codes, comma-separated", max_length=2000)],
    access: Annotated[StaffAccess, Depends(staff_access)],
) -> dict[str, list[dict[str, Any]]]:
    wanted = [c.strip() for c in codes.split(",") if c.strip()][:MAX_CODES]
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in wanted}
    for member in data.staff:
        if member.grid_code in out:
            out[member.grid_code].append(member.to_dict(with_contact=False))
    # Names only for GRIDGEO_STAFF_NAMES_ROLE and above; the viewer never shows phones.
    shown: dict[str, list[dict[str, Any]]] = redact_people(out, access._replace(contacts=False))
    return shown


@router.get(
    "/map/cases.geojson",
    summary="Case points: the store's cases, or those of GRIDGEO_MAP_CASES while it has none",
)
def cases(
    request: Request,
    data: Annotated[Dataset, Depends(dataset)],
    crs: Annotated[
        str | None, Query(description="gcj02: the points for a GCJ-02 base map", max_length=40)
    ] = None,
) -> SafeJSONResponse:
    system = output_system(crs)
    store = app_store_or_none(request)
    if store is not None:
        stored = list_cases(store, CaseQuery(limit=STORE_CASES_SHOWN))
        if stored:
            doc = _shifted(_store_features(stored), system)
            return SafeJSONResponse(doc, media_type="application/geo+json")
    path = Path(app_settings(request).maps.map_cases)
    if not path.exists():
        raise NotFoundError(tr("no case file at {path} (set GRIDGEO_MAP_CASES)", path=path))
    key = (id(data), str(path), path.stat().st_mtime)
    with _cases_lock:
        if key not in _cases_cache:
            _cases_cache.clear()  # one dataset version and file at a time
            _cases_cache[key] = _case_features(data, path)
        doc = _cases_cache[key]
    return SafeJSONResponse(_shifted(doc, system), media_type="application/geo+json")


def _shifted(doc: dict[str, Any], system: str | None) -> dict[str, Any]:
    """The point features of ``doc`` with their coordinates in ``system`` (a copy)."""
    if system is None:
        return doc
    points = [f for f in doc["features"] if (f.get("geometry") or {}).get("type") == "Point"]
    if not points:
        return doc
    lon, lat = from_cgcs2000(
        [f["geometry"]["coordinates"][0] for f in points],
        [f["geometry"]["coordinates"][1] for f in points],
        system,
    )
    moved = {
        id(f): {**f, "geometry": {"type": "Point", "coordinates": [float(x), float(y)]}}
        for f, x, y in zip(points, lon, lat, strict=True)
    }
    return {**doc, "features": [moved.get(id(f), f) for f in doc["features"]]}


def _store_features(records: list[CaseRecord]) -> dict[str, Any]:
    """Stored cases as points with the properties the viewer's case layer shows."""
    features = [
        {
            "type": "Feature",
            "properties": {
                "id": str(r.id),
                "status": r.status,
                "category": r.category,
                "description": r.description,
                **{f"code_l{n}": r.codes.get(n) for n in range(1, 6)},
                "workstation_code": r.workstation_code,
                "boundary_version": str(r.boundary_version),
            },
            "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
        }
        for r in records
    ]
    return {"type": "FeatureCollection", "features": features}


def _case_features(data: Dataset, path: Path) -> dict[str, Any]:
    # imported here: the table readers (pyarrow's CSV, Parquet and dataset modules,
    # ~10 MB) and the case map's module (folium, ~14 MB) serve only this fallback
    import pandas as pd

    from gridgeo.io.tables import read_chunks
    from gridgeo.maps.cases import assign_cases

    chunks = list(read_chunks(path))
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    assigned = assign_cases(frame, data.grids, workstations=data.workstations)
    keep = [c for c in assigned.columns if c not in ("lon", "lat")]
    features = []
    for row in assigned.to_dict(orient="records"):
        lon, lat = _number(row.get("lon")), _number(row.get("lat"))
        if lon is None or lat is None:
            continue
        props = {c: (None if pd.isna(row[c]) else str(row[c])) for c in keep}
        features.append(
            {
                "type": "Feature",
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _number(value: object) -> float | None:
    try:
        x = float(str(value))
    except ValueError:
        return None
    return x if math.isfinite(x) else None
