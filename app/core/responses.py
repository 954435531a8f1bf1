"""Responses serialized once, straight to bytes, and the error responses every route documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from app.core.errors import STANDARD_MESSAGES


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong, for people and for generated clients.")
    error: str = Field(description="The same text, for clients that read `error`.")


def json_response(data: BaseModel | Sequence[BaseModel], status_code: int = 200) -> Response:
    if isinstance(data, BaseModel):
        body = data.model_dump_json().encode()
    else:
        body = b"[" + b",".join(item.model_dump_json().encode() for item in data) + b"]"
    return Response(body, status_code=status_code, media_type="application/json")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": ErrorBody, "description": STANDARD_MESSAGES.get(code, "Error")}
        for code in codes
    }


AUTH_ERRORS = (401, 420)
READ_ERRORS = (*AUTH_ERRORS, 404)
WRITE_ERRORS = (400, *AUTH_ERRORS, 403, 404, 409, 413, 422)
