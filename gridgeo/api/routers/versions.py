"""Boundary management: upload, validate, list, diff, publish and roll back versions.

A thin layer over the store's one import core (``gridgeo.store.versions``), the
same the ``gridgeo import|publish|rollback|versions`` commands call. Reads need
role viewer, writes planner; publishing with ``force=true`` (despite validation
errors) needs ``GRIDGEO_FORCE_PUBLISH_ROLE`` (admin by default). The audit log
names the API key that acted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import File, Form, Query, Request, UploadFile

from gridgeo.api.auth import AccessDenied, Caller, role_label
from gridgeo.api.deps import BoundaryStore, CostlyPlanner, Planner, RowId, SettingsDep, Viewer
from gridgeo.api.limits import in_costly_pool
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import GatedRouter
from gridgeo.diff import diff_grids
from gridgeo.errors import GridgeoError, InputFileError
from gridgeo.i18n import tr
from gridgeo.io.archives import copy_limited, extract_zip_safely, remove_tree
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store import versions
from gridgeo.store.core import Store
from gridgeo.store.snapshots import get_version, load_grids
from gridgeo.store.versions import VersionInfo, file_sha256

router = GatedRouter(prefix="/v1/versions", tags=["boundary management"])

UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
ZIPPED_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")


@router.post(
    "",
    summary="Upload a boundary file: the validation report; with commit=true also a draft",
    responses={
        201: {"description": "committed: the report and the new draft version"},
        413: {"description": "over the upload limits (bytes, features, vertices, unzipped size)"},
    },
)
async def upload(
    *,
    request: Request,
    store: BoundaryStore,
    settings: SettingsDep,
    who: CostlyPlanner,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or zipped Shapefile")],
    commit: Annotated[bool, Form(description="write a draft version (default: dry run)")] = False,
    note: Annotated[str, Form(max_length=2000)] = "",
    assume_crs: Annotated[
        str | None, Form(description="CRS of a file that declares none, e.g. EPSG:4490")
    ] = None,
) -> SafeJSONResponse:
    """The file is read, validated and written in the costly pool (``GRIDGEO_COSTLY_WORKERS``
    at once): uploads in parallel would each hold their data in memory."""
    workdir = Path(tempfile.mkdtemp(prefix="gridgeo-upload-"))
    try:
        return await in_costly_pool(
            request, _import_upload, file, workdir, store=store, settings=settings, who=who,
            commit=commit, note=note, assume_crs=assume_crs,
        )  # fmt: skip
    except GridgeoError as exc:
        # messages name files by their path: the server's temporary folder is no business
        # of the client's, the name it sent is
        exc.args = tuple(
            _as_sent(a, workdir, file.filename) if isinstance(a, str) else a for a in exc.args
        )
        raise
    finally:
        remove_tree(workdir)


def _as_sent(message: str, workdir: Path, filename: str | None) -> str:
    """``message`` with the upload's paths on this server replaced by the name sent."""
    shown = Path(filename or "upload").name
    saved = workdir / f"upload{Path(shown).suffix.lower()}"
    message = message.replace(f"{workdir / 'unzipped'}/", f"{shown}: ")
    message = message.replace(str(saved), shown).replace(str(workdir), shown)
    return message.replace(saved.name, shown)


def _import_upload(
    file: UploadFile,
    workdir: Path,
    *,
    store: Store,
    settings: Settings,
    who: Caller,
    commit: bool,
    note: str,
    assume_crs: str | None,
) -> SafeJSONResponse:
    # the file readers (GDAL, geopandas, pandas) are loaded by the first upload, not at start
    from gridgeo.io.boundaries import read_boundaries
    from gridgeo.io.sizes import check_sizes

    path, sha = _save_upload(file, workdir, settings)
    files = _boundary_files(path, workdir, settings)
    # counted while streaming, before the whole file is read: an over-limit upload
    # costs one batch of memory, not its size
    check_sizes(
        files,
        max_features=settings.api.max_upload_features,
        max_vertices=settings.api.max_upload_vertices,
    )
    grids = read_boundaries(files, assume_crs=assume_crs, scheme=settings.scheme)
    result = versions.import_boundaries(
        store,
        grids,
        author=who.actor,
        note=note,
        source_name=Path(file.filename or path.name).name,
        source_sha256=sha,
        commit=commit,
        validation=settings.validation,
    )
    return SafeJSONResponse(result.to_dict(), status_code=201 if commit else 200)


def _save_upload(file: UploadFile, workdir: Path, settings: Settings) -> tuple[Path, str]:
    # Only the suffix of the client's name is used: the name itself never reaches a path.
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        if not suffix:
            raise InputFileError(
                tr(
                    "cannot read an upload without a suffix: send a .geojson, .gpkg or a .zip "
                    "holding a Shapefile"
                )
            )
        raise InputFileError(
            tr(
                "cannot read a {suffix} upload: send a .geojson, .gpkg or a .zip holding a "
                "Shapefile",
                suffix=suffix,
            )
        )
    path = workdir / f"upload{suffix}"
    copy_limited(file.file, path, settings.api.max_upload_bytes)
    return path, file_sha256(path)


def _boundary_files(path: Path, workdir: Path, settings: Settings) -> list[Path]:
    if path.suffix != ".zip":
        return [path]
    members = extract_zip_safely(
        path, workdir / "unzipped", max_total_bytes=settings.api.max_unzipped_bytes
    )
    found = [m for m in members if m.suffix.lower() in ZIPPED_SUFFIXES]
    shapefiles = [m for m in found if m.suffix.lower() == ".shp"]
    if not found:
        raise InputFileError(tr("the zip file holds no .shp, .geojson or .gpkg file"))
    return shapefiles or found


@router.get("", summary="Boundary versions, newest first")
def list_all(
    store: BoundaryStore,
    _: Viewer,
    kind: Annotated[str, Query(description="boundaries, roster, ... or all")] = "boundaries",
) -> list[dict[str, Any]]:
    return [v.to_dict() for v in versions.list_versions(store, None if kind == "all" else kind)]


@router.get("/{version_id}", summary="One version with its validation report")
def show(store: BoundaryStore, version_id: RowId, _: Viewer) -> dict[str, Any]:
    with store.reading() as session:
        row = get_version(session, version_id)
        return VersionInfo.of(row).to_dict() | {"report": dict(row.report or {})}


@router.get(
    "/{old}/diff/{new}",
    summary="What changed from version OLD to NEW (added, removed, changed, recoded grids)",
)
async def diff(
    *,
    request: Request,
    store: BoundaryStore,
    settings: SettingsDep,
    old: RowId,
    new: RowId,
    _: CostlyPlanner,
    format: Annotated[Literal["json", "geojson"], Query()] = "json",
) -> SafeJSONResponse:
    """Planners only, in the costly pool: two whole versions are loaded and compared,
    seconds of CPU at city scale, which no caller may ask for in a loop."""
    return await in_costly_pool(request, _diff, store, settings, old, new, format)


def _diff(store: Store, settings: Settings, old: int, new: int, format: str) -> SafeJSONResponse:
    with store.reading() as session:
        a = load_grids(session, old, settings.scheme)
        b = load_grids(session, new, settings.scheme)
    result = diff_grids(
        a,
        b,
        tolerance_m2=settings.validation.area_tolerance_m2,
        tolerance_m=settings.validation.tolerance_m,
    )
    if format == "geojson":
        return SafeJSONResponse(result.to_geojson(), media_type="application/geo+json")
    return SafeJSONResponse(result.to_dict())


@router.post("/{version_id}/publish", summary="Publish a draft (atomic switch; services reload)")
def publish(
    *,
    store: BoundaryStore,
    settings: SettingsDep,
    version_id: RowId,
    who: Planner,
    force: Annotated[
        bool, Query(description="publish despite validation errors (audit-logged)")
    ] = False,
) -> dict[str, Any]:
    _check_may_force(settings, who, force, tr("publishing"))
    return versions.publish(store, version_id, actor=who.actor, force=force).to_dict()


@router.post("/{version_id}/rollback", summary="Re-publish an earlier (retired) version")
def rollback(
    *,
    store: BoundaryStore,
    settings: SettingsDep,
    version_id: RowId,
    who: Planner,
    force: Annotated[
        bool,
        Query(description="restore a version with validation errors (audit-logged)"),
    ] = False,
) -> dict[str, Any]:
    """A version with validation errors (force-published once) needs ``force``, and so
    the role that may force (``GRIDGEO_FORCE_PUBLISH_ROLE``), as publishing it did."""
    _check_may_force(settings, who, force, tr("rolling back"))
    return versions.rollback(store, version_id, actor=who.actor, force=force).to_dict()


def _check_may_force(settings: Settings, who: Caller, force: bool, doing: str) -> None:
    """403 when ``force`` is asked by a caller below ``GRIDGEO_FORCE_PUBLISH_ROLE``."""
    needed = Role(settings.api.force_publish_role)
    if force and who.role is not None and not who.role.allows(needed):
        raise AccessDenied(
            403,
            tr(
                "{doing} with force=true needs role {needed} or above "
                "(GRIDGEO_FORCE_PUBLISH_ROLE); {name!r} has {role}",
                doing=doing,
                needed=role_label(needed),
                name=who.name,
                role=role_label(who.role),
            ),
        )
