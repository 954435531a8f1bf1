"""The application class: FastAPI with the public read path's fast path in front of it.

A GET or HEAD for a public document whose current snapshot is in memory is answered right here,
before FastAPI's middleware and routing; everything else has its page addressing resolved (Host
or root requests rewritten to `/p/{page_id}/...`) and goes on to FastAPI."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from app.public.readpath import PublicReadPath


class StatusPageApp(FastAPI):
    # Bound by the lifespan while the process's infrastructure is up.
    read_path: PublicReadPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read_path = self.read_path
        if read_path is not None and scope["type"] == "http":
            method = scope["method"]
            if method == "GET" or method == "HEAD":
                hit = read_path.lookup(scope)
                if hit is not None:
                    await read_path.respond(hit, method, send)
                    return
            scope = await read_path.addressing.rewrite(scope)
        await super().__call__(scope, receive, send)
