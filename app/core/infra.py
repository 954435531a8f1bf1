"""Per-process infrastructure, built once in the app's lifespan and closed on shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from app.core.config import Settings
from app.core.db import Database
from app.core.idempotency import IdempotencyStore
from app.core.keycache import PrincipalCache
from app.core.metrics import Metrics
from app.core.notifier import Notifier
from app.core.queue import Queue
from app.core.ratelimit import RateLimiter
from app.public.freshness import ReadPathNotifier
from app.public.readpath import PublicReadPath


@dataclass
class Infrastructure:
    settings: Settings
    db: Database
    queue: Queue
    rate_limiter: RateLimiter
    idempotency: IdempotencyStore
    metrics: Metrics
    principals: PrincipalCache
    notifier: Notifier
    # The public read path of an API process (workers have none).
    public: PublicReadPath | None = None

    @property
    def redis(self) -> Redis:
        return self.queue.redis

    @classmethod
    def build(
        cls, settings: Settings, database_url: str, redis_url: str, metrics: Metrics
    ) -> Infrastructure:
        """Nothing connects here: a server that is down at start-up shows in /readyz instead."""
        queue = Queue.from_url(redis_url)
        db = Database.connect(database_url, settings)
        public = PublicReadPath(settings, db, queue.redis)
        return cls(
            settings=settings,
            db=db,
            queue=queue,
            rate_limiter=RateLimiter(queue.redis, settings.rate_limit_per_minute),
            idempotency=IdempotencyStore(queue.redis, settings.idempotency_ttl_seconds),
            metrics=metrics,
            principals=PrincipalCache(settings.api_key_cache_seconds),
            notifier=ReadPathNotifier(queue, public.tracker),
            public=public,
        )

    def start(self) -> None:
        """Start the per-process background work (needs the running event loop)."""
        self.notifier.start()
        if self.public is not None:
            self.public.start()

    async def close(self) -> None:
        if self.public is not None:
            await self.public.close()
        await self.notifier.close()
        await self.queue.close()
        await self.db.close()
