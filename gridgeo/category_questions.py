"""The extra questions some report categories ask, and the check of the answers (pure core).

A report of 机动车乱停放 (``0505``) is more useful with the plate number; one of a
flooded road (``0402``) must say whether water stands on it. The questions are
local definitions keyed by category code; Open311 publishes them as a service
definition's ``attributes`` (its ``datatype`` words: ``string``,
``singlevaluelist``) and takes the answers as ``attribute[code]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridgeo.errors import CategoryError
from gridgeo.i18n import tr
from gridgeo.wording import listing


@dataclass(frozen=True)
class Question:
    """One question of a category.

    Attributes
    ----------
    code
        The answer's key (``plate_number``).
    description
        The question, in Chinese and English.
    datatype
        ``string`` (free text) or ``singlevaluelist`` (one of ``values``).
    required
        A report of the category must answer it.
    values
        ``(key, name)`` of each allowed answer of a list.
    datatype_description
        How to answer, when the datatype does not say it.
    variable
        False for a text shown to the reporter that takes no answer.
    """

    code: str
    description: str
    datatype: str = "string"
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()
    datatype_description: str = ""
    variable: bool = True


QUESTIONS: dict[str, tuple[Question, ...]] = {
    "0505": (
        Question("plate_number", "车牌号 licence plate number, if visible"),
        Question(
            "blocking",
            "是否阻碍通行 does the vehicle block a lane, a fire lane or a crossing?",
            datatype="singlevaluelist",
            values=(("yes", "是 yes"), ("no", "否 no")),
        ),
    ),
    "0402": (
        Question(
            "flooding",
            "是否有积水 is water flooding the road?",
            datatype="singlevaluelist",
            required=True,
            values=(("yes", "是 yes"), ("no", "否 no")),
        ),
    ),
}
"""The questions by category code; a category not listed asks none."""


def questions(code: str) -> tuple[Question, ...]:
    """The questions category ``code`` asks (none for most)."""
    return QUESTIONS.get(code, ())


def check_answers(code: str, given: dict[str, str]) -> None:
    """Every required question of category ``code`` answered, list answers among the
    keys, no answer to a question the category does not ask.

    Raises
    ------
    CategoryError
        Naming the question and the answer.

    Examples
    --------
    >>> check_answers("0402", {"flooding": "yes"})
    >>> check_answers("0402", {"flooding": "maybe"})
    Traceback (most recent call last):
    ...
    gridgeo.errors.CategoryError: attribute[flooding] must be one of yes, no, not 'maybe'
    """
    defined = {q.code: q for q in questions(code)}
    unknown = sorted(set(given) - set(defined))
    if unknown:
        raise CategoryError(
            tr(
                "service {code} has no attribute {attributes}",
                code=code,
                attributes=listing(unknown),
            )
        )
    for question in defined.values():
        value = given.get(question.code, "").strip()
        if question.required and not value:
            raise CategoryError(
                tr(
                    "attribute[{attribute}] is required for service {code}",
                    attribute=question.code,
                    code=code,
                )
            )
        keys = [k for k, _ in question.values]
        if value and keys and value not in keys:
            raise CategoryError(
                tr(
                    "attribute[{attribute}] must be one of {keys}, not {value!r}",
                    attribute=question.code,
                    keys=listing(keys),
                    value=value,
                )
            )
