"""Shared fixtures: paths to the repo's data and the standard datasets."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests.geometries importable as `geometries`

from geometries import nested_dataset

# Never touch the checkout's own store (data/store): every test session gets a fresh
# embedded store unless the caller points GRIDGEO_DATABASE_URL elsewhere on purpose.
os.environ.setdefault(
    "GRIDGEO_DATABASE_URL",
    f"sqlite:///{tempfile.mkdtemp(prefix='gridgeo-test-store-')}/gridgeo.sqlite",
)

from gridgeo.i18n import use_lang
from gridgeo.model import GridSet

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "data" / "real"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(autouse=True)
def core_in_english() -> Iterator[None]:
    """Functions of the core called directly by a test write English, so that tests
    of behaviour can name the words they expect; the language itself is tested in
    test_i18n.py, and the CLI (``main``) and the service choose their own (Chinese
    by default), so their tests see what a user sees."""
    with use_lang("en"):
        yield


@pytest.fixture
def nested() -> GridSet:
    return nested_dataset()


@pytest.fixture(params=["guilin", "nanning"])
def real_file(request: pytest.FixtureRequest) -> Path:
    return REAL / f"{request.param}_districts.geojson"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


# --- stores: the embedded SpatiaLite file and a real PostGIS ------------------------------
# PostGIS tests never skip: CI runs them against the machine's PostgreSQL (make setup installs
# postgresql-15-postgis-3). GRIDGEO_TEST_PG_ADMIN_URL points elsewhere when needed.
PG_ADMIN_URL = os.environ.get(
    "GRIDGEO_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _fresh_postgis_database() -> tuple[str, str]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"gridgeo_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def _drop_postgis_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgis_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (PostGIS enabled by the first migration)."""
    name, url = _fresh_postgis_database()
    yield url
    _drop_postgis_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture(params=["sqlite", "postgis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each store test runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    name, url = _fresh_postgis_database()
    yield url
    _drop_postgis_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgis"])
def fuzz_service(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The fuzz suite's seeded service with an admin key (tests/fuzzhelpers.py), one per
    backend for the whole session: the fuzz modules share its seeding."""
    from fuzzhelpers import seeded_service

    with seeded_service(request.param) as service:
        yield service
