"""The case flow of digital urban management (数字城管), as rules without I/O (pure core).

A case runs through one loop (docs/CASES.md has the diagram)::

    reported 上报 --register--> registered 立案 --dispatch--> dispatched 派遣
        \\--reject--> rejected 不予立案                      (one task per unit)

Each task of a dispatched case is worked by its unit::

    dispatched 待签收 --accept--> accepted 已签收 --handle--> handled 已处置
    handled --verify_pass--> verified 核查通过
    handled --verify_fail--> rework 返工 --handle--> handled ...
    dispatched/accepted --return--> returned 退回 --redispatch--> cancelled (+ a new task)

A unit asks for more time with ``request_extension`` (申请延期); the street
office answers with ``extend`` (批准延期, which moves the deadline) or
``refuse_extension``. The case's own state follows its tasks
(:func:`case_state_of`): ``handled`` once every active task is handled or
verified, ``verified`` once every one is verified; only then may the street
office ``close`` it (结案).

:func:`plan` decides one action: whether it is allowed in the current state,
whether the actor's role and scope allow it, and the state it leads to. It
raises :class:`IllegalActionError` (HTTP 409, listing the allowed actions) or
:class:`ForbiddenActionError` (403); the store adapter (``gridgeo.store.casework``)
applies the plan in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from gridgeo.errors import ConflictError, GridgeoError
from gridgeo.i18n import current_lang, tr
from gridgeo.roles import Role
from gridgeo.wording import labelled, listing


class CaseState(StrEnum):
    """Where a case is in the loop."""

    REPORTED = "reported"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def label_zh(self) -> str:
        return _CASE_ZH[self]

    @property
    def is_open(self) -> bool:
        """Open311's ``open``: every state but closed and rejected."""
        return self not in (CaseState.CLOSED, CaseState.REJECTED)


class TaskState(StrEnum):
    """Where one unit's task is."""

    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    HANDLED = "handled"
    VERIFIED = "verified"
    REWORK = "rework"
    RETURNED = "returned"
    CANCELLED = "cancelled"

    @property
    def label_zh(self) -> str:
        return _TASK_ZH[self]

    @property
    def is_active(self) -> bool:
        """A task that still counts for its case (not replaced by a re-dispatch)."""
        return self is not TaskState.CANCELLED

    @property
    def is_open(self) -> bool:
        """A task its unit still has to work on (the unit's queue)."""
        return self in _UNIT_OPEN


_UNIT_OPEN = frozenset({TaskState.DISPATCHED, TaskState.ACCEPTED, TaskState.REWORK})

_CASE_ZH = {
    CaseState.REPORTED: "上报",
    CaseState.REGISTERED: "立案",
    CaseState.REJECTED: "不予立案",
    CaseState.DISPATCHED: "派遣",
    CaseState.HANDLED: "处置",
    CaseState.VERIFIED: "核查通过",
    CaseState.CLOSED: "结案",
}
_TASK_ZH = {
    TaskState.DISPATCHED: "待签收",
    TaskState.ACCEPTED: "已签收",
    TaskState.HANDLED: "已处置",
    TaskState.VERIFIED: "核查通过",
    TaskState.REWORK: "返工",
    TaskState.RETURNED: "退回",
    TaskState.CANCELLED: "已改派",
}


class Action(StrEnum):
    """Everything that can happen to a case; the values are the event log's ``action``."""

    REPORT = "report"
    REGISTER = "register"
    REJECT = "reject"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    HANDLE = "handle"
    VERIFY_PASS = "verify_pass"
    VERIFY_FAIL = "verify_fail"
    REQUEST_EXTENSION = "request_extension"
    EXTEND = "extend"
    REFUSE_EXTENSION = "refuse_extension"
    RETURN = "return"
    REDISPATCH = "redispatch"
    CLOSE = "close"

    @property
    def label_zh(self) -> str:
        return _ACTION_ZH[self]

    @property
    def on_task(self) -> bool:
        """True for the actions on one unit's task (the event names its unit)."""
        return self in TASK_ACTIONS


_ACTION_ZH = {
    Action.REPORT: "上报",
    Action.REGISTER: "立案",
    Action.REJECT: "不予立案",
    Action.DISPATCH: "派遣",
    Action.ACCEPT: "签收",
    Action.HANDLE: "处置",
    Action.VERIFY_PASS: "核查通过",
    Action.VERIFY_FAIL: "核查不通过（返工）",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.EXTEND: "批准延期",
    Action.REFUSE_EXTENSION: "不予延期",
    Action.RETURN: "退回（非本单位职责）",
    Action.REDISPATCH: "改派",
    Action.CLOSE: "结案",
}


@dataclass(frozen=True)
class Rule:
    """When an action is allowed, who may take it, and where it leads.

    ``before`` are the states it starts from (the case's or the task's),
    ``after`` the state it leads to (None: the state stays), ``roles`` who
    may take it (``admin`` always may).
    """

    before: frozenset[str]
    after: str | None
    roles: frozenset[Role]


def _rule(before: Iterable[str], after: str | None, *roles: Role) -> Rule:
    return Rule(frozenset(before), after, frozenset(roles))


C, T = CaseState, TaskState
CASE_ACTIONS: dict[Action, Rule] = {
    Action.REGISTER: _rule([C.REPORTED], C.REGISTERED, Role.DISPATCHER),
    Action.REJECT: _rule([C.REPORTED], C.REJECTED, Role.DISPATCHER),
    Action.DISPATCH: _rule([C.REGISTERED, C.DISPATCHED], C.DISPATCHED, Role.DISPATCHER),
    Action.CLOSE: _rule([C.VERIFIED], C.CLOSED, Role.DISPATCHER),
}
_WORKING = [T.DISPATCHED, T.ACCEPTED, T.REWORK]
TASK_ACTIONS: dict[Action, Rule] = {
    Action.ACCEPT: _rule([T.DISPATCHED], T.ACCEPTED, Role.HANDLER, Role.DISPATCHER),
    Action.HANDLE: _rule(_WORKING, T.HANDLED, Role.HANDLER),
    Action.VERIFY_PASS: _rule([T.HANDLED], T.VERIFIED, Role.INSPECTOR),
    Action.VERIFY_FAIL: _rule([T.HANDLED], T.REWORK, Role.INSPECTOR),
    Action.REQUEST_EXTENSION: _rule(_WORKING, None, Role.HANDLER),
    Action.EXTEND: _rule(_WORKING, None, Role.DISPATCHER),
    Action.REFUSE_EXTENSION: _rule(_WORKING, None, Role.DISPATCHER),
    Action.RETURN: _rule([T.DISPATCHED, T.ACCEPTED], T.RETURNED, Role.HANDLER),
    Action.REDISPATCH: _rule([*_WORKING, T.RETURNED], T.CANCELLED, Role.DISPATCHER),
}
# Case actions that need the case in a state its tasks decide: a dispatched case takes
# new units (a unit the first dispatch missed) but only while it is still being worked.
del C, T


class IllegalActionError(ConflictError):
    """The action is not allowed in the current state (HTTP 409); names the allowed ones."""

    def __init__(self, message: str, allowed: Sequence[Action]) -> None:
        self.allowed = tuple(allowed)
        if not self.allowed:
            super().__init__(tr("{message}; no action is allowed now", message=message))
            return
        names = listing(_action_name(a) for a in self.allowed)
        super().__init__(tr("{message}; allowed now: {names}", message=message, names=names))


class ForbiddenActionError(GridgeoError):
    """The actor's role or scope does not allow the action (HTTP 403)."""


class ActionInputError(GridgeoError):
    """An action's input is wrong: no unit to dispatch to, a deadline in the past (400)."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a name for the log, a role, and the scope of a handler or inspector.

    ``unit`` is the unit code a handler acts for; ``grids`` the grid codes an
    inspector covers (a grid covers its descendants: codes are prefix-nested).
    """

    name: str
    role: Role
    unit: str | None = None
    grids: tuple[str, ...] = ()

    def covers(self, grid_code: str | None) -> bool:
        """True when ``grid_code`` lies in one of this inspector's grids."""
        return grid_code is not None and any(grid_code.startswith(g) for g in self.grids)


SYSTEM = Actor("system", Role.ADMIN)


@dataclass(frozen=True)
class TaskView:
    """What the rules need to know of a task."""

    id: int
    unit: str
    state: TaskState
    extension_requested: bool = False


@dataclass(frozen=True)
class CaseView:
    """What the rules need to know of a case."""

    id: int
    state: CaseState
    grid_code: str | None
    tasks: tuple[TaskView, ...] = field(default=())

    def task(self, task_id: int) -> TaskView:
        found = next((t for t in self.tasks if t.id == task_id), None)
        if found is None:
            raise ActionInputError(tr("case {case} has no task {task}", case=self.id, task=task_id))
        return found

    def active_task_of(self, unit: str) -> TaskView | None:
        """The unit's task that still counts (at most one per unit)."""
        return next((t for t in self.tasks if t.unit == unit and t.state.is_active), None)


@dataclass(frozen=True)
class Plan:
    """What an allowed action does: the task's new state (for a task action) and the case's."""

    action: Action
    case_before: CaseState
    task_before: TaskState | None
    task_after: TaskState | None


def permitted(actor: Actor, action: Action, case: CaseView, task: TaskView | None) -> str | None:
    """Why ``actor`` may not take ``action`` (None: it may)."""
    rule = CASE_ACTIONS.get(action) or TASK_ACTIONS[action]
    if actor.role is Role.ADMIN:
        return None
    if actor.role not in rule.roles:
        roles = listing(sorted(r.value for r in rule.roles))
        return tr(
            "{action} ({label}) needs role {roles}, not {role}",
            action=action.value,
            label=action.label_zh,
            roles=roles,
            role=actor.role.value,
        )
    if actor.role is Role.HANDLER and task is not None and task.unit != actor.unit:
        return tr(
            "task {task} belongs to unit {unit}, not to {actor_unit}",
            task=task.id,
            unit=task.unit,
            actor_unit=actor.unit or tr("(no unit)"),
        )
    if actor.role is Role.INSPECTOR and not actor.covers(case.grid_code):
        return tr(
            "case {case} lies in grid {grid}, outside this inspector's",
            case=case.id,
            grid=case.grid_code or tr("(no grid)"),
        )
    return None


def allowed_actions(case: CaseView, task: TaskView | None = None) -> list[Action]:
    """Actions the state allows now (whoever takes them): the case's, or the task's."""
    if task is None:
        return [a for a, r in CASE_ACTIONS.items() if case.state in r.before]
    if case.state in (CaseState.CLOSED, CaseState.REJECTED):
        return []
    found = [a for a, r in TASK_ACTIONS.items() if task.state in r.before]
    if not task.extension_requested:
        found = [a for a in found if a not in (Action.EXTEND, Action.REFUSE_EXTENSION)]
    else:
        found = [a for a in found if a is not Action.REQUEST_EXTENSION]
    return found


def plan(actor: Actor, action: Action, case: CaseView, task: TaskView | None = None) -> Plan:
    """Decide ``action`` on ``case`` (and ``task``, for a task action) by ``actor``.

    Raises
    ------
    IllegalActionError
        The state does not allow it (409), with the actions it does allow.
    ForbiddenActionError
        The actor's role or scope does not (403).
    ActionInputError
        A task action without its task, or a case action given a task.

    Examples
    --------
    >>> case = CaseView(1, CaseState.REPORTED, "450302001001001")
    >>> plan(Actor("office", Role.DISPATCHER), Action.REGISTER, case).action.value
    'register'
    >>> try:
    ...     plan(Actor("office", Role.DISPATCHER), Action.CLOSE, case)
    ... except IllegalActionError as refused:
    ...     print([a.value for a in refused.allowed])
    ['register', 'reject']
    """
    if action is Action.REPORT:
        raise ActionInputError(tr("report creates a case; it is not an action on one"))
    if action.on_task and task is None:
        raise ActionInputError(
            tr("{action} acts on a task: name the task or its unit", action=action.value)
        )
    if not action.on_task and task is not None:
        raise ActionInputError(tr("{action} acts on the case, not on a task", action=action.value))
    allowed = allowed_actions(case, task)
    if action not in allowed:
        where = (
            tr(
                "task {task} of unit {unit} is {state} ({label})",
                task=task.id,
                unit=task.unit,
                state=task.state.value,
                label=task.state.label_zh,
            )
            if task is not None
            else tr(
                "case {case} is {state} ({label})",
                case=case.id,
                state=case.state.value,
                label=case.state.label_zh,
            )
        )
        if task is not None and action is Action.EXTEND and not task.extension_requested:
            where = tr("{where}, with no extension requested", where=where)
        raise IllegalActionError(
            tr(
                "{where}: {action} ({label}) is not allowed",
                where=where,
                action=action.value,
                label=action.label_zh,
            ),
            allowed,
        )
    why = permitted(actor, action, case, task)
    if why is not None:
        raise ForbiddenActionError(why)
    rule = TASK_ACTIONS[action] if task is not None else CASE_ACTIONS[action]
    after = TaskState(rule.after) if task is not None and rule.after else None
    return Plan(action, case.state, task.state if task else None, after)


def case_state_of(current: CaseState, tasks: Iterable[TaskState]) -> CaseState:
    """The state of a case whose tasks are ``tasks``, after any action.

    A case before dispatch, closed or rejected keeps its state; a dispatched
    case is ``verified`` once every active task is verified, ``handled`` once
    every one is handled or verified, else ``dispatched`` (a returned task
    waits for its re-dispatch).

    >>> case_state_of(CaseState.DISPATCHED, [TaskState.HANDLED, TaskState.VERIFIED])
    <CaseState.HANDLED: 'handled'>
    >>> case_state_of(CaseState.HANDLED, [TaskState.REWORK, TaskState.CANCELLED])
    <CaseState.DISPATCHED: 'dispatched'>
    """
    if current not in (CaseState.DISPATCHED, CaseState.HANDLED, CaseState.VERIFIED):
        return current
    active = [t for t in tasks if t.is_active]
    if not active:
        return CaseState.REGISTERED  # every unit gave it back and none was named yet
    if all(t is TaskState.VERIFIED for t in active):
        return CaseState.VERIFIED
    if all(t in (TaskState.HANDLED, TaskState.VERIFIED) for t in active):
        return CaseState.HANDLED
    return CaseState.DISPATCHED


def parse_action(text: str) -> Action:
    """An action from its English name or its Chinese label (``立案``, ``结案``...)."""
    value = text.strip().lower()
    for action in Action:
        if value in (action.value, action.label_zh) or text.strip() == action.label_zh:
            return action
    names = listing(_action_name(a) for a in Action if a is not Action.REPORT)
    raise ActionInputError(
        tr("unknown action {text!r}: use one of {names}", text=text, names=names)
    )


def _action_name(action: Action) -> str:
    """``register`` in English, ``立案（register）`` in Chinese: what a user may type."""
    return labelled(action.value, action.label_zh) if current_lang() == "zh" else action.value
