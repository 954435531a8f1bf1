"""Write lanes: the few hot, simple writes (a monitoring tool setting a component's status) answered
without FastAPI's routing, dependency resolution and ORM, which cost several times the database
work of such a request.

A lane sits inside ServiceMiddleware (so request ids, the body limit, metrics and the access log
apply as to every request) and sees only requests it matches by method and path. It answers the
case it was built for, with exactly the bytes and headers the FastAPI route would send, and hands
everything else (another body, an unknown key, an error to explain) to FastAPI by answering None,
before it has changed anything. The route stays the documented one; the lane is an implementation
detail of it, and the tests run the same requests through both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import asyncpg
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import RateLimited, error_response
from app.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.core.middleware import replaying
from app.core.security import Principal, hash_api_key, key_of_authorization

if TYPE_CHECKING:
    from app.core.infra import Infrastructure

# What a lane's statements can raise when the database is away or refuses.
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError, OSError)
_IDEMPOTENCY_HEADER = IDEMPOTENCY_HEADER.encode()


@dataclass(frozen=True, slots=True)
class LaneRoute:
    """What ServiceMiddleware's metrics read from `scope["route"]`: the route's path template."""

    path: str

    def pattern(self) -> re.Pattern[str]:
        """The template as a regular expression, each `{name}` one path segment."""
        return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path))


@dataclass(frozen=True, slots=True)
class LaneRequest:
    scope: Scope
    body: bytes
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class LaneCaller:
    """Who sends a write a lane may answer, and the process's infrastructure."""

    infra: Infrastructure
    principal: Principal
    form: bool  # the body was sent form-encoded (else JSON)


def caller_of(scope: Scope) -> LaneCaller | None:
    """The caller of a JSON or form-encoded write with no idempotency key, by an `Authorization`
    header carrying a key the process's key cache holds, not tied to a user and allowed to write;
    else None, and the route answers (it looks the key up, checks the user's roles, explains a
    refusal)."""
    authorization: bytes | None = None
    content_type = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value
        elif name == b"content-type":
            content_type = value
        elif name == _IDEMPOTENCY_HEADER:
            return None
    form = content_type.startswith(b"application/x-www-form-urlencoded")
    if authorization is None or not (form or content_type.startswith(b"application/json")):
        return None
    key = key_of_authorization(authorization.decode("latin-1"))
    if key is None:
        return None
    infra: Infrastructure = scope["app"].state.infra
    principal = infra.principals.get(hash_api_key(key))
    if principal is None or principal.user_id is not None or not principal.can_write:
        return None
    return LaneCaller(infra, principal, form)


async def rate_limit(writer: LaneCaller) -> tuple[dict[str, str], Response | None]:
    """Count the request against the key's budget, as the route's dependency does: the headers
    every answer carries, and the refusal when the budget is spent."""
    infra = writer.infra
    decision = await infra.rate_limiter.hit(writer.principal.api_key_id)
    if decision is None:
        return {}, None
    headers = decision.headers()
    if decision.allowed:
        return headers, None
    limited = RateLimited(infra.settings.rate_limit_status, decision.retry_after, headers)
    return headers, error_response(limited.status_code, limited.message, limited.headers)


class Lane(Protocol):
    route: LaneRoute
    methods: frozenset[str]
    answered: int  # requests this lane answered itself (the rest went to FastAPI)

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when `path` is this lane's route, else None."""

    async def answer(self, request: LaneRequest) -> Response | None:
        """The response, or None to let FastAPI answer (nothing may have been changed then)."""


class RouteLane:
    """The parts of a lane that follow from its route: subclasses set `route` and `methods`, and
    write `answer`."""

    route: LaneRoute
    methods: frozenset[str]

    def __init__(self) -> None:
        self.answered = 0
        self._pattern = self.route.pattern()

    def match(self, path: str) -> dict[str, str] | None:
        found = self._pattern.fullmatch(path)
        return None if found is None else found.groupdict()


class LaneMiddleware:
    def __init__(self, app: ASGIApp, *, lanes: Sequence[Lane]):
        self.app = app
        self.lanes = tuple(lanes)
        self.methods = frozenset(method for lane in self.lanes for method in lane.methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods:
            for lane in self.lanes:
                if scope["method"] not in lane.methods:
                    continue
                params = lane.match(scope["path"])
                if params is None:
                    continue
                # ServiceMiddleware has buffered the body: one message carries all of it.
                message = await receive()
                body: bytes = message.get("body", b"")
                response = await lane.answer(LaneRequest(scope, body, params))
                if response is not None:
                    lane.answered += 1
                    scope["route"] = lane.route
                    await response(scope, receive, send)
                    return
                receive = replaying(body, receive)
                break
        await self.app(scope, receive, send)
