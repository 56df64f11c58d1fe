"""Open311 GeoReport v2 under ``/open311/v2/``: report categories as services, cases as requests.

Every resource is served as ``.json`` and ``.xml`` in the shapes the
GeoReport v2 specification shows (http://wiki.open311.org/GeoReport_v2), and
errors as its error lists: ``[{"code": 400, "description": "..."}]`` or
``<errors><error><code>400</code><description>...</description></error></errors>``
with the same HTTP status.

Services are the report categories (GB/T 30428.2 minor classes, grouped by
their major class, plus local classes) with the questions some of them ask
(:mod:`gridgeo.category_questions`); a request becomes a case through
:func:`gridgeo.store.cases.report_case`, the one way every entry point creates
cases (grid, workstation and partner units are worked out there), and its
``service_notice`` is :func:`gridgeo.case_notice.citizen_notice`. This module only
translates between GeoReport v2 and those; refusals are error lists with the
status of the API's one table (:mod:`gridgeo.api.errors`). Extension: ``crs``
(wgs84 default, cgcs2000, gcj02, bd09) for phones that report in GCJ-02 or BD-09.

Two widely used extensions (http://wiki.open311.org/GeoReport_v2/Extensions/):

* media: ``POST requests`` takes the spec's ``media_url`` (http or https) and
  a photo in the multipart field ``media`` (JPEG, PNG, GIF or WebP by its
  bytes, at most ``GRIDGEO_MAX_MEDIA_BYTES``), stored with the case in one
  transaction and served at ``media/{id}``; a request's ``media_url`` points
  there.
* paging: ``GET requests`` takes ``page`` and ``page_size`` (at most 1000,
  the spec's limit) and sends ``Link: <...>; rel="next"`` while more may follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.datastructures import FormData

from gridgeo.api.auth import AUTHENTICATE
from gridgeo.api.deps import FormReporter, Viewer, current_dataset
from gridgeo.api.errors import ProtocolRoute, headers_for, status_for, validation_message
from gridgeo.api.language import alternatives
from gridgeo.api.media import ACCEPTED as ACCEPTED_TYPES
from gridgeo.api.media import IMAGE_TYPES, MAX_MEDIA_URL, checked_media_url, photo_from_form
from gridgeo.api.responses import json_bytes
from gridgeo.api.route_match import GatedRouter
from gridgeo.api.state import app_store
from gridgeo.api.xml_documents import to_xml
from gridgeo.case_notice import citizen_notice
from gridgeo.caseflow import CaseState
from gridgeo.categories import Category, CategoryTable
from gridgeo.category_questions import Question, check_answers, questions
from gridgeo.dataset import Dataset
from gridgeo.errors import GridgeoError, NotFoundError
from gridgeo.i18n import tr
from gridgeo.settings import Settings
from gridgeo.store.cases import (
    CaseQuery,
    CaseRecord,
    MediaUpload,
    NewCase,
    get_case,
    get_media,
    list_cases,
    report_case,
)
from gridgeo.store.core import Store
from gridgeo.store.schema import MAX_ID, shifted

SPEC = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000  # the spec's default limit: 1000 requests or 90 days, whichever is smaller
MAX_PAGE = 1_000_000  # keeps the SQL OFFSET a small integer on both backends
WINDOW = timedelta(days=90)
CHANGESET = "2026-05-01T00:00:00Z"  # when the service list last changed (discovery)

FormatPath = str  # the suffix: json or xml


class Open311Error(Exception):
    """An error answered as the spec's error list."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Open311Route(ProtocolRoute):
    """A route whose parameter validation failures are Open311 400 error lists, not 422."""

    def answer(self, request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else ()
        fmt = str(request.path_params.get("fmt", "json"))
        return error_response(fmt, 400, validation_message(errors))


router = GatedRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"], route_class=Open311Route)

ERROR_LIST: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}
"""The spec's JSON error list, for the OpenAPI responses of the media route."""


# --- service definitions (attributes) -----------------------------------------------------


def attribute_row(question: Question, order: int) -> dict[str, Any]:
    """A category's question as a service definition's ``attribute``."""
    return {
        "variable": question.variable,
        "code": question.code,
        "datatype": question.datatype,
        "required": question.required,
        "datatype_description": question.datatype_description or None,
        "order": order,
        "description": question.description,
        "values": [{"key": k, "name": n} for k, n in question.values],
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
        "metadata": bool(questions(cat.code)),
        "type": "realtime",
        "keywords": cat.name_en,
        "group": major.name_zh,
    }


# --- rendering ----------------------------------------------------------------------------


def respond(fmt: str, root: str, item: str | None, body: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, item, body), status, media_type=FORMATS["xml"])
    return Response(json_bytes(body), status, media_type=FORMATS["json"])


def error_response(fmt: str, code: int, description: str) -> Response:
    response = respond(
        fmt if fmt in FORMATS else "json",
        "errors",
        "error",
        [{"code": code, "description": description}],
        status=code,
    )
    if code == 401:
        response.headers["WWW-Authenticate"] = AUTHENTICATE
    return response


def is_open311_path(path: str) -> bool:
    """Whether ``path`` is under the Open311 service."""
    return path.startswith("/open311/")


def http_error(request: Request, status: int, message: str) -> Response:
    """An HTTP error on an Open311 path (an unknown resource, a method it does not take)
    as the spec's error list, in XML for a ``.xml`` path."""
    return error_response("xml" if request.url.path.endswith(".xml") else "json", status, message)


def guarded(fmt: str, answer: Callable[[], Response]) -> Response:
    """Run ``answer``, turning every refusal into the spec's error list."""
    if fmt not in FORMATS:
        return error_response("json", 404, tr("unknown format {fmt!r}: use .json or .xml", fmt=fmt))
    try:
        return answer()
    except Open311Error as exc:
        return error_response(fmt, exc.code, exc.description)
    except HTTPException as exc:  # AccessDenied among them
        return error_response(fmt, exc.status_code, str(exc.detail))
    except GridgeoError as exc:  # the API's one status table (404, 409, 413, 503, ...)
        response = error_response(fmt, status_for(exc), str(exc))
        response.headers.update(headers_for(exc))
        return response


# --- dependencies -------------------------------------------------------------------------


def _store(request: Request) -> Store:
    return app_store(
        request, tr("service requests need the store: this gridgeo serves a fixed dataset only")
    )


async def _form(request: Request) -> FormData:
    return await request.form()


# --- discovery and services ---------------------------------------------------------------


@router.get("/discovery.{fmt}", summary="Service discovery")
def discovery(request: Request, fmt: FormatPath, _: Viewer) -> Response:
    def answer() -> Response:
        base = str(request.url_for("service_list", fmt="json")).rsplit("/", 1)[0] + "/"
        body = {
            "changeset": CHANGESET,
            "contact": tr("gridgeo: see /docs for the API definition"),
            "key_service": tr("API keys are issued by the operator (`gridgeo keys create`)"),
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
def service_list(request: Request, fmt: FormatPath, _: Viewer) -> Response:
    def answer() -> Response:
        table = current_dataset(request).categories
        rows = [service_row(c, table) for c in services(table)]
        return respond(fmt, "services", "service", rows)

    return guarded(fmt, answer)


@router.get("/services/{service_code}.{fmt}", summary="Service definition: its attributes")
def service_definition(request: Request, service_code: str, fmt: FormatPath, _: Viewer) -> Response:
    def answer() -> Response:
        cat = _service(current_dataset(request).categories, service_code, status=404)
        body = {
            "service_code": cat.code,
            "attributes": [attribute_row(q, i) for i, q in enumerate(questions(cat.code), 1)],
        }
        return respond(fmt, "service_definition", None, body)

    return guarded(fmt, answer)


def _service(table: CategoryTable, code: str, *, status: int) -> Category:
    if code not in table:
        raise Open311Error(
            status, tr("service_code {code!r} is not a service of this server", code=code)
        )
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
    media_url: str | None = None
    media: MediaUpload | None = None


REPORTER_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")


POST_DESCRIPTION = f"""GeoReport v2 ``POST requests``: form-encoded
(``application/x-www-form-urlencoded``) or ``multipart/form-data``.

* ``media_url``: the spec's field, an http or https URL of a photo elsewhere (at
  most {MAX_MEDIA_URL} characters); stored with the case.
* ``media`` (media extension, multipart only): a photo, {IMAGE_TYPES}, recognised by
  its bytes rather than its declared type, at most ``GRIDGEO_MAX_MEDIA_BYTES``
  (default 10 MiB; larger is 413). Stored with the case in the same transaction and
  served at ``GET media/{{id}}``; the request's ``media_url`` then points there.

Refusals are the spec's error lists: 400 names the bad field and value."""


@router.post(
    "/requests.{fmt}",
    summary="Create a service request (a case assigned to grid, workstation and partners)",
    description=POST_DESCRIPTION,
    status_code=201,  # what the answer says; the OpenAPI links start from it
    openapi_extra={"requestBody": {"required": True}},
)
def create_request(
    *,
    request: Request,
    fmt: FormatPath,
    form: Annotated[FormData, Depends(_form)],
    who: FormReporter,
    service_code: Annotated[str | None, Form(description="a code from services")] = None,
    lat: Annotated[str | None, Form(description="latitude (WGS84 unless crs)")] = None,
    long_: Annotated[
        str | None, Form(alias="long", description="longitude (WGS84 unless crs)")
    ] = None,
    address_string: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    crs: Annotated[str | None, Form(description="extension: wgs84, cgcs2000, gcj02, bd09")] = None,
    media_url: Annotated[
        str | None, Form(description=f"http(s) URL of a photo, at most {MAX_MEDIA_URL} characters")
    ] = None,
    media: Annotated[
        UploadFile | None,
        File(description=f"media extension: a photo ({IMAGE_TYPES}), multipart/form-data"),
    ] = None,
) -> Response:
    def answer() -> Response:
        store = _store(request)
        data = current_dataset(request)
        settings: Settings = request.app.state.settings
        new = parse_new_request(form, data.categories, max_media_bytes=settings.api.max_media_bytes)
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


def parse_new_request(form: FormData, table: CategoryTable, *, max_media_bytes: int) -> NewRequest:
    """The POST arguments, checked.

    Raises
    ------
    Open311Error
        400 for a missing or unknown service, a missing or bad coordinate.
    GridgeoError
        An answer a category does not take (CategoryError), a bad ``media_url`` or
        photo (MediaError), a photo too large (TooLargeError): 400, 400, 413 by the
        API's status table.

    Parameters
    ----------
    form : FormData
        The form, URL-encoded or multipart.
    table : CategoryTable
        The report categories (the services).
    max_media_bytes : int
        Largest photo accepted in ``media``.
    """
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    code = fields.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, tr("service_code is required (see services.json)"))
    service = _service(table, code, status=400)
    if not fields.get("lat") or not fields.get("long"):
        raise Open311Error(
            400,
            tr(
                "lat and long are required: this server assigns grids by location and does "
                "not geocode address_string or address_id"
            ),
        )
    lat, lon = _coordinate("lat", fields["lat"]), _coordinate("long", fields["long"])
    attributes = {
        k[len("attribute[") : -1]: v
        for k, v in fields.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    check_answers(service.code, attributes)
    return NewRequest(
        service=service,
        lon=lon,
        lat=lat,
        crs=fields.get("crs", "").strip() or "wgs84",
        description=fields.get("description", "")[:4000],
        address=fields.get("address_string", "")[:500],
        attributes=attributes,
        reporter={k: fields[k][:200] for k in REPORTER_FIELDS if fields.get(k)},
        media_url=checked_media_url(fields.get("media_url", "")),
        media=photo_from_form(form.getlist("media"), max_media_bytes),
    )


def _coordinate(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(
            400, tr("{name} {value!r} is not a number", name=name, value=text)
        ) from None
    if not math.isfinite(value):
        raise Open311Error(
            400, tr("{name} must be a finite number, not {value!r}", name=name, value=text)
        )
    return value


def file_case(store: Store, data: Dataset, new: NewRequest, *, actor: str) -> CaseRecord:
    """Translate a GeoReport request into the case core's report (dispatch included there)."""
    reporter = new.reporter.get("email") or " ".join(
        v for k in ("first_name", "last_name") if (v := new.reporter.get(k, ""))
    )
    report = NewCase(
        lon=new.lon,
        lat=new.lat,
        crs=new.crs,
        category=new.service.code,
        description=new.description,
        address=new.address,
        reporter=reporter,
        attributes={"open311": new.attributes, "reporter": new.reporter},
        media_url=new.media_url,
        media=(new.media,) if new.media else (),
    )
    return report_case(store, data, report, actor=actor)


def notice(case: CaseRecord) -> str:
    """The ``service_notice`` of a case, in the request's language."""
    return citizen_notice(
        CaseState(case.state), grid_code=case.grid_code, workstation_code=case.workstation_code
    )


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_row(case: CaseRecord, table: CategoryTable, *, media_base: str) -> dict[str, Any]:
    """One case as a GeoReport v2 ``request`` (no reporter details: they are not published).

    ``media_url`` is the uploaded photo at ``media_base`` + its id when there is
    one, else the URL the reporter gave, else null.
    """
    cat = table.get(case.category)
    media_url = f"{media_base}{case.media_ids[0]}" if case.media_ids else case.media_url
    return {
        "service_request_id": str(case.id),
        "status": case.status,
        "status_notes": case.public_note,
        "service_name": cat.name_zh if cat else case.category,
        "service_code": case.category,
        "description": case.description,
        "agency_responsible": case.agency_responsible,
        "service_notice": notice(case),
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.expected_at) if case.expected_at else None,
        "address": case.address,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": media_url,
        "grid_code": case.grid_code,  # extension: the fifth-level grid the case was assigned to
        "workstation_code": case.workstation_code,  # extension
    }


def media_base(request: Request) -> str:
    """The absolute URL of the media route without the id (from the request's base URL)."""
    return str(request.url_for("media_content", media_id="0")).rsplit("/", 1)[0] + "/"


LIST_DESCRIPTION = """GeoReport v2 ``GET requests`` with the spec's filters, newest first.

Paging extension: ``page`` (1-based, default 1) and ``page_size`` (1 to 1000, default
1000, the spec's limit) cut pages from one ordered result, so pages neither overlap
nor skip requests whatever the filters. While more requests may follow, the answer
has a ``Link: <URL of the next page>; rel="next"`` header.

Media extension: ``media_url`` of a request is the absolute URL of its uploaded photo
(``media/{id}``) when it has one, else the ``media_url`` given, else null."""


@router.get(
    "/requests.{fmt}",
    summary="Service requests, newest first (the spec's filters; paged)",
    description=LIST_DESCRIPTION,
)
def request_list(
    *,
    request: Request,
    fmt: FormatPath,
    _: Viewer,
    service_request_id: Annotated[str | None, Query(description="ids, comma-separated")] = None,
    service_code: Annotated[str | None, Query(description="codes, comma-separated")] = None,
    start_date: Annotated[str | None, Query(description="W3C datetime, with zone")] = None,
    end_date: Annotated[str | None, Query(description="W3C datetime, with zone")] = None,
    status: Annotated[str | None, Query(description="open or closed, comma-separated")] = None,
    page: Annotated[
        int, Query(ge=1, le=MAX_PAGE, description="paging extension: page number, from 1")
    ] = 1,
    page_size: Annotated[
        int,
        Query(ge=1, le=MAX_REQUESTS, description="paging extension: requests per page"),
    ] = MAX_REQUESTS,
) -> Response:
    def answer() -> Response:
        store = _store(request)
        table = current_dataset(request).categories
        if service_request_id:
            query = CaseQuery(ids=_ids(service_request_id))
        else:
            query = _search(service_code, start_date, end_date, status)
        # one row more than the page tells whether a next page exists
        found = list_cases(
            store, replace(query, limit=page_size + 1, offset=(page - 1) * page_size)
        )
        base = media_base(request)
        rows = [request_row(c, table, media_base=base) for c in found[:page_size]]
        response = respond(fmt, "service_requests", "request", rows)
        if len(found) > page_size:
            following = request.url.include_query_params(page=page + 1, page_size=page_size)
            response.headers["Link"] = f'<{following}>; rel="next"'
        return response

    return guarded(fmt, answer)


def _row_id(text: str) -> int | None:
    """``text`` as a row id: ASCII digits of a number the store's ids can be, else None."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def _ids(text: str) -> list[int]:
    parts = [_row_id(p) for p in text.split(",") if p.strip()]
    ids = [p for p in parts if p is not None]
    if not ids or len(ids) < len(parts):
        raise Open311Error(
            400, tr("service_request_id {value!r} must be ids separated by commas", value=text)
        )
    return ids[:MAX_REQUESTS]


def _search(codes: str | None, start: str | None, end: str | None, status: str | None) -> CaseQuery:
    """The spec's filters as one query: every code and status in SQL ``IN`` lists."""
    start_at = _datetime("start_date", start) if start else None
    end_at = _datetime("end_date", end) if end else None
    if start_at and end_at:
        if end_at < start_at:
            raise Open311Error(400, tr("end_date is before start_date"))
        if end_at - start_at > WINDOW:
            raise Open311Error(400, tr("start_date and end_date may not span more than 90 days"))
    elif start_at:
        end_at = shifted(start_at, WINDOW)  # held at the calendar's end: year 9999 is empty
    elif end_at:
        start_at = shifted(end_at, -WINDOW)
    else:
        end_at = datetime.now(UTC)
        start_at = end_at - WINDOW
    wanted = [c.strip() for c in codes.split(",") if c.strip()] if codes else []
    return CaseQuery(
        status=_choices("status", status, ("open", "closed")),
        category=wanted or None,
        start=start_at,
        end=end_at,
    )


def _choices(name: str, text: str | None, allowed: tuple[str, ...]) -> list[str] | None:
    """The values of a comma list among ``allowed``; None when every value is allowed."""
    if not text:
        return None
    values = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise Open311Error(
            400,
            tr(
                "{name} must be {choices}, not {value!r}",
                name=name,
                choices=alternatives(allowed),
                value=text,
            ),
        )
    return list(dict.fromkeys(values)) if len(set(values)) < len(allowed) else None


def _datetime(name: str, text: str) -> datetime:
    """A W3C datetime (ISO 8601 with zone; a bare date is midnight UTC)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(
            400,
            tr(
                "{name} {value!r} is not a W3C datetime such as 2026-05-01T08:00:00+08:00",
                name=name,
                value=text,
            ),
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request")
def request_one(request: Request, service_request_id: str, fmt: FormatPath, _: Viewer) -> Response:
    def answer() -> Response:
        store = _store(request)
        number = _row_id(service_request_id)
        if number is None:
            raise Open311Error(
                404, tr("service request {id!r} does not exist", id=service_request_id)
            )
        try:
            case = get_case(store, number)
        except NotFoundError:
            raise Open311Error(
                404, tr("service request {id!r} does not exist", id=str(number))
            ) from None
        categories = current_dataset(request).categories
        rows = [request_row(case, categories, media_base=media_base(request))]
        return respond(fmt, "service_requests", "request", rows)

    return guarded(fmt, answer)


# --- media (extension) --------------------------------------------------------------------

MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The photo's bytes, with the content type found when it was uploaded.",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in ACCEPTED_TYPES
        },
    },
    404: {
        "description": "No such media (the spec's error list).",
        "content": {"application/json": {"schema": ERROR_LIST}},
    },
}


@router.get(
    "/media/{media_id}",
    summary="A photo uploaded with a service request (media extension)",
    description="The bytes of a photo sent in the ``media`` field of ``POST requests``, "
    "as stored with the case. ``media_url`` of a request links here. Served with the "
    "content type recognised at upload and ``X-Content-Type-Options: nosniff``.",
    response_class=Response,
    responses=MEDIA_RESPONSES,
)
def media_content(request: Request, media_id: str, _: Viewer) -> Response:
    def answer() -> Response:
        store = _store(request)
        number = _row_id(media_id)
        if number is None:
            raise Open311Error(404, tr("media {id!r} does not exist", id=media_id))
        try:
            found = get_media(store, number)
        except NotFoundError:
            raise Open311Error(404, tr("media {id!r} does not exist", id=str(number))) from None
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "ETag": f'"{found.sha256}"',
            "Cache-Control": "private, max-age=86400",
        }
        return Response(found.data, media_type=found.content_type, headers=headers)

    return guarded("json", answer)
