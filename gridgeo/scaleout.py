"""Grid assignment over Dask partitions: :func:`gridgeo.batch.assign_frame`, scaled out.

Every partition goes through the very function ``gridgeo assign`` runs on each
chunk, so the result is row for row and value for value the single-process
engine's (see :func:`assign_partition`
and ``docs/SCALING.md``).

Why the index is broadcast
--------------------------
A :class:`~gridgeo.index.GridIndex` is a few MB for a city's boundaries (8.5 MB
pickled for 2,000 grids) and 440 MB for 100,000 grids. Passed as a plain
argument, it would travel inside the task graph: tokenized (one full pickle)
when the graph is built, through the scheduler, and in the worst case once per
task. With a ``distributed.Client``, :func:`scatter_index` sends it to every
worker once (``client.scatter(..., broadcast=True)``); tasks carry only its
key, and all tasks on a worker share that worker's copy. (Between runs the
scheduler's Active Memory Manager may trim the copies back to one; the next
run then copies it to each worker again, once, worker to worker.) Without a
client (the local threaded scheduler) it is shared by reference: one graph
key, no copy, no pickling.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd

from gridgeo.batch import ADDED_COLUMNS, STATUSES, assign_frame
from gridgeo.coords import parse_coord_system
from gridgeo.index import GridIndex

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

__all__ = [
    "TEXT_DTYPE",
    "assign_dask",
    "assign_parquet",
    "assign_partition",
    "output_meta",
    "scatter_index",
]

#: dtype of the added columns in every partition: pandas' default for text
#: (``str`` under pandas 3, ``object`` under pandas 2), missing values NaN/None.
TEXT_DTYPE = pd.Series(["", None]).dtype

# A GridIndex, or what stands for one in a graph: a distributed Future or a Delayed.
IndexRef: TypeAlias = Any


def scatter_index(client: Client, index: GridIndex) -> IndexRef:
    """Send ``index`` to every worker of ``client`` once; return its Future.

    Scatter once per boundary version and pass the Future to :func:`assign_dask`
    as ``index`` for any number of runs: the client does not send it again (a
    worker whose copy the Active Memory Manager trimmed between runs fetches it
    from a peer, once). Keep a reference to the Future as long as runs need it;
    the workers free the index when the last reference (yours or a
    collection's) is dropped.

    Parameters
    ----------
    client
        The ``distributed.Client`` of the cluster.
    index
        The leaf-grid index of the boundary version in force.
    """
    return _share(index, client, "gridgeo-index")


def output_meta(meta: pd.DataFrame) -> pd.DataFrame:
    """The empty frame :func:`assign_dask` returns for input columns ``meta``.

    The input columns keep their dtypes; ``code_l1``..``code_l5``,
    ``workstation_code`` and ``status`` are added (or replaced, as
    :func:`~gridgeo.batch.assign_frame` does) with :data:`TEXT_DTYPE`.
    """
    out = meta.iloc[:0].copy()
    for column in ADDED_COLUMNS:
        out[column] = pd.Series([], index=out.index, dtype=TEXT_DTYPE)
    return out


# The function mapped over partitions is assign_frame itself: it gives the added
# columns one text dtype (TEXT_DTYPE) whatever a partition holds, so every partition
# matches the declared meta and Parquet gets one schema.
assign_partition = assign_frame


def assign_dask(
    ddf: dd.DataFrame,
    index: GridIndex | IndexRef,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    stations: Mapping[str, str] | None = None,
    client: Client | None = None,
) -> dd.DataFrame:
    """The Dask frame with the grid codes, workstation and status columns added (lazy).

    Each partition is assigned by :func:`~gridgeo.batch.assign_frame` (through
    :func:`assign_partition`), so the computed result equals ``assign_frame``
    on the whole table: same rows, order and index, same values.

    Parameters
    ----------
    ddf
        The points, any number of partitions; columns and values are kept.
    index
        A :class:`~gridgeo.index.GridIndex`, or the Future :func:`scatter_index`
        returned for it (then nothing is sent again).
    lon_col, lat_col
        Columns holding the coordinates (text or numbers).
    crs
        Coordinate system of the input: wgs84, cgcs2000, gcj02 or bd09.
    stations
        Community code -> workstation code (see :func:`gridgeo.batch.workstation_lookup`).
    client
        The ``distributed.Client`` that will compute the result. When it is
        None and a client is current (``distributed.Client.current()``: the
        default client, or that of an ``as_current()`` block), that one is
        used, as Dask computes on it too. A GridIndex is then
        broadcast to every worker once; without any client it is shared by
        reference with the local (threaded) scheduler.

    Returns
    -------
    dask.dataframe.DataFrame
        Input columns, then ``code_l1``..``code_l5``, ``workstation_code`` and
        ``status``, the added ones of dtype :data:`TEXT_DTYPE`.

    Raises
    ------
    KeyError
        If ``lon_col`` or ``lat_col`` is not a column of ``ddf``.
    gridgeo.errors.CoordinateError
        If ``crs`` is not a known coordinate system.
    """
    for column in (lon_col, lat_col):
        if column not in ddf.columns:
            raise KeyError(column)
    parse_coord_system(crs)  # fail here, not in every task
    client = client if client is not None else _default_client()
    shared_index = _share(index, client, "gridgeo-index") if isinstance(index, GridIndex) else index
    shared_stations = None if stations is None else _share(dict(stations), client, "gridgeo-ws")
    frame: Any = ddf  # dask's own annotations are partial: keep mypy out of them
    result: dd.DataFrame = frame.map_partitions(
        assign_partition,
        shared_index,
        lon_col=lon_col,
        lat_col=lat_col,
        crs=crs,
        stations=shared_stations,
        meta=output_meta(frame._meta),
    )
    return result


def assign_parquet(
    src: str | Path | Sequence[str | Path],
    dst: str | Path,
    index: GridIndex | IndexRef,
    *,
    lon_col: str = "lon",
    lat_col: str = "lat",
    crs: str = "wgs84",
    stations: Mapping[str, str] | None = None,
    client: Client | None = None,
    columns: Sequence[str] | None = None,
    write_index: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, int]:
    """Assign a Parquet dataset and write the result as Parquet; return the counts.

    Reads ``src`` with ``dask.dataframe.read_parquet`` (one partition per
    file or row group), runs :func:`assign_dask` and writes ``dst`` with
    ``to_parquet`` (one file per partition). The status counts are computed in
    the same pass: the assignment runs once.

    Parameters
    ----------
    src, dst
        Input and output dataset: paths or URLs (``s3://``, ``hdfs://``, ...)
        that every worker can reach.
    index, lon_col, lat_col, crs, stations, client
        As for :func:`assign_dask`.
    columns
        Input columns to read (default all).
    write_index
        Also write the Dask index (off: a read Parquet index is a plain range).
    storage_options
        Passed to both the reader and the writer (credentials, endpoints).

    Returns
    -------
    dict
        ``rows`` and the count of each status, like
        :meth:`gridgeo.batch.AssignSummary.to_dict`.
    """
    import dask
    import dask.dataframe as dd

    dask_api: Any = dask
    read_columns = list(columns) if columns is not None else None
    source = (
        [str(p) for p in src]
        if isinstance(src, Sequence) and not isinstance(src, str)
        else str(src)
    )
    ddf = dd.read_parquet(source, columns=read_columns, storage_options=storage_options)
    client = client if client is not None else _default_client()
    out: Any = assign_dask(
        ddf, index, lon_col=lon_col, lat_col=lat_col, crs=crs, stations=stations, client=client
    )
    write = out.to_parquet(
        str(dst), write_index=write_index, storage_options=storage_options, compute=False
    )
    counts = out["status"].value_counts()
    # one graph: the write and the counts share the assignment tasks
    _, computed = dask_api.compute(write, counts, scheduler=client)
    by_status = {str(k): int(v) for k, v in computed.items()}
    return {"rows": sum(by_status.values()), **{s: by_status.get(s, 0) for s in STATUSES}}


def _default_client() -> Client | None:
    """The current default ``distributed.Client``, if distributed is in use at all."""
    if "distributed" not in sys.modules:  # no client can exist without the import
        return None
    distributed: Any = sys.modules["distributed"]
    try:  # the client of an ``as_current()`` block, else the default one
        client: Client = distributed.Client.current()
    except ValueError:
        return None
    return client


def _share(obj: object, client: Client | None, name: str) -> IndexRef:
    """One graph key standing for ``obj``: broadcast to the workers, or held by reference."""
    if client is not None:
        cluster: Any = client
        # a one-item list: scatter would spread a dict's values or a list's items;
        # hash=False: a random key, no tokenizing (a full pickle) of a large index
        return cluster.scatter([obj], broadcast=True, hash=False)[0]
    import dask

    dask_api: Any = dask
    # named, so not tokenized either; the threaded scheduler hands the object over as is
    return dask_api.delayed(obj, name=f"{name}-{uuid.uuid4().hex}", traverse=False)
