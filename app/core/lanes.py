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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import replaying


@dataclass(frozen=True, slots=True)
class LaneRoute:
    """What ServiceMiddleware's metrics read from `scope["route"]`: the route's path template."""

    path: str


@dataclass(frozen=True, slots=True)
class LaneRequest:
    scope: Scope
    body: bytes
    params: dict[str, str]


class Lane(Protocol):
    route: LaneRoute
    methods: frozenset[str]
    answered: int  # requests this lane answered itself (the rest went to FastAPI)

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when `path` is this lane's route, else None."""

    async def answer(self, request: LaneRequest) -> Response | None:
        """The response, or None to let FastAPI answer (nothing may have been changed then)."""


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
