"""The citizen's notice of a case (pure core)."""

from __future__ import annotations

import pytest

from gridgeo.case_notice import citizen_notice, status_notice
from gridgeo.caseflow import CaseState
from gridgeo.i18n import use_lang


@pytest.mark.parametrize("state", list(CaseState))
def test_every_state_has_a_notice_in_both_languages(state: CaseState) -> None:
    with use_lang("en"):
        english = status_notice(state)
    with use_lang("zh"):
        chinese = status_notice(state)
    assert english and chinese and english != chinese


def test_the_notice_names_grid_and_workstation_or_says_nobody_yet() -> None:
    with use_lang("en"):
        both = citizen_notice(CaseState.DISPATCHED, grid_code="G1", workstation_code="W1")
        outside = citizen_notice(CaseState.REPORTED, grid_code=None)
    assert both.endswith("Grid: G1; city management workstation: W1.")
    assert "outside every grid" in outside
    with use_lang("zh"):
        assert "G1" in citizen_notice(CaseState.CLOSED, grid_code="G1")
