"""The work loop over HTTP: cases, their actions, and the units' task queues (城管通 terminals).

A thin translation of the case core (``gridgeo.caseflow`` rules,
``gridgeo.store.casework`` transactions, ``gridgeo.store.case_queries``
reads): the caller's API key says who acts, with its role and its unit or
grids; the core decides whether the action is allowed. Refusals: 409 with
the actions allowed now (``allowed``), 403 for another unit's task or grid,
400 for bad input, 404 for an unknown case or task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

from gridgeo.api.auth import AccessDenied, Caller, role_label
from gridgeo.api.deps import Handler, Reporter, RowId, Viewer, current_dataset, in_writer_pool
from gridgeo.api.media import checked_photo
from gridgeo.api.output_crs import (
    BboxCrs,
    OutCrs,
    bbox_in_storage,
    in_output_system,
    output_system,
)
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.state import app_store
from gridgeo.caseflow import ActionInputError, Actor, TaskState, parse_action
from gridgeo.i18n import tr
from gridgeo.roles import Role
from gridgeo.settings import Settings
from gridgeo.store.case_queries import (
    OPEN_TASK_STATES,
    CaseDetail,
    TaskQuery,
    case_detail,
    count_tasks,
    list_tasks,
)
from gridgeo.store.cases import CaseQuery, MediaUpload, NewCase, list_cases, report_case
from gridgeo.store.casework import ActionRequest, act_detail, act_on_task
from gridgeo.store.core import Store
from gridgeo.store.schema import MAX_ID
from gridgeo.wording import listing

router = GatedRouter(prefix="/v1", tags=["cases (work loop)"])

MAX_PAGE = 1000


def _store(request: Request) -> Store:
    return app_store(request, tr("this service runs without a store: it keeps no cases"))


class NewCaseBody(BaseModel):
    """A report: where, what, how urgent."""

    model_config = ConfigDict(extra="forbid")

    lon: float = Field(allow_inf_nan=False, examples=[110.3005])
    lat: float = Field(allow_inf_nan=False, examples=[25.2785])
    crs: str = Field("wgs84", examples=["wgs84", "cgcs2000", "gcj02", "bd09"])
    category: str = Field(examples=["0505"], description="category code or name (services)")
    description: str = Field("", max_length=4000)
    address: str = Field("", max_length=500)
    urgency: str = Field("normal", examples=["normal", "urgent", "紧急"])


class ActionBody(BaseModel):
    """One action. ``unit`` or ``task_id`` names the task of a task action."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(examples=["register", "dispatch", "handle", "立案"])
    task_id: int | None = Field(None, ge=1, le=MAX_ID)
    unit: str | None = Field(None, max_length=64)
    units: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="dispatch: the units (default: the suggestion); redispatch: the new unit",
    )
    deadline: datetime | None = Field(
        None, description="ISO 8601 with offset: a dispatch's own deadline, an extension's"
    )
    note: str = Field("", max_length=4000)
    public_note: str | None = Field(
        None, max_length=2000, description="note shown to the public (Open311 status_notes)"
    )


def _request(body: ActionBody, media: tuple[MediaUpload, ...] = ()) -> ActionRequest:
    return ActionRequest(
        action=parse_action(body.action),
        task_id=body.task_id,
        unit=body.unit,
        units=tuple(u.strip() for u in body.units if u.strip()),
        deadline=body.deadline,
        note=body.note,
        public_note=body.public_note,
        media=media,
    )


async def _action_body(request: Request) -> tuple[ActionBody, tuple[MediaUpload, ...]]:
    """The action from a JSON body, or from a multipart form with photos (``photo`` fields)."""
    kind = request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        try:
            return ActionBody.model_validate_json(await request.body()), ()
        except ValueError as exc:
            raise ActionInputError(
                tr("action body: {problem}", problem=_first_problem(exc))
            ) from None
    settings: Settings = request.app.state.settings
    form = await request.form()
    fields: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str) and v}
    fields.pop("api_key", None)
    fields["units"] = [u for u in form.getlist("units") if isinstance(u, str) and u]
    try:
        body = ActionBody.model_validate(fields)
    except ValueError as exc:
        raise ActionInputError(tr("action form: {problem}", problem=_first_problem(exc))) from None
    photos = []
    for upload in form.getlist("photo"):
        if not isinstance(upload, UploadFile):
            raise ActionInputError(tr("photo must be a file sent as multipart/form-data"))
        data = await upload.read(settings.api.max_media_bytes + 1)
        photos.append(
            checked_photo(
                data, upload.filename or "", upload.content_type, settings.api.max_media_bytes
            )
        )
    return body, tuple(photos)


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            where = ".".join(str(p) for p in found[0].get("loc", ())) or tr("body")
            said = found[0].get("msg") or tr("invalid")
            return tr("{parameter}: {problem}", parameter=where, problem=said)
    return str(exc)


@router.post("/cases", status_code=201, summary="Report a case (上报)")
def create(request: Request, body: NewCaseBody, who: Reporter) -> dict[str, Any]:
    """Store a report: assigned to its grid, with its 1+2+N dispatch suggestion; state
    ``reported``. The same core as Open311's POST requests and ``gridgeo cases add``."""
    data = current_dataset(request)
    new = NewCase(
        lon=body.lon,
        lat=body.lat,
        crs=body.crs,
        category=body.category,
        description=body.description,
        address=body.address,
        urgency=body.urgency,
    )
    case = report_case(_store(request), data, new, actor=who.actor)
    return case_detail(_store(request), case.id).to_dict()


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise ActionInputError(
            tr("bbox {bbox!r}: give west,south,east,north in degrees", bbox=text)
        ) from None
    if west > east or south > north:
        raise ActionInputError(
            tr("bbox {bbox!r}: west must not exceed east, nor south north", bbox=text)
        )
    return west, south, east, north


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


@router.get("/cases", summary="List cases (state, category, grid, bbox)")
def case_list(
    request: Request,
    *,
    _: Viewer,
    state: Annotated[str | None, Query(description="states, comma-separated")] = None,
    category: str | None = None,
    grid: Annotated[str | None, Query(max_length=32)] = None,
    bbox: Annotated[str | None, Query(description="west,south,east,north")] = None,
    bbox_crs: BboxCrs = None,
    out_crs: OutCrs = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Cases newest first; ``state=reported`` is the street office's registration queue,
    ``state=registered`` its dispatch queue."""
    system = output_system(out_crs)
    query = CaseQuery(
        state=_list(state) or None,
        category=category,
        grid_code=grid,
        bbox=bbox_in_storage(_bbox(bbox), bbox_crs),
        limit=limit,
        offset=offset,
    )
    rows = list_cases(_store(request), query)
    cases = [in_output_system(c.to_dict(), system) for c in rows]
    return {"cases": cases, "limit": limit, "offset": offset}


@router.get("/cases/{case_id}", summary="One case with its tasks and timeline")
def case_one(request: Request, case_id: RowId, _: Viewer, out_crs: OutCrs = None) -> dict[str, Any]:
    return in_output_system(case_detail(_store(request), case_id).to_dict(), output_system(out_crs))


@router.get("/cases/{case_id}/suggestion", summary="The 1+2+N dispatch suggestion with reasons")
def suggestion(request: Request, case_id: RowId, _: Viewer) -> dict[str, Any]:
    """Who should handle the case, and why (the published routing, partners and roster)."""
    case = case_detail(_store(request), case_id).case
    data = current_dataset(request)
    if not case.category:
        raise ActionInputError(tr("case {case} has no category: nothing to route", case=case_id))
    result = data.dispatch(case.lon, case.lat, case.category, "cgcs2000")
    return {"case_id": case_id, "units": case.partner_units, "dispatch": result.to_dict()}


# The action routes read their body themselves (JSON or a form with photos): its JSON
# form documented here, so that clients and the fuzz tests see what to send.
ACTION_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ActionBody.model_json_schema()}},
    }
}


@router.post(
    "/cases/{case_id}/actions",
    summary="Act on a case or one of its tasks",
    openapi_extra=ACTION_OPENAPI,
)
async def case_action(request: Request, case_id: RowId, who: Handler) -> SafeJSONResponse:
    """JSON ``{"action": ..., ...}``, or a multipart form with the same fields and
    ``photo`` files (handling feedback, 处理反馈). Answers the case after the action."""
    return await _acted(request, act_detail, case_id, who)


@router.post(
    "/tasks/{task_id}/actions",
    summary="Act on one task (a terminal's own)",
    openapi_extra=ACTION_OPENAPI,
)
async def task_action(request: Request, task_id: RowId, who: Handler) -> SafeJSONResponse:
    """The same as the case's actions, for one task (no ``unit`` or ``task_id`` needed)."""
    return await _acted(request, act_on_task, task_id, who)


async def _acted(
    request: Request, act: Callable[..., CaseDetail], target: int, who: Caller
) -> SafeJSONResponse:
    """Read the action from the body, apply it with ``act`` (on case or task ``target``)
    in the writer pool, and answer the case as it is after it."""
    body, photos = await _action_body(request)
    req = _request(body, photos)
    data = current_dataset(request)
    detail = await in_writer_pool(
        request, act, _store(request), target, req, who.as_actor(), data=data
    )
    return SafeJSONResponse(detail.to_dict())


TASK_STATES = tuple(s.value for s in TaskState)


@router.get("/tasks", summary="The caller's task queue")
def task_list(
    request: Request,
    response: Response,
    *,
    who: Handler,
    state: Annotated[str | None, Query(description="task states, comma-separated")] = None,
    overdue: bool = False,
    due_within_hours: Annotated[float | None, Query(gt=0, le=24 * 366)] = None,
    grid: Annotated[str | None, Query(max_length=32)] = None,
    category: str | None = None,
    bbox: str | None = None,
    bbox_crs: BboxCrs = None,
    out_crs: OutCrs = None,
    extension: Annotated[
        Literal["requested", "none"] | None, Query(description="extension requests")
    ] = None,
    unit: Annotated[str | None, Query(max_length=64, description="dispatcher: one unit")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    count: Annotated[bool, Query(description="also count every match (total)")] = False,
) -> dict[str, Any]:
    """Tasks by deadline, earliest first; without ``state``, those still to be worked
    (dispatched, accepted, rework): the unit's to-do queue. A handler key sees its unit's tasks, an
    inspector key the tasks in its grids (``state=handled``: its verification queue),
    the street office (dispatcher) every task (``extension=requested``: the extension
    requests; ``state=returned``: tasks to re-dispatch)."""
    states = _list(state) or OPEN_TASK_STATES
    bad = [s for s in states if s not in TASK_STATES]
    if bad:
        raise ActionInputError(
            tr(
                "unknown task state {state!r}: use {states}",
                state=bad[0],
                states=listing(TASK_STATES),
            )
        )
    scope_unit, scope_grids = _scope(who.as_actor(), unit)
    system = output_system(out_crs)
    query = TaskQuery(
        unit=scope_unit,
        grids=scope_grids,
        states=states,
        overdue=overdue,
        due_within=timedelta(hours=due_within_hours) if due_within_hours else None,
        grid=grid,
        category=category,
        bbox=bbox_in_storage(_bbox(bbox), bbox_crs),
        extension_requested=None if extension is None else extension == "requested",
        limit=limit,
        offset=offset,
    )
    store = _store(request)
    rows = list_tasks(store, replace(query, limit=limit + 1))  # one more: is there a next page?
    out: dict[str, Any] = {
        "tasks": [in_output_system(x.to_dict(), system) for x in rows[:limit]],
        "limit": limit,
        "offset": offset,
        "more": len(rows) > limit,
    }
    if count:
        out["total"] = count_tasks(store, query)
        response.headers["X-Total-Count"] = str(out["total"])
    return out


def _scope(actor: Actor, unit: str | None) -> tuple[str | None, tuple[str, ...] | None]:
    """The part of the queue a caller may see: its unit, its grids, or everything."""
    if actor.role is Role.HANDLER:
        if unit is not None and unit != actor.unit:
            raise AccessDenied(
                403, tr("this key acts for unit {own}, not {unit}", own=actor.unit, unit=unit)
            )
        return actor.unit, None
    if actor.role is Role.INSPECTOR:
        return unit, actor.grids
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        return unit, None
    raise AccessDenied(403, tr("role {role} has no task queue", role=role_label(actor.role)))
