"""Per-key sliding-window rate limit kept in Redis, so every API process shares one budget."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000

# A sorted set of request times per key; Redis's own clock, so processes need not agree on time.
_SLIDING_WINDOW = """
pcall(redis.replicate_commands)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local oldest_ms = now
if oldest[2] then oldest_ms = tonumber(oldest[2]) end
return {allowed, count, now, oldest_ms + window}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_epoch),
        }


class RateLimiter:
    def __init__(self, redis: Redis, limit_per_minute: int):
        self.redis = redis
        self.limit = limit_per_minute
        self._script = redis.register_script(_SLIDING_WINDOW)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    async def hit(self, api_key_id: str) -> RateDecision | None:
        """Count one request; None when the limiter is off or Redis cannot answer (fail open)."""
        if not self.enabled:
            return None
        try:
            allowed, count, now_ms, reset_ms = await self._script(
                keys=[f"ratelimit:{api_key_id}"],
                args=[WINDOW_MS, self.limit, secrets.token_hex(4)],
            )
        except (RedisError, OSError) as exc:
            logger.warning("rate limiter unavailable, letting the request through: %s", exc)
            return None
        retry_after = max(1, math.ceil((int(reset_ms) - int(now_ms)) / 1000))
        return RateDecision(
            allowed=bool(allowed),
            limit=self.limit,
            remaining=max(0, self.limit - int(count)),
            reset_epoch=math.ceil(int(reset_ms) / 1000),
            retry_after=retry_after,
        )
