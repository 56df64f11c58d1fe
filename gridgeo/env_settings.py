"""Settings read from ``GRIDGEO_*`` environment variables: :class:`EnvSettings`, the base
of every settings class in :mod:`gridgeo.settings`.

A setting's value is the one given in code, else its variable ``GRIDGEO_<NAME>`` (the
name in any case), else its default. A part (a field that is itself
:class:`EnvSettings`, one per concern) is made by its default and reads the same flat
names. A setting that is a table or a list is written as JSON. pydantic validates the
values; the refused ones raise one :class:`~gridgeo.errors.SettingsError` that names each
variable, the value as written and why, in the current language, the parts' included.

Not pydantic-settings, which did this reading before: its import was a third of every
command's start (docs/DEPENDENCIES.md), and its errors named the field, not the variable.

Examples
--------
>>> from unittest import mock
>>> from pydantic import Field
>>> from gridgeo.i18n import use_lang
>>> class Service(EnvSettings):
...     port: int = Field(8000, ge=1)
>>> with mock.patch.dict("os.environ", {"GRIDGEO_PORT": "8080"}):
...     Service().port, Service(port=9000).port
(8080, 9000)
>>> with mock.patch.dict("os.environ", {"gridgeo_port": "http"}), use_lang("en"):
...     Service()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gridgeo.errors.SettingsError: environment variable GRIDGEO_PORT: Input should be ...
"""

from __future__ import annotations

import json
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeGuard

from pydantic import BaseModel, ConfigDict, ValidationError

from gridgeo.errors import SettingsError
from gridgeo.i18n import tr
from gridgeo.pydantic_words import problem_words
from gridgeo.wording import clauses

ENV_PREFIX = "GRIDGEO_"

# the types whose variables hold JSON (their values cannot be written as plain text)
_TABLES = (dict, list, set, frozenset, tuple)


class EnvSettings(BaseModel):
    """Settings read from ``GRIDGEO_*`` environment variables (see the module)."""

    # the environment holds other GRIDGEO_ names; defaults pass the validators too
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, **values: Any) -> None:
        refused: list[str] = []
        read, written = _from_environment(type(self), values, refused)
        if not refused:
            try:
                super().__init__(**read, **values)
                return
            except (ValidationError, SettingsError):  # named below, with all the others
                pass
        # a part's refusal stops pydantic at that part: each part is checked on its own,
        # a refused one stood in for, and the rest checked again
        stand_ins = _refused_parts(type(self), values, refused)
        try:
            super().__init__(**read, **stand_ins, **values)
        except ValidationError as exc:
            refused.append(_refused(exc, read, written))
        if refused:
            raise SettingsError(clauses(refused))


def is_part(kind: Any) -> TypeGuard[type[EnvSettings]]:
    """True for a field's type that is a part: settings of their own."""
    return isinstance(kind, type) and issubclass(kind, EnvSettings)


def _from_environment(
    model: type[EnvSettings], given: Mapping[str, Any], refused: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values ``GRIDGEO_*`` variables give ``model``'s settings but those ``given``
    in code and the parts, and the text of each as written; a variable that should
    hold JSON and does not is added to ``refused``."""
    environment = {name.upper(): value for name, value in os.environ.items()}
    read: dict[str, Any] = {}
    written: dict[str, str] = {}
    for name, info in model.model_fields.items():
        variable = ENV_PREFIX + name.upper()
        if name in given or variable not in environment or is_part(info.annotation):
            continue
        text = written[name] = environment[variable]
        if not _holds_json(info.annotation):
            read[name] = text
            continue
        try:
            read[name] = json.loads(text)
        except json.JSONDecodeError as exc:
            refused.append(
                tr(
                    "environment variable {name}: {value!r} is not JSON (line {line}, "
                    "column {column})",
                    name=variable,
                    value=text,
                    line=exc.lineno,
                    column=exc.colno,
                )
            )
    return read, written


def _holds_json(kind: Any) -> bool:
    """True for a table or a list type, or an optional one (``dict[str, int] | None``)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        return any(_holds_json(arg) for arg in typing.get_args(kind))
    return origin in _TABLES or kind in _TABLES


def _refused_parts(
    model: type[EnvSettings], given: Mapping[str, Any], refused: list[str]
) -> dict[str, EnvSettings]:
    """Each part's refused variables, added to ``refused``, and for each such part an
    unchecked stand-in."""
    stand_ins: dict[str, EnvSettings] = {}
    for name, info in model.model_fields.items():
        kind = info.annotation
        if name in given or not is_part(kind):
            continue
        try:
            kind()
        except SettingsError as exc:
            refused.append(str(exc))
            stand_ins[name] = kind.model_construct()
    return stand_ins


def _refused(exc: ValidationError, read: Mapping[str, Any], written: Mapping[str, str]) -> str:
    """One sentence naming each refused value: its variable and its text as written when
    it came from the environment, else the setting."""
    said = []
    for problem in exc.errors():
        if problem.get("type") == "default_factory_not_called":  # follows another problem
            continue
        loc = [str(part) for part in problem.get("loc", ())]
        field = loc[0] if loc else ""
        if field in read:
            name = tr("environment variable {name}", name=ENV_PREFIX + field.upper())
        else:
            name = tr("setting {name!r}", name=".".join(loc)) if loc else tr("settings")
        words = problem_words(problem)
        if "input" in problem and problem.get("type") != "missing" and loc:
            value = written[field] if field in written and len(loc) == 1 else problem["input"]
            said.append(
                tr(
                    "{parameter}: {problem} (got {value!r})",
                    parameter=name,
                    problem=words,
                    value=value,
                )
            )
        else:
            said.append(tr("{parameter}: {problem}", parameter=name, problem=words))
    return clauses(said)
