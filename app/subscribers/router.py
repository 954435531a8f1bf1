"""/v1/pages/{page_id}/subscribers (page level, with the bulk operations and figures) and
/v1/pages/{page_id}/incidents/{incident_id}/subscribers."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from app.core.deps import PageDep, SessionDep, WriterDep, session_of
from app.core.pagination import MAX_PAGE, PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute
from app.core.security import SAFE_METHODS
from app.models import Incident, Subscriber
from app.subscribers import queries, service
from app.subscribers.schemas import (
    MAX_BULK,
    BulkReactivateRequest,
    BulkResendRequest,
    BulkUnsubscribeRequest,
    ComponentIdsRequest,
    IncidentSubscriberRequest,
    Mode,
    SortDirection,
    SortField,
    StateFilter,
    SubscriberCountByType,
    SubscriberCountByTypeAndState,
    SubscriberCreated,
    SubscriberRequest,
)
from app.subscribers.schemas import Subscriber as SubscriberView

router = APIRouter(prefix="/v1/pages/{page_id}", route_class=ApiRoute)
SUBSCRIBERS: list[str | Enum] = ["subscribers"]
INCIDENT_SUBSCRIBERS: list[str | Enum] = ["incident subscribers"]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000  # without q; with q, Statuspage's limit is at most 100
MAX_SEARCH_LIMIT = 100


class BulkResult(BaseModel):
    """Extension: Statuspage documents no body for the bulk operations."""

    count: int
    subscriber_ids: list[str]


async def get_subscriber(
    subscriber_id: Annotated[str, Path(description="Subscriber identifier")],
    page: PageDep,
    request: Request,
) -> Subscriber:
    return await service.get_subscriber(
        session_of(request), page, subscriber_id, for_update=request.method not in SAFE_METHODS
    )


async def get_incident(
    incident_id: Annotated[str, Path(description="Incident identifier")],
    page: PageDep,
    session: SessionDep,
) -> Incident:
    return await service.subscribable_incident(session, page, incident_id)


IncidentDep = Annotated[Incident, Depends(get_incident)]
SubscriberDep = Annotated[Subscriber, Depends(get_subscriber)]


async def get_incident_subscriber(
    subscriber_id: Annotated[str, Path(description="Subscriber identifier")],
    page: PageDep,
    incident: IncidentDep,
    request: Request,
) -> Subscriber:
    return await service.get_subscriber(
        session_of(request),
        page,
        subscriber_id,
        incident=incident,
        for_update=request.method not in SAFE_METHODS,
    )


IncidentSubscriberDep = Annotated[Subscriber, Depends(get_incident_subscriber)]


def _created(result: service.Created) -> Response:
    data = service.created_view(result)
    body = data.model_dump_json(exclude={"secret"} if data.secret is None else None)
    return Response(body.encode(), status_code=201, media_type="application/json")


def _bulk(rows: list[Subscriber]) -> Response:
    result = BulkResult(count=len(rows), subscriber_ids=[row.id for row in rows])
    return json_response(result, status_code=201)


@router.post(
    "/subscribers",
    response_model=SubscriberCreated,
    status_code=201,
    tags=SUBSCRIBERS,
    summary="Create a subscriber",
    description="The mode is inferred: `email` alone makes an email subscriber, `endpoint` and "
    "`email` a webhook subscriber, `phone_number` (and `phone_country`, default US) an SMS "
    "subscriber. Email and SMS subscribers stay unconfirmed until they follow the confirmation "
    "sent to them, unless `skip_confirmation_notification`. Extension: `mode` `slack` or `teams` "
    "with `endpoint` set to the incoming-webhook URL; a webhook subscriber's signing `secret` in "
    "this response. Creating a subscriber that already exists (same mode, contact and incident, "
    "not unsubscribed) answers the existing one, unchanged.",
    operation_id="postPagesPageIdSubscribers",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_subscriber(body: SubscriberRequest, page: PageDep, writer: WriterDep) -> Response:
    fields = body.subscriber
    contact = service.infer_contact(
        mode=fields.mode,
        email=fields.email,
        endpoint=fields.endpoint,
        phone_number=fields.phone_number,
        phone_country=fields.phone_country,
        workspace_name=fields.workspace_name,
        channel_name=fields.channel_name,
    )
    result = await service.create_subscriber(
        writer,
        page,
        contact,
        component_ids=fields.component_ids,
        skip_confirmation=bool(fields.skip_confirmation_notification),
        page_access_user=fields.page_access_user,
    )
    return _created(result)


@router.get(
    "/subscribers",
    response_model=list[SubscriberView],
    tags=SUBSCRIBERS,
    summary="Get a list of subscribers",
    description="Page subscribers (not incident subscribers). Quarantined subscribers are left "
    "out unless `state` asks for them. `page` counts from 0 and skips `page * limit` subscribers.",
    operation_id="getPagesPageIdSubscribers",
    responses=error_responses(*READ_ERRORS, 422),
)
async def list_subscribers(
    page: PageDep,
    session: SessionDep,
    q: Annotated[
        str | None, Query(max_length=255, description="Search email, endpoint and phone number")
    ] = None,
    mode: Annotated[Mode | None, Query(alias="type", description="Only this mode")] = None,
    state: Annotated[StateFilter, Query(description="`all`: any but unsubscribed")] = "active",
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"Default {DEFAULT_LIMIT}; at most {MAX_LIMIT} ({MAX_SEARCH_LIMIT} with q)",
        ),
    ] = DEFAULT_LIMIT,
    page_number: Annotated[
        int, Query(alias="page", ge=0, le=MAX_PAGE, description="Page, from 0")
    ] = 0,
    sort_field: Annotated[SortField, Query(description="relevance needs q")] = "primary",
    sort_direction: SortDirection = "asc",
) -> Response:
    rows = await queries.list_subscribers(
        session,
        page,
        q=q or None,
        mode=mode,
        state=state,
        limit=min(limit, MAX_SEARCH_LIMIT if q else MAX_LIMIT),
        page_number=page_number,
        sort_field=sort_field,
        sort_direction=sort_direction,
    )
    return json_response([service.view(row) for row in rows])


@router.post(
    "/subscribers/unsubscribe",
    response_model=BulkResult,
    status_code=201,
    tags=SUBSCRIBERS,
    summary="Unsubscribe a list of subscribers",
    description=f'At most {MAX_BULK} ids, or "all" when at most {MAX_BULK} subscribers match '
    "`type` and `state` (default active). Listed subscribers in another state are left alone. "
    "Extension: the body counts and lists the subscribers unsubscribed.",
    operation_id="postPagesPageIdSubscribersUnsubscribe",
    responses=error_responses(*WRITE_ERRORS),
)
async def bulk_unsubscribe(
    body: BulkUnsubscribeRequest, page: PageDep, writer: WriterDep
) -> Response:
    rows = await queries.bulk_targets(
        writer.session,
        page,
        body.subscribers,
        states=queries.states_of(body.state),
        mode=body.type,
        cap=MAX_BULK,
    )
    for row in rows:
        await service.unsubscribe(writer, row, notify=not body.skip_unsubscription_notification)
    return _bulk(rows)


@router.post(
    "/subscribers/reactivate",
    response_model=BulkResult,
    status_code=201,
    tags=SUBSCRIBERS,
    summary="Reactivate a list of subscribers",
    description="Quarantined subscribers become active again (their failure count restarts). "
    "Extension: the body counts and lists the subscribers reactivated.",
    operation_id="postPagesPageIdSubscribersReactivate",
    responses=error_responses(*WRITE_ERRORS),
)
async def bulk_reactivate(
    body: BulkReactivateRequest, page: PageDep, writer: WriterDep
) -> Response:
    rows = await queries.bulk_targets(
        writer.session, page, body.subscribers, states=("quarantined",), mode=body.type
    )
    for row in rows:
        service.reactivate(row)
    return _bulk(rows)


@router.post(
    "/subscribers/resend_confirmation",
    response_model=BulkResult,
    status_code=201,
    tags=SUBSCRIBERS,
    summary="Resend confirmations to a list of subscribers",
    description="Only unconfirmed (email and SMS) subscribers are sent one. Extension: the body "
    "counts and lists them.",
    operation_id="postPagesPageIdSubscribersResendConfirmation",
    responses=error_responses(*WRITE_ERRORS),
)
async def bulk_resend(body: BulkResendRequest, page: PageDep, writer: WriterDep) -> Response:
    rows = await queries.bulk_targets(
        writer.session, page, body.subscribers, states=("unconfirmed",)
    )
    for row in rows:
        await service.resend_confirmation(writer, row)
    return _bulk(rows)


@router.get(
    "/subscribers/count",
    response_model=SubscriberCountByType,
    tags=SUBSCRIBERS,
    summary="Get a count of subscribers by type",
    operation_id="getPagesPageIdSubscribersCount",
    responses=error_responses(*READ_ERRORS, 422),
)
async def count_subscribers(
    page: PageDep,
    session: SessionDep,
    mode: Annotated[Mode | None, Query(alias="type", description="Only this mode")] = None,
    state: Annotated[StateFilter, Query(description="`all`: any but unsubscribed")] = "active",
) -> Response:
    return json_response(await queries.count_by_type(session, page, mode, state))


@router.get(
    "/subscribers/histogram_by_state",
    response_model=SubscriberCountByTypeAndState,
    tags=SUBSCRIBERS,
    summary="Get a histogram of subscribers by type and then state",
    operation_id="getPagesPageIdSubscribersHistogramByState",
    responses=error_responses(*READ_ERRORS),
)
async def histogram(page: PageDep, session: SessionDep) -> Response:
    return json_response(await queries.histogram(session, page))


@router.get(
    "/subscribers/unsubscribed",
    response_model=list[SubscriberView],
    tags=SUBSCRIBERS,
    summary="Get a list of unsubscribed subscribers",
    description="Most recently unsubscribed first.",
    operation_id="getPagesPageIdSubscribersUnsubscribed",
    responses=error_responses(*READ_ERRORS),
)
async def list_unsubscribed(
    page: PageDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    rows = await queries.list_unsubscribed(session, page, pagination.offset, pagination.per_page)
    return json_response([service.view(row) for row in rows])


@router.get(
    "/subscribers/{subscriber_id}",
    response_model=SubscriberView,
    tags=SUBSCRIBERS,
    summary="Get a subscriber",
    operation_id="getPagesPageIdSubscribersSubscriberId",
    responses=error_responses(*READ_ERRORS),
)
async def get_subscriber_route(subscriber: SubscriberDep) -> Response:
    return json_response(service.view(subscriber))


@router.patch(
    "/subscribers/{subscriber_id}",
    response_model=SubscriberView,
    tags=SUBSCRIBERS,
    summary="Update a subscriber",
    description='The body is bare: `{"component_ids": [...]}`; without it the subscriber '
    "follows every component of the page. A group stands for its components.",
    operation_id="patchPagesPageIdSubscribersSubscriberId",
    responses=error_responses(*WRITE_ERRORS),
)
async def update_subscriber(
    page: PageDep,
    subscriber: SubscriberDep,
    writer: WriterDep,
    body: ComponentIdsRequest | None = None,
) -> Response:
    ids = body.component_ids if body is not None else None
    await service.set_components(writer.session, page, subscriber, ids)
    return json_response(service.view(subscriber))


@router.delete(
    "/subscribers/{subscriber_id}",
    response_model=SubscriberView,
    tags=SUBSCRIBERS,
    summary="Unsubscribe a subscriber",
    operation_id="deletePagesPageIdSubscribersSubscriberId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_subscriber(
    subscriber: SubscriberDep,
    writer: WriterDep,
    skip_unsubscription_notification: Annotated[
        bool, Query(description="Send no goodbye message")
    ] = False,
) -> Response:
    await service.unsubscribe(writer, subscriber, notify=not skip_unsubscription_notification)
    return json_response(service.view(subscriber))


@router.post(
    "/subscribers/{subscriber_id}/resend_confirmation",
    status_code=201,
    tags=SUBSCRIBERS,
    summary="Resend confirmation to a subscriber",
    description="422 unless the subscriber is unconfirmed.",
    operation_id="postPagesPageIdSubscribersSubscriberIdResendConfirmation",
    responses=error_responses(*WRITE_ERRORS),
)
async def resend_confirmation(subscriber: SubscriberDep, writer: WriterDep) -> Response:
    await service.resend_confirmation(writer, subscriber)
    return Response(status_code=201)


# Incident subscribers ---------------------------------------------------------------------------


@router.post(
    "/incidents/{incident_id}/subscribers",
    response_model=SubscriberView,
    status_code=201,
    tags=INCIDENT_SUBSCRIBERS,
    summary="Create an incident subscriber",
    description="An email or SMS subscriber hearing only of this incident's later updates; the "
    "incident must be unresolved. An existing live subscription is answered as it is.",
    operation_id="postPagesPageIdIncidentsIncidentIdSubscribers",
    responses=error_responses(*WRITE_ERRORS),
)
async def create_incident_subscriber(
    body: IncidentSubscriberRequest, page: PageDep, incident: IncidentDep, writer: WriterDep
) -> Response:
    fields = body.subscriber
    contact = service.infer_contact(
        mode=None,
        email=fields.email,
        endpoint=None,
        phone_number=fields.phone_number,
        phone_country=fields.phone_country,
    )
    result = await service.create_subscriber(
        writer,
        page,
        contact,
        incident=incident,
        skip_confirmation=bool(fields.skip_confirmation_notification),
    )
    return json_response(service.view(result.subscriber), status_code=201)


@router.get(
    "/incidents/{incident_id}/subscribers",
    response_model=list[SubscriberView],
    tags=INCIDENT_SUBSCRIBERS,
    summary="Get a list of incident subscribers",
    description="Active and unconfirmed subscribers of the incident, oldest first.",
    operation_id="getPagesPageIdIncidentsIncidentIdSubscribers",
    responses=error_responses(*READ_ERRORS),
)
async def list_incident_subscribers(
    incident: IncidentDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    rows = await queries.list_incident_subscribers(
        session, incident, pagination.offset, pagination.per_page
    )
    return json_response([service.view(row) for row in rows])


@router.get(
    "/incidents/{incident_id}/subscribers/{subscriber_id}",
    response_model=SubscriberView,
    tags=INCIDENT_SUBSCRIBERS,
    summary="Get an incident subscriber",
    operation_id="getPagesPageIdIncidentsIncidentIdSubscribersSubscriberId",
    responses=error_responses(*READ_ERRORS),
)
async def get_incident_subscriber_route(subscriber: IncidentSubscriberDep) -> Response:
    return json_response(service.view(subscriber))


@router.delete(
    "/incidents/{incident_id}/subscribers/{subscriber_id}",
    response_model=SubscriberView,
    tags=INCIDENT_SUBSCRIBERS,
    summary="Unsubscribe an incident subscriber",
    operation_id="deletePagesPageIdIncidentsIncidentIdSubscribersSubscriberId",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_incident_subscriber(
    subscriber: IncidentSubscriberDep,
    writer: WriterDep,
    skip_unsubscription_notification: Annotated[
        bool, Query(description="Extension: send no goodbye message", json_schema_extra=EXTENSION)
    ] = False,
) -> Response:
    await service.unsubscribe(writer, subscriber, notify=not skip_unsubscription_notification)
    return json_response(service.view(subscriber))


@router.post(
    "/incidents/{incident_id}/subscribers/{subscriber_id}/resend_confirmation",
    status_code=201,
    tags=INCIDENT_SUBSCRIBERS,
    summary="Resend confirmation to an incident subscriber",
    description="422 unless the subscriber is unconfirmed.",
    operation_id="postPagesPageIdIncidentsIncidentIdSubscribersSubscriberIdResendConfirmation",
    responses=error_responses(*WRITE_ERRORS),
)
async def resend_incident_confirmation(
    subscriber: IncidentSubscriberDep, writer: WriterDep
) -> Response:
    await service.resend_confirmation(writer, subscriber)
    return Response(status_code=201)
