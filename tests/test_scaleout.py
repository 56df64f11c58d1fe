"""gridgeo.scaleout: assign_frame over Dask partitions, on a real local cluster and on threads."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client, LocalCluster, default_client

from gridgeo.batch import ADDED_COLUMNS, CODE_COLUMNS, assign_frame, workstation_lookup
from gridgeo.errors import GridgeoError
from gridgeo.index import GridIndex
from gridgeo.io.dataset import load
from gridgeo.levels import Level
from gridgeo.model import GridSet
from gridgeo.sample.tessellation import nested_tessellation
from gridgeo.scaleout import (
    TEXT_DTYPE,
    assign_dask,
    assign_parquet,
    assign_partition,
    output_meta,
    scatter_index,
)

N_POINTS = 200_000
N_PARTITIONS = 8
# rows made bad on purpose, by kind: (column, value)
BAD_VALUES: list[tuple[str, object]] = [
    ("lon", np.nan),
    ("lon", None),
    ("lon", "abc"),
    ("lon", ""),
    ("lon", 200.0),  # out of range
    ("lat", np.nan),
    ("lat", 95.0),  # out of range
    ("lat", -91.0),
]
BAD_PER_KIND = 75


# --- fixtures -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest) -> Client:
    """Two worker processes, one thread each; not the default client (tests pass it)."""
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    request.addfinalizer(cluster.close)
    client = Client(cluster, set_as_default=False)
    request.addfinalizer(client.close)
    return client


@pytest.fixture(scope="module")
def grids() -> GridSet:
    return nested_tessellation(2000, seed=3)


@pytest.fixture(scope="module")
def index(grids: GridSet) -> GridIndex:
    return GridIndex(grids)


@pytest.fixture(scope="module")
def stations(grids: GridSet) -> dict[str, str]:
    """A workstation for every other community, so some points have none."""
    communities = sorted(
        c
        for c, lv in zip(grids.codes, grids.levels, strict=True)
        if c is not None and lv == int(Level.COMMUNITY)
    )
    return {c: f"WS{c}" for c in communities[::2]}


@pytest.fixture(scope="module")
def points(grids: GridSet) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Points in and around the tessellation, some made bad; and the bad / inside masks."""
    return make_points(grids, N_POINTS, seed=11)


def make_points(grids: GridSet, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = shapely.total_bounds(grids.geometries)
    pad = 0.1 * (xmax - xmin)  # a margin outside every grid: valid but unassigned
    lon = rng.uniform(xmin - pad, xmax + pad, n)
    lat = rng.uniform(ymin - pad, ymax + pad, n)
    inside = (lon > xmin) & (lon < xmax) & (lat > ymin) & (lat < ymax)
    rows = pd.RangeIndex(1000, 1000 + n)  # not 0..n-1: the index must come through as is
    frame = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "lon": pd.Series(lon, index=rows, dtype=object),  # text shows up here, as in a CSV
            "lat": lat,
            "note": [f"p{i}" for i in range(n)],
        },
        index=rows,
    )
    bad = np.zeros(n, dtype=bool)
    spoilt = rng.choice(n, size=len(BAD_VALUES) * BAD_PER_KIND, replace=False)
    for k, (column, value) in enumerate(BAD_VALUES):
        at = spoilt[k * BAD_PER_KIND : (k + 1) * BAD_PER_KIND]
        frame.iloc[at, frame.columns.get_loc(column)] = value
        bad[at] = True
    # a valid coordinate given as text is still a valid coordinate
    text_rows = rng.choice(np.flatnonzero(~bad), size=50, replace=False)
    for row in text_rows:
        frame.iat[row, 1] = repr(float(frame.iat[row, 1]))
    return frame, bad, inside


def cluster_loads(client: Client) -> dict[str, int]:
    """How many times each worker has unpickled a GridIndex since the counter was installed."""

    def read() -> int:
        from gridgeo.index import GridIndex

        return int(getattr(GridIndex, "_test_loads", -1))

    return dict(client.run(read))


def install_load_counter(client: Client) -> None:
    """Count GridIndex.__setstate__ calls (one per unpickled copy) on every worker."""

    def install() -> None:
        from gridgeo.index import GridIndex

        cls: Any = GridIndex
        if not hasattr(cls, "_test_original_setstate"):
            cls._test_original_setstate = cls.__setstate__

            def counting(self: Any, state: dict[str, Any]) -> None:
                cls._test_loads += 1
                cls._test_original_setstate(self, state)

            cls.__setstate__ = counting
        cls._test_loads = 0

    client.run(install)


# --- on the cluster -------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Sending large graph")  # from_pandas embeds the points
def test_cluster_result_equals_single_process_engine(
    client: Client,
    index: GridIndex,
    stations: dict[str, str],
    points: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    frame, bad, inside = points
    expected = assign_frame(frame, index, stations=stations)
    # keep Dask from converting the input's text columns: then every column must match
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=N_PARTITIONS, sort=False)
        assert ddf.npartitions == N_PARTITIONS
        lazy = assign_dask(ddf, index, stations=stations, client=client)
        assert list(lazy.columns) == list(expected.columns)
        start = time.perf_counter()
        result = client.compute(lazy).result()
        elapsed = time.perf_counter() - start
    print(f"\ncluster: {N_POINTS} points, {N_PARTITIONS} partitions, {elapsed:.2f} s")

    # assign_frame's own output already has TEXT_DTYPE here: nothing was recast
    assert all(expected[c].dtype == TEXT_DTYPE for c in ADDED_COLUMNS)
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    assert dict(lazy.dtypes) == dict(result.dtypes)

    # and the engine is right, judged independently: the tessellation covers its box
    status = result["status"].to_numpy()
    assert np.array_equal(status == "bad_input", bad)
    assert np.array_equal(status == "ok", ~bad & inside)
    assert np.array_equal(status == "unassigned", ~bad & ~inside)
    counts = result["status"].value_counts().to_dict()
    assert counts["bad_input"] == len(BAD_VALUES) * BAD_PER_KIND
    assert counts["ok"] + counts["unassigned"] + counts["bad_input"] == N_POINTS
    assert counts["ok"] > 100_000 and counts["unassigned"] > 10_000
    ok = result[status == "ok"]
    assert (ok["code_l1"] == "450300").all() and ok["code_l2"].str.startswith("4503").all()
    for upper, lower in itertools.pairwise(CODE_COLUMNS[1:]):  # a code extends its parent's
        assert all(c.startswith(p) for p, c in zip(ok[upper], ok[lower], strict=True))
    has_ws = ok["code_l4"].isin(list(stations))
    assert (ok.loc[has_ws, "workstation_code"] == "WS" + ok.loc[has_ws, "code_l4"]).all()
    assert ok.loc[~has_ws, "workstation_code"].isna().all()
    assert result.loc[status != "ok", [*CODE_COLUMNS, "workstation_code"]].isna().all().all()
    assert set(result.loc[status == "unassigned", "status_reason"]) == {"outside_grids"}


def test_cluster_with_dask_string_conversion_keeps_every_value(
    client: Client, index: GridIndex, grids: GridSet
) -> None:
    """Dask's default turns text columns into string[pyarrow]; the assignment is unchanged."""
    frame, _, _ = make_points(grids, 20_000, seed=5)
    expected = assign_frame(frame, index)
    ddf = dd.from_pandas(frame, npartitions=4, sort=False)
    result = client.compute(assign_dask(ddf, index, client=client)).result()
    added = list(ADDED_COLUMNS)
    expected[added] = expected[added].astype(TEXT_DTYPE)  # all-None workstation: object
    pd.testing.assert_frame_equal(result[added], expected[added], check_exact=True)
    assert result["note"].tolist() == frame["note"].tolist()
    assert result["lat"].equals(frame["lat"])


def test_index_is_broadcast_once_not_sent_per_task(
    client: Client, index: GridIndex, grids: GridSet
) -> None:
    """Workers unpickle the index a bounded number of times per run, not once per task.

    The scheduler's Active Memory Manager (ReduceReplicas, on by default) may trim
    broadcast copies while a run is going on; a worker then fetches the index again
    from a peer. So a worker may load it twice in a run; a copy per task would show
    as up to 16 loads per run here.
    """
    workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    install_load_counter(client)
    shared = scatter_index(client, index)
    assert set(client.who_has([shared])[shared.key]) == workers  # every worker holds it
    assert all(n <= 2 for n in cluster_loads(client).values())

    frame, _, _ = make_points(grids, 40_000, seed=7)
    expected = assign_frame(frame, index)["code_l5"].astype(TEXT_DTYPE)
    ddf = dd.from_pandas(frame, npartitions=16, sort=False)
    for _ in range(2):  # two runs on the same Future: it is not scattered again
        install_load_counter(client)
        result = client.compute(assign_dask(ddf, shared, client=client)).result()
        assert result["code_l5"].equals(expected)
        loads = cluster_loads(client)
        assert set(loads) <= workers
        assert all(n <= 2 for n in loads.values()), loads

    # given the index itself, assign_dask scatters it once for the run
    install_load_counter(client)
    client.compute(assign_dask(ddf, index, client=client)).result()
    loads = cluster_loads(client)
    assert all(n <= 2 for n in loads.values()) and sum(loads.values()) >= 1, loads


def test_sample_data_workstation_through_the_cluster(client: Client) -> None:
    data = load()
    index = GridIndex(data.grids)
    stations = workstation_lookup(data.workstations)
    frame = pd.DataFrame(
        {
            "lon": ["110.3005", "110.2965", "abc", "0", "110.3005"],
            "lat": [25.2785, 25.2775, 25.0, 0.0, 95.0],
            "event": ["e1", "e2", "e3", "e4", "e5"],
        }
    )
    ddf = dd.from_pandas(frame, npartitions=2, sort=False)
    result = client.compute(assign_dask(ddf, index, stations=stations, client=client)).result()
    first = result.iloc[0]
    assert first["workstation_code"] == "WS450302001001"
    assert first["code_l4"] == "450302001001"
    leaf = data.lookup(110.3005, 25.2785).leaf
    assert leaf is not None and first["code_l5"] == leaf.code
    assert first["status"] == "ok"
    assert result["status"].tolist() == ["ok", "ok", "bad_input", "unassigned", "bad_input"]
    assert result["workstation_code"].iloc[1] == "WS450302001001"
    assert result["event"].tolist() == ["e1", "e2", "e3", "e4", "e5"]


def test_assign_parquet_on_the_cluster(
    client: Client, index: GridIndex, grids: GridSet, tmp_path: Path
) -> None:
    frame, bad, _ = make_points(grids, 30_000, seed=9)
    frame["lon"] = frame["lon"].astype(str)  # as a CSV export would store it
    src = tmp_path / "points"
    src.mkdir()
    for k, part in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[part].to_parquet(src / f"part{k}.parquet", index=False)
    counts = assign_parquet(src, tmp_path / "out", index, client=client)
    expected = assign_frame(frame.reset_index(drop=True), index)
    written = pd.read_parquet(tmp_path / "out")
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 3
    assert written["status"].tolist() == expected["status"].tolist()
    assert written["code_l5"].fillna("").tolist() == expected["code_l5"].fillna("").tolist()
    assert written["note"].tolist() == frame["note"].tolist()
    assert counts == {
        "rows": 30_000,
        "ok": int((expected["status"] == "ok").sum()),
        "unassigned": int((expected["status"] == "unassigned").sum()),
        "bad_input": int(bad.sum()),
    }


def test_current_client_is_used_when_none_is_given(
    client: Client, index: GridIndex, grids: GridSet
) -> None:
    frame, _, _ = make_points(grids, 2_000, seed=13)
    ddf = dd.from_pandas(frame, npartitions=2, sort=False)
    install_load_counter(client)
    with client.as_current():
        result = client.compute(assign_dask(ddf, index)).result()
    assert sum(cluster_loads(client).values()) >= 1  # it was scattered, so a Future
    assert result["status"].equals(assign_partition(frame, index)["status"])


# --- without a client: the local threaded scheduler -------------------------------------
def test_threaded_scheduler_without_client(
    index: GridIndex, grids: GridSet, stations: dict[str, str]
) -> None:
    frame, _, _ = make_points(grids, 50_000, seed=17)
    expected = assign_frame(frame, index, stations=stations)
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=5, sort=False)
        result = assign_dask(ddf, index, stations=stations).compute(scheduler="threads")
    pd.testing.assert_frame_equal(result, expected, check_exact=True)


def test_partitions_of_only_bad_rows_or_no_rows_keep_the_declared_dtypes(
    index: GridIndex, tmp_path: Path
) -> None:
    frame = pd.DataFrame(
        {"lon": [110.3, 110.2, "x", None, 110.1, 110.4], "lat": [25.2, 25.3, 1.0, 2.0, 25.1, 25.4]}
    )
    parts = [frame.iloc[:2], frame.iloc[2:4], frame.iloc[4:4], frame.iloc[4:]]
    ddf = dd.from_delayed([dask.delayed(p) for p in parts], meta=frame.iloc[:0], verify_meta=False)
    lazy = assign_dask(ddf, index)
    computed = [assign_partition(p, index) for p in parts]
    for part in computed:  # assign_frame alone gives object / float64 for empty columns
        assert all(part[c].dtype == TEXT_DTYPE for c in ADDED_COLUMNS)
    assert all(lazy.dtypes[c] == TEXT_DTYPE for c in ADDED_COLUMNS)
    result = lazy.compute(scheduler="threads")
    assert result["status"].tolist() == ["ok", "ok", "bad_input", "bad_input", "ok", "ok"]
    assert result["code_l1"].isna().tolist() == [False, False, True, True, False, False]
    lazy.to_parquet(tmp_path / "out", write_index=False)  # one schema for every part
    assert pd.read_parquet(tmp_path / "out")["status"].tolist() == result["status"].tolist()


def test_output_meta_replaces_existing_columns_in_place() -> None:
    meta = pd.DataFrame({"status": ["x"], "lon": [1.0], "lat": [2.0]})
    out = output_meta(meta)
    added = [c for c in ADDED_COLUMNS if c != "status"]  # status replaced where it stood
    assert list(out.columns) == ["status", "lon", "lat", *added]
    assert len(out) == 0 and out["lon"].dtype == np.float64
    assert list(out.columns) == list(assign_frame(meta, _tiny_index()).columns)


def test_bad_arguments_fail_before_any_task(index: GridIndex) -> None:
    ddf = dd.from_pandas(pd.DataFrame({"x": [1.0], "y": [2.0]}), npartitions=1)
    with pytest.raises(KeyError):
        assign_dask(ddf, index)
    with pytest.raises(GridgeoError):
        assign_dask(ddf, index, lon_col="x", lat_col="y", crs="utm50")


def _tiny_index() -> GridIndex:
    return GridIndex(nested_tessellation(20, seed=1))


@pytest.fixture(autouse=True, scope="module")
def _no_default_client() -> Iterator[None]:
    """The threaded tests must not find a client by accident."""
    with pytest.raises(ValueError):
        default_client()
    yield
