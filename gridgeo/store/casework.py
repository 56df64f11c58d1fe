"""The work loop in the store: every action on a case is one transaction.

:func:`act` applies one action of :mod:`gridgeo.caseflow`: it takes the case's
row lock (an ``UPDATE`` of its revision, so concurrent actions on one case
run one after the other and the loser of a race sees the winner's state and
is refused with 409), asks the pure rules for the plan, writes the case and
task changes, one :class:`~gridgeo.store.schema.CaseEvent` (the audit entry:
who, when, from, to, note) and one outbox message, and commits them together.

Units are named by code: a partner unit's code from the partners version, or
a workstation's code (the grid's "2" work through their workstation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from gridgeo.caseflow import (
    CASE_ACTIONS,
    Action,
    ActionInputError,
    Actor,
    CaseState,
    CaseView,
    TaskState,
    TaskView,
    case_state_of,
    plan,
)
from gridgeo.dataset import Dataset
from gridgeo.deadlines import Urgency, deadline_after
from gridgeo.errors import NotFoundError
from gridgeo.i18n import tr
from gridgeo.store import schema as t
from gridgeo.store.case_events import EventRow, add_event
from gridgeo.store.case_queries import CaseDetail, detail_of
from gridgeo.store.case_rows import (
    CaseRow,
    CaseWithTasks,
    TaskRow,
    add_task,
    case_update,
    lock_case,
    run_updates,
    task_updates,
)
from gridgeo.store.cases import MediaUpload, add_media
from gridgeo.store.core import Store
from gridgeo.textcheck import check_text, check_texts
from gridgeo.wording import listing


@dataclass(frozen=True)
class Unit:
    """A responsible unit: its code, name and type (a partner type, or ``workstation``)."""

    code: str
    name: str = ""
    type: str = ""
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "type": self.type, "reason": self.reason}


def unit_directory(data: Dataset) -> dict[str, Unit]:
    """Every unit a case can be dispatched to in ``data``: partners and workstations."""
    units = {ws.code: Unit(ws.code, ws.name, "workstation") for ws in data.workstations}
    units |= {p.code: Unit(p.code, p.name, p.type.value) for p in data.partners}
    return units


def resolve_unit(code: str, data: Dataset | None) -> Unit:
    """The unit ``code`` of ``data``; ActionInputError naming it when there is none."""
    code = code.strip()
    if data is None:
        return Unit(code)
    units = unit_directory(data)
    if code not in units:
        import difflib

        near = difflib.get_close_matches(code, list(units), n=3)
        if near:
            raise ActionInputError(
                tr(
                    "unknown unit {code!r} (did you mean {near}?)",
                    code=code,
                    near=listing(near),
                )
            )
        raise ActionInputError(tr("unknown unit {code!r}", code=code))
    return units[code]


@dataclass(frozen=True)
class ActionRequest:
    """One action as asked for: which, on what, with what.

    ``task_id`` or ``unit`` names the task of a task action (the active task of
    that unit). ``units`` are the units of a dispatch (empty: the suggestion)
    or the new unit of a redispatch. ``deadline`` overrides the deadline of a
    dispatch, gives the one asked for by ``request_extension`` and the one
    granted by ``extend`` (default: the one asked for). ``at`` is when it
    happened (default now; the event-log import gives past times).
    """

    action: Action
    task_id: int | None = None
    unit: str | None = None
    units: tuple[str, ...] = ()
    deadline: datetime | None = None
    note: str = ""
    public_note: str | None = None
    media: tuple[MediaUpload, ...] = ()
    at: datetime | None = None


@dataclass(frozen=True)
class ActionResult:
    """What an action did: the event ids it wrote (a dispatch writes one per unit), and the
    case and its tasks as they are now."""

    case_id: int
    event_ids: tuple[int, ...]
    state: CaseState
    case: CaseRow = field(repr=False)
    tasks: list[TaskRow] = field(repr=False)


def act(
    store: Store,
    case_id: int,
    request: ActionRequest,
    actor: Actor,
    *,
    data: Dataset | None = None,
) -> ActionResult:
    """Apply ``request`` to case ``case_id`` as ``actor``, in one transaction.

    ``data`` (the published boundaries with partners and routing) resolves unit
    codes and time limits; without it units are taken as given and a dispatch
    needs explicit deadlines (the event-log import).

    Raises
    ------
    NotFoundError
        No such case.
    IllegalActionError, ForbiddenActionError, ActionInputError
        From the rules (409, 403, 400); nothing is written.
    """
    with store.transaction() as session:
        return _act(session, case_id, request, actor, data)


def act_in(
    session: Session,
    case_id: int,
    request: ActionRequest,
    actor: Actor,
    *,
    data: Dataset | None = None,
) -> ActionResult:
    """:func:`act` inside the caller's transaction: written, not committed.

    For writers that apply many actions all or nothing (the event-log import).
    """
    return _act(session, case_id, request, actor, data)


def act_detail(
    store: Store,
    case_id: int,
    request: ActionRequest,
    actor: Actor,
    *,
    data: Dataset | None = None,
) -> CaseDetail:
    """:func:`act`, answering the case as it is after the action (read in the same
    transaction: no second connection, no other action in between)."""
    with store.transaction() as session:
        done = _act(session, case_id, request, actor, data)
        return detail_of(session, CaseWithTasks(done.case, done.tasks))


def act_on_task(
    store: Store,
    task_id: int,
    request: ActionRequest,
    actor: Actor,
    *,
    data: Dataset | None = None,
) -> CaseDetail:
    """:func:`act_detail` for an action on task ``task_id`` (a terminal knows its task,
    not always its case): the task's case is found in the action's transaction."""
    if not request.action.on_task:
        raise ActionInputError(
            tr(
                "{action} acts on the case: POST /v1/cases/{{id}}/actions",
                action=request.action.value,
            )
        )
    with store.transaction() as session:
        done = _act(session, None, replace(request, task_id=task_id, unit=None), actor, data)
        return detail_of(session, CaseWithTasks(done.case, done.tasks))


def _act(
    session: Session,
    case_id: int | None,
    req: ActionRequest,
    actor: Actor,
    data: Dataset | None,
) -> ActionResult:
    """One action on case ``case_id`` (None: the case of ``req.task_id``)."""
    check_texts("action", {"note": req.note, "public_note": req.public_note or ""})
    check_texts("units", [req.unit or "", *req.units])
    for n, m in enumerate(req.media, start=1):
        check_text(tr("photo {n} filename", n=n), m.filename)
    found = lock_case(session, case_id, task_id=req.task_id)
    case, tasks = found.case, found.tasks
    view = _view(case, tasks)
    task = _task_of(view, tasks, req) if req.action.on_task else None
    decided = plan(actor, req.action, view, _task_view(task) if task is not None else None)
    at = req.at or t.utcnow()
    writer = _Writer(session, case, tasks, actor, at, task, decided.task_after, data)
    _HANDLERS.get(req.action, _task_step)(writer, req)
    every = tasks + writer.new_tasks
    case.state = case_state_of(
        CaseState(case.state) if req.action.on_task else CaseState(_case_after(req.action)),
        [TaskState(x.state) for x in every],
    ).value
    _finish(writer, req, every, view.state)
    return ActionResult(case.id, tuple(writer.event_ids), CaseState(case.state), case, every)


def _case_after(action: Action) -> str:
    after = CASE_ACTIONS[action].after
    assert after is not None
    return after


def _view(case: CaseRow, tasks: Sequence[TaskRow]) -> CaseView:
    return CaseView(case.id, CaseState(case.state), case.leaf, tuple(map(_task_view, tasks)))


def _task_view(task: TaskRow) -> TaskView:
    asked = task.extension_until is not None
    return TaskView(task.id, task.unit_code, TaskState(task.state), asked)


def _task_of(view: CaseView, tasks: Sequence[TaskRow], req: ActionRequest) -> TaskRow:
    if req.task_id is not None:
        found = next((x for x in tasks if x.id == req.task_id), None)
        if found is None:
            raise NotFoundError(
                tr("case {case} has no task {task}", case=view.id, task=req.task_id)
            )
        return found
    if not req.unit:
        raise ActionInputError(
            tr("{action} acts on a task: name the task or its unit", action=req.action.value)
        )
    active = view.active_task_of(req.unit.strip())
    if active is None:
        units = [x.unit_code for x in tasks if TaskState(x.state).is_active]
        if not units:
            raise ActionInputError(
                tr(
                    "case {case} has no active task of unit {unit!r} (nor of any other unit)",
                    case=view.id,
                    unit=req.unit,
                )
            )
        raise ActionInputError(
            tr(
                "case {case} has no active task of unit {unit!r} (its units: {units})",
                case=view.id,
                unit=req.unit,
                units=listing(units),
            )
        )
    return next(x for x in tasks if x.id == active.id)


@dataclass
class _Writer:
    """One action's context (case, task, actor, time) and what it writes: tasks, events."""

    session: Session
    case: CaseRow
    tasks: list[TaskRow]  # as the action found them
    actor: Actor
    at: datetime
    target: TaskRow | None  # the task a task action works on
    task_after: TaskState | None
    data: Dataset | None
    new_tasks: list[TaskRow] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    pending: list[tuple[EventRow, tuple[MediaUpload, ...]]] = field(default_factory=list)

    def event(
        self,
        action: Action,
        *,
        task: TaskRow | None = None,
        before: str,
        after: str,
        note: str = "",
        deadline: datetime | None = None,
        media: tuple[MediaUpload, ...] = (),
        **detail: Any,
    ) -> EventRow:
        row = EventRow(
            case_id=self.case.id,
            task_id=task.id if task is not None else None,
            at=self.at,
            action=action.value,
            actor=self.actor.name,
            unit=task.unit_code if task is not None else "",
            deadline=deadline,
            note=note,
            from_state=before,
            to_state=after,
            detail={k: v for k, v in detail.items() if v is not None},
        )
        self.pending.append((row, media))
        return row

    def task(self, unit: Unit, deadline: datetime, *, suggested: bool) -> TaskRow:
        row = add_task(
            self.session,
            case_id=self.case.id,
            unit_code=unit.code,
            unit_name=unit.name,
            unit_type=unit.type,
            state=TaskState.DISPATCHED.value,
            deadline=deadline,
            dispatched_at=self.at,
            updated_at=self.at,
            extension_until=None,
            grid_code=self.case.leaf,
            category=self.case.category,
            suggested=suggested,
        )
        self.new_tasks.append(row)
        return row


def _case_step(w: _Writer, req: ActionRequest) -> None:
    """register, reject, close: the case moves, no task changes."""
    after = _case_after(req.action)
    w.event(req.action, before=w.case.state, after=after, note=req.note)
    if req.action is Action.CLOSE:
        w.case.closed_at = w.at
    elif req.action is Action.REGISTER:
        w.case.registered_at = w.at


def _dispatch(w: _Writer, req: ActionRequest) -> None:
    """One task per unit, each with its deadline; units default to the suggestion."""
    suggestion = [u.get("code", "") for u in (w.case.partner_units or []) if u.get("code")]
    codes = list(dict.fromkeys(req.units or suggestion))
    if not codes:
        raise ActionInputError(
            tr(
                "case {case} has no suggested unit: name the units to dispatch to",
                case=w.case.id,
            )
        )
    chosen = [(resolve_unit(code, w.data), _deadline(w, req)) for code in codes]
    existing = [x.unit_code for x in w.tasks if TaskState(x.state).is_active]
    twice = sorted(set(existing) & {unit.code for unit, _ in chosen})
    if twice:
        raise ActionInputError(
            tr(
                "case {case} is already dispatched to {units}",
                case=w.case.id,
                units=listing(twice),
            )
        )
    override = bool(req.units) and list(req.units) != suggestion
    for unit, deadline in chosen:
        _new_task(
            w,
            unit,
            deadline,
            req.note,
            suggested=unit.code in suggestion,
            override=override,
            suggestion=suggestion if override else None,
        )


def _new_task(
    w: _Writer, unit: Unit, deadline: datetime, note: str, *, suggested: bool, **detail: Any
) -> TaskRow:
    """A task for ``unit`` and its ``dispatch`` event (``detail``: why, for the record)."""
    task = w.task(unit, deadline, suggested=suggested)
    w.event(
        Action.DISPATCH,
        task=task,
        before=w.case.state,
        after=CaseState.DISPATCHED.value,
        note=note,
        deadline=deadline,
        **detail,
    )
    return task


def _deadline(w: _Writer, req: ActionRequest) -> datetime:
    """The dispatch deadline: the one given, else the routing table's time limit."""
    if req.deadline is not None:
        return _future(req.deadline, w.at, tr("deadline"))
    data = w.data
    if data is None or data.routing is None:
        raise ActionInputError(tr("no routing table with time limits: give the deadline"))
    limit = data.routing.time_limit(w.case.category, w.case.urgency or Urgency.NORMAL.value)
    return deadline_after(w.at, limit)


def _future(deadline: datetime, at: datetime, name: str) -> datetime:
    if deadline.tzinfo is None:
        raise ActionInputError(
            tr(
                "{name} {value} has no time zone (add +08:00)",
                name=name,
                value=deadline.isoformat(),
            )
        )
    if deadline <= at:
        raise ActionInputError(
            tr(
                "{name} {value} is not after {at}: it must lie ahead",
                name=name,
                value=deadline.isoformat(),
                at=at.isoformat(),
            )
        )
    return deadline


def _task_step(w: _Writer, req: ActionRequest) -> None:
    """accept, handle, verify_pass, verify_fail, return: the task moves."""
    task, after = w.target, w.task_after
    assert task is not None and after is not None
    before = task.state
    task.set(state=after.value, updated_at=w.at, **_facts(task, req.action, w))
    w.event(req.action, task=task, before=before, after=after.value, note=req.note, media=req.media)


def _facts(task: TaskRow, action: Action, w: _Writer) -> dict[str, Any]:
    """The times a task step records for the assessment: handled when and by whom, failed."""
    if action is Action.HANDLE:
        return {"handled_at": w.at, "handled_by": w.actor.name}
    if action is Action.VERIFY_FAIL and task.failed_at is None:
        return {"failed_at": w.at}
    return {}


def _request_extension(w: _Writer, req: ActionRequest) -> None:
    task = w.target
    assert task is not None
    if req.deadline is None:
        raise ActionInputError(tr("request_extension needs the new deadline asked for"))
    wanted = _future(req.deadline, task.deadline, tr("requested deadline"))
    task.set(extension_until=wanted, updated_at=w.at)
    state = task.state
    w.event(req.action, task=task, before=state, after=state, note=req.note, deadline=wanted)


def _extend(w: _Writer, req: ActionRequest) -> None:
    """Grant: the deadline in force moves to the one given, else the one asked for."""
    task = w.target
    assert task is not None
    granted = req.deadline or task.extension_until
    assert granted is not None  # the rules allow extend only on a request
    granted = _future(granted, task.deadline, tr("extended deadline"))
    old = task.deadline
    task.set(
        deadline=granted,
        extension_until=None,
        updated_at=w.at,
        prior_deadline=old,
        extended_at=w.at,
        prev_extended_at=task.extended_at,
        first_extended_at=task.first_extended_at or w.at,
    )
    w.event(
        req.action,
        task=task,
        before=task.state,
        after=task.state,
        note=req.note,
        deadline=granted,
        previous_deadline=old.isoformat(),
    )


def _refuse_extension(w: _Writer, req: ActionRequest) -> None:
    task = w.target
    assert task is not None
    asked = task.extension_until
    task.set(extension_until=None, updated_at=w.at)
    w.event(
        req.action,
        task=task,
        before=task.state,
        after=task.state,
        note=req.note,
        requested=asked.isoformat() if asked else None,
    )


def _redispatch(w: _Writer, req: ActionRequest) -> None:
    """改派: the task is cancelled and a new one goes to the unit named."""
    task = w.target
    assert task is not None
    if len(req.units) != 1:
        raise ActionInputError(tr("redispatch needs exactly one new unit"))
    unit = resolve_unit(req.units[0], w.data)
    if unit.code == task.unit_code:
        raise ActionInputError(
            tr(
                "task {task} is already unit {unit}'s: name another unit",
                task=task.id,
                unit=unit.code,
            )
        )
    before = task.state
    task.set(state=TaskState.CANCELLED.value, updated_at=w.at, cancelled_at=w.at)
    cancelled = TaskState.CANCELLED.value
    w.event(req.action, task=task, before=before, after=cancelled, note=req.note, to=unit.code)
    _new_task(
        w, unit, _deadline(w, req), req.note, suggested=False, override=True, redispatch_of=task.id
    )


_HANDLERS = {
    Action.REGISTER: _case_step,
    Action.REJECT: _case_step,
    Action.CLOSE: _case_step,
    Action.DISPATCH: _dispatch,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.EXTEND: _extend,
    Action.REFUSE_EXTENSION: _refuse_extension,
    Action.REDISPATCH: _redispatch,
}


def _finish(w: _Writer, req: ActionRequest, tasks: list[TaskRow], case_before: CaseState) -> None:
    """Write the tasks, the case, each event and its outbox message (same transaction)."""
    case = w.case
    is_open = CaseState(case.state).is_open
    case.status = (t.CaseStatus.OPEN if is_open else t.CaseStatus.CLOSED).value
    case.updated_at, case.revision = w.at, case.revision + 1
    if req.public_note is not None:
        case.public_note = req.public_note[:2000]
    # the rows change with the first event: on PostgreSQL one statement writes them all
    updates = [*task_updates(tasks), case_update(case, _CASE_WRITES)]
    for event, media in w.pending:
        if media:  # photos first: the event names them, they name the event
            ids = add_media(w.session, case.id, media, at=w.at)
            event.detail = {**event.detail, "media_ids": list(ids)}
            case.media_ids = [*case.media_ids, *ids]
        before = case_before.value
        add_event(w.session, event, case_state=case.state, case_before=before, updates=updates)
        updates = []
        if media:
            w.session.execute(
                update(t.CaseMedia).where(t.CaseMedia.id.in_(ids)).values(event_id=event.id)
            )
        w.event_ids.append(event.id)
    run_updates(w.session, updates)  # every action records an event: nothing is left here


_CASE_WRITES = (
    "state",
    "status",
    "updated_at",
    "public_note",
    "closed_at",
    "registered_at",
    "revision",
)
