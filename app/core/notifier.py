"""After-commit signals, coalesced: page revisions published on Redis and the outbox relay woken up.

Committed writes only mark what changed; a background task of the process sends everything marked
in one Redis round trip a few milliseconds later. Nothing here is the durable record (the commit is):
if Redis is unavailable the worker's sweep relays the outbox and readers revalidate on a timer.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from app.core.queue import Queue

logger = logging.getLogger(__name__)

REVISION_CHANNEL = "statuspage:page-revisions"
RELAY_JOB = "relay_outbox"


class Notifier:
    def __init__(self, queue: Queue, interval: float = 0.005):
        self.queue = queue
        self.interval = interval
        self._revisions: dict[str, int] = {}
        self._relay = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def page_changed(self, page_id: str, revision: int) -> None:
        if revision > self._revisions.get(page_id, 0):
            self._revisions[page_id] = revision
        self._wake.set()

    def outbox_pending(self) -> None:
        self._relay = True
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="notifier")

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            await asyncio.sleep(self.interval)  # let a burst of commits share one round trip
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        revisions, self._revisions = self._revisions, {}
        relay, self._relay = self._relay, False
        try:
            if revisions:
                async with self.queue.redis.pipeline(transaction=False) as pipe:
                    for page_id, revision in revisions.items():
                        pipe.publish(REVISION_CHANNEL, f"{page_id}:{revision}")
                    await pipe.execute()
            if relay:
                await self.queue.enqueue(RELAY_JOB)
        except (RedisError, OSError) as exc:
            logger.warning("could not notify after commit (the sweep will catch up): %s", exc)

    async def close(self) -> None:
        """Stop after a last flush. Not by cancelling: redis-py can swallow a cancellation that
        lands inside a command, which would leave the task waiting forever."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
