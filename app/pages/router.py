"""/v1/pages: the Manage API's page routes, plus create and delete (extensions)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from app.core.deps import PageDep, PrincipalDep, SessionDep, WriterDep
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute, add_update_routes
from app.pages import service
from app.pages.schemas import Page, PageCreateRequest, PageUpdateRequest

router = APIRouter(prefix="/v1/pages", tags=["pages"], route_class=ApiRoute)


@router.get(
    "",
    response_model=list[Page],
    summary="Get a list of pages",
    operation_id="getPages",
    responses=error_responses(*READ_ERRORS),
)
async def list_pages(
    principal: PrincipalDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    pages = await service.list_pages(session, principal.organization_id, pagination)
    return json_response([Page.model_validate(p) for p in pages])


@router.post(
    "",
    response_model=Page,
    status_code=201,
    summary="Create a page (extension)",
    description="Extension: Statuspage creates pages only in its web UI.",
    operation_id="postPages",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def create_page(
    body: PageCreateRequest, principal: PrincipalDep, session: SessionDep
) -> Response:
    page = await service.create_page(session, principal.organization_id, body.page)
    return json_response(Page.model_validate(page), status_code=201)


@router.get(
    "/{page_id}",
    response_model=Page,
    summary="Get a page",
    operation_id="getPagesPageId",
    responses=error_responses(*READ_ERRORS),
)
async def get_page(page: PageDep) -> Response:
    return json_response(Page.model_validate(page))


async def _update(body: PageUpdateRequest, page: PageDep, writer: WriterDep) -> Response:
    updated = await service.update_page(
        writer.session, writer.work, writer.infra.notifier, page, body.page
    )
    return json_response(Page.model_validate(updated))


add_update_routes(
    router,
    "/{page_id}",
    _update,
    operation_id="PagesPageId",
    response_model=Page,
    summary="Update a page",
    description="PUT behaves like PATCH (a partial update), as in Statuspage.",
)


@router.delete(
    "/{page_id}",
    response_model=Page,
    summary="Delete a page (extension)",
    description="Extension: deletes the page and everything on it; answers with the deleted page.",
    operation_id="deletePagesPageId",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def delete_page(page: PageDep, session: SessionDep) -> Response:
    snapshot = Page.model_validate(page)
    await service.delete_page(session, page)
    return json_response(snapshot)
