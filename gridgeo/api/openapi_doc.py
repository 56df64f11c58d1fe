"""What FastAPI's OpenAPI document lacks, added once when it is first built.

* **Links** (OpenAPI 3.1 ``links``): how the answer of one operation names the
  resource of another, e.g. ``POST /v1/cases`` answers the case whose ``id`` is
  the ``case_id`` of ``GET /v1/cases/{case_id}``. Clients and code generators
  read them; schemathesis's state machine follows them to chain requests (report
  a case, then act on it), which is how the stateful fuzz tests reach deep states.
* **The error body of the one status table** (:mod:`gridgeo.api.errors`): FastAPI
  documents 422 as its parameter-validation body only (``detail`` a list), while
  a file that cannot be read (``InputFileError``, ``FeatureError``) is also a 422,
  with ``detail`` a sentence. Every 422 is documented as either.

Examples
--------
>>> doc = {"paths": {"/a": {"post": {"operationId": "make", "responses": {"201": {}}}},
...                  "/a/{id}": {"get": {"operationId": "one", "responses": {}}}}}
>>> add_links(doc, [Link("post", "/a", "201", "get", "/a/{id}", {"id": "$response.body#/id"})])
>>> doc["paths"]["/a"]["post"]["responses"]["201"]["links"]
{'GetAId': {'operationId': 'one', 'parameters': {'id': '$response.body#/id'}}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "GridgeoError",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, naming the input"},
        "error": {"type": "string", "description": "the error's class, e.g. InputFileError"},
    },
}
"""The body of a refusal from the status table: ``{"detail": ..., "error": ...}``."""


@dataclass(frozen=True)
class Link:
    """A link from the answer ``status`` of ``source`` to the operation ``target``.

    ``parameters`` maps the target's parameter names to a runtime expression
    (``$response.body#/id``) or a constant; parameters not named are the caller's.
    """

    method: str
    path: str
    status: str
    target_method: str
    target_path: str
    parameters: dict[str, str]

    @property
    def name(self) -> str:
        """``GetV1CasesCaseId``: the target's method and path words, unique per source."""
        words = re.findall(r"[A-Za-z0-9]+", self.target_path)
        return self.target_method.capitalize() + "".join(w[:1].upper() + w[1:] for w in words)


def _links(
    method: str, path: str, status: str, expression: str, targets: Sequence[tuple[str, str, str]]
) -> list[Link]:
    """One link to each ``(method, path, parameter)`` of ``targets``, the parameter
    taken from ``expression`` on the answer."""
    return [Link(method, path, status, m, p, {name: expression}) for m, p, name in targets]


CASE_TARGETS = (
    ("get", "/v1/cases/{case_id}", "case_id"),
    ("get", "/v1/cases/{case_id}/suggestion", "case_id"),
    ("post", "/v1/cases/{case_id}/actions", "case_id"),
)
VERSION_TARGETS = (
    ("get", "/v1/versions/{version_id}", "version_id"),
    ("get", "/v1/versions/{version_id}/features", "version_id"),
    ("post", "/v1/versions/{version_id}/edits", "version_id"),
    ("post", "/v1/versions/{version_id}/publish", "version_id"),
    ("get", "/v1/versions/{old}/diff/{new}", "new"),
)
OPEN311_REQUEST = "/open311/v2/requests/{service_request_id}.{fmt}"

LINKS: list[Link] = [
    # the work loop: a case reported, listed or acted on names the case and its tasks
    *_links("post", "/v1/cases", "201", "$response.body#/id", CASE_TARGETS),
    *_links("get", "/v1/cases", "200", "$response.body#/cases/0/id", CASE_TARGETS),
    *_links("post", "/v1/cases/{case_id}/actions", "200", "$response.body#/id", CASE_TARGETS),
    *_links(
        "post",
        "/v1/cases/{case_id}/actions",
        "200",
        "$response.body#/tasks/0/id",
        [("post", "/v1/tasks/{task_id}/actions", "task_id")],
    ),
    # boundary versions: an upload committed, an edit saved or the list name a version
    *_links("post", "/v1/versions", "201", "$response.body#/version/id", VERSION_TARGETS),
    *_links(
        "post",
        "/v1/versions/{version_id}/edits",
        "201",
        "$response.body#/version/id",
        VERSION_TARGETS,
    ),
    *_links("get", "/v1/versions", "200", "$response.body#/0/id", VERSION_TARGETS),
    *_links(
        "get",
        "/v1/versions",
        "200",
        "$response.body#/0/id",
        [("post", "/v1/versions/{version_id}/rollback", "version_id")],
    ),
    # Open311: a request created (JSON) is a request to read back by its id
    Link(
        "post",
        "/open311/v2/requests.{fmt}",
        "201",
        "get",
        OPEN311_REQUEST,
        {"service_request_id": "$response.body#/0/service_request_id", "fmt": "json"},
    ),
    Link(
        "get",
        "/open311/v2/requests.{fmt}",
        "200",
        "get",
        OPEN311_REQUEST,
        {"service_request_id": "$response.body#/0/service_request_id", "fmt": "json"},
    ),
]
"""The links of the API (docs/API.md)."""


def add_links(doc: dict[str, Any], links: Sequence[Link]) -> None:
    """Add ``links`` to ``doc`` in place; a link whose source answer or target
    operation the document does not have is an error in the table, not skipped."""
    paths = doc["paths"]
    for link in links:
        target = paths[link.target_path][link.target_method]
        response = paths[link.path][link.method]["responses"][link.status]
        response.setdefault("links", {})[link.name] = {
            "operationId": target["operationId"],
            "parameters": dict(link.parameters),
        }


def document_error_bodies(doc: dict[str, Any]) -> None:
    """Document each 422 as FastAPI's validation body or the status table's refusal."""
    doc.setdefault("components", {}).setdefault("schemas", {})["GridgeoError"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/GridgeoError"}
    for operations in doc["paths"].values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            media = answer.get("content", {}).get("application/json")
            if media is not None and "schema" in media and media["schema"] != ref:
                media["schema"] = {"anyOf": [media["schema"], ref]}


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return FastAPI's document with the links and error bodies."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first = not app.openapi_schema
        doc = generate()  # FastAPI's, cached in app.openapi_schema: completed in place once
        if first:
            add_links(doc, LINKS)
            document_error_bodies(doc)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
