"""An arq worker that outlives a Redis outage.

arq's poll loop lets any Redis error escape, which ends `statuspage worker`: after Redis stopped for
a while, no worker was left to relay the outbox once it came back (found by
bench/drill_redis_down.py). Nothing the worker holds depends on Redis staying up: deliveries are
leased in PostgreSQL, and the outbox and delivery sweeps find whatever a lost job would have done.
So a poll iteration that fails on Redis is logged, waited out and tried again.
"""

from __future__ import annotations

import asyncio
import logging

from arq.worker import Worker
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class RedisTolerantWorker(Worker):
    """arq's Worker, whose poll loop waits out Redis errors instead of exiting."""

    redis_retry_seconds = 1.0

    _redis_down = False

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as exc:
            if not self._redis_down:
                logger.warning("redis unavailable; the worker waits for it: %s", exc)
            self._redis_down = True
            await asyncio.sleep(self.redis_retry_seconds)
            return
        if self._redis_down:
            self._redis_down = False
            logger.warning("redis available again; the worker resumes")
