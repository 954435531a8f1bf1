"""The status embed: `GET /embed/script.js?page={page_id}` (and `/p/{page_id}/embed/script.js`, so
the page's own host serves it at `/embed/script.js`). A small script, per page, that any site can
include: it reads the page's public summary.json (CORS is open on public pages) and, while
incidents are unresolved or maintenances in progress, shows a small fixed box with the newest one's
name, latest update and a link to its page; nothing when all is well. Its corner and colours (the
status embed config) are written into the script, which is a snapshot of the page's revision like
the feeds (a config change bumps the revision), cached a minute by browsers, with its ETag."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from app.core.errors import NotFound
from app.core.responses import error_responses
from app.core.routing import EXTENSION
from app.embed.service import get_config
from app.models.embed import EMBED_DEFAULTS, EMBED_POSITIONS
from app.public.router import read_path_of, snapshot_response
from app.public.snapshots import RenderContext

SCRIPT_KEY = "embed:script.js"
JAVASCRIPT = "text/javascript; charset=utf-8"
CACHE_CONTROL = b"public, max-age=60, stale-while-revalidate=300"
REFRESH_SECONDS = 60
_TEMPLATE = (Path(__file__).resolve().parent / "static" / "embed.js").read_text()
_PLACEHOLDER = "__STATUSPAGE_EMBED_CONFIG__"
_HEX = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}")


def _color(value: object, name: str) -> str:
    """A stored value that is not a hex colour falls back to the default."""
    return value if isinstance(value, str) and _HEX.fullmatch(value) else EMBED_DEFAULTS[name]


async def render_script(context: RenderContext) -> bytes:
    config = await get_config(context.session, context.page)
    settings = {
        "page_id": context.page.id,
        "page_name": context.page.name,
        "page_url": context.base_url,
        "summary_url": f"{context.base_url}/api/v2/summary.json",
        "position": config.position if config.position in EMBED_POSITIONS else "bottom-left",
        "refresh_seconds": REFRESH_SECONDS,
        "colors": {
            "incident": {
                "background": _color(config.incident_background_color, "incident_background_color"),
                "text": _color(config.incident_text_color, "incident_text_color"),
            },
            "maintenance": {
                "background": _color(
                    config.maintenance_background_color, "maintenance_background_color"
                ),
                "text": _color(config.maintenance_text_color, "maintenance_text_color"),
            },
        },
    }
    # JSON is JavaScript; `<` escaped anyway, so that no value can close a <script> it is pasted in.
    literal = orjson.dumps(settings).decode().replace("<", "\\u003c")
    return _TEMPLATE.replace(_PLACEHOLDER, literal).encode()


router = APIRouter(tags=["public"])

DESCRIPTION = (
    "Extension: the classic status embed. Include it on any site with "
    '`<script src="<service>/embed/script.js?page=<page id>"></script>`: it fetches the page\'s '
    "summary.json and, while incidents are unresolved or maintenances in progress, shows a small "
    "fixed box (corner and colours from the page's status embed config) with the newest one's "
    "name, latest update and a link to it. Per page and per revision (`ETag`), "
    "`Cache-Control: public, max-age=60`, `Access-Control-Allow-Origin: *`. 404 for a page that "
    "is not public (private or audience-specific: its summary is not readable by other sites). "
    "Also at `/p/{page_id}/embed/script.js` and, on the page's own host, `/embed/script.js`."
)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/javascript": {"schema": {"type": "string"}}}},
    304: {"description": "Not modified"},
    **error_responses(404),
}


async def _serve(request: Request, page_id: str) -> Response:
    read_path = read_path_of(request)
    snapshot = await read_path.store.get(page_id, SCRIPT_KEY, render_script, JAVASCRIPT)
    if snapshot is None or snapshot.private or snapshot.body is None:
        raise NotFound("The requested resource could not be found.")
    response = snapshot_response(snapshot, request)
    response.raw_headers = [
        (name, CACHE_CONTROL if name == b"cache-control" else value)
        for name, value in response.raw_headers
    ]
    return response


PageQuery = Annotated[str, Query(max_length=64, description="Page identifier")]


@router.get(
    "/embed/script.js",
    summary="Get the status embed script",
    description=DESCRIPTION,
    operation_id="getStatusEmbedScript",
    response_class=Response,
    responses=RESPONSES,
    openapi_extra=EXTENSION,
)
async def embed_script(request: Request, page: PageQuery) -> Response:
    return await _serve(request, page)


async def page_embed_script(
    request: Request,
    page_id: Annotated[str, PathParam(description="Page identifier")],
    page: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    # On a page's own host `/embed/script.js` arrives here; an explicit `?page=` still wins.
    return await _serve(request, page or page_id)


router.add_api_route(
    "/p/{page_id}/embed/script.js",
    page_embed_script,
    methods=["GET", "HEAD"],
    include_in_schema=False,
)
router.add_api_route("/embed/script.js", embed_script, methods=["HEAD"], include_in_schema=False)
