"""`Idempotency-Key` (extension): a retried write returns the stored response and writes nothing.

The key is scoped to the API key. A first request claims it with SET NX; a concurrent duplicate gets
409 while the first is in flight; the same key with another body or path is a 422. Stored answers
live in Redis for STATUSPAGE_IDEMPOTENCY_TTL_SECONDS (24 h by default).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import Response

from app.core.errors import Conflict, Unprocessable

logger = logging.getLogger(__name__)

HEADER = "idempotency-key"
_IN_FLIGHT_SECONDS = 60
_MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(slots=True)
class Claim:
    redis_key: str
    fingerprint: str


class IdempotencyStore:
    def __init__(self, redis: Redis, ttl_seconds: int):
        self.redis = redis
        self.ttl = ttl_seconds

    async def claim(self, api_key_id: str, key: str, print_: str) -> Claim | Response | None:
        """A Claim to go ahead, a stored Response to replay, or None when Redis is unavailable."""
        if not key or len(key) > _MAX_KEY_LENGTH:
            raise Unprocessable(f"Idempotency-Key must be 1 to {_MAX_KEY_LENGTH} characters")
        redis_key = f"idempotency:{api_key_id}:{key}"
        marker = orjson.dumps({"fingerprint": print_, "state": "in_flight"})
        try:
            if await self.redis.set(redis_key, marker, nx=True, ex=_IN_FLIGHT_SECONDS):
                return Claim(redis_key, print_)
            stored = await self.redis.get(redis_key)
        except (RedisError, OSError) as exc:
            logger.warning("idempotency store unavailable: %s", exc)
            return None
        if stored is None:  # expired between the two calls: treat as new
            return await self.claim(api_key_id, key, print_)
        record = orjson.loads(stored)
        if record["fingerprint"] != print_:
            raise Unprocessable(
                "Idempotency-Key was already used with a different request body or path"
            )
        if record["state"] == "in_flight":
            raise Conflict("A request with this Idempotency-Key is still in progress")
        return Response(
            base64.b64decode(record["body"]),
            status_code=record["status"],
            media_type=record.get("media_type"),
            headers={"Idempotent-Replayed": "true"},
        )

    async def complete(self, claim: Claim, response: Response) -> None:
        record = {
            "fingerprint": claim.fingerprint,
            "state": "done",
            "status": response.status_code,
            "media_type": response.media_type,
            "body": base64.b64encode(bytes(response.body)).decode(),
        }
        try:
            await self.redis.set(claim.redis_key, orjson.dumps(record), ex=self.ttl)
        except (RedisError, OSError) as exc:
            logger.warning("could not store idempotent response: %s", exc)

    async def release(self, claim: Claim) -> None:
        try:
            await self.redis.delete(claim.redis_key)
        except (RedisError, OSError) as exc:
            logger.warning("could not release idempotency key: %s", exc)
