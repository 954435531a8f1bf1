"""The route class of every /v1 route: form bodies become JSON before FastAPI parses them, and the
request's unit of work commits before the response leaves (never after, as a yield dependency would)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from app.core.bodies import parse_rails_form, parse_urlencoded
from app.core.context import UnitOfWork
from app.core.errors import BadRequest
from app.core.responses import WRITE_ERRORS, error_responses

_JSON = b"application/json"

# Marks an operation or field that goes beyond Statuspage's Manage API in our OpenAPI document.
EXTENSION: dict[str, Any] = {"x-statuspage-extension": True}


class ReplayResponse(Exception):
    """Raised by the idempotency check to answer with a stored response."""

    def __init__(self, response: Response):
        self.response = response


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _as_json_request(request: Request) -> Request:
    """Answer a request whose body FastAPI will read as JSON, whatever encoding the client used."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return request
    content_type = _content_type(request)
    if content_type == "application/json" or content_type.endswith("+json"):
        return request
    body = await request.body()
    if not body.strip():
        return request
    looks_like_json = body.lstrip().startswith((b"{", b"["))
    if content_type == "application/x-www-form-urlencoded" and not looks_like_json:
        parsed: Any = parse_urlencoded(body)
    elif content_type == "multipart/form-data":
        form = await request.form()
        parsed = parse_rails_form([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    elif content_type == "" or looks_like_json:
        # JSON without a Content-Type (Go SDKs) or with curl's default form type.
        return _with_body(request, body)
    else:
        raise BadRequest(f"Unsupported Content-Type {content_type!r}: send JSON or form data")
    return _with_body(request, orjson.dumps(parsed))


def _with_body(request: Request, body: bytes) -> Request:
    headers = [
        (name, value)
        for name, value in request.scope["headers"]
        if name not in (b"content-type", b"content-length")
    ]
    headers += [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    converted = Request({**request.scope, "headers": headers}, request.receive)
    converted._body = body
    return converted


class ApiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            request = await _as_json_request(request)
            work = UnitOfWork(read_only=request.method in ("GET", "HEAD"))
            request.state.work = work
            try:
                try:
                    response = await handler(request)
                except ReplayResponse as replay:
                    response = replay.response
                await work.finish(response)
            except BaseException:
                await work.abort()
                raise
            finally:
                await work.close()
            extra: dict[str, str] = getattr(request.state, "response_headers", {})
            response.headers.update(extra)
            return response

        return route_handler


def add_update_routes(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Coroutine[Any, Any, Response]],
    *,
    operation_id: str,
    **options: Any,
) -> None:
    """Statuspage's PUT is the same partial update as its PATCH: one endpoint answers both
    (`operation_id` gets the method as its prefix, e.g. patchPagesPageId / putPagesPageId)."""
    for method in ("PATCH", "PUT"):
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            operation_id=f"{method.lower()}{operation_id}",
            responses=error_responses(*WRITE_ERRORS),
            **options,
        )
