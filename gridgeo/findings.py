"""A problem a validator found in a planner's file, naming the file, row and code (pure core)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gridgeo.i18n import tr
from gridgeo.wording import pad


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
        What is wrong, in the language of the run (:func:`gridgeo.i18n.tr`; English
        with Chinese names alongside, or Chinese).
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
        """``"partners.geojson, feature 3"`` / ``"staff.csv, row 12"`` / ``""``
        (``partners.geojson 第 3 个要素`` / ``staff.csv 第 12 行`` in Chinese)."""
        if not self.source:
            return tr("row {row}", row=self.row) if self.row else ""
        if not self.row:
            return self.source
        if self.source.endswith(("json", "geojson")):
            return tr("{source}, feature {row}", source=self.source, row=self.row)
        return tr("{source}, row {row}", source=self.source, row=self.row)

    def __str__(self) -> str:
        where = self.where
        return (
            tr("{where}: {message}", where=where, message=self.message) if where else self.message
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "source": self.source,
            "row": self.row,
            "subject": self.subject,
            "message": self.message,
        }


def severity_word(severity: str, width: int = 0) -> str:
    """``ERROR``/``WARNING`` (``错误``/``警告`` in Chinese): the tag of a finding's line,
    padded to ``width`` columns (a Chinese character takes two)."""
    return pad(tr("ERROR") if severity == Severity.ERROR else tr("WARNING"), width)


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings of severity ``error``."""
    return [f for f in findings if f.severity is Severity.ERROR]
