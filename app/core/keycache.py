"""A short-lived, bounded, per-process cache of API key lookups (hash -> principal).

It saves a query on nearly every request. An entry lives at most `ttl` seconds, so a revoked key
stops working everywhere within that time."""

from __future__ import annotations

import time

from app.core.security import Principal


class PrincipalCache:
    def __init__(self, ttl: float = 5.0, max_entries: int = 10_000):
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal = entry
        if expires < time.monotonic():
            del self._entries[key_hash]
            return None
        return principal

    def put(self, key_hash: str, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()
