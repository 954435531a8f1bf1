"""/v1/pages/{page_id}/status_embed_config: the status embed's corner and colours."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter
from starlette.responses import Response

from app.core.deps import PageDep, SessionDep, WriterDep
from app.core.responses import READ_ERRORS, error_responses, json_response
from app.core.routing import ApiRoute, add_update_routes
from app.embed import service
from app.embed.schemas import StatusEmbedConfig, StatusEmbedConfigRequest

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
EMBED: list[str | Enum] = ["status embed config"]


@router.get(
    "/status_embed_config",
    response_model=StatusEmbedConfig,
    tags=EMBED,
    summary="Get status embed config settings",
    description="The defaults until the page first changes them.",
    operation_id="getPagesPageIdStatusEmbedConfig",
    responses=error_responses(*READ_ERRORS),
)
async def get_config(page: PageDep, session: SessionDep) -> Response:
    return json_response(await service.get_config(session, page))


async def _update_config(
    body: StatusEmbedConfigRequest, page: PageDep, writer: WriterDep
) -> Response:
    return json_response(await service.update_config(writer, page, body.status_embed_config))


add_update_routes(
    router,
    "/status_embed_config",
    _update_config,
    operation_id="PagesPageIdStatusEmbedConfig",
    response_model=StatusEmbedConfig,
    tags=EMBED,
    summary="Update status embed config settings",
    description="`position` is one of bottom-left, bottom-right, top-left, top-right; colours are "
    "hex (with or without #, answered without).",
)
