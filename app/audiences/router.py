"""/v1/pages/{page_id}/page_access_users, their components and metrics, and the component side
of the grants (/components/{component_id}/page_access_users and /page_access_groups).

Statuspage's verbs on the grant sub-resources are inverted: PATCH and PUT add, POST replaces (201),
DELETE removes the listed items (all of them when none are listed)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.audiences import grants, service
from app.audiences.deps import AccessUserDep, ComponentDep
from app.audiences.grant_routes import (
    COMPONENT_ITEMS,
    METRIC_ITEMS,
    Owner,
    Summaries,
    add_grant_routes,
)
from app.audiences.schemas import (
    PageAccessGroupIdsRemoveRequest,
    PageAccessGroupIdsRequest,
    PageAccessUser,
    PageAccessUserCreateRequest,
    PageAccessUserIdsRemoveRequest,
    PageAccessUserIdsRequest,
    PageAccessUserUpdateRequest,
)
from app.components.schemas import Component
from app.core.deps import PageDep, SessionDep, WriterDep
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import ApiRoute, add_update_routes
from app.models import PageAccessUser as UserRow

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
USERS: list[str | Enum] = ["page access users"]
USER_COMPONENTS: list[str | Enum] = ["page access user components"]
USER_METRICS: list[str | Enum] = ["page access user metrics"]
COMPONENTS: list[str | Enum] = ["components"]
USER = "/page_access_users/{page_access_user_id}"


async def _user(session: AsyncSession, row: UserRow, status_code: int = 200) -> Response:
    return json_response(await service.user_view(session, row), status_code=status_code)


# Page access users ---------------------------------------------------------------------------


@router.get(
    "/page_access_users",
    response_model=list[PageAccessUser],
    tags=USERS,
    summary="Get a list of page access users",
    operation_id="getPagesPageIdPageAccessUsers",
    responses=error_responses(*READ_ERRORS),
)
async def list_users(
    page: PageDep,
    session: SessionDep,
    pagination: PaginationDep,
    email: Annotated[str | None, Query(description="Email address to search for")] = None,
) -> Response:
    rows = await service.list_users(session, page, pagination, email)
    return json_response(await service.user_views(session, rows))


@router.post(
    "/page_access_users",
    response_model=PageAccessUser,
    tags=USERS,
    summary="Add a page access user",
    description="Answers 200, as Statuspage does; the same email on the page again is a 409.",
    operation_id="postPagesPageIdPageAccessUsers",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_user(
    body: PageAccessUserCreateRequest, page: PageDep, writer: WriterDep
) -> Response:
    row = await service.create_user(writer, page, body.page_access_user)
    return await _user(writer.session, row)


@router.get(
    USER,
    response_model=PageAccessUser,
    tags=USERS,
    summary="Get page access user",
    operation_id="getPagesPageIdPageAccessUsersPageAccessUserId",
    responses=error_responses(*READ_ERRORS),
)
async def get_user(user: AccessUserDep, session: SessionDep) -> Response:
    return await _user(session, user)


async def _update_user(
    body: PageAccessUserUpdateRequest, page: PageDep, user: AccessUserDep, writer: WriterDep
) -> Response:
    row = await service.update_user(writer, page, user, body.page_access_user)
    return await _user(writer.session, row)


add_update_routes(
    router,
    USER,
    _update_user,
    operation_id="PagesPageIdPageAccessUsersPageAccessUserId",
    response_model=PageAccessUser,
    tags=USERS,
    summary="Update page access user",
    description="`page_access_group_ids`, when sent, replaces the user's groups.",
)


@router.delete(
    USER,
    status_code=204,
    tags=USERS,
    summary="Delete page access user",
    operation_id="deletePagesPageIdPageAccessUsersPageAccessUserId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_user(page: PageDep, user: AccessUserDep, writer: WriterDep) -> Response:
    await service.delete_user(writer, page, user)
    return Response(status_code=204)


# A page access user's components and metrics ------------------------------------------------

_OWNER = Owner(USER, AccessUserDep, PageAccessUser, _user)
add_grant_routes(
    router,
    _OWNER,
    COMPONENT_ITEMS,
    grants.USER_COMPONENTS,
    operation_id="PagesPageIdPageAccessUsersPageAccessUserIdComponents",
    tags=USER_COMPONENTS,
    summaries=Summaries(
        list="Get components for page access user",
        add="Add components for page access user",
        replace="Replace components for page access user",
        remove="Remove components for page access user",
        remove_one="Remove component for page access user",
    ),
)
add_grant_routes(
    router,
    _OWNER,
    METRIC_ITEMS,
    grants.USER_METRICS,
    operation_id="PagesPageIdPageAccessUsersPageAccessUserIdMetrics",
    tags=USER_METRICS,
    summaries=Summaries(
        list="Get metrics for page access user",
        add="Add metrics for page access user",
        replace="Replace metrics for page access user",
        remove="Delete metrics for page access user",
        remove_one="Delete metric for page access user",
    ),
)


# A component's page access users and groups --------------------------------------------------


@router.post(
    "/components/{component_id}/page_access_users",
    response_model=Component,
    status_code=201,
    tags=COMPONENTS,
    summary="Add page access users to a component",
    operation_id="postPagesPageIdComponentsComponentIdPageAccessUsers",
    responses=error_responses(*WRITE_ERRORS),
)
async def add_component_users(
    body: PageAccessUserIdsRequest, page: PageDep, component: ComponentDep, writer: WriterDep
) -> Response:
    ids = body.page_access_user_ids
    await service.add_grants(writer, page, component, grants.COMPONENT_USERS, ids)
    return json_response(Component.of(component), status_code=201)


@router.delete(
    "/components/{component_id}/page_access_users",
    response_model=Component,
    tags=COMPONENTS,
    summary="Remove page access users from component",
    description="Removes the listed page access users, or all of them when none are listed.",
    operation_id="deletePagesPageIdComponentsComponentIdPageAccessUsers",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_component_users(
    page: PageDep,
    component: ComponentDep,
    writer: WriterDep,
    body: PageAccessUserIdsRemoveRequest | None = None,
) -> Response:
    ids = body.page_access_user_ids if body is not None else None
    await service.remove_grants(writer, page, component, grants.COMPONENT_USERS, ids)
    return json_response(Component.of(component))


@router.post(
    "/components/{component_id}/page_access_groups",
    response_model=Component,
    status_code=201,
    tags=COMPONENTS,
    summary="Add page access groups to a component",
    operation_id="postPagesPageIdComponentsComponentIdPageAccessGroups",
    responses=error_responses(*WRITE_ERRORS),
)
async def add_component_groups(
    body: PageAccessGroupIdsRequest, page: PageDep, component: ComponentDep, writer: WriterDep
) -> Response:
    ids = body.page_access_group_ids
    await service.add_grants(writer, page, component, grants.COMPONENT_GROUPS, ids)
    return json_response(Component.of(component), status_code=201)


@router.delete(
    "/components/{component_id}/page_access_groups",
    response_model=Component,
    tags=COMPONENTS,
    summary="Remove page access groups from a component",
    description="Removes the listed page access groups, or all of them when none are listed.",
    operation_id="deletePagesPageIdComponentsComponentIdPageAccessGroups",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_component_groups(
    page: PageDep,
    component: ComponentDep,
    writer: WriterDep,
    body: PageAccessGroupIdsRemoveRequest | None = None,
) -> Response:
    ids = body.page_access_group_ids if body is not None else None
    await service.remove_grants(writer, page, component, grants.COMPONENT_GROUPS, ids)
    return json_response(Component.of(component))
