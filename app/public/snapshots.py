"""Snapshots: each public document's bytes rendered once per page revision (and per UTC day for
date-based documents), kept in process memory and in Redis for the other processes, with their
response headers built once too.

`SnapshotStore.get` is the one way in: it answers the snapshot of the page's latest known revision,
rendering it on a miss, once however many requests ask at the same time (single flight). Any
document can plug in by passing its `render` function.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dt_time

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import Database
from app.models import Page
from app.public.format import http_date, page_url, page_zone
from app.public.freshness import RevisionTracker

logger = logging.getLogger(__name__)

REDIS_PREFIX = "statuspage:snapshot:"
PRIVATE_CACHE_CONTROL = b"private, no-cache"
_REDIS_BACKOFF_SECONDS = 2.0
# An audience's snapshot key: the document's key, this separator and the audience's digest.
AUDIENCE_SEPARATOR = "@audience:"


@dataclass(frozen=True, slots=True)
class Visibility:
    """What one audience of an audience-specific page sees: these components (groups included)
    and metrics. Viewers with the same visible sets share one audience, hence one snapshot."""

    components: frozenset[str]
    metrics: frozenset[str]

    @property
    def digest(self) -> str:
        listing = ",".join(sorted(self.components)) + "|" + ",".join(sorted(self.metrics))
        return hashlib.sha256(listing.encode()).hexdigest()[:24]

    def audience_key(self, key: str) -> str:
        return f"{key}{AUDIENCE_SEPARATOR}{self.digest}"

    def shows_incident(self, component_ids: Sequence[str]) -> bool:
        """An incident touching no component is page-wide: every viewer sees it."""
        return not component_ids or any(c in self.components for c in component_ids)


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a renderer gets: a read-only transaction on one consistent view of the database, the
    page as of `revision`, and the page's canonical public URL (the same however it was reached)."""

    session: AsyncSession
    page: Page
    revision: int
    now: datetime
    base_url: str
    zone: tzinfo
    changed_at: datetime  # the last change of anything the page shows
    # An audience's rendering of an audience-specific page: only what it may see (None: all).
    visible: Visibility | None = None


Render = Callable[[RenderContext], Awaitable[bytes | None]]


def local_day(now: datetime, zone: tzinfo) -> tuple[int, float]:
    """The page's day at `now` (its date's ordinal) and when that day ends (epoch seconds): the
    validity of a document showing days, like the uptime bars or "past 14 days"."""
    today = now.astimezone(zone).date()
    tomorrow = datetime.combine(today + timedelta(days=1), dt_time(0), tzinfo=zone)
    return today.toordinal(), tomorrow.timestamp()


@dataclass(slots=True)
class Snapshot:
    page_id: str
    key: str
    revision: int
    day: int | None  # the page's day it shows, for a document showing days (its ETag has it)
    body: bytes | None  # None: the document does not exist at this revision (404)
    private: bool
    organization_id: str
    etag: bytes
    headers: list[tuple[bytes, bytes]]  # of the 200 answer
    not_modified_headers: list[tuple[bytes, bytes]]  # of the 304 answer
    # The page is audience-specific (and `private`): its viewers get their audience's snapshot.
    audience: bool = False
    # When that day ends on the page's clock (epoch seconds): the document is stale from then on.
    expires: float | None = None

    def is_current(self, latest: int | None, now: float) -> bool:
        return self.revision == latest and (self.expires is None or now < self.expires)

    def matches(self, if_none_match: bytes) -> bool:
        """RFC 9110 weak comparison, as If-None-Match asks for."""
        if if_none_match == self.etag:
            return True
        for candidate in if_none_match.split(b","):
            tag = candidate.strip()
            if tag == b"*":
                return True
            if tag.startswith(b"W/"):
                tag = tag[2:]
            if tag == self.etag:
                return True
        return False


def build_snapshot(
    *,
    page_id: str,
    key: str,
    revision: int,
    day: int | None,
    expires: float | None,
    body: bytes | None,
    content_type: str,
    private: bool,
    organization_id: str,
    last_modified: str,
    cache_control: str,
    audience: bool = False,
) -> Snapshot:
    tag = f"{page_id}-{revision}" if day is None else f"{page_id}-{revision}-{day}"
    if expires is not None and body is not None:
        # Re-rendered within a revision (a new day, fresh chart points): the tag follows the bytes.
        tag += "-" + hashlib.blake2b(body, digest_size=6).hexdigest()
    digest = key.partition(AUDIENCE_SEPARATOR)[2]
    if digest:  # each audience its own tag: a browser switching viewers gets no stale 304
        tag += f"-{digest}"
    etag = f'"{tag}"'.encode()
    common = [(b"etag", etag), (b"last-modified", last_modified.encode())]
    if audience:
        common += [(b"cache-control", PRIVATE_CACHE_CONTROL), (b"vary", b"Authorization, Cookie")]
    elif private:
        common += [(b"cache-control", PRIVATE_CACHE_CONTROL), (b"vary", b"Authorization")]
    else:
        common += [
            (b"cache-control", cache_control.encode()),
            (b"access-control-allow-origin", b"*"),
        ]
    length = str(len(body or b"")).encode()
    headers = [(b"content-type", content_type.encode()), (b"content-length", length), *common]
    return Snapshot(
        page_id,
        key,
        revision,
        day,
        body,
        private,
        organization_id,
        etag,
        headers,
        common,
        audience,
        expires,
    )


_CHANGED_AT = text(
    """
    SELECT greatest(
        p.updated_at,
        (SELECT max(updated_at) FROM components WHERE page_id = p.id),
        (SELECT max(updated_at) FROM incidents WHERE page_id = p.id),
        (SELECT max(u.updated_at) FROM incident_updates u JOIN incidents i ON i.id = u.incident_id
         WHERE i.page_id = p.id)
    )
    FROM pages p WHERE p.id = :page_id
    """
).bindparams(bindparam("page_id"))
# A page is audience-specific once it has a page access user or group (app/audiences).
_SHOWS_METRICS = text(
    "SELECT EXISTS (SELECT 1 FROM metrics WHERE page_id = :page_id AND display)"
).bindparams(bindparam("page_id"))

_AUDIENCE_SPECIFIC = text(
    """
    SELECT EXISTS (SELECT 1 FROM page_access_users WHERE page_id = :page_id)
        OR EXISTS (SELECT 1 FROM page_access_groups WHERE page_id = :page_id)
    """
).bindparams(bindparam("page_id"))


class SnapshotStore:
    def __init__(
        self,
        db: Database,
        redis: Redis,
        tracker: RevisionTracker,
        *,
        public_base_url: str,
        public_base_domain: str | None,
        cache_control: str,
        redis_ttl_seconds: int,
        chart_refresh_seconds: float = 60.0,
    ):
        self.tracker = tracker
        self.chart_refresh_seconds = chart_refresh_seconds
        self.redis = redis
        self.public_base_url = public_base_url
        self.public_base_domain = public_base_domain
        self.cache_control = cache_control
        self.redis_ttl_seconds = redis_ttl_seconds
        # One consistent view per render: the page row (and its revision) and the rows the
        # document shows are read in the same snapshot of the database.
        reader = db.engine.execution_options(isolation_level="REPEATABLE READ")
        self._sessions = async_sessionmaker(reader, expire_on_commit=False)
        self._memory: dict[str, dict[str, Snapshot]] = {}
        self._flights: dict[tuple[str, str, int], asyncio.Task[Snapshot | None]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._redis_down_until = 0.0
        self.renders = 0  # documents rendered by this process (tests and metrics read it)
        tracker.on_gone(self.drop_page)

    # The fast path's question, answered without I/O.
    def current(self, page_id: str, key: str, now: float) -> Snapshot | None:
        documents = self._memory.get(page_id)
        if documents is None:
            return None
        snapshot = documents.get(key)
        if snapshot is None or not snapshot.is_current(self.tracker.latest.get(page_id), now):
            return None
        return snapshot

    def latest_in_memory(self, page_id: str, key: str) -> Snapshot | None:
        documents = self._memory.get(page_id)
        return None if documents is None else documents.get(key)

    def drop_page(self, page_id: str) -> None:
        self._memory.pop(page_id, None)

    async def get(
        self, page_id: str, key: str, render: Render, content_type: str, *, daily: bool = False
    ) -> Snapshot | None:
        """The snapshot of the page's latest revision; None when the page does not exist."""
        latest = self.tracker.latest.get(page_id)
        if latest is None:
            latest = await self.tracker.fetch(page_id)
        if latest is None or latest < 0:
            return None
        now = time.time()
        held = self.latest_in_memory(page_id, key)
        if (
            held is not None
            and held.revision >= latest
            and (held.expires is None or now < held.expires)
        ):
            return held
        flight = (page_id, key, latest)
        task = self._flights.get(flight)
        if task is None:
            task = asyncio.create_task(
                self._load(page_id, key, latest, daily, render, content_type)
            )
            self._flights[flight] = task
            task.add_done_callback(lambda done: self._landed(flight, done))
        try:
            # Shielded: a client that goes away does not cancel the render the others wait for.
            return await asyncio.shield(task)
        except Exception:
            if held is not None:
                # stale-if-error: the database is away, the last snapshot is better than nothing.
                logger.warning(
                    "render of %s/%s failed; serving revision %s", page_id, key, held.revision
                )
                return held
            raise

    def _landed(self, flight: tuple[str, str, int], task: asyncio.Task[Snapshot | None]) -> None:
        self._flights.pop(flight, None)
        if not task.cancelled():
            task.exception()  # retrieved here, so that no waiter has to

    async def _load(
        self,
        page_id: str,
        key: str,
        revision: int,
        daily: bool,
        render: Render,
        content_type: str,
    ) -> Snapshot | None:
        snapshot = await self._from_redis(page_id, key, revision, content_type)
        if snapshot is None:
            snapshot = await self._render(page_id, key, daily, render, content_type)
            if snapshot is None:
                return None
        self._keep(snapshot)
        return snapshot

    def _keep(self, snapshot: Snapshot) -> None:
        documents = self._memory.setdefault(snapshot.page_id, {})
        held = documents.get(snapshot.key)
        if held is None or (held.revision, held.day or 0) <= (snapshot.revision, snapshot.day or 0):
            documents[snapshot.key] = snapshot
        self.tracker.observe(snapshot.page_id, snapshot.revision)

    async def _render(
        self, page_id: str, key: str, daily: bool, render: Render, content_type: str
    ) -> Snapshot | None:
        async with self._sessions() as session, session.begin():
            page = await session.get(Page, page_id)
            if page is None:
                self.tracker.gone(page_id)
                return None
            changed_at = await session.scalar(_CHANGED_AT, {"page_id": page_id}) or page.updated_at
            # Team-members-only wins over audience-specific: only the organization's keys read it.
            audience = not page.viewers_must_be_team_members and bool(
                await session.scalar(_AUDIENCE_SPECIFIC, {"page_id": page_id})
            )
            charts = daily and bool(await session.scalar(_SHOWS_METRICS, {"page_id": page_id}))
            context = RenderContext(
                session=session,
                page=page,
                revision=page.revision,
                now=datetime.now(UTC),
                base_url=page_url(
                    self.public_base_url,
                    self.public_base_domain,
                    page.id,
                    page.subdomain,
                    page.domain,
                ),
                zone=page_zone(page.time_zone),
                changed_at=changed_at,
            )
            body = await render(context)
            self.renders += 1
        day, expires = local_day(context.now, context.zone) if daily else (None, None)
        if expires is not None and charts:
            # Metric points do not bump the revision (ingestion would queue on the page row): the
            # page's charts are redrawn this often instead.
            expires = min(expires, context.now.timestamp() + self.chart_refresh_seconds)
        snapshot = build_snapshot(
            page_id=page_id,
            key=key,
            revision=context.revision,
            day=day,
            expires=expires,
            body=body,
            content_type=content_type,
            private=page.viewers_must_be_team_members or audience,
            organization_id=page.organization_id,
            last_modified=http_date(changed_at),
            cache_control=self.cache_control,
            audience=audience,
        )
        if body is not None:
            self._spawn(self._to_redis(snapshot, content_type))
        return snapshot

    # Redis: shared with the other processes; never required.

    def _redis_key(self, page_id: str, key: str, revision: int) -> str:
        return f"{REDIS_PREFIX}{page_id}:{revision}:{key}"

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    def _redis_failed(self, exc: Exception) -> None:
        if self._redis_usable():
            logger.warning(
                "snapshot cache in Redis unavailable (memory and database serve): %s", exc
            )
        self._redis_down_until = time.monotonic() + _REDIS_BACKOFF_SECONDS

    async def _from_redis(
        self, page_id: str, key: str, revision: int, content_type: str
    ) -> Snapshot | None:
        if not self._redis_usable():
            return None
        try:
            value = await self.redis.get(self._redis_key(page_id, key, revision))
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)
            return None
        if not value:
            return None
        header, _, body = bytes(value).partition(b"\n")
        meta = orjson.loads(header)
        expires = meta.get("expires")
        if expires is not None and expires <= time.time():
            return None  # a document showing days, rendered before the page's midnight
        return build_snapshot(
            page_id=page_id,
            key=key,
            revision=revision,
            day=meta.get("day"),
            expires=expires,
            body=body,
            content_type=content_type,
            private=bool(meta["private"]),
            organization_id=str(meta["organization_id"]),
            last_modified=str(meta["last_modified"]),
            cache_control=self.cache_control,
            audience=bool(meta.get("audience")),
        )

    async def _to_redis(self, snapshot: Snapshot, content_type: str) -> None:
        if not self._redis_usable() or snapshot.body is None:
            return
        header = orjson.dumps(
            {
                "private": snapshot.private,
                "audience": snapshot.audience,
                "day": snapshot.day,
                "expires": snapshot.expires,
                "organization_id": snapshot.organization_id,
                "last_modified": dict(snapshot.not_modified_headers)[b"last-modified"].decode(),
            }
        )
        key = self._redis_key(snapshot.page_id, snapshot.key, snapshot.revision)
        try:
            await self.redis.set(key, header + b"\n" + snapshot.body, ex=self.redis_ttl_seconds)
        except (RedisError, OSError) as exc:
            self._redis_failed(exc)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        pending = [*self._background, *self._flights.values()]
        if pending:
            await asyncio.wait(pending, timeout=5)
