"""``GET /v1/assessment``: the assessment indicators over HTTP (the core's, translated)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool

from gridgeo.api.deps import Viewer, current_dataset
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.state import app_settings, app_store
from gridgeo.assessment import Grouping, Period, parse_weights
from gridgeo.i18n import tr
from gridgeo.store.assessment import assess

router = GatedRouter(prefix="/v1", tags=["assessment"])


@router.get("/assessment", summary="Indicators of a period per unit, grid, workstation, person")
async def assessment(
    request: Request,
    _: Viewer,
    *,
    start: Annotated[
        str, Query(alias="from", description="2026-11-01 (Beijing midnight) or ISO 8601")
    ],
    end: Annotated[str, Query(alias="to", description="the cutoff: only events up to it count")],
    by: Grouping,
    level: Annotated[int | None, Query(ge=1, le=5, description="grid level for by=grid")] = None,
    weights: Annotated[
        str | None, Query(description="closure=0.3,on_time=0.4,rework=0.15,extension=0.15")
    ] = None,
) -> dict[str, Any]:
    """``{"period": {"from", "to"}, "by", "level", "rows": [...], "totals": {...}}``; rates
    are fractions, null when nothing is due; rows ranked by the composite score."""
    store = app_store(request, tr("this service runs without a store: it keeps no cases to assess"))
    settings = app_settings(request)
    period = Period.parse(start, end)
    chosen = parse_weights(weights if weights is not None else settings.assessment_weights)
    data = current_dataset(request)
    found = await run_in_threadpool(
        assess, store, period, by, level=level, data=data, weights=chosen
    )
    return found.to_dict()
