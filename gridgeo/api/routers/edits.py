"""Editing boundaries in the browser: a version's grids to draw on, and saving edits.

``GET /v1/versions/{id}/features`` gives a version's features as GeoJSON (the
editor draws the draft, not only the published version). ``POST
/v1/versions/{id}/edits`` applies split, merge, move-vertex, add-grid and
rename operations and saves the result as a new draft through the store's one
import core (:mod:`gridgeo.store.edits`): 201 with the draft, its validation
findings (GeoJSON, for the map) and what each operation did; 400 naming the
grids when an edit would break the boundaries; 409 when the draft was saved
by someone else meanwhile. Planner role for both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request
from pydantic import BaseModel, Field

from gridgeo.api.deps import BoundaryStore, CostlyPlanner, RowId, SettingsDep
from gridgeo.api.limits import in_costly_pool
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import GatedRouter
from gridgeo.editing import AddGrid, Merge, MoveVertex, Operation, Rename, Split
from gridgeo.settings import Settings
from gridgeo.store.core import Store
from gridgeo.store.edits import save_edits
from gridgeo.store.snapshots import load_grids

router = GatedRouter(prefix="/v1/versions", tags=["boundary management"])

Coordinate = tuple[float, float]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9]+$")]


class SplitIn(BaseModel):
    op: Literal["split"]
    code: Code
    line: list[Coordinate] = Field(min_length=2, max_length=1000, description="[lon, lat] pairs")


class MergeIn(BaseModel):
    op: Literal["merge"]
    codes: list[Code] = Field(min_length=2, max_length=50)


class MoveVertexIn(BaseModel):
    op: Literal["move_vertex"]
    at: Coordinate = Field(description="the vertex as the map has it, [lon, lat]")
    to: Coordinate = Field(description="where it goes, [lon, lat]")


class AddGridIn(BaseModel):
    op: Literal["add_grid"]
    ring: list[Coordinate] = Field(min_length=3, max_length=5000, description="outline")
    name: str = Field("", max_length=200)
    community: Code | None = None


class RenameIn(BaseModel):
    op: Literal["rename"]
    code: Code
    name: str | None = Field(None, max_length=200)
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


OperationIn = Annotated[
    SplitIn | MergeIn | MoveVertexIn | AddGridIn | RenameIn, Field(discriminator="op")
]


class EditsIn(BaseModel):
    """Operations applied in order to the version in the path, saved as one new draft."""

    operations: list[OperationIn] = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=2000)


def _operation(item: OperationIn) -> Operation:
    if isinstance(item, SplitIn):
        return Split(item.code, item.line)
    if isinstance(item, MergeIn):
        return Merge(item.codes)
    if isinstance(item, MoveVertexIn):
        return MoveVertex(item.at, item.to)
    if isinstance(item, AddGridIn):
        return AddGrid(item.ring, name=item.name, community=item.community)
    return Rename(item.code, name=item.name, attributes=item.attributes)


@router.get(
    "/{version_id}/features",
    summary="A version's features as GeoJSON (drafts included), for the editor",
)
async def features(
    request: Request,
    store: BoundaryStore,
    settings: SettingsDep,
    version_id: RowId,
    _: CostlyPlanner,
    level: Annotated[list[int] | None, Query(description="levels (default: all)")] = None,
) -> SafeJSONResponse:
    """A whole version read and written as GeoJSON: in the costly pool."""
    return await in_costly_pool(request, _features, store, settings, version_id, level)


def _features(
    store: Store, settings: Settings, version_id: int, level: list[int] | None
) -> SafeJSONResponse:
    with store.reading() as session:
        grids = load_grids(session, version_id, settings.scheme)
    frame = grids.frame.drop(columns=["ref"])
    if level is not None:
        frame = frame[frame["level"].isin(level)]
    # geopandas writes the GeoJSON (ids are the codes; missing values null)
    body = frame.set_index("code", drop=False).to_geo_dict(na="null")
    body["version"] = version_id
    return SafeJSONResponse(body, media_type="application/geo+json")


@router.post(
    "/{version_id}/edits",
    status_code=201,
    summary="Apply edits to a version and save them as a new draft",
    responses={
        201: {"description": "the new draft, its validation findings and what was done"},
        400: {"description": "an edit refused: the message names the grids"},
        409: {"description": "the draft was saved again meanwhile (stale), or is retired"},
    },
)
async def edits(
    *,
    request: Request,
    store: BoundaryStore,
    settings: SettingsDep,
    version_id: RowId,
    body: EditsIn,
    who: CostlyPlanner,
) -> SafeJSONResponse:
    """A whole draft revalidated and written: in the costly pool."""
    operations = [_operation(op) for op in body.operations]
    result = await in_costly_pool(
        request,
        save_edits,
        store,
        version_id,
        operations,
        author=who.actor,
        settings=settings,
        note=body.note,
    )
    return SafeJSONResponse(
        result.to_dict() | {"findings": result.report.to_geojson()}, status_code=201
    )
