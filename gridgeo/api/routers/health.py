"""Landing page and health check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gridgeo import __version__
from gridgeo.api.deps import dataset
from gridgeo.api.route_match import GatedRouter
from gridgeo.dataset import Dataset

router = GatedRouter(tags=["health"])


@router.get("/health", summary="Service health and loaded data")
def health(request: Request, data: Annotated[Dataset, Depends(dataset)]) -> dict[str, Any]:
    """``status`` is ``degraded`` when the published boundaries version could not be
    loaded: the service then answers from the last version that loads
    (``boundaries_version``), and ``problem`` says which version failed and why."""
    grids = data.grids
    failure = request.app.state.live.failure
    return {
        "status": "degraded" if failure is not None else "ok",
        "version": __version__,
        "boundaries_version": data.version,
        **({"problem": failure.to_dict()} if failure is not None else {}),
        "grids": len(grids),
        "levels": {lv.en: n for lv, n in grids.level_counts().items()},
        "workstations": len(data.workstations),
        "staff": len(data.staff),
    }


@router.get(
    "/health/noop",
    summary="Answers at once (load-test baseline)",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def noop() -> dict[str, str]:
    """Does nothing: the throughput benchmark compares ``/v1/lookup`` against it
    (docs/BENCHMARKS.md), so it measures only the framework and the server."""
    return {"status": "ok"}


def landing() -> str:
    """The HTML landing page; ``/`` (the OGC API landing page, routers/features.py)
    serves it to browsers and JSON to API clients."""
    return (
        "<!doctype html><html lang='zh'><meta charset='utf-8'><title>gridgeo</title>"
        "<h1>gridgeo 城市网格化管理空间服务</h1>"
        "<ul><li><a href='/map'>地图</a>（网格、工作站、案件、考核）</li>"
        "<li><a href='/map/edit'>边界编辑</a>（规划员）</li>"
        "<li><a href='/v1/lookup?lon=110.2965&amp;lat=25.2775'>/v1/lookup</a>（点位查询网格）</li>"
        "<li><a href='/collections'>/collections</a>（OGC API Features、矢量瓦片）</li>"
        "<li><a href='/docs'>/docs</a>、<a href='/redoc'>/redoc</a>（接口文档）</li>"
        "<li><a href='/health'>/health</a>（服务状态）</li></ul></html>"
    )
