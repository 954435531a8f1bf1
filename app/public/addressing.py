"""Which page a request is for: by the path prefix `/p/{page_id}`, by Host (the page's `domain`,
or `<subdomain>.` + the public base domain), or, when the server holds exactly one page, at the
root. Host and root requests are rewritten to `/p/{page_id}/...`, so that every page-scoped route
is declared once, under `/p/{page_id}`."""

from __future__ import annotations

import time

from sqlalchemy import text
from starlette.types import Scope

from app.core.db import Database

PAGE_PREFIX = "/p/"
# The service's own paths: never a page's, whatever the Host.
NEVER_REWRITTEN = (
    "/v1",
    "/healthz",
    "/readyz",
    "/metrics",
    "/metrics-display",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/subscriptions",
    "/p",
)

_BY_HOST = text(
    """
    SELECT id FROM pages WHERE lower(domain) = :host OR subdomain = :subdomain
    ORDER BY lower(domain) = :host DESC NULLS LAST LIMIT 1
    """
)
_ANY_TWO = text("SELECT id FROM pages ORDER BY id LIMIT 2")


def is_service_path(path: str) -> bool:
    for prefix in NEVER_REWRITTEN:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return True
    return False


def host_of(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"host":
            return bytes(value)
    return b""


def _hostname(host: bytes) -> str:
    name = host.decode("latin-1").strip().lower()
    if name.startswith("["):  # an IPv6 literal
        return name.partition("]")[0] + "]"
    return name.rpartition(":")[0] if ":" in name else name


class PageAddressing:
    def __init__(self, db: Database, base_domain: str | None, ttl: float):
        self.db = db
        self.base_domain = base_domain.strip().lower().strip(".") if base_domain else None
        self.ttl = ttl
        # Host header -> (page id or None, expiry on the monotonic clock).
        self._hosts: dict[bytes, tuple[str | None, float]] = {}

    def cached(self, host: bytes) -> tuple[bool, str | None]:
        """(known, page id) from memory only."""
        entry = self._hosts.get(host)
        if entry is None or entry[1] < time.monotonic():
            return False, None
        return True, entry[0]

    def forget(self, page_id: str) -> None:
        """A page changed (its domain or subdomain may have): look its hosts up again."""
        for host, (cached_id, _) in list(self._hosts.items()):
            if cached_id == page_id or cached_id is None:
                self._hosts.pop(host, None)

    async def page_for_host(self, host: bytes) -> str | None:
        known, page_id = self.cached(host)
        if known:
            return page_id
        page_id = await self._resolve(_hostname(host))
        if len(self._hosts) > 10_000:
            self._hosts.clear()
        self._hosts[host] = (page_id, time.monotonic() + self.ttl)
        return page_id

    async def _resolve(self, hostname: str) -> str | None:
        subdomain = None
        if self.base_domain and hostname.endswith("." + self.base_domain):
            subdomain = hostname[: -len(self.base_domain) - 1]
        async with self.db.read_sessionmaker() as session:
            page_id = await session.scalar(_BY_HOST, {"host": hostname, "subdomain": subdomain})
            if page_id is not None:
                return str(page_id)
            if subdomain is not None:
                return None  # a page of the base domain that does not exist
            only = (await session.scalars(_ANY_TWO)).all()
        return str(only[0]) if len(only) == 1 else None

    async def rewrite(self, scope: Scope) -> Scope:
        """The scope with its path under `/p/{page_id}` when Host or root addressing names a page."""
        path: str = scope["path"]
        if is_service_path(path):
            return scope
        page_id = await self.page_for_host(host_of(scope))
        if page_id is None:
            return scope
        return page_scope(scope, page_id, path)


def page_scope(scope: Scope, page_id: str, path: str) -> Scope:
    rewritten = f"{PAGE_PREFIX}{page_id}{path}"
    return {**scope, "path": rewritten, "raw_path": rewritten.encode()}
