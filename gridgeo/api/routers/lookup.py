"""``GET /v1/lookup``: the grid chain and workstation of one point."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from gridgeo.api.deps import dataset
from gridgeo.io.dataset import Dataset

router = APIRouter(prefix="/v1", tags=["lookup"])


@router.get("/lookup", summary="Grid chain (五级网格 ... 市) and workstation of a point")
def lookup(
    data: Annotated[Dataset, Depends(dataset)],
    lon: Annotated[float, Query(description="longitude", examples=[110.2965])],
    lat: Annotated[float, Query(description="latitude", examples=[25.2775])],
    crs: Annotated[str, Query(description="wgs84, cgcs2000, gcj02 or bd09")] = "wgs84",
) -> dict[str, Any]:
    return data.lookup(lon, lat, crs=crs).to_dict()
