"""pydantic's words for a problem with a value, in the reader's language: the service's
answers to a bad parameter and the settings' errors say them.

Examples
--------
>>> from gridgeo.i18n import use_lang
>>> problem = {"type": "greater_than_equal", "msg": "Input should be ...", "ctx": {"ge": 1.0}}
>>> with use_lang("en"):
...     problem_words(problem)
'Input should be ...'
>>> with use_lang("zh"):
...     problem_words(problem)
'应大于或等于 1'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gridgeo.i18n import current_lang, tr


def problem_words(problem: Mapping[str, Any]) -> str:
    """What is wrong, as pydantic says it in English; in Chinese for the kinds a request's
    parameters and the settings meet (pydantic's other words stay English)."""
    said: str = problem.get("msg") or tr("invalid")
    error = (problem.get("ctx") or {}).get("error")
    if problem.get("type") == "value_error" and error is not None:
        return str(error)  # a validator's own words, in the reader's language already
    words = _PYDANTIC_WORDS.get(str(problem.get("type")))
    if current_lang() == "en" or words is None:
        return said
    try:
        return words(problem.get("ctx") or {})
    except KeyError:  # a context without the value the words name
        return said


# pydantic's message of each kind of problem (the English keys are its own words)
_PYDANTIC_WORDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda _: tr("Field required"),
    "float_parsing": lambda _: tr(
        "Input should be a valid number, unable to parse string as a number"
    ),
    "float_type": lambda _: tr("Input should be a valid number"),
    "finite_number": lambda _: tr("Input should be a finite number"),
    "int_parsing": lambda _: tr(
        "Input should be a valid integer, unable to parse string as an integer"
    ),
    "int_type": lambda _: tr("Input should be a valid integer"),
    "int_from_float": lambda _: tr(
        "Input should be a valid integer, got a number with a fractional part"
    ),
    "bool_parsing": lambda _: tr("Input should be a valid boolean, unable to interpret input"),
    "string_type": lambda _: tr("Input should be a valid string"),
    "list_type": lambda _: tr("Input should be a valid list"),
    "dict_type": lambda _: tr("Input should be a valid dictionary"),
    "path_type": lambda _: tr("Input should be a valid path"),
    "literal_error": lambda c: tr("Input should be {expected}", expected=c["expected"]),
    "enum": lambda c: tr("Input should be {expected}", expected=c["expected"]),
    "greater_than": lambda c: tr("Input should be greater than {gt}", gt=_shown(c["gt"])),
    "greater_than_equal": lambda c: tr(
        "Input should be greater than or equal to {ge}", ge=_shown(c["ge"])
    ),
    "less_than": lambda c: tr("Input should be less than {lt}", lt=_shown(c["lt"])),
    "less_than_equal": lambda c: tr(
        "Input should be less than or equal to {le}", le=_shown(c["le"])
    ),
    "string_too_short": lambda c: tr(
        "String should have at least {min_length} characters", min_length=c["min_length"]
    ),
    "string_too_long": lambda c: tr(
        "String should have at most {max_length} characters", max_length=c["max_length"]
    ),
    "datetime_parsing": lambda c: tr("Input should be a valid datetime, {error}", error=c["error"]),
    "datetime_from_date_parsing": lambda c: tr(
        "Input should be a valid datetime or date, {error}", error=c["error"]
    ),
    "date_parsing": lambda c: tr(
        "Input should be a valid date in the format YYYY-MM-DD, {error}", error=c["error"]
    ),
    "date_from_datetime_parsing": lambda c: tr(
        "Input should be a valid date or datetime, {error}", error=c["error"]
    ),
    "json_invalid": lambda c: tr("Invalid JSON: {error}", error=c["error"]),
}


def _shown(limit: Any) -> Any:
    """A bound as pydantic writes it: 0.0 as 0."""
    return int(limit) if isinstance(limit, float) and limit.is_integer() else limit
