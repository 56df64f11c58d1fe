"""The app's OpenAPI 3.1 document (what FastAPI writes) as OpenAPI 3.0.3.

OGC API Features' ``oas30`` conformance class and GDAL's OAPIF driver expect
OpenAPI 3.0 at the landing page's ``service-desc`` link. Pydantic 2 writes
JSON Schema 2020-12, which 3.0's schema dialect lacks in a few places; this
rewrites exactly those, inside schema objects only:

* ``anyOf``/``oneOf`` with ``{"type": "null"}`` and ``type: [..., "null"]``
  become ``nullable: true``;
* ``examples`` (a list) becomes ``example`` (the first);
* ``const`` becomes a one-value ``enum``;
* numeric ``exclusiveMinimum``/``exclusiveMaximum`` become the 3.0 boolean form;
* ``contentMediaType`` strings (file uploads) become ``format: binary``.

``/openapi.json`` stays 3.1 for the Swagger page and schemathesis.
"""

from __future__ import annotations

import copy
from typing import Any

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")
_DROP_31 = ("$schema", "$id", "$comment", "unevaluatedProperties", "contentEncoding")


def to_openapi30(doc: dict[str, Any]) -> dict[str, Any]:
    """A 3.0.3 copy of a FastAPI 3.1 document (the input is not changed)."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out.pop("webhooks", None)
    out.pop("jsonSchemaDialect", None)
    out.get("info", {}).get("license", {}).pop("identifier", None)
    _walk_document(out)
    return out


def _walk_document(node: Any) -> None:
    """Find schema objects in the document (``schema`` keys, component schemas)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                _schema(value)
            elif key == "schemas" and isinstance(value, dict):
                for sub in value.values():
                    if isinstance(sub, dict):
                        _schema(sub)
            else:
                _walk_document(value)
    elif isinstance(node, list):
        for value in node:
            _walk_document(value)


def _schema(schema: dict[str, Any]) -> None:
    """Rewrite one schema object in place, then its sub-schemas."""
    for key in _DROP_31:
        schema.pop(key, None)
    _nullable_type(schema)
    for combiner in ("anyOf", "oneOf"):
        _nullable_combiner(schema, combiner)
    if "examples" in schema and isinstance(schema["examples"], list):
        examples = schema.pop("examples")
        if examples:
            schema.setdefault("example", examples[0])
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = schema.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            schema[plain] = value
            schema[bound] = True
    if schema.pop("contentMediaType", None) is not None and schema.get("type") == "string":
        schema["format"] = "binary"
    if "prefixItems" in schema:  # tuples: 3.0 has no positional items
        schema.pop("prefixItems")
        schema.setdefault("items", {})
    if "$ref" in schema and len(schema) > 1:  # 3.0 ignores siblings of $ref
        ref = schema.pop("$ref")
        schema["allOf"] = [{"$ref": ref}]
    _recurse(schema)


def _nullable_type(schema: dict[str, Any]) -> None:
    types = schema.get("type")
    if isinstance(types, list):
        rest = [t for t in types if t != "null"]
        if len(rest) < len(types):
            schema["nullable"] = True
        if len(rest) == 1:
            schema["type"] = rest[0]
        else:
            schema.pop("type")
            if rest:
                schema["anyOf"] = [{"type": t} for t in rest]
    elif types == "null":
        schema.pop("type")
        schema["nullable"] = True


def _nullable_combiner(schema: dict[str, Any], combiner: str) -> None:
    options = schema.get(combiner)
    if not isinstance(options, list):
        return
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) == len(options):
        return
    schema["nullable"] = True
    if len(rest) == 1 and isinstance(rest[0], dict):
        del schema[combiner]
        only = rest[0]
        if "$ref" in only:
            schema["allOf"] = [only]
        else:
            for key, value in only.items():
                schema.setdefault(key, value)
    else:
        schema[combiner] = rest


def _recurse(schema: dict[str, Any]) -> None:
    for key in _SCHEMA_MAPS:
        value = schema.get(key)
        if isinstance(value, dict):
            for sub in value.values():
                if isinstance(sub, dict):
                    _schema(sub)
    for key in _SCHEMA_LISTS:
        value = schema.get(key)
        if isinstance(value, list):
            for sub in value:
                if isinstance(sub, dict):
                    _schema(sub)
    for key in _SCHEMA_ONE:
        value = schema.get(key)
        if isinstance(value, dict):
            _schema(value)
    if "$defs" in schema:  # 3.0 has no local definitions; pydantic puts them in components
        schema.pop("$defs")
