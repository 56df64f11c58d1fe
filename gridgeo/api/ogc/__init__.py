"""OGC API Features (Part 1 Core + GeoJSON + OpenAPI 3.0, Part 2 CRS) and vector tiles.

The routers (``gridgeo.api.routers.features`` and ``.tiles``) stay thin; the
pieces live here:

``catalog``   the collections (one per level, workstations, partner zones) and
              their feature tables, built once per published dataset
``crs``       OGC CRS URIs, axis order, reprojection of geometries and bboxes
``params``    parsing of ``bbox``, ``limit``, ``offset`` into clear 400s
``documents`` landing page, conformance, collection and item documents, links
``errors``    OGC exception documents and the route class that returns them
``openapi``   the OpenAPI 3.1 document FastAPI writes, converted to 3.0
``coverage``  noding and topology-keeping simplification of a level's polygons
``tiles``     Web Mercator tile maths, per-zoom caches, MVT encoding, TileJSON
"""
