"""The read path of an audience-specific page (one with page access users or groups).

Its full snapshots are `private` (no fast path, no CORS, `private, no-cache`): an API key of the
organization reads them as they are. A viewer signed in by email link (app/audiences/signin.py)
gets the snapshot of their audience: the document rendered with only the components and metrics
they may see, keyed by the digest of those sets, so viewers with the same grants share one snapshot
per revision. Anyone else gets 401, or, for an HTML page, a redirect to the sign-in form.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from redis.exceptions import RedisError
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.audiences import signin
from app.audiences.service import visible_component_ids, visible_metric_ids
from app.core.deps import infra_of
from app.core.errors import NotFound, Unauthorized
from app.core.infra import Infrastructure
from app.core.security import extract_api_key
from app.models import Page
from app.public.access import authorize
from app.public.documents import HTML, Document
from app.public.format import page_url
from app.public.readpath import PublicReadPath
from app.public.snapshots import Render, RenderContext, Snapshot, Visibility

logger = logging.getLogger(__name__)

AUDIENCE_PAGE = (
    "This page is for its signed-in viewers: sign in at <page>/auth/signin, or send "
    "Authorization: OAuth <api key> of its organization"
)
_CACHE_LIMIT = 10_000
# (page id, page access user id) -> (page revision, what they see; None: no longer a viewer).
_audiences: dict[tuple[str, str], tuple[int, Visibility | None]] = {}


def seeing(render: Render, visible: Visibility) -> Render:
    """`render` for one audience."""

    async def render_for_audience(context: RenderContext) -> bytes | None:
        return await render(replace(context, visible=visible))

    return render_for_audience


async def audience_of(
    infra: Infrastructure, page_id: str, user_id: str, revision: int
) -> Visibility | None:
    """What a page access user sees, computed once per page revision (grants bump it)."""
    known = _audiences.get((page_id, user_id))
    if known is not None and known[0] == revision:
        return known[1]
    async with infra.db.read_sessionmaker() as session:
        visibility = None
        if await signin.viewer_exists(session, page_id, user_id):
            components = await visible_component_ids(
                session, page_id, page_access_user_id=user_id, group_ids=()
            )
            metrics = await visible_metric_ids(
                session, page_id, page_access_user_id=user_id, group_ids=()
            )
            if components is not None and metrics is not None:
                visibility = Visibility(frozenset(components), frozenset(metrics))
    if len(_audiences) > _CACHE_LIMIT:
        _audiences.clear()
    _audiences[(page_id, user_id)] = (revision, visibility)
    return visibility


async def signed_in_viewer(request: Request, infra: Infrastructure, page_id: str) -> str | None:
    session_id = request.cookies.get(signin.cookie_name(page_id))
    if not session_id:
        return None
    try:
        return await signin.session_viewer(infra.redis, session_id, page_id)
    except (RedisError, OSError) as exc:
        logger.warning("viewer sessions unavailable: %s", exc)
        return None


async def signin_redirect(infra: Infrastructure, page_id: str) -> Response:
    async with infra.db.read_sessionmaker() as session:
        row = (
            await session.execute(select(Page.subdomain, Page.domain).where(Page.id == page_id))
        ).one_or_none()
    if row is None:
        raise NotFound("The requested resource could not be found.")
    settings = infra.settings
    base = page_url(
        settings.public_base_url, settings.public_base_domain, page_id, row.subdomain, row.domain
    )
    return RedirectResponse(
        f"{base}/auth/signin", status_code=303, headers={"Cache-Control": "no-store"}
    )


async def viewer_snapshot(
    request: Request,
    read_path: PublicReadPath,
    snapshot: Snapshot,
    document: Document,
    render: Render,
) -> Snapshot | Response:
    """The snapshot this caller may read of an audience-specific page's `snapshot` (its full
    rendering at the latest revision), or the redirect to the sign-in form."""
    if extract_api_key(request) is not None:
        await authorize(request, snapshot)  # the organization's keys see everything
        return snapshot
    infra = infra_of(request)
    page_id = snapshot.page_id
    user_id = await signed_in_viewer(request, infra, page_id)
    visibility = None
    if user_id is not None:
        visibility = await audience_of(infra, page_id, user_id, snapshot.revision)
    if visibility is None:
        if document.content_type == HTML:
            return await signin_redirect(infra, page_id)
        raise Unauthorized(AUDIENCE_PAGE)
    viewed = await read_path.store.get(
        page_id,
        visibility.audience_key(document.key),
        seeing(render, visibility),
        document.content_type,
        daily=document.daily,
    )
    if viewed is None:
        raise NotFound("The requested resource could not be found.")
    return viewed
