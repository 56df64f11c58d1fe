"""Open311 GeoReport v2 under ``/open311/v2/``: report categories as services, cases as requests.

Every resource is served as ``.json`` and ``.xml`` in the shapes the
GeoReport v2 specification shows (http://wiki.open311.org/GeoReport_v2), and
errors as its error lists: ``[{"code": 400, "description": "..."}]`` or
``<errors><error><code>400</code><description>...</description></error></errors>``
with the same HTTP status.

Services are the report categories (GB/T 30428.2 minor classes, grouped by
their major class, plus local classes); a request becomes a case through the
store's ``create_case``, assigned to grid, workstation and partner units by
``Dataset.dispatch``. Extension: ``crs`` (wgs84 default, cgcs2000, gcj02,
bd09) for phones that report in GCJ-02 or BD-09.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from gridgeo.api.deps import dataset
from gridgeo.api.security import Role, authorize
from gridgeo.categories import Category, CategoryTable
from gridgeo.errors import GridgeoError, NotFoundError
from gridgeo.io.dataset import Dataset
from gridgeo.store.cases import CaseQuery, CaseRecord, create_case, get_case, list_cases
from gridgeo.store.core import Store

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

SPEC = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000  # the spec's default limit: 1000 requests or 90 days, whichever is smaller
WINDOW = timedelta(days=90)
CHANGESET = "2026-05-01T00:00:00Z"  # when the service list last changed (discovery)

FormatPath = str  # the suffix: json or xml


class Open311Error(Exception):
    """An error answered as the spec's error list."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# --- service definitions (attributes) -----------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """One attribute of a service definition (GeoReport v2 ``attribute``)."""

    code: str
    description: str
    datatype: str = "string"
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()
    datatype_description: str = ""
    variable: bool = True

    def to_dict(self, order: int) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description or None,
            "order": order,
            "description": self.description,
            "values": [{"key": k, "name": n} for k, n in self.values],
        }


# Extra questions some categories ask (local definitions; metadata=true for these services).
SERVICE_ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "0505": (
        Attribute("plate_number", "车牌号 licence plate number, if visible"),
        Attribute(
            "blocking",
            "是否阻碍通行 does the vehicle block a lane, a fire lane or a crossing?",
            datatype="singlevaluelist",
            values=(("yes", "是 yes"), ("no", "否 no")),
        ),
    ),
    "0402": (
        Attribute(
            "flooding",
            "是否有积水 is water flooding the road?",
            datatype="singlevaluelist",
            required=True,
            values=(("yes", "是 yes"), ("no", "否 no")),
        ),
    ),
}


def services(categories: CategoryTable) -> list[Category]:
    """Minor classes, and the major classes that have none (a local class may have none)."""
    majors_with_minors = {c.major for c in categories.minors()}
    return [c for c in categories.values() if not c.is_major or c.code not in majors_with_minors]


def service_row(cat: Category, categories: CategoryTable) -> dict[str, Any]:
    major = categories.get(cat.major, cat)
    return {
        "service_code": cat.code,
        "service_name": cat.name_zh,
        "description": f"{cat.name_zh} ({cat.name_en}); {cat.source.value}",
        "metadata": cat.code in SERVICE_ATTRIBUTES,
        "type": "realtime",
        "keywords": cat.name_en,
        "group": major.name_zh,
    }


# --- rendering ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _append(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for k, v in value.items():
            _append(node, k, v)
    elif isinstance(value, list):
        child = tag[:-1] if tag.endswith("s") else "item"  # values/value, formats/format
        for item in value:
            _append(node, child, item)
    else:
        node.text = _text(value)


def to_xml(root: str, item: str | None, body: Any) -> bytes:
    """XML as the spec shows it: ``<root><item>...</item></root>`` (or ``<root>...</root>``)."""
    top = ET.Element(root)
    if item is None:
        for k, v in body.items():
            _append(top, k, v)
    else:
        for row in body:
            _append(top, item, row)
    out: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return out


def respond(fmt: str, root: str, item: str | None, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, item, body), status, media_type=FORMATS["xml"])
    import json

    text = json.dumps(body, ensure_ascii=False)
    return Response(text.encode("utf-8"), status, media_type=FORMATS["json"])


def error_response(fmt: str, code: int, description: str) -> Response:
    response = respond(
        fmt if fmt in FORMATS else "json",
        "errors",
        "error",
        [{"code": code, "description": description}],
        status=code,
    )
    if code == 401:
        response.headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key", query="api_key"'
    return response


def guarded(fmt: str, answer: Callable[[], Response]) -> Response:
    """Run ``answer``, turning every refusal into the spec's error list."""
    if fmt not in FORMATS:
        return error_response("json", 404, f"unknown format {fmt!r}: use .json or .xml")
    try:
        return answer()
    except Open311Error as exc:
        return error_response(fmt, exc.code, exc.description)
    except HTTPException as exc:  # AccessDenied among them
        return error_response(fmt, exc.status_code, str(exc.detail))
    except NotFoundError as exc:
        return error_response(fmt, 404, str(exc))
    except GridgeoError as exc:
        return error_response(fmt, 400, str(exc))


# --- dependencies -------------------------------------------------------------------------


def _store(request: Request) -> Store:
    store: Store | None = request.app.state.store
    if store is None:
        raise Open311Error(
            503, "service requests need the store: this gridgeo serves a fixed dataset only"
        )
    return store


async def _form(request: Request) -> FormData:
    return await request.form()


# --- discovery and services ---------------------------------------------------------------


@router.get("/discovery.{fmt}", summary="Service discovery")
def discovery(request: Request, fmt: FormatPath) -> Response:
    def answer() -> Response:
        authorize(request, Role.VIEWER)
        base = str(request.url_for("service_list", fmt="json")).rsplit("/", 1)[0] + "/"
        body = {
            "changeset": CHANGESET,
            "contact": "gridgeo: see /docs for the API definition",
            "key_service": "API keys are issued by the operator (`gridgeo keys create`)",
            "endpoints": [
                {
                    "specification": SPEC,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        }
        return respond(fmt, "discovery", None, body)

    return guarded(fmt, answer)


@router.get("/services.{fmt}", summary="Service list: the report categories")
def service_list(request: Request, fmt: FormatPath) -> Response:
    def answer() -> Response:
        authorize(request, Role.VIEWER)
        table = dataset(request).categories
        rows = [service_row(c, table) for c in services(table)]
        return respond(fmt, "services", "service", rows)

    return guarded(fmt, answer)


@router.get("/services/{service_code}.{fmt}", summary="Service definition: its attributes")
def service_definition(request: Request, service_code: str, fmt: FormatPath) -> Response:
    def answer() -> Response:
        authorize(request, Role.VIEWER)
        cat = _service(dataset(request).categories, service_code, status=404)
        attrs = SERVICE_ATTRIBUTES.get(cat.code, ())
        body = {
            "service_code": cat.code,
            "attributes": [a.to_dict(i) for i, a in enumerate(attrs, 1)],
        }
        return respond(fmt, "service_definition", None, body)

    return guarded(fmt, answer)


def _service(table: CategoryTable, code: str, *, status: int) -> Category:
    if code not in table:
        raise Open311Error(status, f"service_code {code!r} is not a service of this server")
    return table[code]


# --- requests -----------------------------------------------------------------------------


@dataclass
class NewRequest:
    """The POST arguments, parsed and checked."""

    service: Category
    lon: float
    lat: float
    crs: str
    description: str
    address: str
    attributes: dict[str, str]
    reporter: dict[str, str] = field(default_factory=dict)


REPORTER_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")


@router.post(
    "/requests.{fmt}",
    summary="Create a service request (a case assigned to grid, workstation and partners)",
    openapi_extra={"requestBody": {"required": True}},
)
def create_request(
    *,
    request: Request,
    fmt: FormatPath,
    form: Annotated[FormData, Depends(_form)],
    service_code: Annotated[str | None, Form(description="a code from services")] = None,
    lat: Annotated[str | None, Form(description="latitude (WGS84 unless crs)")] = None,
    long_: Annotated[
        str | None, Form(alias="long", description="longitude (WGS84 unless crs)")
    ] = None,
    address_string: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    crs: Annotated[str | None, Form(description="extension: wgs84, cgcs2000, gcj02, bd09")] = None,
) -> Response:
    def answer() -> Response:
        key = form.get("api_key")
        who = authorize(request, Role.REPORTER, form_key=key if isinstance(key, str) else None)
        store = _store(request)
        data = dataset(request)
        new = parse_new_request(form, data.categories)
        case = file_case(store, data, new, actor=who.actor)
        body = [
            {
                "service_request_id": str(case.id),
                "service_notice": notice(case),
                "account_id": new.reporter.get("account_id"),
            }
        ]
        return respond(fmt, "service_requests", "request", body, status=201)

    return guarded(fmt, answer)


def parse_new_request(form: FormData, table: CategoryTable) -> NewRequest:
    """The POST arguments, or Open311Error(400) naming the problem."""
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    code = fields.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required (see services.json)")
    service = _service(table, code, status=400)
    if not fields.get("lat") or not fields.get("long"):
        raise Open311Error(
            400,
            "lat and long are required: this server assigns grids by location and does "
            "not geocode address_string or address_id",
        )
    lat, lon = _coordinate("lat", fields["lat"]), _coordinate("long", fields["long"])
    attributes = {
        k[len("attribute[") : -1]: v
        for k, v in fields.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    check_attributes(service.code, attributes)
    return NewRequest(
        service=service,
        lon=lon,
        lat=lat,
        crs=fields.get("crs", "").strip() or "wgs84",
        description=fields.get("description", "")[:4000],
        address=fields.get("address_string", "")[:500],
        attributes=attributes,
        reporter={k: fields[k][:200] for k in REPORTER_FIELDS if fields.get(k)},
    )


def _coordinate(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise Open311Error(400, f"{name} must be a finite number, not {text!r}")
    return value


def check_attributes(code: str, given: dict[str, str]) -> None:
    """Required attributes present, list values among the keys, no unknown attributes."""
    defined = {a.code: a for a in SERVICE_ATTRIBUTES.get(code, ())}
    unknown = sorted(set(given) - set(defined))
    if unknown:
        raise Open311Error(400, f"service {code} has no attribute {', '.join(unknown)}")
    for attr in defined.values():
        value = given.get(attr.code, "").strip()
        if attr.required and not value:
            raise Open311Error(400, f"attribute[{attr.code}] is required for service {code}")
        keys = [k for k, _ in attr.values]
        if value and keys and value not in keys:
            raise Open311Error(
                400, f"attribute[{attr.code}] must be one of {', '.join(keys)}, not {value!r}"
            )


def file_case(store: Store, data: Dataset, new: NewRequest, *, actor: str) -> CaseRecord:
    """Dispatch the report and store it as a case (one transaction, audit-logged)."""
    partners: list[dict[str, Any]] = []
    agency = ""
    if data.routing is not None:
        result = data.dispatch(new.lon, new.lat, new.service.code, new.crs)
        partners = [
            {
                "code": m.partner.code,
                "name": m.partner.name,
                "type": m.partner.type.value,
                "reason": m.reason,
            }
            for m in result.partners
        ]
        ws = result.lookup.workstation
        handlers = ([ws.name] if ws is not None and result.grid_involved else []) + [
            p["name"] for p in partners
        ]
        agency = "；".join(dict.fromkeys(h for h in handlers if h))
    reporter = new.reporter.get("email") or " ".join(
        v for k in ("first_name", "last_name") if (v := new.reporter.get(k, ""))
    )
    return create_case(
        store,
        data,
        lon=new.lon,
        lat=new.lat,
        crs=new.crs,
        category=new.service.code,
        description=new.description,
        address=new.address,
        reporter=reporter,
        actor=actor,
        partner_units=partners,
        agency_responsible=agency,
        attributes={"open311": new.attributes, "reporter": new.reporter},
    )


def notice(case: CaseRecord) -> str:
    if case.grid_code is None:
        return "received; the point is outside every grid and will be assigned by hand"
    ws = f", workstation {case.workstation_code}" if case.workstation_code else ""
    return f"received; assigned to grid {case.grid_code}{ws}"


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_row(case: CaseRecord, table: CategoryTable) -> dict[str, Any]:
    """One case as a GeoReport v2 ``request`` (no reporter details: they are not published)."""
    cat = table.get(case.category)
    return {
        "service_request_id": str(case.id),
        "status": case.status,
        "status_notes": None,
        "service_name": cat.name_zh if cat else case.category,
        "service_code": case.category,
        "description": case.description,
        "agency_responsible": case.agency_responsible,
        "service_notice": notice(case),
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": None,
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": None,
        "grid_code": case.grid_code,  # extension: the fifth-level grid the case was assigned to
        "workstation_code": case.workstation_code,  # extension
    }


@router.get("/requests.{fmt}", summary="Service requests, newest first (the spec's filters)")
def request_list(
    *,
    request: Request,
    fmt: FormatPath,
    service_request_id: Annotated[str | None, Query(description="ids, comma-separated")] = None,
    service_code: Annotated[str | None, Query(description="codes, comma-separated")] = None,
    start_date: Annotated[str | None, Query(description="W3C datetime, with zone")] = None,
    end_date: Annotated[str | None, Query(description="W3C datetime, with zone")] = None,
    status: Annotated[str | None, Query(description="open or closed, comma-separated")] = None,
) -> Response:
    def answer() -> Response:
        authorize(request, Role.VIEWER)
        store = _store(request)
        table = dataset(request).categories
        if service_request_id:
            ids = _ids(service_request_id)
            found = list_cases(store, CaseQuery(ids=ids, limit=MAX_REQUESTS))
        else:
            found = _search(store, service_code, start_date, end_date, status)
        return respond(fmt, "service_requests", "request", [request_row(c, table) for c in found])

    return guarded(fmt, answer)


def _ids(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise Open311Error(400, f"service_request_id {text!r} must be ids separated by commas")
    return [int(p) for p in parts][:MAX_REQUESTS]


def _search(
    store: Store, codes: str | None, start: str | None, end: str | None, status: str | None
) -> list[CaseRecord]:
    start_at = _datetime("start_date", start) if start else None
    end_at = _datetime("end_date", end) if end else None
    if start_at and end_at:
        if end_at < start_at:
            raise Open311Error(400, "end_date is before start_date")
        if end_at - start_at > WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    elif start_at:
        end_at = start_at + WINDOW
    elif end_at:
        start_at = end_at - WINDOW
    else:
        end_at = datetime.now(UTC)
        start_at = end_at - WINDOW
    statuses = _choices("status", status, ("open", "closed"))
    wanted = [c.strip() for c in codes.split(",") if c.strip()] if codes else [None]
    found: list[CaseRecord] = []
    for code in wanted:
        for st in statuses:
            query = CaseQuery(
                status=st, category=code, start=start_at, end=end_at, limit=MAX_REQUESTS
            )
            found.extend(list_cases(store, query))
    found.sort(key=lambda c: c.id, reverse=True)
    return found[:MAX_REQUESTS]


def _choices(name: str, text: str | None, allowed: tuple[str, ...]) -> list[str | None]:
    if not text:
        return [None]
    values = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise Open311Error(400, f"{name} must be {' or '.join(allowed)}, not {text!r}")
    return list(dict.fromkeys(values)) if len(set(values)) < len(allowed) else [None]


def _datetime(name: str, text: str) -> datetime:
    """A W3C datetime (ISO 8601 with zone; a bare date is midnight UTC)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400, f"{name} {text!r} is not a W3C datetime such as 2026-05-01T08:00:00+08:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request")
def request_one(request: Request, service_request_id: str, fmt: FormatPath) -> Response:
    def answer() -> Response:
        authorize(request, Role.VIEWER)
        store = _store(request)
        if not service_request_id.isdigit():
            raise Open311Error(404, f"service request {service_request_id!r} does not exist")
        try:
            case = get_case(store, int(service_request_id))
        except NotFoundError:
            raise Open311Error(
                404, f"service request {service_request_id} does not exist"
            ) from None
        rows = [request_row(case, dataset(request).categories)]
        return respond(fmt, "service_requests", "request", rows)

    return guarded(fmt, answer)
