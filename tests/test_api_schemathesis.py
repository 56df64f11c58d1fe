"""Schemathesis against the app's own OpenAPI document: no 5xx, answers match the schema.

Every operation of ``/openapi.json`` (lookup, Features, tiles, viewer, Open311,
versions, health) gets generated requests, valid and invalid. Bounded in time:
a few dozen examples per operation, no per-example deadline.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from gridgeo.api.app import create_app
from gridgeo.settings import Settings

MAX_EXAMPLES = int(os.environ.get("GRIDGEO_SCHEMATHESIS_EXAMPLES", "25"))

_store = Path(tempfile.mkdtemp(prefix="gridgeo-schemathesis-")) / "store.sqlite"
app = create_app(Settings(database_url=f"sqlite:///{_store}"))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)

# Binary and HTML bodies have no JSON schema to conform to; the no-5xx check still runs.
NO_JSON_SCHEMA = ("/tiles/", "/map", "/api")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_schema_conformance(case: schemathesis.Case) -> None:
    checks = [not_a_server_error]
    if not case.path.startswith(NO_JSON_SCHEMA):
        checks.append(response_schema_conformance)
    case.call_and_validate(checks=checks)
