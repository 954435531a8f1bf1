"""Unauthenticated self-service: the status page's subscribe form (Statuspage's legacy
`POST /api/v2/subscribers.json`) and the links in messages (confirm, one-click unsubscribe).

Page-scoped routes live under /p/{page_id}: the public read path maps Host-addressed requests onto
that prefix. The token routes answer both at the root and under /p/{page_id}. Browsers (Accept:
text/html) get small HTML pages, errors included; other clients get JSON in our error shape.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Coroutine
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.core.context import Writer
from app.core.deps import infra_of, session_of, work_of
from app.core.errors import (
    STANDARD_MESSAGES,
    APIError,
    NotFound,
    RateLimited,
    Unprocessable,
    describe_validation_errors,
)
from app.core.infra import Infrastructure
from app.core.responses import error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute
from app.models import Page, Subscriber
from app.subscribers import service
from app.subscribers.schemas import PublicSubscriberRequest, PublicSubscriberResponse

logger = logging.getLogger(__name__)

PUBLIC: list[str | Enum] = ["public"]
RATE_WINDOW_SECONDS = 3600
# Tokens are in these URLs: keep them out of caches and Referer headers.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def html_page(title: str, message: str, *, status_code: int = 200, form: str = "") -> HTMLResponse:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;"
        "max-width:32rem;margin:4rem auto;padding:0 1rem;color:#333}button{font-size:1rem;"
        "padding:.5rem 1rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, status_code=status_code, headers=PRIVATE_HEADERS)


class PublicRoute(ApiRoute):
    """ApiRoute (form bodies, one transaction) whose errors a browser sees as an HTML page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (APIError, RequestValidationError) as exc:
                if not wants_html(request):
                    raise
                headers: dict[str, str] = {}
                if isinstance(exc, APIError):
                    status, message, headers = exc.status_code, exc.message, exc.headers
                else:
                    status, message = 422, describe_validation_errors(list(exc.errors()))
                page = html_page(
                    STANDARD_MESSAGES.get(status, "Error"), message, status_code=status
                )
                page.headers.update(headers)
                return page

        return route_handler


router = APIRouter(route_class=PublicRoute, tags=PUBLIC)


async def _count_attempt(infra: Infrastructure, request: Request) -> None:
    """At most N self-service subscriptions per client address and hour (fails open)."""
    limit = infra.settings.public_subscribe_per_ip_per_hour
    if limit <= 0:
        return
    address = request.client.host if request.client else "unknown"
    key = f"public-subscribe:{address}"
    try:
        count = int(await infra.redis.incr(key))
        if count == 1:
            await infra.redis.expire(key, RATE_WINDOW_SECONDS)
        ttl = int(await infra.redis.ttl(key))
    except (RedisError, OSError) as exc:
        logger.warning("subscription rate limit unavailable: %s", exc)
        return
    if count > limit:
        raise RateLimited(429, max(ttl, 1), {})


@router.post(
    "/p/{page_id}/api/v2/subscribers.json",
    response_model=PublicSubscriberResponse,
    status_code=201,
    summary="Subscribe to a page (public)",
    description="Statuspage's legacy public endpoint, as the status page's subscribe form posts "
    "it: `subscriber[email]` (email), `subscriber[email]` + `subscriber[endpoint]` (webhook), "
    "`subscriber[phone_number]` + `subscriber[phone_country]` (SMS, default US); optional "
    "`subscriber[component_ids][]` and `subscriber[incident]`. Email and SMS subscribers stay "
    "unconfirmed until they follow the link sent to them. A browser (Accept: text/html) is "
    "redirected (303) to the status page with `?subscribed=1`.",
    operation_id="postPublicSubscribers",
    responses=error_responses(404, 422, 429),
)
async def subscribe(
    body: PublicSubscriberRequest,
    page_id: Annotated[str, Path(description="Page identifier")],
    request: Request,
) -> Response:
    infra = infra_of(request)
    await _count_attempt(infra, request)
    session = session_of(request)
    page = await service.public_page(session, page_id)
    fields = body.subscriber
    incident = None
    if fields.incident is not None:
        try:
            incident = await service.subscribable_incident(session, page, fields.incident)
        except NotFound as exc:
            raise Unprocessable("subscriber.incident: not an incident of this page") from exc
    contact = service.infer_contact(
        mode=None,
        email=fields.email,
        endpoint=fields.endpoint,
        phone_number=fields.phone_number,
        phone_country=fields.phone_country,
    )
    writer = Writer(session, work_of(request), infra, actor="public")
    result = await service.create_subscriber(
        writer,
        page,
        contact,
        component_ids=fields.component_ids,
        incident=incident,
        self_serve=True,
    )
    if wants_html(request):
        return RedirectResponse(f"/p/{page.id}/?subscribed=1", status_code=303)
    view = PublicSubscriberResponse(subscriber=service.view(result.subscriber))
    return json_response(view, status_code=201)


async def _page_name(request: Request, row: Subscriber) -> str:
    page = await session_of(request).get(Page, row.page_id)
    return page.name if page is not None else "this status page"


async def _confirm(request: Request, token: str) -> Response:
    # Its own transaction: a GET route's unit of work is read-only, and a link is followed by GET.
    async with infra_of(request).db.sessionmaker() as session, session.begin():
        row = await service.by_token(
            session, token, purpose="confirm", page_id=request.path_params.get("page_id")
        )
        service.confirm(row)
        page = await session.get(Page, row.page_id)
    name = page.name if page is not None else "this status page"
    if row.state == "active":
        return html_page("Subscription confirmed", f"You will receive updates from {name}.")
    return html_page("Subscription not active", f"This subscription to {name} is {row.state}.")


async def _unsubscribe_form(request: Request, token: str) -> Response:
    row = await service.by_token(
        session_of(request),
        token,
        purpose="unsubscribe",
        page_id=request.path_params.get("page_id"),
    )
    name = await _page_name(request, row)
    if row.state == "unsubscribed":
        return html_page("Unsubscribed", f"You no longer receive updates from {name}.")
    form = "<form method=post><button type=submit name=confirm value=1>Unsubscribe</button></form>"
    return html_page("Unsubscribe", f"Stop receiving updates from {name}?", form=form)


async def _unsubscribe(request: Request, token: str) -> Response:
    session = session_of(request)
    row = await service.by_token(
        session, token, purpose="unsubscribe", page_id=request.path_params.get("page_id")
    )
    # RFC 8058: a mail client's one-click POST (List-Unsubscribe=One-Click, turned into JSON by
    # the route class) expects no further mail.
    one_click = b"One-Click" in await request.body()
    writer = Writer(session, work_of(request), infra_of(request), actor="public")
    await service.unsubscribe(writer, row, notify=not one_click)
    name = await _page_name(request, row)
    return html_page("Unsubscribed", f"You no longer receive updates from {name}.")


_TOKEN_ROUTES: list[tuple[str, str, Callable[..., Coroutine[Any, Any, Response]], str, str]] = [
    ("GET", "confirm", _confirm, "Confirm a subscription", "getSubscriptionConfirm"),
    ("POST", "confirm", _confirm, "Confirm a subscription", "postSubscriptionConfirm"),
    (
        "GET",
        "unsubscribe",
        _unsubscribe_form,
        "Show the unsubscribe page",
        "getSubscriptionUnsubscribe",
    ),
    (
        "POST",
        "unsubscribe",
        _unsubscribe,
        "Unsubscribe (one click, RFC 8058)",
        "postSubscriptionUnsubscribe",
    ),
]
_DESCRIPTIONS = {
    "confirm": "Extension: the link of the confirmation message; activates an unconfirmed "
    "subscriber (idempotent) and answers a small HTML page.",
    "unsubscribe": "Extension: the unsubscribe link of every message. GET shows a page with one "
    "button; POST unsubscribes at once, with no cookie or login (RFC 8058 one-click: body "
    "`List-Unsubscribe=One-Click`, after which no goodbye message is sent).",
}


# A browser gets a small HTML page for an unknown token, any other client our JSON error body.
_TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No subscriber has this token",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


def _token_route(method: str, action: str, endpoint: Any, summary: str, op: str) -> None:
    async def handler(
        request: Request, token: Annotated[str, Path(max_length=128, description="Token")]
    ) -> Response:
        response: Response = await endpoint(request, token)
        return response

    for prefix, in_schema in (("", True), ("/p/{page_id}", False)):
        router.add_api_route(
            f"{prefix}/subscriptions/{action}/{{token}}",
            handler,
            methods=[method],
            response_class=HTMLResponse,
            summary=summary,
            description=_DESCRIPTIONS[action],
            operation_id=op if in_schema else f"{op}OfPage",
            include_in_schema=in_schema,
            responses=_TOKEN_ERRORS,
            openapi_extra=EXTENSION,
        )


for _route in _TOKEN_ROUTES:
    _token_route(*_route)
