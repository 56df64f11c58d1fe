"""OGC API Features: landing page, conformance, API definition, collections and items.

Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by reference). The
documents are built in :mod:`gridgeo.api.ogc.documents`; this module reads
the request, checks parameters and sets media types and headers. Errors are
OGC exception documents (400 bad parameter, 404 unknown collection or feature).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from gridgeo.api.auth import require
from gridgeo.api.deps import dataset
from gridgeo.api.ogc import documents
from gridgeo.api.ogc import html as html_views
from gridgeo.api.ogc.catalog import FeatureTable, catalog_for
from gridgeo.api.ogc.crs import CRS84, STORAGE_CRS, bbox_polygon, parse_crs
from gridgeo.api.ogc.errors import ERROR_RESPONSES, OGCRoute, no_collection, not_found
from gridgeo.api.ogc.openapi import to_openapi30
from gridgeo.api.ogc.params import (
    DEFAULT_LIMIT,
    ITEM_PARAMETERS,
    ITEMS_PARAMETERS,
    MAX_LIMIT,
    check_format,
    effective_limit,
    parse_bbox,
    parse_properties,
    parse_sortby,
    reject_unknown,
)
from gridgeo.api.responses import SafeJSONResponse
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.routers import health
from gridgeo.dataset import Dataset
from gridgeo.i18n import tr
from gridgeo.roles import Role

router = GatedRouter(
    tags=["OGC API Features"], route_class=OGCRoute, dependencies=[Depends(require(Role.VIEWER))]
)

Data = Annotated[Dataset, Depends(dataset)]
CollectionId = Annotated[
    str,
    Path(
        alias="collectionId",
        description="level1_city, level2_district, level3_street, level4_community, "
        "level5_grid, workstations or partner_zones",
        examples=["level5_grid"],
    ),
]
Format = Annotated[str | None, Query(description="Response format: json (default) or html")]
Crs = Annotated[
    str | None,
    Query(
        description=f"CRS of the response geometries (default {CRS84}); EPSG:4490, 4326 and "
        "the CGCS2000 Gauss-Kruger zones 4491-4554 as http://www.opengis.net/def/crs/EPSG/0/N, "
        "in the EPSG axis order (lat/lon; northing/easting)",
        examples=[STORAGE_CRS],
    ),
]


class GeoJSONResponse(SafeJSONResponse):
    media_type = "application/geo+json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _table(data: Dataset, collection_id: str) -> FeatureTable:
    tables = catalog_for(data).tables
    table = tables.get(collection_id)
    if table is None:
        raise no_collection(collection_id, tables)
    return table


def _wants_html(request: Request, f: str | None) -> bool:
    """``f=html``, or a browser: its Accept header puts text/html first (clients such as
    GDAL, QGIS and OWSLib ask for JSON, or for anything)."""
    if f is not None:
        return f.lower() == "html"
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].strip().startswith("text/html")


def _document(
    request: Request, f: str | None, doc: dict[str, Any], page: Callable[[dict[str, Any]], str]
) -> Response:
    """``doc`` as JSON, or as its HTML ``page`` for ``f=html`` and browsers."""
    if _wants_html(request, f):
        return HTMLResponse(page(doc))
    check_format(f)
    return SafeJSONResponse(doc)


def _leaflet(request: Request) -> str:
    return f"{_base(request)}/map/lib/leaflet"


def _geojson(doc: dict[str, Any], crs_uri: str) -> GeoJSONResponse:
    return GeoJSONResponse(doc, headers={"Content-Crs": f"<{crs_uri}>"})


@router.get(
    "/",
    summary="Landing page (OGC API Features); HTML for browsers",
    response_model=None,
    responses={200: {"content": {"text/html": {}}}, **ERROR_RESPONSES},
)
def landing(request: Request, f: Format = None) -> Response:
    if _wants_html(request, f):
        return HTMLResponse(health.landing())
    check_format(f)
    return SafeJSONResponse(documents.landing(_base(request)))


@router.get(
    "/api",
    summary="The API definition as OpenAPI 3.0 (service-desc)",
    response_model=None,
    responses={200: {"content": {documents.OPENAPI_30: {}}}},
)
def api_definition(request: Request) -> Response:
    doc = to_openapi30(request.app.openapi())
    return SafeJSONResponse(doc, media_type=documents.OPENAPI_30)


@router.get("/conformance", summary="Conformance classes", responses=ERROR_RESPONSES)
def conformance(f: Format = None) -> dict[str, Any]:
    check_format(f)
    return documents.conformance()


@router.get(
    "/collections",
    summary="The feature collections; HTML for browsers",
    response_model=None,
    responses={200: {"content": {"text/html": {}}}, **ERROR_RESPONSES},
)
def collections(request: Request, data: Data, f: Format = None) -> Response:
    doc = documents.collections(_base(request), catalog_for(data))
    return _document(request, f, doc, html_views.collections_page)


@router.get(
    "/collections/{collectionId}",
    summary="One collection: extent, CRS list, links; HTML for browsers",
    response_model=None,
    responses={200: {"content": {"text/html": {}}}, **ERROR_RESPONSES},
)
def collection(
    request: Request, data: Data, collection_id: CollectionId, f: Format = None
) -> Response:
    doc = documents.collection(_base(request), _table(data, collection_id))
    return _document(request, f, doc, html_views.collection_page)


@router.get(
    "/collections/{collectionId}/queryables",
    summary="The properties the items can be selected by (JSON Schema, OGC API Features Part 3)",
    responses={200: {"content": {"application/schema+json": {}}}, **ERROR_RESPONSES},
)
def queryables(
    request: Request, data: Data, collection_id: CollectionId, f: Format = None
) -> Response:
    check_format(f)
    document = documents.queryables(_base(request), _table(data, collection_id))
    return SafeJSONResponse(document, media_type=documents.SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection (GeoJSON), with bbox filter and paging",
    response_class=GeoJSONResponse,
    response_model=None,
    responses={200: {"content": {"application/geo+json": {}}}, **ERROR_RESPONSES},
)
def items(
    *,
    request: Request,
    data: Data,
    collection_id: CollectionId,
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Page size; larger values are served as {MAX_LIMIT}",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Features to skip (paging)")] = 0,
    bbox: Annotated[
        str | None,
        Query(
            description="minx,miny,maxx,maxy in bbox-crs axis order (CRS84: lon,lat)",
            examples=["110.28,25.27,110.31,25.29"],
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description=f"CRS of bbox (default {CRS84})")
    ] = None,
    crs: Crs = None,
    datetime: Annotated[
        str | None, Query(description="Accepted and ignored: boundaries have no time")
    ] = None,
    parent_code: Annotated[
        str | None,
        Query(
            description="Only the children of this grid, e.g. the grids of a community",
            examples=["450302001001"],
        ),
    ] = None,
    sortby: Annotated[
        str | None,
        Query(
            description="Order by these queryables, comma-separated; '-' before a name "
            "for descending (default: by id)",
            examples=["-level,code"],
        ),
    ] = None,
    properties: Annotated[
        str | None,
        Query(description="Only these properties, comma-separated", examples=["code,name"]),
    ] = None,
    filter: Annotated[
        str | None,
        Query(
            description="CQL2 filter (OGC API Features Part 3): comparisons, AND/OR/NOT, "
            "LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS and the other spatial functions",
            examples=["level = 5 AND name LIKE '文明%'"],
        ),
    ] = None,
    filter_lang: Annotated[
        str | None, Query(alias="filter-lang", description="cql2-text (default) or cql2-json")
    ] = None,
    filter_crs: Annotated[
        str | None,
        Query(alias="filter-crs", description="CRS of the filter's geometries (default CRS84)"),
    ] = None,
    f: Format = None,
) -> Response:
    table = _table(data, collection_id)
    reject_unknown(request.query_params.multi_items(), ITEMS_PARAMETERS | table.queryables.keys())
    html = _wants_html(request, f)
    if not html:
        check_format(f)
    # a property name in the query string selects by equality (Part 3 queryables)
    equals = {
        name: value
        for name, value in request.query_params.items()
        if name in table.queryables and name not in ITEMS_PARAMETERS
    }
    out_crs = parse_crs(crs, "crs")
    area = None
    if bbox is not None:
        area = bbox_polygon(parse_bbox(bbox), parse_crs(bbox_crs, "bbox-crs"))
    elif bbox_crs is not None:
        parse_crs(bbox_crs, "bbox-crs")
    selected = table.select(area, parent_code, equals)
    if filter is not None:
        # on first use: pygeofilter's CQL2 parsers (lark, dateparser) are ~9 MB and 0.2 s
        # of start for a parameter most requests do not give
        from gridgeo.api.ogc.filters import filter_mask

        selected = selected[filter_mask(table, filter, filter_lang, filter_crs)[selected]]
    keys = parse_sortby(sortby, table.queryables)
    if keys:
        selected = table.sort(selected, keys)
    wanted = parse_properties(properties, table.queryables)
    size = effective_limit(limit)
    page = selected[offset : offset + size]
    url = f"{_base(request)}/collections/{table.info.id}/items"
    query = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
    links = documents.page_links(
        url, query, offset, size, len(selected), requested=dict(request.query_params)
    )
    links.append(
        documents.link(
            f"{_base(request)}/collections/{table.info.id}",
            "collection",
            documents.JSON,
            "The collection",
        )
    )
    features = documents.features_in(table, page, out_crs, wanted)
    doc = documents.feature_collection(features, len(selected), links)
    if html:
        return HTMLResponse(html_views.items_page(table.info.title, doc, _leaflet(request)))
    return _geojson(doc, out_crs.uri)


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature by its code",
    response_class=GeoJSONResponse,
    response_model=None,
    responses={200: {"content": {"application/geo+json": {}}}, **ERROR_RESPONSES},
)
def item(
    *,
    request: Request,
    data: Data,
    collection_id: CollectionId,
    feature_id: Annotated[
        str,
        Path(alias="featureId", description="The grid, workstation or unit code"),
    ],
    crs: Crs = None,
    f: Format = None,
) -> Response:
    reject_unknown(request.query_params.multi_items(), ITEM_PARAMETERS)
    html = _wants_html(request, f)
    if not html:
        check_format(f)
    table = _table(data, collection_id)
    out_crs = parse_crs(crs, "crs")
    position = table.position_of.get(feature_id)
    if position is None:
        raise not_found(
            tr(
                "no feature {feature!r} in collection {collection!r}",
                feature=feature_id,
                collection=collection_id,
            )
        )
    doc = documents.item(_base(request), table, position, out_crs)
    if html:
        return HTMLResponse(html_views.item_page(table.info.title, doc, _leaflet(request)))
    return _geojson(doc, out_crs.uri)
