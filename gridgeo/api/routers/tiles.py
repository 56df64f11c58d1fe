"""Vector tiles: ``/tiles/{collectionId}/{z}/{x}/{y}.mvt`` (WebMercatorQuad) and TileJSON.

A tile with no feature is ``204 No Content`` (map clients draw nothing);
zooms above the TileJSON ``maxzoom`` and columns or rows outside the zoom's
matrix are 404, as OGC API Tiles asks.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gridgeo.api.auth import require
from gridgeo.api.deps import dataset
from gridgeo.api.limits import release_after
from gridgeo.api.ogc.catalog import catalog_for
from gridgeo.api.ogc.errors import ERROR_RESPONSES, OGCRoute, no_collection
from gridgeo.api.ogc.tiles import (
    MVT_MEDIA_TYPE,
    check_tile,
    layer_for,
    quick_tile,
    tile_shift,
    tilejson,
)
from gridgeo.api.route_match import GatedRouter
from gridgeo.coords import CoordSystem
from gridgeo.dataset import Dataset
from gridgeo.roles import Role

router = GatedRouter(
    prefix="/tiles",
    tags=["Vector tiles"],
    route_class=OGCRoute,
    dependencies=[Depends(require(Role.VIEWER))],
)

Data = Annotated[Dataset, Depends(dataset)]
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        description="A collection id, as in /collections",
        examples=["level5_grid"],
    ),
]
TileCrs = Annotated[
    str | None,
    Query(
        description="For a Chinese web map's base layer: gcj02 (Amap, Tencent, WeChat) or "
        "bd09 (Baidu) shifts every vertex as that map draws; default wgs84",
        examples=["gcj02"],
    ),
]
TILE_CACHE_CONTROL = "public, max-age=60"
"""Short: a newly published boundary version must reach maps within a minute."""


@router.get(
    "/{collectionId}/tilejson.json",
    summary="TileJSON 3.0.0 of a collection's vector tiles",
    responses=ERROR_RESPONSES,
)
def tilejson_document(
    request: Request, data: Data, collection_id: CollectionId, crs: TileCrs = None
) -> dict[str, Any]:
    table = catalog_for(data).tables.get(collection_id)
    if table is None:
        raise no_collection(collection_id)
    return tilejson(str(request.base_url).rstrip("/"), table, tile_shift(crs))


@router.get(
    "/{collectionId}/{z}/{x}/{y}.mvt",
    summary="A Mapbox vector tile (WebMercatorQuad, XYZ numbering); 204 when empty",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "The tile"},
        204: {"description": "No feature in this tile"},
        **ERROR_RESPONSES,
    },
)
async def tile(
    *,
    data: Data,
    collection_id: CollectionId,
    z: Annotated[int, Path(ge=0, description="Zoom level", examples=[14])],
    x: Annotated[int, Path(ge=0, description="Column, from the west", examples=[13211])],
    y: Annotated[int, Path(ge=0, description="Row, from the north", examples=[7002])],
    crs: TileCrs = None,
) -> Response:
    """A tile from the cache, or a small one of a zoom in memory (under a millisecond
    of encoding, less than the hop to a worker thread), is answered on the event loop;
    building a layer or a zoom and encoding a large tile are CPU work for the thread
    pool (docs/BENCHMARKS.md)."""
    check_tile(z, x, y)
    shifted = tile_shift(crs)
    found, body = quick_tile(data, collection_id, z, x, y, shifted=shifted)
    if not found:
        body = await run_in_threadpool(_encode, data, collection_id, (z, x, y), shifted)
    if body is None:
        return Response(status_code=204, headers={"Cache-Control": TILE_CACHE_CONTROL})
    return Response(body, media_type=MVT_MEDIA_TYPE, headers={"Cache-Control": TILE_CACHE_CONTROL})


def _encode(
    data: Dataset, collection_id: str, zxy: tuple[int, int, int], shifted: CoordSystem | None
) -> bytes | None:
    start = time.monotonic()
    try:
        return layer_for(data, collection_id, shifted).tile(*zxy)
    finally:
        release_after(time.monotonic() - start)  # a layer's or zoom's first build
