"""Domain exceptions. Each message names the bad file, feature, code or coordinate.

The API maps these classes to HTTP status codes in one table
(``gridgeo.api.errors``); the CLI maps them to exit codes. Messages are written
with :func:`gridgeo.i18n.tr`, so they read in the caller's language (Chinese by
default): ``raise InputFileError(tr("{path}: no such file", path=path))``.
"""

from __future__ import annotations

from gridgeo.i18n import tr


class GridgeoError(Exception):
    """Base class of every error gridgeo reports to a user."""


class CodeError(GridgeoError, ValueError):
    """A grid code is malformed or inconsistent."""

    def __init__(self, code: str, problem: str) -> None:
        self.code = code
        self.problem = problem
        super().__init__(tr("code {code!r} {problem}", code=code, problem=problem))


class CoordinateError(GridgeoError, ValueError):
    """A coordinate is missing, not a number, out of range or in an unknown CRS."""


class CRSError(GridgeoError, ValueError):
    """A coordinate reference system is missing, unsupported or contradicted by the data."""


class InputFileError(GridgeoError):
    """An input file cannot be read or has the wrong structure (CLI exit code 2)."""


class FeatureError(InputFileError):
    """One feature of an input file cannot be used; the message names it."""

    def __init__(self, source: str, feature: str, problem: str) -> None:
        self.source = source
        self.feature = feature
        self.problem = problem
        super().__init__(
            tr(
                "{source}: feature {feature}: {problem}",
                source=source,
                feature=feature,
                problem=problem,
            )
        )


class NotFoundError(GridgeoError, LookupError):
    """A requested grid, version or resource does not exist."""


class NoStoreError(NotFoundError):
    """The service runs without a store (one fixed dataset) and the request needs one:
    what it asks for does not exist on this service."""


class CategoryError(GridgeoError, ValueError):
    """A report category code or name is unknown or malformed (names the value)."""


class ConflictError(GridgeoError):
    """The request conflicts with the current state (publishing a published version,
    publishing a version with validation errors without force, ...)."""


class TextError(GridgeoError, ValueError):
    """A text field holds a character that no store can keep (names the field)."""


class StoreError(GridgeoError):
    """The store cannot be opened or used (bad URL, missing extension, no server)."""


class RateLimitError(GridgeoError):
    """Too many costly requests from one caller (HTTP 429 with Retry-After)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLargeError(GridgeoError):
    """An upload or request over a configured size limit (HTTP 413)."""


class SettingsError(GridgeoError):
    """A setting's value is refused: the message names the ``GRIDGEO_*`` environment
    variable it came from (or the setting, when given in code)."""
