"""Schemathesis against the app's own OpenAPI document: no 5xx, answers match the schema.

Every operation of ``/openapi.json`` (lookup, Features, tiles, viewer, Open311,
versions, edits, cases, health) gets generated requests, valid and invalid, on a
store seeded with the sample pilot (published boundaries, roster, partners and
routing) and with an admin key on every request, so that the authorised paths
run: lookups hit grids, uploads reach the importer, case actions reach the work
loop. Both backends. Bounded: a dozen examples per operation by default
(``GRIDGEO_FUZZ_SCALE`` multiplies them), no per-example deadline, derandomised.
"""

from __future__ import annotations

import schemathesis
from fuzzhelpers import (
    NO_JSON_SCHEMA,
    Service,
    assert_clear_answer,
    examples,
    openapi_schema,
)
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

# One document for both backends, loaded at import as `parametrize` needs (schemathesis's
# `from_fixture` does not run under pytest 9); each call goes to the backend's own app.
schema = openapi_schema()


@schema.parametrize()
@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_server_error_and_schema_conformance(
    case: schemathesis.Case, fuzz_service: Service
) -> None:
    checks = [not_a_server_error]
    if not case.path.startswith(NO_JSON_SCHEMA):
        checks.append(response_schema_conformance)
    response = case.call_and_validate(
        headers=fuzz_service.headers, checks=checks, app=fuzz_service.app
    )
    assert_clear_answer(case.formatted_path, response)
