"""The sign-in routes of an audience-specific page's viewers (extensions; Statuspage signs its
audience-specific viewers in through an identity provider): a form, the request for a one-time
link by email, the link itself (which sets the session cookie) and sign-out. Page-scoped under
/p/{page_id} (Host-addressed requests are rewritten there)."""

from __future__ import annotations

import html
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.audiences import signin
from app.core.deps import infra_of, session_of, work_of
from app.core.errors import NotFound, RateLimited
from app.core.infra import Infrastructure
from app.core.responses import error_responses
from app.core.routing import EXTENSION
from app.core.timefmt import utcnow
from app.models import Page
from app.notifications.fanout import PAGE_ACCESS_SIGNIN
from app.notifications.outbox import emit
from app.subscribers.public import PRIVATE_HEADERS, PublicRoute, html_page, wants_html

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/p/{page_id}/auth", route_class=PublicRoute, tags=["public"])

PageId = Annotated[str, Path(description="Page identifier")]
RATE_WINDOW_SECONDS = 3600
SENT = (
    "If this address may view the page, a sign-in link is on its way to it. "
    "The link works once and expires soon."
)
HTML_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


class SignInRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320, description="The viewer's email address")


class SignInAccepted(BaseModel):
    message: str


async def _audience_page(request: Request, page_id: str) -> Page:
    """The page, if it is audience-specific (no sign-in on any other)."""
    session = session_of(request)
    page = await session.get(Page, page_id)
    if (
        page is None
        or page.viewers_must_be_team_members
        or not await signin.is_audience_specific(session, page_id)
    ):
        raise NotFound("The requested resource could not be found.")
    return page


async def _count_attempt(infra: Infrastructure, request: Request) -> None:
    """At most N sign-in requests per client address and hour (fails open)."""
    limit = infra.settings.viewer_signin_per_ip_per_hour
    if limit <= 0:
        return
    address = request.client.host if request.client else "unknown"
    key = f"public-signin:{address}"
    try:
        count = int(await infra.redis.incr(key))
        if count == 1:
            await infra.redis.expire(key, RATE_WINDOW_SECONDS)
        ttl = int(await infra.redis.ttl(key))
    except (RedisError, OSError) as exc:
        logger.warning("sign-in rate limit unavailable: %s", exc)
        return
    if count > limit:
        raise RateLimited(429, max(ttl, 1), {})


def _form(base: str) -> str:
    return (
        f'<form method="post" action="{html.escape(base)}/auth/signin">'
        '<p><label for="email">Email</label><br>'
        '<input id="email" type="email" name="email" required autocomplete="email" '
        'placeholder="you@example.com"></p><button type="submit">Email me a sign-in link</button>'
        "</form>"
    )


@router.get(
    "/signin",
    summary="Show the sign-in form of an audience-specific page",
    description="Extension: the form where a viewer of an audience-specific page asks for a "
    "one-time sign-in link by email. 404 for other pages.",
    operation_id="getPublicSignIn",
    response_class=HTMLResponse,
    responses={**HTML_ANSWER, **error_responses(404)},
    openapi_extra=EXTENSION,
)
async def signin_form(page_id: PageId, request: Request) -> Response:
    page = await _audience_page(request, page_id)
    base = signin.base_url_of(infra_of(request).settings, page)
    return html_page(
        f"Sign in to {page.name}",
        "This page shows each viewer what they were given access to. Enter your email address "
        "to receive a sign-in link.",
        form=_form(base),
    )


@router.post(
    "/signin",
    response_model=SignInAccepted,
    status_code=202,
    summary="Request a sign-in link",
    description="Extension: JSON or form `email`. When the address is a page access user of the "
    "page, a one-time link (`<page>/auth/callback/<token>`, valid 15 minutes by default, "
    "STATUSPAGE_VIEWER_SIGNIN_TOKEN_SECONDS) is emailed to it through the worker. The answer is "
    "the same whether or not it is (202, or for a browser a small HTML page). 404 when the page "
    "is not audience-specific.",
    operation_id="postPublicSignIn",
    responses={**HTML_ANSWER, **error_responses(404, 422, 429)},
    openapi_extra=EXTENSION,
)
async def request_signin(body: SignInRequest, page_id: PageId, request: Request) -> Response:
    infra = infra_of(request)
    page = await _audience_page(request, page_id)
    await _count_attempt(infra, request)
    session = session_of(request)
    user_id = await signin.viewer_by_email(session, page.id, body.email)
    if user_id is not None:
        await emit(
            session,
            work_of(request),
            infra.notifier,
            kind=PAGE_ACCESS_SIGNIN,
            payload={
                "page_access_user_id": user_id,
                "page_id": page.id,
                "request_id": secrets.token_hex(8),
            },
            page_id=page.id,
        )
    if wants_html(request):
        return html_page("Check your email", SENT, status_code=200)
    return JSONResponse({"message": SENT}, status_code=202, headers=PRIVATE_HEADERS)


@router.get(
    "/callback/{token}",
    summary="Follow a sign-in link",
    description="Extension: the link of the sign-in email. Works once, before it expires: sets "
    "the viewer's session cookie (HttpOnly, SameSite=Lax, Secure on an https page) and redirects "
    "(303) to the page. A used, expired or unknown link answers 410.",
    operation_id="getPublicSignInCallback",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Signed in: on to the page"},
        410: {
            "description": "The link was used, has expired or never existed",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **error_responses(404),
    },
    openapi_extra=EXTENSION,
)
async def callback(
    page_id: PageId,
    token: Annotated[str, Path(max_length=128, description="The link's one-time token")],
    request: Request,
) -> Response:
    infra = infra_of(request)
    settings = infra.settings
    page = await _audience_page(request, page_id)
    base = signin.base_url_of(settings, page)
    user_id = await signin.redeem_token(infra.redis, token, page_id=page.id, now=utcnow())
    if user_id is None or not await signin.viewer_exists(session_of(request), page.id, user_id):
        return html_page(
            "This sign-in link no longer works",
            "It was used already or has expired. Ask for a new one.",
            status_code=410,
            form=f'<p><a href="{html.escape(base)}/auth/signin">Sign in</a></p>',
        )
    session_id = await signin.open_session(
        infra.redis,
        page_id=page.id,
        page_access_user_id=user_id,
        ttl_seconds=settings.viewer_session_seconds,
    )
    response = RedirectResponse(f"{base}/", status_code=303, headers=PRIVATE_HEADERS)
    response.set_cookie(
        signin.cookie_name(page.id),
        session_id,
        max_age=settings.viewer_session_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=base.startswith("https://"),
    )
    return response


@router.post(
    "/signout",
    summary="Sign out",
    description="Extension: ends the viewer's session and clears its cookie; redirects (303) to "
    "the sign-in form.",
    operation_id="postPublicSignOut",
    status_code=303,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed out: on to the sign-in form"}, **error_responses(404)},
    openapi_extra=EXTENSION,
)
async def signout(page_id: PageId, request: Request) -> Response:
    infra = infra_of(request)
    page = await _audience_page(request, page_id)
    name = signin.cookie_name(page.id)
    session_id = request.cookies.get(name)
    if session_id:
        await signin.close_session(infra.redis, session_id)
    base = signin.base_url_of(infra.settings, page)
    response = RedirectResponse(f"{base}/auth/signin", status_code=303, headers=PRIVATE_HEADERS)
    response.delete_cookie(name, path="/", httponly=True, samesite="lax")
    return response
