"""/v1/pages/{page_id}/page_access_users, their components and metrics, and the component side
of the grants (/components/{component_id}/page_access_users and /page_access_groups).

Statuspage's verbs on the grant sub-resources are inverted: PATCH and PUT add, POST replaces (201),
DELETE removes the listed items (all of them when none are listed)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.audiences import grants, service
from app.audiences.deps import AccessUserDep, ComponentDep
from app.audiences.schemas import (
    ComponentIdsRemoveRequest,
    ComponentIdsRequest,
    MetricIdsRemoveRequest,
    MetricIdsRequest,
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
from app.metrics import service as metrics
from app.metrics.schemas import Metric
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


# A page access user's components -------------------------------------------------------------


@router.get(
    f"{USER}/components",
    response_model=list[Component],
    tags=USER_COMPONENTS,
    summary="Get components for page access user",
    operation_id="getPagesPageIdPageAccessUsersPageAccessUserIdComponents",
    responses=error_responses(*READ_ERRORS),
)
async def list_user_components(
    user: AccessUserDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    rows = await service.granted_components(session, user.id, grants.USER_COMPONENTS, pagination)
    return json_response([Component.of(row) for row in rows])


async def _add_user_components(
    body: ComponentIdsRequest, page: PageDep, user: AccessUserDep, writer: WriterDep
) -> Response:
    await service.add_grants(writer, page, user, grants.USER_COMPONENTS, body.component_ids)
    return await _user(writer.session, user)


add_update_routes(
    router,
    f"{USER}/components",
    _add_user_components,
    operation_id="PagesPageIdPageAccessUsersPageAccessUserIdComponents",
    response_model=PageAccessUser,
    tags=USER_COMPONENTS,
    summary="Add components for page access user",
    description="PATCH and PUT both add (Statuspage's verbs); components of another page: 422.",
)


@router.post(
    f"{USER}/components",
    response_model=PageAccessUser,
    status_code=201,
    tags=USER_COMPONENTS,
    summary="Replace components for page access user",
    operation_id="postPagesPageIdPageAccessUsersPageAccessUserIdComponents",
    responses=error_responses(*WRITE_ERRORS),
)
async def replace_user_components(
    body: ComponentIdsRequest, page: PageDep, user: AccessUserDep, writer: WriterDep
) -> Response:
    await service.replace_grants(writer, page, user, grants.USER_COMPONENTS, body.component_ids)
    return await _user(writer.session, user, 201)


@router.delete(
    f"{USER}/components",
    response_model=PageAccessUser,
    tags=USER_COMPONENTS,
    summary="Remove components for page access user",
    operation_id="deletePagesPageIdPageAccessUsersPageAccessUserIdComponents",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_user_components(
    page: PageDep,
    user: AccessUserDep,
    writer: WriterDep,
    body: ComponentIdsRemoveRequest | None = None,
) -> Response:
    ids = body.component_ids if body is not None else None
    await service.remove_grants(writer, page, user, grants.USER_COMPONENTS, ids)
    return await _user(writer.session, user)


@router.delete(
    f"{USER}/components/{{component_id}}",
    response_model=PageAccessUser,
    tags=USER_COMPONENTS,
    summary="Remove component for page access user",
    operation_id="deletePagesPageIdPageAccessUsersPageAccessUserIdComponentsComponentId",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_user_component(
    page: PageDep, user: AccessUserDep, component: ComponentDep, writer: WriterDep
) -> Response:
    await service.remove_grants(writer, page, user, grants.USER_COMPONENTS, [component.id])
    return await _user(writer.session, user)


# A page access user's metrics ----------------------------------------------------------------


@router.get(
    f"{USER}/metrics",
    response_model=list[Metric],
    tags=USER_METRICS,
    summary="Get metrics for page access user",
    operation_id="getPagesPageIdPageAccessUsersPageAccessUserIdMetrics",
    responses=error_responses(*READ_ERRORS),
)
async def list_user_metrics(
    user: AccessUserDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    rows = await service.granted_metrics(session, user.id, grants.USER_METRICS, pagination)
    return json_response([Metric.of(row) for row in rows])


async def _add_user_metrics(
    body: MetricIdsRequest, page: PageDep, user: AccessUserDep, writer: WriterDep
) -> Response:
    await service.add_grants(writer, page, user, grants.USER_METRICS, body.metric_ids)
    return await _user(writer.session, user)


add_update_routes(
    router,
    f"{USER}/metrics",
    _add_user_metrics,
    operation_id="PagesPageIdPageAccessUsersPageAccessUserIdMetrics",
    response_model=PageAccessUser,
    tags=USER_METRICS,
    summary="Add metrics for page access user",
    description="PATCH and PUT both add (Statuspage's verbs); metrics of another page: 422.",
)


@router.post(
    f"{USER}/metrics",
    response_model=PageAccessUser,
    status_code=201,
    tags=USER_METRICS,
    summary="Replace metrics for page access user",
    operation_id="postPagesPageIdPageAccessUsersPageAccessUserIdMetrics",
    responses=error_responses(*WRITE_ERRORS),
)
async def replace_user_metrics(
    body: MetricIdsRequest, page: PageDep, user: AccessUserDep, writer: WriterDep
) -> Response:
    await service.replace_grants(writer, page, user, grants.USER_METRICS, body.metric_ids)
    return await _user(writer.session, user, 201)


@router.delete(
    f"{USER}/metrics",
    response_model=PageAccessUser,
    tags=USER_METRICS,
    summary="Delete metrics for page access user",
    operation_id="deletePagesPageIdPageAccessUsersPageAccessUserIdMetrics",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_user_metrics(
    page: PageDep,
    user: AccessUserDep,
    writer: WriterDep,
    body: MetricIdsRemoveRequest | None = None,
) -> Response:
    ids = body.metric_ids if body is not None else None
    await service.remove_grants(writer, page, user, grants.USER_METRICS, ids)
    return await _user(writer.session, user)


@router.delete(
    f"{USER}/metrics/{{metric_id}}",
    response_model=PageAccessUser,
    tags=USER_METRICS,
    summary="Delete metric for page access user",
    operation_id="deletePagesPageIdPageAccessUsersPageAccessUserIdMetricsMetricId",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_user_metric(
    metric_id: Annotated[str, Path(description="Identifier of metric requested")],
    page: PageDep,
    user: AccessUserDep,
    writer: WriterDep,
) -> Response:
    metric, _ = await metrics.get_metric(writer.session, page, metric_id)
    await service.remove_grants(writer, page, user, grants.USER_METRICS, [metric.id])
    return await _user(writer.session, user)


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
