"""openapi/openapi.json is the app's current document (regenerate with `statuspage openapi`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.main import create_app

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def _current() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings()).openapi()
    return document


def test_committed_document_is_current() -> None:
    committed = json.loads(DOCUMENT.read_text())
    assert committed == json.loads(json.dumps(_current())), (
        "openapi/openapi.json is stale: run `statuspage openapi`"
    )


def test_extensions_are_marked() -> None:
    paths = _current()["paths"]
    assert paths["/v1/pages"]["post"]["x-statuspage-extension"] is True
    assert paths["/v1/pages/{page_id}"]["delete"]["x-statuspage-extension"] is True
    assert "x-statuspage-extension" not in paths["/v1/pages/{page_id}"]["patch"]


def test_every_v1_operation_documents_auth_errors_and_forms() -> None:
    document = _current()
    for path, item in document["paths"].items():
        if not path.startswith("/v1"):
            continue
        for method, operation in item.items():
            assert operation["security"], (method, path)
            assert "401" in operation["responses"], (method, path)
            body = operation.get("requestBody", {}).get("content", {})
            if body:
                assert "application/x-www-form-urlencoded" in body, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        method,
                        path,
                        code,
                    )
