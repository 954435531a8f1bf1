"""/v1/organizations/{organization_id}: users, their permissions on each page, and API keys tied
to a user (extension). Another organization's id is a 404, like an unknown one."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from app.core.deps import PrincipalDep, SessionDep, WriterDep
from app.core.errors import NotFound
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute
from app.models import User as UserRow
from app.models import UserPageRole
from app.organizations import service
from app.organizations.schemas import (
    ApiKeyCreated,
    ApiKeyCreateRequest,
    PagePermissions,
    Permissions,
    PermissionsData,
    PermissionsRequest,
    User,
    UserCreateRequest,
)

router = APIRouter(prefix="/v1/organizations/{organization_id}", route_class=ApiRoute)
USERS: list[str | Enum] = ["users"]
PERMISSIONS: list[str | Enum] = ["permissions"]


async def get_organization(
    organization_id: Annotated[str, Path(description="Organization Identifier")],
    principal: PrincipalDep,
) -> str:
    if organization_id != principal.organization_id:
        raise NotFound("The requested resource could not be found.")
    return organization_id


OrganizationDep = Annotated[str, Depends(get_organization)]


async def get_user(
    user_id: Annotated[str, Path(description="User Identifier")],
    organization_id: OrganizationDep,
    session: SessionDep,
) -> UserRow:
    return await service.get_user(session, organization_id, user_id)


UserDep = Annotated[UserRow, Depends(get_user)]


def _permissions(user: UserRow, rows: list[UserPageRole]) -> Response:
    data = PermissionsData(
        user_id=user.id,
        pages=[
            PagePermissions(
                page_id=row.page_id,
                page_configuration=row.page_configuration,
                incident_manager=row.incident_manager,
                maintenance_manager=row.maintenance_manager,
            )
            for row in rows
        ],
    )
    return json_response(Permissions(user_id=data.user_id, pages=data.pages, data=data))


@router.get(
    "/users",
    response_model=list[User],
    tags=USERS,
    summary="Get a list of users",
    operation_id="getOrganizationsOrganizationIdUsers",
    responses=error_responses(*READ_ERRORS),
)
async def list_users(
    organization_id: OrganizationDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    users = await service.list_users(session, organization_id, pagination)
    return json_response([User.model_validate(u, from_attributes=True) for u in users])


@router.post(
    "/users",
    response_model=User,
    status_code=201,
    tags=USERS,
    summary="Create a user",
    description="An email already in the organization is a 422. The user sees no page until "
    "their permissions name some; `password` is accepted and discarded (users act through API "
    "keys tied to them).",
    operation_id="postOrganizationsOrganizationIdUsers",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_user(
    body: UserCreateRequest, organization_id: OrganizationDep, writer: WriterDep
) -> Response:
    user = await service.create_user(writer.session, organization_id, body.user)
    return json_response(User.model_validate(user, from_attributes=True), status_code=201)


@router.delete(
    "/users/{user_id}",
    response_model=User,
    tags=USERS,
    summary="Delete a user",
    description="Answers with the deleted user; the user's API keys stop working.",
    operation_id="deleteOrganizationsOrganizationIdUsersUserId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_user(user: UserDep, writer: WriterDep) -> Response:
    snapshot = User.model_validate(user, from_attributes=True)
    await service.delete_user(writer, user)
    return json_response(snapshot)


@router.post(
    "/users/{user_id}/api_keys",
    response_model=ApiKeyCreated,
    status_code=201,
    tags=USERS,
    summary="Create an API key tied to a user (extension)",
    description="Extension: the key carries the user's permissions (404 on pages the user may "
    "not see, 403 on changes their roles do not allow) on top of its own `role`. The secret is "
    "answered this once.",
    operation_id="postOrganizationsOrganizationIdUsersUserIdApiKeys",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def create_api_key(
    user: UserDep, writer: WriterDep, body: ApiKeyCreateRequest | None = None
) -> Response:
    fields = (body or ApiKeyCreateRequest()).api_key
    secret, key = await service.issue_user_api_key(writer.session, user, fields.role, fields.name)
    created = ApiKeyCreated(
        id=key.id,
        organization_id=key.organization_id,
        user_id=key.user_id,
        name=key.name,
        role=fields.role,
        key=secret,
        created_at=key.created_at,
    )
    return json_response(created, status_code=201)


@router.get(
    "/permissions/{user_id}",
    response_model=Permissions,
    tags=PERMISSIONS,
    summary="Get a user's permissions",
    operation_id="getOrganizationsOrganizationIdPermissionsUserId",
    responses=error_responses(*READ_ERRORS),
)
async def get_permissions(user: UserDep, session: SessionDep) -> Response:
    return _permissions(user, await service.permissions(session, user))


@router.put(
    "/permissions/{user_id}",
    response_model=Permissions,
    tags=PERMISSIONS,
    summary="Update a user's role permissions",
    description="The pages named are all the user keeps, each with exactly the roles given "
    "(`{}`: none, read only). page_configuration allows every change but incidents; "
    "incident_manager and maintenance_manager allow incidents and incident templates.",
    operation_id="putOrganizationsOrganizationIdPermissionsUserId",
    responses=error_responses(*WRITE_ERRORS),
)
async def put_permissions(body: PermissionsRequest, user: UserDep, writer: WriterDep) -> Response:
    return _permissions(user, await service.set_permissions(writer.session, user, body.pages))
