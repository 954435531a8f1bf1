"""/v1/pages/{page_id}/page_access_groups and their components (PATCH and PUT add, POST replaces,
DELETE removes, as for page access users)."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.audiences import grants, service
from app.audiences.deps import AccessGroupDep
from app.audiences.grant_routes import COMPONENT_ITEMS, Owner, Summaries, add_grant_routes
from app.audiences.schemas import (
    PageAccessGroup,
    PageAccessGroupCreateRequest,
    PageAccessGroupUpdateRequest,
)
from app.core.deps import PageDep, SessionDep, WriterDep
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import ApiRoute, add_update_routes
from app.models import PageAccessGroup as GroupRow

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
GROUPS: list[str | Enum] = ["page access groups"]
GROUP_COMPONENTS: list[str | Enum] = ["page access group components"]
GROUP = "/page_access_groups/{page_access_group_id}"


async def _group(session: AsyncSession, row: GroupRow, status_code: int = 200) -> Response:
    return json_response(await service.group_view(session, row), status_code=status_code)


@router.get(
    "/page_access_groups",
    response_model=list[PageAccessGroup],
    tags=GROUPS,
    summary="Get a list of page access groups",
    operation_id="getPagesPageIdPageAccessGroups",
    responses=error_responses(*READ_ERRORS),
)
async def list_groups(page: PageDep, session: SessionDep, pagination: PaginationDep) -> Response:
    rows = await service.list_groups(session, page, pagination)
    return json_response(await service.group_views(session, rows))


@router.post(
    "/page_access_groups",
    response_model=PageAccessGroup,
    status_code=201,
    tags=GROUPS,
    summary="Create a page access group",
    operation_id="postPagesPageIdPageAccessGroups",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_group(
    body: PageAccessGroupCreateRequest, page: PageDep, writer: WriterDep
) -> Response:
    row = await service.create_group(writer, page, body.page_access_group)
    return await _group(writer.session, row, 201)


@router.get(
    GROUP,
    response_model=PageAccessGroup,
    tags=GROUPS,
    summary="Get a page access group",
    operation_id="getPagesPageIdPageAccessGroupsPageAccessGroupId",
    responses=error_responses(*READ_ERRORS),
)
async def get_group(group: AccessGroupDep, session: SessionDep) -> Response:
    return await _group(session, group)


async def _update_group(
    body: PageAccessGroupUpdateRequest, page: PageDep, group: AccessGroupDep, writer: WriterDep
) -> Response:
    row = await service.update_group(writer, page, group, body.page_access_group)
    return await _group(writer.session, row)


add_update_routes(
    router,
    GROUP,
    _update_group,
    operation_id="PagesPageIdPageAccessGroupsPageAccessGroupId",
    response_model=PageAccessGroup,
    tags=GROUPS,
    summary="Update a page access group",
    description="`component_ids`, `metric_ids` and `page_access_user_ids`, when sent, replace "
    "the group's.",
)


@router.delete(
    GROUP,
    response_model=PageAccessGroup,
    tags=GROUPS,
    summary="Remove a page access group",
    description="Answers with the deleted group. Its users stay, without it.",
    operation_id="deletePagesPageIdPageAccessGroupsPageAccessGroupId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_group(page: PageDep, group: AccessGroupDep, writer: WriterDep) -> Response:
    return json_response(await service.delete_group(writer, page, group))


add_grant_routes(
    router,
    Owner(GROUP, AccessGroupDep, PageAccessGroup, _group),
    COMPONENT_ITEMS,
    grants.GROUP_COMPONENTS,
    operation_id="PagesPageIdPageAccessGroupsPageAccessGroupIdComponents",
    tags=GROUP_COMPONENTS,
    summaries=Summaries(
        list="List components for a page access group",
        add="Add components to page access group",
        replace="Replace components for a page access group",
        remove="Delete components for a page access group",
        remove_one="Remove a component from a page access group",
    ),
)
