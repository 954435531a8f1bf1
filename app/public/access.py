"""Who may read a page's public documents: anyone for a public page; for a page whose viewers must
be team members, only a caller with an API key of the page's organization (the Manage API's key
lookup and cache, without its rate limit: feeds are polled)."""

from __future__ import annotations

from starlette.requests import Request

from app.core.context import UnitOfWork
from app.core.deps import _principal, infra_of
from app.core.errors import Unauthorized
from app.core.security import extract_api_key
from app.public.snapshots import Snapshot

PRIVATE_PAGE = "This page is private: send Authorization: OAuth <api key> of its organization"


async def authorize(request: Request, snapshot: Snapshot) -> None:
    if not snapshot.private:
        return
    key = extract_api_key(request)
    if key is None:
        raise Unauthorized(PRIVATE_PAGE)
    work = UnitOfWork(read_only=True)
    request.state.work = work
    try:
        principal = await _principal(request, infra_of(request), key)
    finally:
        await work.close()
    if principal is None or principal.organization_id != snapshot.organization_id:
        raise Unauthorized(PRIVATE_PAGE)
