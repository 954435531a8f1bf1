"""The public read path of one process: revision tracker, snapshot store, page addressing and the
stream hub, built once with the process's infrastructure, and the fast path that answers a public
document from memory before FastAPI sees the request."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from starlette.types import Scope, Send

from app.core.config import Settings
from app.core.db import Database
from app.public.addressing import PAGE_PREFIX, PageAddressing, is_service_path
from app.public.documents import BY_PATH, INCIDENT_PAGE_PREFIX, document_at
from app.public.freshness import RevisionTracker
from app.public.snapshots import Snapshot, SnapshotStore
from app.public.stream import StreamHub

_NOT_MODIFIED_BODY: dict[str, Any] = {"type": "http.response.body", "body": b""}


class PublicReadPath:
    def __init__(self, settings: Settings, db: Database, redis: Redis):
        self.tracker = RevisionTracker(db, redis, settings.public_revalidate_seconds)
        self.store = SnapshotStore(
            db,
            redis,
            self.tracker,
            public_base_url=settings.public_base_url,
            public_base_domain=settings.public_base_domain,
            cache_control=settings.public_cache_control,
            redis_ttl_seconds=settings.public_snapshot_redis_seconds,
            chart_refresh_seconds=settings.public_chart_refresh_seconds,
        )
        self.addressing = PageAddressing(
            db, settings.public_base_domain, settings.public_host_cache_seconds
        )
        self.hub = StreamHub(self.store, self.tracker, settings.public_stream_heartbeat_seconds)
        self.tracker.on_change(lambda page_id, _: self.addressing.forget(page_id))
        self.fast_hits = 0
        self.protocol_hits = 0  # of fast_hits, those answered in the HTTP protocol

    def start(self) -> None:
        self.tracker.start()

    async def close(self) -> None:
        await self.hub.close()
        await self.tracker.close()
        await self.store.close()

    # The fast path: no I/O, no allocation beyond the ASGI messages ---------------------------

    def lookup(self, scope: Scope) -> tuple[Snapshot, bytes | None] | None:
        """The current snapshot a GET or HEAD asks for, when memory has it and anyone may see it."""
        host = b""
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"if-none-match":
                if_none_match = value
        path: str = scope["path"]
        if path.startswith(PAGE_PREFIX):
            page_id, slash, rest = path[3:].partition("/")
            if not slash:
                return None
            rest = "/" + rest
        else:
            if is_service_path(path):
                return None
            cached_id = self.addressing.cached(host)[1]
            if cached_id is None:
                return None
            page_id, rest = cached_id, path
        document = BY_PATH.get(rest)
        if document is None:
            if not rest.startswith(INCIDENT_PAGE_PREFIX):
                return None
            document = document_at(rest)
            if document is None:
                return None
        snapshot = self.store.current(page_id, document.key, time.time())
        if snapshot is None or snapshot.private or snapshot.body is None:
            return None
        self.tracker.recent.add(page_id)
        return snapshot, if_none_match

    async def respond(self, hit: tuple[Snapshot, bytes | None], method: str, send: Send) -> None:
        snapshot, if_none_match = hit
        self.fast_hits += 1
        if if_none_match is not None and snapshot.matches(if_none_match):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": snapshot.not_modified_headers,
                }
            )
            await send(_NOT_MODIFIED_BODY)
            return
        await send({"type": "http.response.start", "status": 200, "headers": snapshot.headers})
        body = snapshot.body if method == "GET" else b""
        await send({"type": "http.response.body", "body": body})
