"""Stateful fuzzing: schemathesis's state machine follows the OpenAPI links.

Reporting a case and then reading, routing and acting on it by the id the answer
gave; creating an Open311 request and reading it back; uploading, editing and
publishing versions by the ids their answers name (``gridgeo.api.openapi_doc``).
Scenarios are short and few (a few dozen steps per backend; ``GRIDGEO_FUZZ_SCALE``
multiplies them), every answer is below 500, a refusal in its protocol's format,
a documented answer conformant to its schema. Both backends, an admin key.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fuzzhelpers import (
    NO_JSON_SCHEMA,
    Service,
    assert_clear_answer,
    examples,
    openapi_schema,
)
from hypothesis import Phase, settings
from hypothesis.errors import Flaky
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
from schemathesis.specs.openapi.checks import response_schema_conformance

from gridgeo.api.openapi_doc import LINKS

schema = openapi_schema()


def test_every_link_names_a_real_operation_and_its_parameters() -> None:
    fresh = openapi_schema()  # the state machine adds links it infers to the one it runs on
    doc = fresh.raw_schema
    operations = {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}
    declared = 0
    for ops in doc["paths"].values():
        for op in ops.values():
            for answer in op["responses"].values():
                for link in answer.get("links", {}).values():
                    target = operations[link["operationId"]]
                    names = {p["name"] for p in target.get("parameters", [])}
                    assert set(link["parameters"]) <= names, (link, names)
                    declared += 1
    assert declared == len(LINKS)
    # schemathesis reads every one of them as a transition of its state machine
    fresh.as_state_machine()
    assert fresh.statistic.transitions.total >= len(LINKS)


class _Stop(BaseException):
    """Ends the run at once: Hypothesis replays what an ``Exception`` ended, and a replay
    cannot repeat a scenario on a store the scenarios have since changed."""


SCENARIOS = examples(10)
STEPS = 10  # per scenario
MAX_STEPS = 3 * SCENARIOS * STEPS  # scenarios Hypothesis rejects (over-long bodies) run too


def test_linked_scenarios_never_fail_the_server(fuzz_service: Service) -> None:
    followed: list[tuple[str, int]] = []  # (link, status) of each step a link fed
    failures: list[str] = []
    steps = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def step(self, input: StepInput) -> StepOutput:
            nonlocal steps
            steps += 1
            if steps > MAX_STEPS:
                raise _Stop
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                followed.append((input.transition.id, output.response.status_code))
            return output

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": fuzz_service.headers, "app": fuzz_service.app}

        def validate_response(
            self, response: Response, case: schemathesis.Case, *_: Any, **kwargs: Any
        ) -> None:
            checks = [not_a_server_error]
            if not case.path.startswith(NO_JSON_SCHEMA):
                checks.append(response_schema_conformance)
            try:
                case.validate_response(response, checks=checks, transport_kwargs=kwargs)
                assert_clear_answer(case.formatted_path, response)
            except (AssertionError, FailureGroup) as exc:
                failures.append(f"{case.as_curl_command()}\n{exc}")
                raise _Stop from exc

    try:
        Workflow.run(
            settings=settings(
                max_examples=SCENARIOS,
                stateful_step_count=STEPS,
                phases=[Phase.generate],
                deadline=None,
                derandomize=True,
                database=None,
            )
        )
    except _Stop:
        pass
    except Flaky:
        # the steps drawn depend on answers, and the store changes as scenarios run:
        # Hypothesis may find a prefix drawing differently the second time. Every answer
        # was checked as it came (``failures``), as schemathesis's own runner does.
        pass
    assert not failures, failures[0]
    # the links fed real ids, and some linked request was answered with the resource
    assert followed, "no step followed a link"
    assert any(status < 300 for _, status in followed), followed
