"""The routes of one grant sub-resource, e.g. /page_access_users/{id}/components: list (GET), add
(PATCH and PUT, Statuspage's verbs), replace (POST, 201), remove the listed or all (DELETE) and
remove one (DELETE .../{item_id}). Users' components and metrics and groups' components are the
same five routes over other tables, so they are made here, once."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.audiences import service
from app.audiences.deps import ComponentDep, MetricDep
from app.audiences.grants import Grants
from app.audiences.schemas import (
    ComponentIdsRemoveRequest,
    ComponentIdsRequest,
    MetricIdsRemoveRequest,
    MetricIdsRequest,
)
from app.components.schemas import Component
from app.core.context import Writer
from app.core.deps import PageDep, SessionDep, WriterDep
from app.core.pagination import Pagination, PaginationDep
from app.core.responses import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from app.core.routing import add_update_routes
from app.metrics.schemas import Metric
from app.models import Page


@dataclass(frozen=True)
class Owner:
    """Who holds the grants: a page access user or group."""

    path: str  # e.g. /page_access_users/{page_access_user_id}
    dependency: Any  # the Annotated loader of the row (app/audiences/deps.py)
    model: type[BaseModel]  # its response shape
    view: Callable[[AsyncSession, Any, int], Awaitable[Response]]


@dataclass(frozen=True)
class Items:
    """What is granted: components or metrics."""

    segment: str  # "components"
    model: type[BaseModel]  # the listed items' shape, with an `of(row)` constructor
    ids_request: type[BaseModel]
    ids_remove_request: type[BaseModel]
    ids_field: str  # "component_ids"
    one: Any  # the Annotated loader of one item of the page, by its path parameter
    listed: Callable[[AsyncSession, str, Grants, Pagination], Awaitable[Sequence[Any]]]


@dataclass(frozen=True)
class Summaries:
    list: str
    add: str
    replace: str
    remove: str
    remove_one: str


def _typed(endpoint: Callable[..., Awaitable[Response]], **types: Any) -> None:
    """Give the endpoint's parameters their types (a model, a loader) for FastAPI to read."""
    signature = inspect.signature(endpoint)
    parameters = [
        p.replace(annotation=types.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]


COMPONENT_ITEMS = Items(
    "components",
    Component,
    ComponentIdsRequest,
    ComponentIdsRemoveRequest,
    "component_ids",
    ComponentDep,
    service.granted_components,
)
METRIC_ITEMS = Items(
    "metrics",
    Metric,
    MetricIdsRequest,
    MetricIdsRemoveRequest,
    "metric_ids",
    MetricDep,
    service.granted_metrics,
)


def add_grant_routes(
    router: APIRouter,
    owner: Owner,
    items: Items,
    grants: Grants,
    *,
    operation_id: str,
    tags: list[str | Enum],
    summaries: Summaries,
) -> None:
    path = f"{owner.path}/{items.segment}"
    model_of: Callable[[Any], BaseModel] = items.model.of  # type: ignore[attr-defined]

    async def listed(row: Any, session: AsyncSession, pagination: Pagination) -> Response:
        rows = await items.listed(session, row.id, grants, pagination)
        return json_response([model_of(item) for item in rows])

    async def add(body: Any, page: Page, row: Any, writer: Writer) -> Response:
        await service.add_grants(writer, page, row, grants, getattr(body, items.ids_field))
        return await owner.view(writer.session, row, 200)

    async def replace(body: Any, page: Page, row: Any, writer: Writer) -> Response:
        await service.replace_grants(writer, page, row, grants, getattr(body, items.ids_field))
        return await owner.view(writer.session, row, 201)

    async def remove(page: Page, row: Any, writer: Writer, body: Any = None) -> Response:
        ids = getattr(body, items.ids_field) if body is not None else None
        await service.remove_grants(writer, page, row, grants, ids)
        return await owner.view(writer.session, row, 200)

    async def remove_one(page: Page, row: Any, item: Any, writer: Writer) -> Response:
        await service.remove_grants(writer, page, row, grants, [item.id])
        return await owner.view(writer.session, row, 200)

    common = {"page": PageDep, "row": owner.dependency, "writer": WriterDep}
    _typed(listed, row=owner.dependency, session=SessionDep, pagination=PaginationDep)
    _typed(add, body=items.ids_request, **common)
    _typed(replace, body=items.ids_request, **common)
    _typed(remove, body=items.ids_remove_request | None, **common)
    _typed(remove_one, item=items.one, **common)

    router.add_api_route(
        path,
        listed,
        methods=["GET"],
        response_model=list[items.model],  # type: ignore[name-defined]
        tags=tags,
        summary=summaries.list,
        operation_id=f"get{operation_id}",
        responses=error_responses(*READ_ERRORS),
    )
    add_update_routes(
        router,
        path,
        add,
        operation_id=operation_id,
        response_model=owner.model,
        tags=tags,
        summary=summaries.add,
        description=f"PATCH and PUT both add (Statuspage's verbs); {items.segment} of another "
        "page: 422.",
    )
    router.add_api_route(
        path,
        replace,
        methods=["POST"],
        response_model=owner.model,
        status_code=201,
        tags=tags,
        summary=summaries.replace,
        operation_id=f"post{operation_id}",
        responses=error_responses(*WRITE_ERRORS),
    )
    router.add_api_route(
        path,
        remove,
        methods=["DELETE"],
        response_model=owner.model,
        tags=tags,
        summary=summaries.remove,
        operation_id=f"delete{operation_id}",
        responses=error_responses(*WRITE_ERRORS),
    )
    singular = items.segment.removesuffix("s").capitalize()
    router.add_api_route(
        f"{path}/{{{items.segment.removesuffix('s')}_id}}",
        remove_one,
        methods=["DELETE"],
        response_model=owner.model,
        tags=tags,
        summary=summaries.remove_one,
        operation_id=f"delete{operation_id}{singular}Id",
        responses=error_responses(*WRITE_ERRORS),
    )
