"""Reading the staff roster (CSV) and workstations (GeoJSON)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from gridgeo.errors import InputFileError
from gridgeo.i18n import tr
from gridgeo.io.partners import missing_columns, not_a_feature_collection
from gridgeo.staffing import EMPLOYMENT_WORDS, POST_WORDS, StaffMember
from gridgeo.wording import listing
from gridgeo.workstation import Workstation

STAFF_COLUMNS = ("person_id", "name", "role", "employment", "grid_code")


def read_staff(path: str | Path) -> list[StaffMember]:
    """Read a roster CSV (UTF-8, optional BOM); errors name the row and column.

    Required columns: person_id, name, role (leader/executive_deputy/deputy/member
    or 网格长/常务副网格长/副网格长/网格员), employment (sworn/auxiliary/cadre or
    在编队员/协管员/兼职干部; the short forms 在编/协管/兼任 of older rosters also
    read), grid_code. Optional: title, phone.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(
            tr("{path}: cannot read roster ({reason})", path=path, reason=exc)
        ) from None
    missing = [c for c in STAFF_COLUMNS if rows and c not in header]
    if missing:
        raise InputFileError(missing_columns(path, missing))
    return [_member(path, n, row) for n, row in enumerate(rows, start=2)]


def _member(path: Path, line: int, row: dict[str, Any]) -> StaffMember:
    def field(name: str) -> str:
        value = (row.get(name) or "").strip()
        if not value and name in STAFF_COLUMNS:
            raise InputFileError(
                tr("{path}, row {line}: {field} is empty", path=path, line=line, field=name)
            )
        return value

    role, employment = field("role"), field("employment")
    if role not in POST_WORDS:
        raise InputFileError(
            tr(
                "{path}, row {line}: unknown role {role!r}; use {choices}",
                path=path,
                line=line,
                role=role,
                choices=listing(POST_WORDS),
            )
        )
    if employment not in EMPLOYMENT_WORDS:
        raise InputFileError(
            tr(
                "{path}, row {line}: unknown employment {employment!r}; use {choices}",
                path=path,
                line=line,
                employment=employment,
                choices=listing(EMPLOYMENT_WORDS),
            )
        )
    return StaffMember(
        field("person_id"),
        field("name"),
        POST_WORDS[role],
        EMPLOYMENT_WORDS[employment],
        field("grid_code"),
        field("title"),
        field("phone"),
        line,
    )


def read_workstations(path: str | Path) -> list[Workstation]:
    """Read workstation points from GeoJSON (lon/lat, CGCS2000 or WGS84).

    Properties: code, name, community_code (or community_codes, comma
    separated), address, illustrative, note.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(tr("{path}: no such file", path=path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        features = data["features"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputFileError(not_a_feature_collection(path, exc)) from None
    return [_workstation(path, i, f) for i, f in enumerate(features)]


def _workstation(path: Path, i: int, feature: dict[str, Any]) -> Workstation:
    props = feature.get("properties") or {}
    geom = feature.get("geometry") or {}
    if geom.get("type") != "Point":
        raise InputFileError(
            tr(
                "{path}: feature #{n} ({code}) is not a Point",
                path=path,
                n=i,
                code=props.get("code"),
            )
        )
    lon, lat = (float(v) for v in geom["coordinates"][:2])
    served = props.get("community_codes") or props.get("community_code") or ""
    codes = tuple(c.strip() for c in str(served).split(",") if c.strip())
    if not props.get("code") or not codes:
        raise InputFileError(
            tr("{path}: feature #{n} needs code and community_code", path=path, n=i)
        )
    return Workstation(
        str(props["code"]),
        str(props.get("name", "")),
        lon,
        lat,
        codes,
        str(props.get("address", "")),
        bool(props.get("illustrative", False)),
        str(props.get("note", "")),
    )
