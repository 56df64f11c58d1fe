"""The extra questions of report categories and the check of the answers (pure core)."""

from __future__ import annotations

import pytest

from gridgeo.category_questions import QUESTIONS, check_answers, questions
from gridgeo.errors import CategoryError
from gridgeo.i18n import use_lang


def test_answers_are_checked_against_the_category_questions() -> None:
    assert questions("0505") == QUESTIONS["0505"] and questions("0101") == ()
    check_answers("0505", {"plate_number": "桂C12345", "blocking": "no"})
    check_answers("0101", {})
    with use_lang("en"), pytest.raises(CategoryError, match="no attribute colour"):
        check_answers("0505", {"colour": "red"})
    with use_lang("en"), pytest.raises(CategoryError, match=r"attribute\[flooding\] is required"):
        check_answers("0402", {"flooding": "  "})
