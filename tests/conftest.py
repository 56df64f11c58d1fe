"""Shared fixtures: paths to the repo's data and the standard datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests.geometries importable as `geometries`

from geometries import nested_dataset

from gridgeo.model import GridSet

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "data" / "real"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture
def nested() -> GridSet:
    return nested_dataset()


@pytest.fixture(params=["guilin", "nanning"])
def real_file(request: pytest.FixtureRequest) -> Path:
    return REAL / f"{request.param}_districts.geojson"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE
