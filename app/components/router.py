"""/v1/pages/{page_id}/components and /component-groups."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app.components import service, uptime
from app.components.schemas import (
    BulkStatusRequest,
    Component,
    ComponentCreateRequest,
    ComponentGroup,
    ComponentGroupUptime,
    ComponentUpdateRequest,
    ComponentUptime,
    DailyStatus,
    GroupCreateRequest,
    GroupUpdateRequest,
)
from app.core.deps import PageDep, PrincipalDep, SessionDep, WriterDep, session_of
from app.core.errors import NotFound
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute, add_update_routes
from app.core.security import SAFE_METHODS
from app.core.timefmt import utcnow
from app.models import Component as ComponentRow
from app.models import Page

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
COMPONENTS: list[str | Enum] = ["components"]
GROUPS: list[str | Enum] = ["component groups"]


@dataclass(frozen=True)
class Target:
    page: Page
    component: ComponentRow


async def get_target(
    page_id: Annotated[str, Path(description="Page identifier")],
    component_id: Annotated[str, Path(description="Component identifier")],
    request: Request,
    principal: PrincipalDep,
) -> Target:
    """The page and the component in one query; a write locks the component row."""
    found = await service.component_on_page(
        session_of(request),
        principal.organization_id,
        page_id,
        component_id,
        for_update=request.method not in SAFE_METHODS,
    )
    if found is None:
        raise NotFound("The requested resource could not be found.")
    return Target(*found)


TargetDep = Annotated[Target, Depends(get_target)]


async def get_group(
    id: Annotated[str, Path(description="Component group identifier")],
    page: PageDep,
    session: SessionDep,
) -> ComponentRow:
    return await service.get_group(session, page, id)


GroupDep = Annotated[ComponentRow, Depends(get_group)]
StartQuery = Annotated[
    str | None, Query(description="YYYY, YYYY-MM or YYYY-MM-DD (default: 90 days ago)")
]
EndQuery = Annotated[str | None, Query(description="YYYY, YYYY-MM or YYYY-MM-DD (default: today)")]


def _components(rows: list[ComponentRow]) -> Response:
    return json_response([Component.of(r) for r in rows])


@router.get(
    "/components",
    response_model=list[Component],
    tags=COMPONENTS,
    summary="Get a list of components",
    operation_id="getPagesPageIdComponents",
    responses=error_responses(*READ_ERRORS),
)
async def list_components(
    page: PageDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    return _components(await service.list_components(session, page, pagination))


@router.post(
    "/components",
    response_model=Component,
    status_code=201,
    tags=COMPONENTS,
    summary="Create a component",
    operation_id="postPagesPageIdComponents",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_component(
    body: ComponentCreateRequest, page: PageDep, writer: WriterDep
) -> Response:
    row = await service.create_component(writer, page, body.component)
    return json_response(Component.of(row), status_code=201)


@router.patch(
    "/components",
    response_model=list[Component],
    tags=COMPONENTS,
    summary="Update the status of many components (extension)",
    description='Extension: `{"components": {"<id>": "<status>"}}` in one transaction with one '
    "page revision; one unknown id or bad status is a 422 and nothing changes.",
    operation_id="patchPagesPageIdComponents",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def bulk_update(body: BulkStatusRequest, page: PageDep, writer: WriterDep) -> Response:
    return _components(await service.bulk_set_status(writer, page, dict(body.components)))


@router.get(
    "/components/{component_id}",
    response_model=Component,
    tags=COMPONENTS,
    summary="Get a component",
    operation_id="getPagesPageIdComponentsComponentId",
    responses=error_responses(*READ_ERRORS),
)
async def get_one(target: TargetDep) -> Response:
    return json_response(Component.of(target.component))


async def _update_component(
    body: ComponentUpdateRequest, target: TargetDep, writer: WriterDep
) -> Response:
    row = await service.update_component(writer, target.page, target.component, body.component)
    return json_response(Component.of(row))


add_update_routes(
    router,
    "/components/{component_id}",
    _update_component,
    operation_id="PagesPageIdComponentsComponentId",
    response_model=Component,
    tags=COMPONENTS,
    summary="Update a component",
)


@router.delete(
    "/components/{component_id}",
    status_code=204,
    tags=COMPONENTS,
    summary="Delete a component",
    operation_id="deletePagesPageIdComponentsComponentId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_component(target: TargetDep, writer: WriterDep) -> Response:
    await service.delete_component(writer, target.page, target.component)
    return Response(status_code=204)


@router.get(
    "/components/{component_id}/uptime",
    response_model=ComponentUptime,
    tags=COMPONENTS,
    summary="Get uptime data for a component",
    operation_id="getPagesPageIdComponentsComponentIdUptime",
    responses=error_responses(*READ_ERRORS, 422),
)
async def component_uptime(
    target: TargetDep,
    session: SessionDep,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    page, component = target.page, target.component
    result = await uptime.component_uptime(session, component, page.time_zone, start, end, utcnow())
    return json_response(result)


@router.get(
    "/components/{component_id}/uptime/daily",
    response_model=list[DailyStatus],
    tags=COMPONENTS,
    summary="Get a component's status day by day (extension)",
    description="Extension: one entry per day in the page's time zone, oldest first (the data "
    "behind the public page's uptime bars). Days before the component existed are left out.",
    operation_id="getPagesPageIdComponentsComponentIdUptimeDaily",
    responses=error_responses(*READ_ERRORS, 422),
    openapi_extra=EXTENSION,
)
async def component_daily(
    target: TargetDep,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = uptime.DEFAULT_DAYS,
) -> Response:
    result = await uptime.daily_statuses(
        session, target.component, target.page.time_zone, utcnow(), days
    )
    return json_response(result)


# Component groups ---------------------------------------------------------------------------


async def _group(session: SessionDep, group: ComponentRow, status_code: int = 200) -> Response:
    view = await service.group_view(session, group)
    return json_response(ComponentGroup.model_validate(view), status_code=status_code)


@router.get(
    "/component-groups",
    response_model=list[ComponentGroup],
    tags=GROUPS,
    summary="Get a list of component groups",
    operation_id="getPagesPageIdComponentGroups",
    responses=error_responses(*READ_ERRORS),
)
async def list_groups(page: PageDep, session: SessionDep, pagination: PaginationDep) -> Response:
    groups = await service.list_groups(session, page, pagination)
    views = [ComponentGroup.model_validate(await service.group_view(session, g)) for g in groups]
    return json_response(views)


@router.post(
    "/component-groups",
    response_model=ComponentGroup,
    status_code=201,
    tags=GROUPS,
    summary="Create a component group",
    operation_id="postPagesPageIdComponentGroups",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_group(body: GroupCreateRequest, page: PageDep, writer: WriterDep) -> Response:
    group = await service.create_group(writer, page, body.component_group, body.description)
    return await _group(writer.session, group, 201)


@router.get(
    "/component-groups/{id}",
    response_model=ComponentGroup,
    tags=GROUPS,
    summary="Get a component group",
    operation_id="getPagesPageIdComponentGroupsId",
    responses=error_responses(*READ_ERRORS),
)
async def get_group_route(group: GroupDep, session: SessionDep) -> Response:
    return await _group(session, group)


async def _update_group(
    body: GroupUpdateRequest, page: PageDep, group: GroupDep, writer: WriterDep
) -> Response:
    updated = await service.update_group(
        writer, page, group, body.component_group, body.description
    )
    return await _group(writer.session, updated)


add_update_routes(
    router,
    "/component-groups/{id}",
    _update_group,
    operation_id="PagesPageIdComponentGroupsId",
    response_model=ComponentGroup,
    tags=GROUPS,
    summary="Update a component group",
)


@router.delete(
    "/component-groups/{id}",
    response_model=ComponentGroup,
    tags=GROUPS,
    summary="Delete a component group",
    description="Its components stay, released to the top level of the page.",
    operation_id="deletePagesPageIdComponentGroupsId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_group(page: PageDep, group: GroupDep, writer: WriterDep) -> Response:
    view = await service.delete_group(writer, page, group)
    return json_response(ComponentGroup.model_validate(view))


@router.get(
    "/component-groups/{id}/uptime",
    response_model=ComponentGroupUptime,
    tags=GROUPS,
    summary="Get uptime data for a component group",
    operation_id="getPagesPageIdComponentGroupsIdUptime",
    responses=error_responses(*READ_ERRORS, 422),
)
async def group_uptime(
    page: PageDep,
    group: GroupDep,
    session: SessionDep,
    start: StartQuery = None,
    end: EndQuery = None,
) -> Response:
    members = await service.group_members(session, group)
    result = await uptime.group_uptime(
        session, group, members, page.time_zone, start, end, utcnow()
    )
    return json_response(result)
