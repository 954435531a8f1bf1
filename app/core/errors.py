"""One error hierarchy and one renderer: every error body is {"message": ..., "error": ...}."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

logger = logging.getLogger(__name__)

STANDARD_MESSAGES: dict[int, str] = {
    400: "Bad request",
    401: "Could not authenticate",
    403: "You are not authorized to access this resource.",
    404: "The requested resource could not be found.",
    405: "Method not allowed.",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    420: "Rate limit exceeded",
    422: "Unprocessable entity",
    429: "Rate limit exceeded",
    500: "Internal server error",
    503: "Service unavailable",
}


class APIError(Exception):
    status_code = 400

    def __init__(self, message: str | None = None, *, headers: Mapping[str, str] | None = None):
        self.message = message or STANDARD_MESSAGES.get(self.status_code, "Error")
        self.headers = dict(headers or {})
        super().__init__(self.message)


class BadRequest(APIError):
    status_code = 400


class Unauthorized(APIError):
    status_code = 401


class Forbidden(APIError):
    status_code = 403


class NotFound(APIError):
    status_code = 404


class MethodNotAllowed(APIError):
    status_code = 405


class Conflict(APIError):
    status_code = 409


class PayloadTooLarge(APIError):
    status_code = 413


class Unprocessable(APIError):
    status_code = 422


class ServiceUnavailable(APIError):
    status_code = 503


class RateLimited(APIError):
    def __init__(self, status_code: int, retry_after: int, headers: Mapping[str, str]):
        self.status_code = status_code
        super().__init__(
            f"Rate limit exceeded. Retry in {retry_after} seconds.",
            headers={**headers, "Retry-After": str(retry_after)},
        )


def error_body(status_code: int, message: str) -> bytes:
    return orjson.dumps({"message": message, "error": message})


def error_response(
    status_code: int, message: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    text = message or STANDARD_MESSAGES.get(status_code, "Error")
    return Response(
        error_body(status_code, text),
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )


def _field_name(loc: Sequence[Any]) -> str:
    # Only the leading location kind is dropped: a field may itself be called "body".
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def describe_validation_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    messages = []
    for error in errors:
        name = _field_name(error.get("loc", ()))
        messages.append(f"{name}: {error.get('msg', 'is invalid')}")
    return "; ".join(messages)


def _extra_headers(request: Request) -> dict[str, str]:
    headers: dict[str, str] = getattr(request.state, "response_headers", {})
    return headers


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(exc.status_code, exc.message, {**_extra_headers(request), **exc.headers})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = STANDARD_MESSAGES.get(exc.status_code)
    if message is None:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
    return error_response(
        exc.status_code, message, {**_extra_headers(request), **(exc.headers or {})}
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "Malformed request body: invalid JSON", _extra_headers(request))
    return error_response(422, describe_validation_errors(errors), _extra_headers(request))


# PostgreSQL's deadlock_detected and serialization_failure: concurrent writes, worth a retry.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    headers = _extra_headers(request)
    if isinstance(exc, IntegrityError):
        return error_response(409, "The change conflicts with existing data", headers)
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return error_response(
            409, "A concurrent change got in the way; nothing was changed, retry", headers
        )
    logger.warning("database error: %s", exc)
    return error_response(503, "The database is unavailable; nothing was changed", headers)


async def _connection_error(request: Request, exc: Exception) -> Response:
    # asyncpg lets the socket's error out while connecting (refused, no such socket, host down):
    # SQLAlchemy wraps only driver errors in DBAPIError. An OSError escaping a request is such a
    # connection failure (found by bench/drill_postgres_restart.py: 500 and a traceback per request).
    if isinstance(exc, TimeoutError):  # an OSError too, but not necessarily the database's
        return await _unhandled(request, exc)
    logger.warning("database connection failed: %s: %s", type(exc).__name__, exc)
    return error_response(
        503, "The database is unavailable; nothing was changed", _extra_headers(request)
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(APIError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _connection_error)
    app.add_exception_handler(Exception, _unhandled)
