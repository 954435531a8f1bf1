"""What each process knows of every page's latest revision, kept fresh two ways: the Redis pub/sub
channel the write path publishes on after each commit (one connection per process), and a short
revalidation timer (one query for every page served lately) that covers a missed message or a
Redis outage. A snapshot is served only while its revision is the latest known one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from app.core.db import Database
from app.core.notifier import REVISION_CHANNEL, Notifier
from app.core.queue import Queue

logger = logging.getLogger(__name__)

GONE = -1  # the page was deleted
WATCH_SECONDS = 60.0  # a page not served for this long is no longer revalidated (nor trusted)

_REVISIONS = text("SELECT id, revision FROM pages WHERE id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(String))
)
_REVISION = text("SELECT revision FROM pages WHERE id = :page_id")


class RevisionTracker:
    def __init__(self, db: Database, redis: Redis, interval: float = 0.5):
        self.db = db
        self.redis = redis
        self.interval = interval
        # page id -> latest revision known (and trusted: heard or checked within WATCH_SECONDS).
        self.latest: dict[str, int] = {}
        # Pages served since the last revalidation (the fast path adds to it: a set add is cheap).
        self.recent: set[str] = set()
        self._watched: dict[str, float] = {}
        self._pinned: dict[str, int] = {}  # pages with live stream clients
        self._changed: list[Callable[[str, int], None]] = []
        self._gone: list[Callable[[str], None]] = []
        self._fetches: dict[str, asyncio.Task[int | None]] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = False  # subscribed to the channel right now
        self.messages = 0

    def on_change(self, callback: Callable[[str, int], None]) -> None:
        self._changed.append(callback)

    def on_gone(self, callback: Callable[[str], None]) -> None:
        self._gone.append(callback)

    def observe(self, page_id: str, revision: int) -> None:
        known = self.latest.get(page_id)
        if known is not None and revision <= known:
            return
        self.latest[page_id] = revision
        self._watched.setdefault(page_id, time.monotonic())
        for callback in self._changed:
            callback(page_id, revision)

    def gone(self, page_id: str) -> None:
        self.latest[page_id] = GONE
        for callback in self._gone:
            callback(page_id)

    def pin(self, page_id: str) -> None:
        self._pinned[page_id] = self._pinned.get(page_id, 0) + 1

    def unpin(self, page_id: str) -> None:
        count = self._pinned.get(page_id, 0) - 1
        if count > 0:
            self._pinned[page_id] = count
        else:
            self._pinned.pop(page_id, None)

    async def fetch(self, page_id: str) -> int | None:
        """The page's revision from the database (one query, shared by concurrent callers);
        None when the page does not exist."""
        task = self._fetches.get(page_id)
        if task is None:
            task = asyncio.create_task(self._fetch(page_id))
            self._fetches[page_id] = task
            task.add_done_callback(lambda _: self._fetches.pop(page_id, None))
        return await asyncio.shield(task)

    async def _fetch(self, page_id: str) -> int | None:
        async with self.db.read_sessionmaker() as session:
            revision = await session.scalar(_REVISION, {"page_id": page_id})
        if revision is None:
            self.gone(page_id)
            return None
        self.observe(page_id, int(revision))
        return self.latest.get(page_id)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._listen(), name="public-revisions-listener"),
                asyncio.create_task(self._revalidate_forever(), name="public-revalidation"),
            ]

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        self._tasks = []

    # Pub/sub ----------------------------------------------------------------------------------

    async def _listen(self) -> None:
        failures = 0
        while not self._stop.is_set():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(REVISION_CHANNEL)
                self.listening = True
                failures = 0
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None and message.get("type") == "message":
                        self._heard(message["data"])
            except (RedisError, OSError) as exc:
                failures += 1
                if failures == 1:
                    logger.warning(
                        "revision channel lost (revalidation keeps pages fresh): %s", exc
                    )
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            # Reconnect with a capped backoff; the revalidation timer covers the gap.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), min(5.0, 0.2 * 2**failures))

    def _heard(self, data: bytes | str) -> None:
        raw = data.decode() if isinstance(data, bytes) else data
        page_id, _, revision = raw.rpartition(":")
        self.messages += 1
        # Only pages this process trusts already; another page's news is checked when served.
        if page_id in self.latest and revision.isdigit():
            self.observe(page_id, int(revision))

    # Revalidation -----------------------------------------------------------------------------

    async def _revalidate_forever(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)
            if self._stop.is_set():
                return
            try:
                await self.revalidate()
            except Exception as exc:
                logger.warning("page revision revalidation failed: %s", exc)

    async def revalidate(self) -> None:
        now = time.monotonic()
        for page_id in self.recent:
            self._watched[page_id] = now
        self.recent.clear()
        for page_id, served in list(self._watched.items()):
            if now - served > WATCH_SECONDS and page_id not in self._pinned:
                # No longer checked, so no longer trusted: the next request asks the database.
                del self._watched[page_id]
                if self.latest.get(page_id, GONE) != GONE:
                    del self.latest[page_id]
        ids = [p for p in {*self._watched, *self._pinned} if self.latest.get(p) != GONE]
        if not ids:
            return
        async with self.db.read_sessionmaker() as session:
            rows = (await session.execute(_REVISIONS, {"ids": ids})).all()
        found = {row.id: int(row.revision) for row in rows}
        for page_id in ids:
            revision = found.get(page_id)
            if revision is None:
                self.gone(page_id)
            else:
                self.observe(page_id, revision)


class ReadPathNotifier(Notifier):
    """The process's after-commit notifier, which also tells the process's own read path at once:
    a process serves its own writes without waiting for the round trip through Redis."""

    def __init__(self, queue: Queue, tracker: RevisionTracker):
        super().__init__(queue)
        self.tracker = tracker

    def page_changed(self, page_id: str, revision: int) -> None:
        super().page_changed(page_id, revision)
        self.tracker.observe(page_id, revision)
