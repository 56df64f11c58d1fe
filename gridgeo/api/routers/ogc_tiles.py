"""OGC API Tiles paths beside ``/tiles``: tile matrix sets, each collection's tilesets
and its tiles as ``/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}``.

The tiles are the very ones ``/tiles/{id}/{z}/{x}/{y}.mvt`` serves (the same layer,
cache and 204/404 rules): OGC numbers them matrix, row, column, XYZ zoom, column,
row. The tile matrix set document is morecantile's WebMercatorQuad (OGC Two
Dimensional Tile Matrix Set 2.0), not one written here.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import morecantile
from fastapi import Depends, Path, Request
from fastapi.responses import Response

from gridgeo.api.auth import require
from gridgeo.api.deps import dataset
from gridgeo.api.ogc.catalog import FeatureTable, catalog_for
from gridgeo.api.ogc.documents import JSON, link
from gridgeo.api.ogc.errors import ERROR_RESPONSES, OGCRoute, no_collection, not_found
from gridgeo.api.ogc.tiles import MAX_ZOOM, MIN_ZOOM, MVT_MEDIA_TYPE
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.routers.tiles import CollectionId, TileCrs, tile
from gridgeo.dataset import Dataset
from gridgeo.i18n import tr
from gridgeo.roles import Role

router = GatedRouter(
    tags=["OGC API Tiles"], route_class=OGCRoute, dependencies=[Depends(require(Role.VIEWER))]
)

Data = Annotated[Dataset, Depends(dataset)]
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
TMS_ID_PATH = Annotated[
    str, Path(alias="tileMatrixSetId", description="Tile matrix set", examples=[TMS_ID])
]


@cache
def _tile_matrix_set() -> dict[str, Any]:
    document: dict[str, Any] = morecantile.tms.get(TMS_ID).model_dump(
        exclude_none=True, mode="json"
    )
    return document


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _table(data: Dataset, collection_id: str) -> FeatureTable:
    table = catalog_for(data).tables.get(collection_id)
    if table is None:
        raise no_collection(collection_id)
    return table


def _check_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise not_found(tr("no tile matrix set {tms!r}; served: {served}", tms=tms, served=TMS_ID))


@router.get("/tileMatrixSets", summary="The tile matrix sets tiles are served in")
def tile_matrix_sets(request: Request) -> dict[str, Any]:
    href = f"{_base(request)}/tileMatrixSets/{TMS_ID}"
    return {
        "tileMatrixSets": [
            {
                "id": TMS_ID,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [link(href, "self", JSON, "The tile matrix set")],
            }
        ]
    }


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    summary="One tile matrix set (OGC 2D Tile Matrix Set 2.0 JSON)",
    responses=ERROR_RESPONSES,
)
def tile_matrix_set(tms: TMS_ID_PATH) -> dict[str, Any]:
    _check_tms(tms)
    return _tile_matrix_set()


def _tileset(base: str, table: FeatureTable) -> dict[str, Any]:
    url = f"{base}/collections/{table.info.id}/tiles/{TMS_ID}"
    return {
        "title": f"{table.info.title}, vector tiles",
        "dataType": "vector",
        "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "links": [
            link(url, "self", JSON, "This tileset"),
            link(f"{base}/tileMatrixSets/{TMS_ID}", TILING_SCHEME, JSON, "The tiling scheme"),
            {
                "href": f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                "rel": "item",
                "type": MVT_MEDIA_TYPE,
                "templated": True,
                "title": "A tile",
            },
        ],
        "layers": [
            {
                "id": table.info.id,
                "dataType": "vector",
                "geometryType": "points" if table.info.geometry == "point" else "polygons",
                "minTileMatrix": str(MIN_ZOOM),
                "maxTileMatrix": str(MAX_ZOOM),
            }
        ],
    }


@router.get(
    "/collections/{collectionId}/tiles",
    summary="The tilesets of a collection (OGC API Tiles)",
    responses=ERROR_RESPONSES,
)
def tilesets(request: Request, data: Data, collection_id: CollectionId) -> dict[str, Any]:
    table = _table(data, collection_id)
    base = _base(request)
    return {
        "links": [link(f"{base}/collections/{collection_id}/tiles", "self", JSON, "The tilesets")],
        "tilesets": [_tileset(base, table)],
    }


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    summary="A collection's vector tileset in one tile matrix set",
    responses=ERROR_RESPONSES,
)
def tileset(
    request: Request, data: Data, collection_id: CollectionId, tms: TMS_ID_PATH
) -> dict[str, Any]:
    _check_tms(tms)
    return _tileset(_base(request), _table(data, collection_id))


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile (OGC numbering: matrix, row, column); 204 when empty",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "The tile"},
        204: {"description": "No feature in this tile"},
        **ERROR_RESPONSES,
    },
)
async def ogc_tile(
    *,
    data: Data,
    collection_id: CollectionId,
    tms: TMS_ID_PATH,
    matrix: Annotated[int, Path(alias="tileMatrix", ge=0, examples=[14])],
    row: Annotated[int, Path(alias="tileRow", ge=0, examples=[7002])],
    col: Annotated[int, Path(alias="tileCol", ge=0, examples=[13211])],
    crs: TileCrs = None,
) -> Response:
    _check_tms(tms)
    _table(data, collection_id)
    return await tile(data=data, collection_id=collection_id, z=matrix, x=col, y=row, crs=crs)
