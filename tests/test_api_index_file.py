"""Service workers share the index file: the first builds it, every later one maps it.

Two apps over the same boundaries stand for two worker processes (or a restart):
the second must map the file the first wrote, and both must answer alike.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gridgeo.api.app import create_app
from gridgeo.index import index_file
from gridgeo.io.dataset import load
from gridgeo.settings import Settings, StoreSettings

POINTS = [(110.2995, 25.2790), (110.2902, 25.2751), (110.3100, 25.3000), (100.0, 20.0)]


def answers(settings: Settings) -> list[object]:
    with TestClient(create_app(data=load(settings=settings))) as client:
        return [
            client.get("/v1/lookup", params={"lon": x, "lat": y}).json().get("grids")
            for x, y in POINTS
        ]


def test_a_second_worker_maps_the_index_the_first_built(tmp_path: Path) -> None:
    settings = Settings(store=StoreSettings(index_dir=tmp_path / "index"))
    first = answers(settings)
    [saved] = (tmp_path / "index").glob("*.gidx")
    before = index_file.mapped_files[str(saved)]
    second = answers(settings)
    assert index_file.mapped_files[str(saved)] == before + 1  # mapped, not built
    assert second == first
    assert all(first[:3]) and first[-1] == []  # grids found, and none far outside


def test_an_unwritable_index_folder_does_not_stop_the_service(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert answers(Settings(store=StoreSettings(index_dir=blocker / "index")))[
        0
    ]  # built in memory, served
