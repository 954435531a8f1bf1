"""Extension routes: a subscriber's delivery log and redelivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import Response

from app.core.deps import PageDep, SessionDep, WriterDep
from app.core.pagination import PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import EXTENSION, ApiRoute
from app.notifications import service
from app.notifications.schemas import Delivery

router = APIRouter(prefix="/v1/pages/{page_id}", tags=["subscribers"], route_class=ApiRoute)

SubscriberId = Annotated[str, Path(description="Subscriber identifier")]


@router.get(
    "/subscribers/{subscriber_id}/deliveries",
    response_model=list[Delivery],
    summary="Get a subscriber's deliveries (extension)",
    description="Extension: every event sent (or being sent) to the subscriber, newest first, "
    "each with every attempt: time, status code, latency and error. Paginated with "
    "`page` and `per_page`.",
    operation_id="getPagesPageIdSubscribersSubscriberIdDeliveries",
    responses=error_responses(*READ_ERRORS),
    openapi_extra=EXTENSION,
)
async def list_deliveries(
    subscriber_id: SubscriberId, page: PageDep, session: SessionDep, pagination: PaginationDep
) -> Response:
    subscriber = await service.get_subscriber(session, page, subscriber_id)
    return json_response(await service.list_deliveries(session, subscriber, pagination))


@router.post(
    "/subscribers/{subscriber_id}/deliveries/{delivery_id}/redeliver",
    response_model=Delivery,
    status_code=202,
    summary="Redeliver (extension)",
    description="Extension: send this delivery again (same `webhook-id`), with a fresh retry "
    "budget. Answers 202 with the delivery, now pending; 409 if the subscriber is not active.",
    operation_id="postPagesPageIdSubscribersSubscriberIdDeliveriesDeliveryIdRedeliver",
    responses=error_responses(*WRITE_ERRORS),
    openapi_extra=EXTENSION,
)
async def redeliver(
    subscriber_id: SubscriberId,
    delivery_id: Annotated[str, Path(description="Delivery identifier")],
    page: PageDep,
    writer: WriterDep,
) -> Response:
    subscriber = await service.get_subscriber(writer.session, page, subscriber_id)
    return json_response(await service.redeliver(writer, subscriber, delivery_id), status_code=202)
