"""Urban-management workstations (城市管理工作站) and the communities they serve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Workstation:
    """One workstation: a point (EPSG:4490) serving one or more communities."""

    code: str
    name: str
    lon: float
    lat: float
    community_codes: tuple[str, ...]
    address: str = ""
    illustrative: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "lon": self.lon,
            "lat": self.lat,
            "community_codes": list(self.community_codes),
            "address": self.address,
            "illustrative": self.illustrative,
            "note": self.note,
        }


def serving(workstations: list[Workstation], codes: list[str]) -> Workstation | None:
    """The workstation serving the deepest of ``codes`` (leaf first), if any.

    Examples
    --------
    >>> ws = Workstation("WS01", "叠彩街道城市管理工作站", 110.29, 25.28, ("450302001001",))
    >>> serving([ws], ["450302001001002", "450302001001", "450302001"]).code
    'WS01'
    >>> serving([ws], ["450302001002003", "450302001002"]) is None
    True
    """
    for code in codes:
        for ws in workstations:
            if code in ws.community_codes:
                return ws
    return None
