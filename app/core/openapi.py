"""Our OpenAPI document: FastAPI's, plus what it cannot infer (auth schemes, form bodies, our error
shape for validation failures). openapi/openapi.json is this document, kept current by a test."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

DESCRIPTION = """\
A self-hostable status page service whose `/v1` Manage API is wire-compatible with Atlassian
Statuspage's Manage API v1.

* Authenticate with `Authorization: OAuth <api key>` (or `Bearer <api key>`, or `?api_key=`).
* Every `/v1` path also answers with a `.json` suffix (`/v1/pages/{page_id}.json`).
* Request bodies may be JSON or Rails-style form encoding (`page[name]=x`,
  `incident[components][id]=major_outage`, `incident[component_ids][]=id`).
* Errors always have the body `{"message": "...", "error": "..."}`.
* Rate limit per API key (default 60 requests per rolling 60 s): 420 (or 429) with `Retry-After`.
* Operations and fields marked `x-statuspage-extension` go beyond Statuspage.
"""

_FORM = "application/x-www-form-urlencoded"
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "api_key": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`OAuth <api key>` (Statuspage's form) or `Bearer <api key>`.",
        },
        "api_key_query": {"type": "apiKey", "in": "query", "name": "api_key"},
    }
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if path.startswith("/v1"):
                operation["security"] = [{"api_key": []}, {"api_key_query": []}]
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content and _FORM not in content:
                content[_FORM] = {"schema": content["application/json"]["schema"]}
            validation = operation.get("responses", {}).get("422")
            if validation is not None:
                validation["content"] = {"application/json": {"schema": _ERROR_REF}}
                validation["description"] = "Unprocessable entity"
            if "requestBody" in operation:  # a body that cannot be parsed at all
                operation.setdefault("responses", {}).setdefault(
                    "400",
                    {
                        "description": "Bad request",
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    },
                )
            _errors_as_json(operation)
    schemas = components.get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = schema
    return schema


def _errors_as_json(operation: dict[str, Any]) -> None:
    """Errors always come in our JSON shape; a route answering HTML (for browsers) may also
    answer an error as a small HTML page, which FastAPI would document with the JSON schema."""
    for code, response in operation.get("responses", {}).items():
        content = response.get("content")
        if not code.startswith(("4", "5")) or not content:
            continue
        for media_type, body in list(content.items()):
            if media_type != "application/json" and body.get("schema") == _ERROR_REF:
                content[media_type] = {"schema": {"type": "string"}}
                content.setdefault("application/json", {"schema": _ERROR_REF})
