"""What a citizen is told about a case they reported (pure core).

The notice says where the report stands in the loop of :mod:`gridgeo.caseflow` and
who looks after the place, in the current language. Open311 sends it as a
request's ``service_notice``; any other channel that answers a citizen (SMS, a
public page) words it the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from gridgeo.caseflow import CaseState
from gridgeo.i18n import tr


def citizen_notice(
    state: CaseState, *, grid_code: str | None, workstation_code: str | None = None
) -> str:
    """Where the report stands and who looks after the place, as sentences to the citizen.

    Parameters
    ----------
    state
        The case's state.
    grid_code
        The fifth-level grid the case was assigned to (None: outside every grid).
    workstation_code
        The city management workstation serving that grid, if any.

    Examples
    --------
    >>> from gridgeo.i18n import use_lang
    >>> with use_lang("en"):
    ...     citizen_notice(CaseState.REPORTED, grid_code="450302001001001")
    'Your report has been received and is waiting to be registered. Grid: 450302001001001.'
    """
    if grid_code is None:
        where = tr("The place is outside every grid: our staff will assign it by hand.")
    elif workstation_code:
        where = tr(
            "Grid: {grid}; city management workstation: {workstation}.",
            grid=grid_code,
            workstation=workstation_code,
        )
    else:
        where = tr("Grid: {grid}.", grid=grid_code)
    return tr("{status} {where}", status=status_notice(state), where=where)


def status_notice(state: CaseState) -> str:
    """Where a citizen's report stands, as a sentence to the citizen."""
    return _STATUS_NOTICES[state]()


_STATUS_NOTICES: dict[CaseState, Callable[[], str]] = {
    CaseState.REPORTED: lambda: tr(
        "Your report has been received and is waiting to be registered."
    ),
    CaseState.REGISTERED: lambda: tr(
        "Your report has been registered; the responsible units are being assigned."
    ),
    CaseState.DISPATCHED: lambda: tr(
        "Your report has been passed to the responsible units, who are dealing with it."
    ),
    CaseState.HANDLED: lambda: tr(
        "The responsible units have dealt with it; an inspector will check on site."
    ),
    CaseState.VERIFIED: lambda: tr(
        "The work has been checked on site; the case will be closed shortly."
    ),
    CaseState.CLOSED: lambda: tr(
        "Your report has been dealt with and the case is closed. Thank you."
    ),
    CaseState.REJECTED: lambda: tr("After review, your report has not been registered as a case."),
}
"""Functions, not strings: each is worded in the language current when it is called."""
