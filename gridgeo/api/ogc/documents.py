"""The JSON documents of OGC API Features: landing page, conformance, collections, items.

Pure functions of the catalog, the base URL and the request's parameters, so
they are tested without a server. Links are absolute, built from the URL the
client used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import numpy.typing as npt
from shapely.geometry import mapping

from gridgeo.api.ogc.catalog import Catalog, FeatureTable
from gridgeo.api.ogc.crs import CRS84, STORAGE_CRS, OgcCrs, supported_uris, to_output

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
TILEJSON_REL = "tiles"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: the queryables of each collection, usable as query parameters, and CQL2
    # filters (api/ogc/filters.py: the classes below and no other)
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    # OGC API Tiles (api/routers/ogc_tiles.py): vector tiles of each collection
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]
SCHEMA_JSON = "application/schema+json"
TITLE = "gridgeo 城市网格化管理空间服务"
DESCRIPTION = (
    "Boundaries of the five levels of urban grid management (城市网格化管理: city 市, "
    "district 区, street 街道, community 社区, fifth-level grid 五级网格), workstations and "
    "partner zones, as OGC API Features and Mapbox vector tiles."
)


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(base: str) -> dict[str, Any]:
    """The landing page: title and links to the API definition, conformance and data."""
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{base}/?f=html", "alternate", "text/html", "This page in HTML"),
            link(f"{base}/api", "service-desc", OPENAPI_30, "The API definition (OpenAPI 3.0)"),
            link(f"{base}/docs", "service-doc", "text/html", "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The feature collections"),
            link(
                f"{base}/tileMatrixSets",
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                JSON,
                "The tile matrix sets of the vector tiles",
            ),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def collection(base: str, table: FeatureTable) -> dict[str, Any]:
    """One collection's description: extent, CRS list, links to items and tiles."""
    info = table.info
    url = f"{base}/collections/{info.id}"
    out: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "description": info.description,
        "itemType": "feature",
        "crs": supported_uris(),
        "storageCrs": STORAGE_CRS,
        "links": [
            link(url, "self", JSON, "This collection"),
            link(f"{url}/items", "items", GEOJSON, f"Features of {info.id}"),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA_JSON,
                "The properties features can be selected by",
            ),
            link(
                f"{base}/tiles/{info.id}/tilejson.json",
                TILEJSON_REL,
                JSON,
                "Mapbox vector tiles of this collection (TileJSON)",
            ),
            link(
                f"{url}/tiles",
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Vector tilesets of this collection (OGC API Tiles)",
            ),
        ],
    }
    if table.bounds is not None:
        out["extent"] = {"spatial": {"bbox": [list(table.bounds)], "crs": CRS84}}
    return out


def queryables(base: str, table: FeatureTable) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (OGC API Features Part 3): every
    property, each usable as ``?name=value`` on the items (equality)."""
    url = f"{base}/collections/{table.info.id}/queryables"
    properties: dict[str, Any] = {
        name: {"title": name, "type": kind} for name, kind in table.queryables.items()
    }
    properties["geometry"] = {
        "title": "geometry",
        "format": "geometry-point" if table.info.geometry == "point" else "geometry-polygon",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": table.info.title,
        "properties": properties,
        "additionalProperties": False,
    }


def collections(base: str, catalog: Catalog) -> dict[str, Any]:
    return {
        "links": [link(f"{base}/collections", "self", JSON, "The feature collections")],
        "crs": supported_uris(),
        "collections": [collection(base, t) for t in catalog.tables.values()],
    }


def _geometry(geom: Any) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    return dict(mapping(geom))


def feature(table: FeatureTable, position: int, geom: Any) -> dict[str, Any]:
    """One GeoJSON feature; ``geom`` already in the output CRS."""
    return {
        "type": "Feature",
        "id": table.ids[position],
        "geometry": _geometry(geom),
        "properties": table.properties[position],
    }


def features_in(
    table: FeatureTable,
    positions: npt.NDArray[np.intp],
    crs: OgcCrs,
    properties: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The features at ``positions``, reprojected to ``crs``; only the ``properties``
    named, in that order, when given."""
    geoms = to_output(table.geometries[positions], crs)
    out = [feature(table, int(p), g) for p, g in zip(positions, geoms, strict=True)]
    if properties is not None:
        for f in out:
            f["properties"] = {k: f["properties"].get(k) for k in properties}
    return out


def page_links(
    url: str,
    query: Mapping[str, str],
    offset: int,
    limit: int,
    matched: int,
    *,
    requested: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """``self`` (the request as asked, ``requested``: offset and limit included), and
    ``next``/``prev`` pages with the same filters (``query``), other offsets."""

    def at(new_offset: int) -> str:
        params = {**query, "offset": str(new_offset), "limit": str(limit)}
        return f"{url}?{urlencode(params)}"

    asked = dict(query if requested is None else requested)
    self_href = f"{url}?{urlencode(asked)}" if asked else url
    links = [link(self_href, "self", GEOJSON, "This page")]
    if offset + limit < matched:
        links.append(link(at(offset + limit), "next", GEOJSON, "Next page"))
    if offset > 0:
        links.append(link(at(max(offset - limit, 0)), "prev", GEOJSON, "Previous page"))
    return links


def feature_collection(
    features: Sequence[dict[str, Any]], matched: int, links: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
        "features": list(features),
    }


def item(base: str, table: FeatureTable, position: int, crs: OgcCrs) -> dict[str, Any]:
    """A single feature with its ``self`` and ``collection`` links."""
    out = features_in(table, np.array([position], dtype=np.intp), crs)[0]
    url = f"{base}/collections/{table.info.id}"
    out["links"] = [
        link(f"{url}/items/{quote(table.ids[position])}", "self", GEOJSON, "This feature"),
        link(url, "collection", JSON, "The collection"),
    ]
    return out
