"""The public documents' FastAPI routes, all under `/p/{page_id}` (Host and root requests are
rewritten there). They document what the fast path serves and answer what it does not: a cold or
stale snapshot (rendered here, once), a private page (after the key check), a HEAD before the
first GET, the live stream and the HTML pages."""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel
from starlette.responses import Response

from app.core.errors import NotFound
from app.core.infra import Infrastructure
from app.core.responses import error_responses
from app.core.routing import EXTENSION
from app.public import audience, documents, feeds, history
from app.public.access import authorize
from app.public.documents import Document
from app.public.readpath import PublicReadPath
from app.public.schemas import (
    PublicComponents,
    PublicIncidents,
    PublicScheduledMaintenances,
    PublicStatusDocument,
    PublicSummary,
)
from app.public.snapshots import Render, RenderContext, Snapshot

router = APIRouter(prefix="/p/{page_id}", tags=["public"])

PageId = Annotated[str, Path(description="Page identifier")]
ADDRESSING = (
    "\n\nThe `/p/{page_id}` prefix is our addressing (an extension); Statuspage's form works too: "
    "the page's own host (its `domain`, or `<subdomain>.` + STATUSPAGE_PUBLIC_BASE_DOMAIN) serves "
    "the same document at the path without the prefix, and so does the root when the server holds "
    "exactly one page. Served from a snapshot rendered once per page revision: `ETag` (the revision), "
    "`If-None-Match` answers 304, `Cache-Control`, `Last-Modified`; public pages send "
    "`Access-Control-Allow-Origin: *`; a private page (viewers must be team members) needs an API "
    "key of its organization (`Authorization: OAuth <key>` or `?api_key=`) and sends no CORS header."
)
# Statuspage's own document, at our `/p/{page_id}` address (the address is the extension).
ADDRESS_EXTENSION: dict[str, Any] = {"x-statuspage-address-extension": "/p/{page_id}"}
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match tag is the current revision's"}
}


def read_path_of(request: Request) -> PublicReadPath:
    infra: Infrastructure = request.app.state.infra
    assert infra.public is not None  # built with every API process's infrastructure
    return infra.public


def snapshot_response(snapshot: Snapshot, request: Request) -> Response:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and snapshot.matches(if_none_match.encode("latin-1")):
        response = Response(status_code=304)
        response.raw_headers = list(snapshot.not_modified_headers)
        return response
    response = Response(snapshot.body)
    response.raw_headers = list(snapshot.headers)
    return response


async def serve(request: Request, page_id: str, document: Document, render: Render) -> Response:
    read_path = read_path_of(request)
    snapshot = await read_path.store.get(
        page_id, document.key, render, document.content_type, daily=document.daily
    )
    if snapshot is None:
        raise NotFound("The requested resource could not be found.")
    if snapshot.audience:
        # An audience-specific page: the organization's keys read it all, a signed-in viewer
        # their audience's snapshot, anyone else nothing (app/public/audience.py).
        viewed = await audience.viewer_snapshot(request, read_path, snapshot, document, render)
        if isinstance(viewed, Response):
            return viewed
        snapshot = viewed
    else:
        await authorize(request, snapshot)
    if snapshot.body is None:
        raise NotFound("The requested resource could not be found.")
    read_path.tracker.recent.add(page_id)
    return snapshot_response(snapshot, request)


def _document_route(
    document: Document,
    render: Render,
    *,
    summary: str,
    description: str,
    operation_id: str,
    model: type[BaseModel] | None = None,
    media_type: str | None = None,
) -> None:
    async def endpoint(page_id: PageId, request: Request) -> Response:
        return await serve(request, page_id, document, render)

    responses: dict[int | str, dict[str, Any]] = {**NOT_MODIFIED, **error_responses(401, 404)}
    if media_type is not None:
        responses[200] = {"content": {media_type: {"schema": {"type": "string"}}}}
    router.add_api_route(
        document.path,
        endpoint,
        methods=["GET"],
        response_model=model,
        summary=summary,
        description=description + ADDRESSING,
        operation_id=operation_id,
        responses=responses,
        response_class=Response,
        openapi_extra=ADDRESS_EXTENSION,
    )
    router.add_api_route(document.path, endpoint, methods=["HEAD"], include_in_schema=False)


_FEEDS: tuple[tuple[Document, Render, type[BaseModel], str, str, str], ...] = (
    (
        documents.SUMMARY,
        feeds.render_summary,
        PublicSummary,
        "Get the page summary",
        "Statuspage's Status API v2 summary: the page, every component (group rows carry their "
        "members' ids; components shown only when degraded are left out while operational), "
        "unresolved incidents, upcoming and in-progress maintenances, and the status indicator.",
        "getPublicSummary",
    ),
    (
        documents.STATUS,
        feeds.render_status,
        PublicStatusDocument,
        "Get the page status",
        "The status indicator (none, minor, major, critical or maintenance) and its description.",
        "getPublicStatus",
    ),
    (
        documents.COMPONENTS,
        feeds.render_components,
        PublicComponents,
        "Get the components",
        "Every component and group row in display order.",
        "getPublicComponents",
    ),
    (
        documents.INCIDENTS,
        feeds.render_incidents,
        PublicIncidents,
        "Get the 50 most recent incidents",
        "Unresolved, resolved and postmortem incidents, newest first (at most 50).",
        "getPublicIncidents",
    ),
    (
        documents.UNRESOLVED,
        feeds.render_unresolved,
        PublicIncidents,
        "Get the unresolved incidents",
        "Incidents investigating, identified or monitoring, newest first.",
        "getPublicIncidentsUnresolved",
    ),
    (
        documents.MAINTENANCES,
        feeds.render_maintenances,
        PublicScheduledMaintenances,
        "Get the 50 most recent scheduled maintenances",
        "Maintenances in every state, the latest scheduled first (at most 50).",
        "getPublicScheduledMaintenances",
    ),
    (
        documents.UPCOMING,
        feeds.render_upcoming,
        PublicScheduledMaintenances,
        "Get the upcoming scheduled maintenances",
        "Maintenances still in the scheduled state.",
        "getPublicScheduledMaintenancesUpcoming",
    ),
    (
        documents.ACTIVE,
        feeds.render_active,
        PublicScheduledMaintenances,
        "Get the active scheduled maintenances",
        "Maintenances in progress or verifying.",
        "getPublicScheduledMaintenancesActive",
    ),
)

for _document, _render, _model, _summary, _description, _operation in _FEEDS:
    _document_route(
        _document,
        _render,
        model=_model,
        summary=_summary,
        description=_description,
        operation_id=_operation,
    )

_document_route(
    documents.HISTORY_RSS,
    history.render_rss,
    summary="Get the incident history as RSS",
    description="RSS 2.0: one item per incident or maintenance, newest first, each with the HTML "
    "of its updates. 404 when the page has RSS/Atom feeds turned off.",
    operation_id="getPublicHistoryRss",
    media_type="application/rss+xml",
)
_document_route(
    documents.HISTORY_ATOM,
    history.render_atom,
    summary="Get the incident history as Atom",
    description="Atom 1.0, the same entries as the RSS feed. 404 when the page has RSS/Atom "
    "feeds turned off.",
    operation_id="getPublicHistoryAtom",
    media_type="application/atom+xml",
)


# The live stream --------------------------------------------------------------------------------


@router.get(
    documents.STREAM_PATH,
    summary="Stream the page's changes (Server-Sent Events)",
    description="Extension: one `update` event per new page revision; `id:` is the revision, "
    "`data:` a JSON object `{page_id, revision, changes, summary}` where `changes` names what "
    "changed since the previous event (`status` and `page` booleans, and the ids of the "
    "`components`, `incidents` and `scheduled_maintenances` added, changed or removed) and "
    "`summary` is the new summary.json. The first event is the current state with "
    "`changes: null`; a client resuming with `Last-Event-ID` gets nothing until the next revision "
    "when it is current, the changes when it missed exactly one, else the current state at once "
    "(`changes: null`). A `: heartbeat` comment goes out at least every 15 s." + ADDRESSING,
    operation_id="getPublicStream",
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **error_responses(401, 404),
    },
    response_class=StreamingResponse,
    openapi_extra=EXTENSION,
)
async def stream(
    page_id: PageId,
    request: Request,
    last_event_id: Annotated[
        str | None, Header(description="The last revision the client saw (EventSource resume)")
    ] = None,
) -> Response:
    read_path = read_path_of(request)
    render = feeds.render_summary
    snapshot = await read_path.store.get(
        page_id, documents.SUMMARY.key, render, documents.SUMMARY.content_type
    )
    if snapshot is None or snapshot.body is None:
        raise NotFound("The requested resource could not be found.")
    await authorize(request, snapshot)
    read_path.hub.watch_server(getattr(request.app.state, "server_exiting", None))
    resume = int(last_event_id) if last_event_id and last_event_id.strip().isdigit() else None
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if not snapshot.private:
        headers["Access-Control-Allow-Origin"] = "*"
    return StreamingResponse(
        read_path.hub.events(page_id, render, resume),
        media_type="text/event-stream",
        headers=headers,
    )


# The HTML pages (templates: app/public/html/) -----------------------------------------------------


@lru_cache(maxsize=1)
def html_renderer() -> ModuleType | None:
    """app/public/html/render.py, when this build has it."""
    try:
        return importlib.import_module("app.public.html.render")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith("app.public.html"):
            return None
        raise


async def render_status_page(context: RenderContext) -> bytes | None:
    module = html_renderer()
    if module is None:
        return None
    extra = {} if context.visible is None else {"visible": context.visible}
    body: bytes = await module.render_status_page(
        context.session, context.page, base_url=context.base_url, now=context.now, **extra
    )
    return body


def incident_page_renderer(incident_id: str) -> Render:
    async def render(context: RenderContext) -> bytes | None:
        module = html_renderer()
        if module is None:
            return None
        extra = {} if context.visible is None else {"visible": context.visible}
        body: bytes | None = await module.render_incident_page(
            context.session,
            context.page,
            incident_id,
            base_url=context.base_url,
            now=context.now,
            **extra,
        )
        return body

    return render


HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}},
    **NOT_MODIFIED,
    **error_responses(401, 404),
}


@router.get(
    "/",
    summary="Get the status page (HTML)",
    description="The server-rendered status page; also at `/index.html`. Snapshots of it expire "
    "with the page revision and at midnight in the page's time zone (the uptime bars are by day)."
    + ADDRESSING,
    operation_id="getPublicStatusPage",
    responses=HTML_RESPONSES,
    response_class=Response,
    openapi_extra=ADDRESS_EXTENSION,
)
async def status_page(page_id: PageId, request: Request) -> Response:
    return await serve(request, page_id, documents.HTML_INDEX, render_status_page)


router.add_api_route("/index.html", status_page, methods=["GET", "HEAD"], include_in_schema=False)
router.add_api_route("/", status_page, methods=["HEAD"], include_in_schema=False)


@router.get(
    "/incidents/{incident_id}",
    summary="Get an incident's page (HTML)",
    description="The incident's own page: the target of its `shortlink`." + ADDRESSING,
    operation_id="getPublicIncidentPage",
    responses=HTML_RESPONSES,
    response_class=Response,
    openapi_extra=ADDRESS_EXTENSION,
)
async def incident_page(
    page_id: PageId,
    incident_id: Annotated[str, Path(description="Incident identifier")],
    request: Request,
) -> Response:
    document = documents.incident_page(incident_id)
    return await serve(request, page_id, document, incident_page_renderer(incident_id))


router.add_api_route(
    "/incidents/{incident_id}", incident_page, methods=["HEAD"], include_in_schema=False
)


# CORS preflight -------------------------------------------------------------------------------

_PREFLIGHT_HEADERS = re.compile(r"[A-Za-z0-9-]+(\s*,\s*[A-Za-z0-9-]+)*")


_PREFLIGHT_DESCRIPTION = (
    "Extension: a browser's preflight before a cross-origin GET with headers of its own "
    "(`If-None-Match`, `Last-Event-ID`, `Authorization`). A public page answers 204 with "
    "`Access-Control-Allow-Origin: *`, the methods (GET, HEAD), the headers asked for and "
    "`Access-Control-Max-Age`; a private or audience-specific page answers 204 without CORS "
    "headers, so that browsers refuse the cross-origin read." + ADDRESSING
)


async def preflight(page_id: PageId, request: Request) -> Response:
    read_path = read_path_of(request)
    summary = documents.SUMMARY
    snapshot = await read_path.store.get(
        page_id, summary.key, feeds.render_summary, summary.content_type
    )
    if snapshot is None:
        raise NotFound("The requested resource could not be found.")
    headers = {"Allow": "GET, HEAD, OPTIONS"}
    if not snapshot.private:
        asked = request.headers.get("access-control-request-headers", "").strip()
        allowed = asked if _PREFLIGHT_HEADERS.fullmatch(asked) else "If-None-Match, Last-Event-ID"
        headers.update(
            {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, HEAD",
                "Access-Control-Allow-Headers": allowed,
                "Access-Control-Max-Age": "86400",
            }
        )
    return Response(status_code=204, headers=headers)


async def incident_preflight(page_id: PageId, incident_id: str, request: Request) -> Response:
    return await preflight(page_id, request)


def _preflight_route(path: str, name: str, endpoint: Callable[..., Awaitable[Response]]) -> None:
    words = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", path) if part)
    router.add_api_route(
        path,
        endpoint,
        methods=["OPTIONS"],
        status_code=204,
        summary=f"CORS preflight for {name} (extension)",
        description=_PREFLIGHT_DESCRIPTION,
        operation_id="optionsPublic" + (words or "StatusPage"),
        responses=error_responses(404),
        response_class=Response,
        openapi_extra=EXTENSION,
    )


# One per document (a catch-all would turn other methods' 404s on unknown paths into 405s).
for _document in documents.BY_PATH.values():
    _name = "the status page" if _document.key == "html:index" else _document.key
    _preflight_route(_document.path, _name, preflight)
_preflight_route(
    documents.INCIDENT_PAGE_PREFIX + "{incident_id}", "an incident page", incident_preflight
)
_preflight_route(documents.STREAM_PATH, "the live stream", preflight)


async def _to_index(page_id: PageId, request: Request) -> Response:
    return RedirectResponse(f"{request.url.path}/", status_code=308)


# `/p/{page_id}` itself: on to the page (relative links need the slash).
bare_router = APIRouter()
bare_router.add_api_route(
    "/p/{page_id}", _to_index, methods=["GET", "HEAD"], include_in_schema=False
)
