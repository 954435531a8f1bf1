"""The one module in app/ that imports arq: enqueueing jobs, and what the worker needs from arq."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from arq import cron as _cron
from arq.connections import ArqRedis, RedisSettings, create_pool

QUEUE_NAME = "arq:queue"


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    return settings


def cron(
    job: Callable[..., Coroutine[Any, Any, Any]],
    *,
    second: set[int] | int | None = None,
    minute: set[int] | int | None = None,
    run_at_startup: bool = True,
) -> Any:
    return _cron(job, second=second, minute=minute, run_at_startup=run_at_startup, unique=True)


class Queue:
    """Enqueue jobs by name with id-only arguments; the worker resolves them against the database."""

    def __init__(self, pool: ArqRedis):
        self._pool = pool

    @classmethod
    def from_url(cls, url: str) -> Queue:
        """Lazy: no connection is made until the first command, so a Redis outage at start-up
        does not keep the API from starting."""
        pool = ArqRedis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30
        )
        return cls(pool)

    @classmethod
    async def connect(cls, url: str) -> Queue:
        return cls(await create_pool(redis_settings(url)))

    @property
    def redis(self) -> ArqRedis:
        """The same connection pool, for rate limits, idempotency keys and pub/sub."""
        return self._pool

    async def enqueue(
        self, job: str, *args: Any, job_id: str | None = None, defer: timedelta | None = None
    ) -> bool:
        """False when a job with the same id is already queued (arq's de-duplication)."""
        result = await self._pool.enqueue_job(job, *args, _job_id=job_id, _defer_by=defer)
        return result is not None

    async def depth(self) -> int:
        return int(await self._pool.zcard(QUEUE_NAME))

    async def close(self) -> None:
        await self._pool.aclose()
