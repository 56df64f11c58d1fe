"""How big a boundary file is, measured before it is read: features and vertices.

An upload's limits on features and vertices must hold *before* the file becomes a
GeoDataFrame: reading it whole first is what lets a small zip that unpacks into
millions of vertices take gigabytes. :func:`check_sizes` streams each layer's
geometries in batches of :data:`BATCH_FEATURES` (GDAL reads them one batch at a
time, GeoJSON included) and stops at the batch that passes a limit, so the memory
it takes is one batch's, whatever the file holds.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from gridgeo.errors import InputFileError, TooLargeError
from gridgeo.i18n import tr
from gridgeo.io.boundaries import cannot_read, spatial_layers

BATCH_FEATURES = 8  # small: a batch of vertex-heavy features stays a few MB; 20,000 grids in 0.1 s


@dataclass(frozen=True)
class FileSize:
    """Features and vertices counted in boundary files."""

    features: int = 0
    vertices: int = 0


def check_sizes(paths: Iterable[Path], *, max_features: int, max_vertices: int) -> FileSize:
    """Count the features and vertices of every spatial layer of ``paths``, refusing the
    files as soon as the running totals pass ``max_features`` or ``max_vertices``.

    Parameters
    ----------
    paths
        Boundary files (GeoJSON, GeoPackage, Shapefile).
    max_features, max_vertices
        The limits, over all files together.

    Returns
    -------
    FileSize
        The totals, when within the limits.

    Raises
    ------
    TooLargeError
        A limit is passed; the message names the file, its layer and the feature
        at which it was passed.
    InputFileError
        A file cannot be read as a vector file.

    Examples
    --------
    >>> import json, tempfile
    >>> ring = [[110.0, 25.0], [110.01, 25.0], [110.01, 25.01], [110.0, 25.0]]
    >>> feature = {"type": "Feature", "properties": {},
    ...            "geometry": {"type": "Polygon", "coordinates": [ring]}}
    >>> path = Path(tempfile.mkdtemp()) / "grids.geojson"
    >>> _ = path.write_text(json.dumps({"type": "FeatureCollection",
    ...                                 "features": [feature] * 3}))
    >>> check_sizes([path], max_features=10, max_vertices=100)
    FileSize(features=3, vertices=12)
    >>> try:
    ...     check_sizes([path], max_features=10, max_vertices=10)
    ... except TooLargeError as exc:
    ...     print(exc)
    grids.geojson: over 10 vertices at feature 3 (GRIDGEO_MAX_UPLOAD_VERTICES)
    """
    total = FileSize()
    for path in paths:
        layers = spatial_layers(path)
        for layer in layers:
            source = f"{path.name}:{layer}" if len(layers) > 1 else path.name
            limit = FileSize(max_features, max_vertices)
            total = _count_layer(path, layer, source, total=total, limit=limit)
    return total


def _count_layer(
    path: Path, layer: str, source: str, *, total: FileSize, limit: FileSize
) -> FileSize:
    """``total`` plus the features and vertices of ``layer``, within ``limit``."""
    features, vertices = total.features, total.vertices
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pyogrio notes on GDAL quirks
            with pyogrio.raw.open_arrow(
                path, layer=layer, columns=[], batch_size=BATCH_FEATURES, use_pyarrow=True
            ) as (meta, reader):
                column = meta["geometry_name"] or "wkb_geometry"
                for batch in reader:
                    wkb = batch.column(column).to_numpy(zero_copy_only=False)
                    counts = shapely.get_num_coordinates(shapely.from_wkb(wkb, on_invalid="ignore"))
                    running = vertices + np.cumsum(counts)
                    if features + len(wkb) > limit.features:
                        raise TooLargeError(
                            tr(
                                "{source}: over {limit} features (GRIDGEO_MAX_UPLOAD_FEATURES)",
                                source=source,
                                limit=limit.features,
                            )
                        )
                    if len(running) and running[-1] > limit.vertices:
                        at = features + int(np.argmax(running > limit.vertices)) + 1
                        raise TooLargeError(
                            tr(
                                "{source}: over {limit} vertices at feature {at} "
                                "(GRIDGEO_MAX_UPLOAD_VERTICES)",
                                source=source,
                                limit=limit.vertices,
                                at=at,
                            )
                        )
                    features += len(wkb)
                    vertices = int(running[-1]) if len(running) else vertices
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputFileError(cannot_read(source, exc)) from None
    return FileSize(features, vertices)
