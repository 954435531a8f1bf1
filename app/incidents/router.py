"""/v1/pages/{page_id}/incidents, their updates and postmortems, and /incident_templates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from app.core.deps import PageDep, SessionDep, WriterDep, infra_of, session_of
from app.core.pagination import MAX_PAGE, PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute, add_update_routes
from app.core.security import SAFE_METHODS
from app.incidents import extras, queries, service
from app.incidents.schemas import (
    Incident,
    IncidentRequest,
    IncidentTemplate,
    IncidentUpdate,
    IncidentUpdateRequest,
    Postmortem,
    PostmortemDraftRequest,
    PostmortemPublishRequest,
    TemplateCreateRequest,
    TemplateUpdateRequest,
)
from app.incidents.views import incident_view, incident_views
from app.models import Incident as IncidentRow
from app.models import IncidentTemplate as TemplateRow
from app.models import Page

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
INCIDENTS: list[str | Enum] = ["incidents"]
TEMPLATES: list[str | Enum] = ["incident templates"]
MAX_LIMIT = 100


@dataclass(frozen=True)
class Target:
    page: Page
    incident: IncidentRow


async def get_target(
    incident_id: Annotated[str, Path(description="Incident identifier")],
    page: PageDep,
    request: Request,
) -> Target:
    """The incident of this page; a write locks its row for the rest of the transaction."""
    incident = await service.get_incident(
        session_of(request), page, incident_id, for_update=request.method not in SAFE_METHODS
    )
    return Target(page, incident)


TargetDep = Annotated[Target, Depends(get_target)]


def _base_url(request: Request) -> str:
    return infra_of(request).settings.public_base_url


@router.post(
    "/incidents",
    response_model=Incident,
    status_code=201,
    tags=INCIDENTS,
    summary="Create an incident",
    description="A realtime incident, or a scheduled maintenance (with `scheduled_for` or a "
    "maintenance status). Extension: `template_id` prefills name, body, status and components.",
    operation_id="postPagesPageIdIncidents",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_incident(body: IncidentRequest, page: PageDep, writer: WriterDep) -> Response:
    view = await service.create_incident(writer, page, body.incident)
    return json_response(view, status_code=201)


@router.get(
    "/incidents",
    response_model=list[Incident],
    tags=INCIDENTS,
    summary="Get a list of incidents",
    description="Newest first. `q` searches name, status, postmortem body and update bodies.",
    operation_id="getPagesPageIdIncidents",
    responses=error_responses(*READ_ERRORS),
)
async def list_incidents(
    page: PageDep,
    request: Request,
    q: Annotated[str | None, Query(max_length=255, description="Search text")] = None,
    limit: Annotated[
        int | None, Query(ge=1, description=f"Incidents per page, default and at most {MAX_LIMIT}")
    ] = None,
    page_number: Annotated[
        int, Query(alias="page", ge=1, le=MAX_PAGE, description="Page number, from 1")
    ] = 1,
) -> Response:
    session = session_of(request)
    size = min(limit or MAX_LIMIT, MAX_LIMIT)
    rows = await queries.search(session, page, q, size, page_number)
    return json_response(await incident_views(session, _base_url(request), rows))


def _list_route(which: str, summary: str) -> None:
    async def handler(
        page: PageDep, session: SessionDep, pagination: PaginationDep, request: Request
    ) -> Response:
        rows = await queries.list_view(session, page, which, pagination)
        return json_response(await incident_views(session, _base_url(request), rows))

    camel = "".join(part.capitalize() for part in which.split("_"))
    router.add_api_route(
        f"/incidents/{which}",
        handler,
        methods=["GET"],
        response_model=list[Incident],
        tags=INCIDENTS,
        summary=summary,
        operation_id=f"getPagesPageIdIncidents{camel}",
        responses=error_responses(*READ_ERRORS),
    )


_list_route("unresolved", "Get a list of unresolved incidents")
_list_route("upcoming", "Get a list of upcoming incidents")
_list_route("scheduled", "Get a list of scheduled incidents")
_list_route("active_maintenance", "Get a list of active maintenances")


@router.get(
    "/incidents/{incident_id}",
    response_model=Incident,
    tags=INCIDENTS,
    summary="Get an incident",
    operation_id="getPagesPageIdIncidentsIncidentId",
    responses=error_responses(*READ_ERRORS),
)
async def get_incident(target: TargetDep, request: Request) -> Response:
    view = await incident_view(session_of(request), _base_url(request), target.incident)
    return json_response(view)


async def _update_incident(body: IncidentRequest, target: TargetDep, writer: WriterDep) -> Response:
    view = await service.update_incident(writer, target.page, target.incident, body.incident)
    return json_response(view)


async def _edit_update(
    body: IncidentUpdateRequest,
    target: TargetDep,
    writer: WriterDep,
    incident_update_id: Annotated[str, Path(description="Incident update identifier")],
) -> Response:
    update = await service.edit_update(
        writer, target.page, target.incident, incident_update_id, body.incident_update
    )
    return json_response(update)


add_update_routes(
    router,
    "/incidents/{incident_id}",
    _update_incident,
    operation_id="PagesPageIdIncidentsIncidentId",
    response_model=Incident,
    tags=INCIDENTS,
    summary="Update an incident",
    description="A status and/or a body appends an incident update; `components` sets those "
    "components' statuses in the same transaction.",
)
add_update_routes(
    router,
    "/incidents/{incident_id}/incident_updates/{incident_update_id}",
    _edit_update,
    operation_id="PagesPageIdIncidentsIncidentIdIncidentUpdatesIncidentUpdateId",
    response_model=IncidentUpdate,
    tags=INCIDENTS,
    summary="Update a previous incident update",
)


@router.delete(
    "/incidents/{incident_id}",
    response_model=Incident,
    tags=INCIDENTS,
    summary="Delete an incident",
    operation_id="deletePagesPageIdIncidentsIncidentId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_incident(target: TargetDep, writer: WriterDep) -> Response:
    return json_response(await service.delete_incident(writer, target.page, target.incident))


# Postmortem -------------------------------------------------------------------------------------


@router.get(
    "/incidents/{incident_id}/postmortem",
    response_model=Postmortem,
    tags=INCIDENTS,
    summary="Get Postmortem",
    operation_id="getPagesPageIdIncidentsIncidentIdPostmortem",
    responses=error_responses(*READ_ERRORS),
)
async def get_postmortem(target: TargetDep) -> Response:
    return json_response(extras.existing_postmortem(target.incident))


@router.put(
    "/incidents/{incident_id}/postmortem",
    response_model=Postmortem,
    tags=INCIDENTS,
    summary="Create Postmortem",
    description="Creates the postmortem, or replaces its draft.",
    operation_id="putPagesPageIdIncidentsIncidentIdPostmortem",
    responses=error_responses(*WRITE_ERRORS),
)
async def put_postmortem(
    body: PostmortemDraftRequest, target: TargetDep, writer: WriterDep
) -> Response:
    view = await extras.save_draft(writer, target.page, target.incident, body.postmortem)
    return json_response(view)


@router.delete(
    "/incidents/{incident_id}/postmortem",
    status_code=204,
    tags=INCIDENTS,
    summary="Delete Postmortem",
    operation_id="deletePagesPageIdIncidentsIncidentIdPostmortem",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_postmortem(target: TargetDep, writer: WriterDep) -> Response:
    await extras.delete_postmortem(writer, target.page, target.incident)
    return Response(status_code=204)


@router.put(
    "/incidents/{incident_id}/postmortem/publish",
    response_model=Postmortem,
    tags=INCIDENTS,
    summary="Publish Postmortem",
    operation_id="putPagesPageIdIncidentsIncidentIdPostmortemPublish",
    responses=error_responses(*WRITE_ERRORS),
)
async def publish_postmortem(
    target: TargetDep, writer: WriterDep, body: PostmortemPublishRequest | None = None
) -> Response:
    options = (body or PostmortemPublishRequest()).postmortem
    view = await extras.publish(writer, target.page, target.incident, options)
    return json_response(view)


@router.put(
    "/incidents/{incident_id}/postmortem/revert",
    response_model=Postmortem,
    tags=INCIDENTS,
    summary="Revert Postmortem",
    description="Unpublishes the postmortem; its text stays as the draft.",
    operation_id="putPagesPageIdIncidentsIncidentIdPostmortemRevert",
    responses=error_responses(*WRITE_ERRORS),
)
async def revert_postmortem(target: TargetDep, writer: WriterDep) -> Response:
    return json_response(await extras.revert(writer, target.page, target.incident))


# Templates --------------------------------------------------------------------------------------


async def get_template(
    template_id: Annotated[str, Path(description="Incident template identifier")],
    page: PageDep,
    session: SessionDep,
) -> TemplateRow:
    return await extras.get_template(session, page, template_id)


TemplateDep = Annotated[TemplateRow, Depends(get_template)]


@router.post(
    "/incident_templates",
    response_model=IncidentTemplate,
    status_code=201,
    tags=TEMPLATES,
    summary="Create an incident template",
    operation_id="postPagesPageIdIncidentTemplates",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_template(
    body: TemplateCreateRequest, page: PageDep, writer: WriterDep
) -> Response:
    view = await extras.save_template(writer.session, page, body.template)
    return json_response(view, status_code=201)


@router.get(
    "/incident_templates",
    response_model=list[IncidentTemplate],
    tags=TEMPLATES,
    summary="Get a list of incident templates",
    operation_id="getPagesPageIdIncidentTemplates",
    responses=error_responses(*READ_ERRORS),
)
async def list_templates(page: PageDep, session: SessionDep, pagination: PaginationDep) -> Response:
    return json_response(await extras.list_templates(session, page, pagination))


@router.get(
    "/incident_templates/{template_id}",
    response_model=IncidentTemplate,
    tags=TEMPLATES,
    summary="Get an incident template (extension)",
    description="Extension: Statuspage has no way to read one template.",
    operation_id="getPagesPageIdIncidentTemplatesTemplateId",
    responses=error_responses(*READ_ERRORS),
    openapi_extra=EXTENSION,
)
async def get_template_route(page: PageDep, template: TemplateDep, session: SessionDep) -> Response:
    return json_response((await extras.template_views(session, page, [template]))[0])


@router.patch(
    "/incident_templates/{template_id}",
    response_model=IncidentTemplate,
    tags=TEMPLATES,
    summary="Update an incident template (extension)",
    description="Extension: partial update, same fields as create.",
    operation_id="patchPagesPageIdIncidentTemplatesTemplateId",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def update_template(
    body: TemplateUpdateRequest, page: PageDep, template: TemplateDep, writer: WriterDep
) -> Response:
    return json_response(await extras.save_template(writer.session, page, body.template, template))


@router.delete(
    "/incident_templates/{template_id}",
    response_model=IncidentTemplate,
    tags=TEMPLATES,
    summary="Delete an incident template (extension)",
    description="Extension: answers 200 with the deleted template.",
    operation_id="deletePagesPageIdIncidentTemplatesTemplateId",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def delete_template(page: PageDep, template: TemplateDep, writer: WriterDep) -> Response:
    return json_response(await extras.delete_template(writer.session, page, template))
