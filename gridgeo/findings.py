"""A problem a validator found in a planner's file, naming the file, row and code (pure core)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """``error``: the file is wrong; ``warning``: worth a look, dispatch still works."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One validation finding.

    Attributes
    ----------
    rule
        Machine name of the check, e.g. ``unknown_grid_code``.
    severity
        ``error`` or ``warning``.
    message
        What is wrong, in English with Chinese names alongside.
    source
        The file (or ``""`` for objects not read from a file).
    row
        CSV line or GeoJSON feature number (1-based) when known, else 0.
    subject
        The code the finding is about (grid, partner unit or category code).
    """

    rule: str
    severity: Severity
    message: str
    source: str = ""
    row: int = 0
    subject: str = ""

    @property
    def where(self) -> str:
        """``"partners.geojson, feature 3"`` / ``"staff.csv, row 12"`` / ``""``."""
        if not self.source:
            return f"row {self.row}" if self.row else ""
        if not self.row:
            return self.source
        unit = "feature" if self.source.endswith(("json", "geojson")) else "row"
        return f"{self.source}, {unit} {self.row}"

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "source": self.source,
            "row": self.row,
            "subject": self.subject,
            "message": self.message,
        }


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings of severity ``error``."""
    return [f for f in findings if f.severity is Severity.ERROR]
