"""The live stream (an extension): Server-Sent Events, one event per new page revision, carrying
what changed and the new summary. Events are built once per page and revision and shared by every
client of the process; they come from the revision tracker, so they reach clients of any process.

A client that falls behind (or resumes with an older `Last-Event-ID`) gets the current state at
once, with `changes: null`; a heartbeat comment goes out when nothing else has for a while. When
the server starts shutting down, every stream ends, so the shutdown is not held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.public.documents import SUMMARY
from app.public.freshness import RevisionTracker
from app.public.snapshots import Render, SnapshotStore

logger = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"
RETRY = b"retry: 2000\n\n"


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item["id"]): item for item in items}


def changes_between(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What differs between two summaries: ids of the components, incidents and maintenances that
    were added, changed or removed, and whether the page's status changed."""

    def differing(name: str) -> list[str]:
        before, after = _by_id(old.get(name, [])), _by_id(new.get(name, []))
        return sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))

    return {
        "status": old.get("status") != new.get("status"),
        "page": old.get("page") != new.get("page"),
        "components": differing("components"),
        "incidents": differing("incidents"),
        "scheduled_maintenances": differing("scheduled_maintenances"),
    }


def _event(page_id: str, revision: int, changes: dict[str, Any] | None, summary: bytes) -> bytes:
    head = orjson.dumps({"page_id": page_id, "revision": revision, "changes": changes})
    # The summary is spliced in as it was rendered: no second serialization of the big part.
    data = head[:-1] + b',"summary":' + summary + b"}"
    return b"id: %d\nevent: update\ndata: %s\n\n" % (revision, data)


@dataclass(eq=False)
class _Client:
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Channel:
    page_id: str
    render: Render
    clients: set[_Client] = field(default_factory=set)
    revision: int = 0
    previous_revision: int = -1
    full_event: bytes = b""  # the current state, changes: null
    diff_event: bytes = b""  # the current state, with the changes since previous_revision
    summary: dict[str, Any] | None = None
    pending: bool = False
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class StreamHub:
    def __init__(self, store: SnapshotStore, tracker: RevisionTracker, heartbeat: float):
        self.store = store
        self.tracker = tracker
        self.heartbeat = heartbeat
        self.closing = False
        self._channels: dict[str, _Channel] = {}
        self._watcher: asyncio.Task[None] | None = None
        tracker.on_change(self._revision_changed)
        tracker.on_gone(self._page_gone)

    @property
    def clients(self) -> int:
        return sum(len(c.clients) for c in self._channels.values())

    def watch_server(self, exiting: Callable[[], bool] | None) -> None:
        """End every stream once `exiting()` says the server is shutting down (uvicorn waits for
        open responses before it runs the app's shutdown, so the streams must end first)."""
        if exiting is None or self._watcher is not None:
            return

        async def watch() -> None:
            while not self.closing:
                if exiting():
                    self.close_streams()
                    return
                await asyncio.sleep(0.1)

        self._watcher = asyncio.create_task(watch(), name="public-stream-shutdown-watch")

    def _revision_changed(self, page_id: str, revision: int) -> None:
        channel = self._channels.get(page_id)
        if channel is not None and revision > channel.revision:
            self._refresh(channel)

    def _page_gone(self, page_id: str) -> None:
        channel = self._channels.get(page_id)
        if channel is not None:
            for client in channel.clients:
                client.wake.set()

    def _refresh(self, channel: _Channel) -> None:
        channel.pending = True
        if channel.task is None or channel.task.done():
            channel.task = asyncio.create_task(self._publish(channel))

    async def _publish(self, channel: _Channel) -> None:
        while channel.pending and not self.closing:
            channel.pending = False
            try:
                snapshot = await self.store.get(
                    channel.page_id, SUMMARY.key, channel.render, SUMMARY.content_type
                )
            except Exception:
                logger.exception("stream: summary of %s could not be rendered", channel.page_id)
                await asyncio.sleep(1)
                channel.pending = True
                continue
            if snapshot is None or snapshot.body is None:
                break
            if snapshot.revision <= channel.revision and channel.ready.is_set():
                continue
            summary = orjson.loads(snapshot.body)
            changes = None if channel.summary is None else changes_between(channel.summary, summary)
            channel.previous_revision = channel.revision if channel.summary is not None else -1
            channel.revision = snapshot.revision
            channel.summary = summary
            channel.full_event = _event(channel.page_id, snapshot.revision, None, snapshot.body)
            channel.diff_event = (
                channel.full_event
                if changes is None
                else _event(channel.page_id, snapshot.revision, changes, snapshot.body)
            )
            channel.ready.set()
            for client in channel.clients:
                client.wake.set()
        channel.ready.set()

    async def events(
        self, page_id: str, render: Render, last_event_id: int | None
    ) -> AsyncIterator[bytes]:
        channel = self._channels.get(page_id)
        if channel is None:
            channel = self._channels[page_id] = _Channel(page_id, render)
            self.tracker.pin(page_id)
            self._refresh(channel)
        client = _Client()
        channel.clients.add(client)
        try:
            yield RETRY
            await channel.ready.wait()
            sent = last_event_id if last_event_id is not None else -1
            while not self.closing and self.tracker.latest.get(page_id, 0) >= 0:
                client.wake.clear()  # before looking: a revision landing meanwhile wakes us
                if channel.revision > sent and channel.full_event:
                    resumable = sent == channel.previous_revision
                    yield channel.diff_event if resumable else channel.full_event
                    sent = channel.revision
                try:
                    await asyncio.wait_for(client.wake.wait(), self.heartbeat)
                except TimeoutError:
                    yield HEARTBEAT
        finally:
            channel.clients.discard(client)
            if not channel.clients and self._channels.get(page_id) is channel:
                del self._channels[page_id]
                self.tracker.unpin(page_id)
                if channel.task is not None and not channel.task.done():
                    channel.task.cancel()

    def close_streams(self) -> None:
        self.closing = True
        for channel in self._channels.values():
            channel.ready.set()
            for client in channel.clients:
                client.wake.set()

    async def close(self) -> None:
        self.close_streams()
        tasks = [c.task for c in self._channels.values() if c.task is not None]
        if self._watcher is not None:
            self._watcher.cancel()
            tasks.append(self._watcher)
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks, timeout=2)
