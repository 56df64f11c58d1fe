"""The pure rules of the case flow: what each state allows, who may act, where it leads."""

from __future__ import annotations

import doctest

import pytest

import gridgeo.caseflow
from gridgeo.caseflow import (
    CASE_ACTIONS,
    TASK_ACTIONS,
    Action,
    ActionInputError,
    Actor,
    CaseState,
    CaseView,
    ForbiddenActionError,
    IllegalActionError,
    TaskState,
    TaskView,
    allowed_actions,
    case_state_of,
    parse_action,
    plan,
)
from gridgeo.i18n import use_lang
from gridgeo.roles import Role

OFFICE = Actor("office", Role.DISPATCHER)
UNIT = Actor("tp", Role.HANDLER, unit="TP")
INSPECTOR = Actor("i", Role.INSPECTOR, grids=("450302001",))
GRID = "450302001001002"


def test_docstring_examples_run() -> None:
    result = doctest.testmod(gridgeo.caseflow)
    assert result.attempted >= 4 and result.failed == 0


def dispatched(
    state: TaskState = TaskState.DISPATCHED, ext: bool = False
) -> tuple[CaseView, TaskView]:
    task = TaskView(7, "TP", state, ext)
    return CaseView(1, CaseState.DISPATCHED, GRID, (task,)), task


def test_every_action_has_one_rule_and_a_chinese_name() -> None:
    assert set(CASE_ACTIONS) | set(TASK_ACTIONS) | {Action.REPORT} == set(Action)
    assert not set(CASE_ACTIONS) & set(TASK_ACTIONS)
    assert all(a.label_zh for a in Action)
    assert CaseState.CLOSED.label_zh == "结案" and TaskState.REWORK.label_zh == "返工"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (CaseState.REPORTED, [Action.REGISTER, Action.REJECT]),
        (CaseState.REGISTERED, [Action.DISPATCH]),
        (CaseState.DISPATCHED, [Action.DISPATCH]),
        (CaseState.VERIFIED, [Action.CLOSE]),
        (CaseState.CLOSED, []),
        (CaseState.REJECTED, []),
    ],
)
def test_case_actions_by_state(state: CaseState, expected: list[Action]) -> None:
    assert allowed_actions(CaseView(1, state, GRID)) == expected


def test_task_flow_with_rework() -> None:
    case, task = dispatched()
    assert plan(UNIT, Action.ACCEPT, case, task).task_after is TaskState.ACCEPTED
    case, task = dispatched(TaskState.ACCEPTED)
    assert plan(UNIT, Action.HANDLE, case, task).task_after is TaskState.HANDLED
    case, task = dispatched(TaskState.HANDLED)
    assert plan(INSPECTOR, Action.VERIFY_FAIL, case, task).task_after is TaskState.REWORK
    case, task = dispatched(TaskState.REWORK)
    assert plan(UNIT, Action.HANDLE, case, task).task_after is TaskState.HANDLED


def test_extension_is_answered_only_when_asked() -> None:
    case, task = dispatched()
    with pytest.raises(IllegalActionError, match="no extension requested") as refused:
        plan(OFFICE, Action.EXTEND, case, task)
    assert Action.REQUEST_EXTENSION in refused.value.allowed
    case, task = dispatched(ext=True)
    assert plan(OFFICE, Action.EXTEND, case, task).task_after is None  # the state stays
    assert Action.REQUEST_EXTENSION not in allowed_actions(case, task)


def test_roles_and_scopes() -> None:
    case, task = dispatched()
    with pytest.raises(ForbiddenActionError, match="belongs to unit TP"):
        plan(Actor("other", Role.HANDLER, unit="ENF"), Action.ACCEPT, case, task)
    with pytest.raises(ForbiddenActionError, match="needs role"):
        plan(Actor("v", Role.VIEWER), Action.ACCEPT, case, task)
    with pytest.raises(ForbiddenActionError, match="needs role handler"):
        plan(OFFICE, Action.HANDLE, case, task)  # the office does not handle for a unit
    case, task = dispatched(TaskState.HANDLED)
    far = Actor("far", Role.INSPECTOR, grids=("450303",))
    with pytest.raises(ForbiddenActionError, match="outside"):
        plan(far, Action.VERIFY_PASS, case, task)
    assert plan(Actor("root", Role.ADMIN), Action.VERIFY_PASS, case, task)


def test_state_is_checked_before_the_role() -> None:
    """A stale terminal learns what happened (409 and what is allowed), whoever it is."""
    case, task = dispatched(TaskState.HANDLED)
    with pytest.raises(IllegalActionError) as refused:
        plan(Actor("other", Role.HANDLER, unit="ENF"), Action.HANDLE, case, task)
    assert refused.value.allowed == (Action.VERIFY_PASS, Action.VERIFY_FAIL)


def test_case_state_follows_its_tasks() -> None:
    d, h, v, c = TaskState.DISPATCHED, TaskState.HANDLED, TaskState.VERIFIED, TaskState.CANCELLED
    assert case_state_of(CaseState.DISPATCHED, [h, d]) is CaseState.DISPATCHED
    assert case_state_of(CaseState.DISPATCHED, [h, v, c]) is CaseState.HANDLED
    assert case_state_of(CaseState.HANDLED, [v, v]) is CaseState.VERIFIED
    assert case_state_of(CaseState.DISPATCHED, [TaskState.RETURNED]) is CaseState.DISPATCHED
    assert case_state_of(CaseState.REGISTERED, []) is CaseState.REGISTERED
    assert case_state_of(CaseState.CLOSED, [v]) is CaseState.CLOSED


def test_inputs() -> None:
    case, task = dispatched()
    with pytest.raises(ActionInputError, match="acts on a task"):
        plan(OFFICE, Action.ACCEPT, case)
    with pytest.raises(ActionInputError, match="acts on the case"):
        plan(OFFICE, Action.CLOSE, case, task)
    assert (
        parse_action("结案") is Action.CLOSE and parse_action(" Verify_Pass ") is Action.VERIFY_PASS
    )
    with pytest.raises(ActionInputError, match="unknown action 'fly'"):
        parse_action("fly")
    assert INSPECTOR.covers(GRID) and not INSPECTOR.covers(None)


def test_the_open_states_index_predicate_matches_the_rules() -> None:
    from gridgeo.store.schema import OPEN_TASK_STATES_SQL

    listed = {v.strip(" '") for v in OPEN_TASK_STATES_SQL.strip("()").split(",")}
    assert listed == {s.value for s in TaskState if s.is_open}


def test_a_refused_action_reads_in_chinese_with_what_is_allowed() -> None:
    with use_lang("zh"), pytest.raises(IllegalActionError) as refused:
        plan(OFFICE, Action.CLOSE, CaseView(1, CaseState.REPORTED, GRID))
    assert str(refused.value) == (
        "案件 1 处于“上报”（reported）状态：不能执行“结案”（close）；"
        "当前可执行：立案（register）、不予立案（reject）"
    )
