"""The chained loaders of the audience routes: each finds its row on the route's page or 404s;
a write locks the page access user or group it changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.audiences import service
from app.components import service as components
from app.core.deps import PageDep, SessionDep, session_of
from app.core.security import SAFE_METHODS
from app.metrics import service as metrics
from app.models import Component, Metric, PageAccessGroup, PageAccessUser


async def get_access_user(
    page_access_user_id: Annotated[str, Path(description="Page Access User Identifier")],
    page: PageDep,
    request: Request,
) -> PageAccessUser:
    for_update = request.method not in SAFE_METHODS
    return await service.get_user(
        session_of(request), page, page_access_user_id, for_update=for_update
    )


async def get_access_group(
    page_access_group_id: Annotated[str, Path(description="Page Access Group Identifier")],
    page: PageDep,
    request: Request,
) -> PageAccessGroup:
    for_update = request.method not in SAFE_METHODS
    return await service.get_group(
        session_of(request), page, page_access_group_id, for_update=for_update
    )


async def get_component(
    component_id: Annotated[str, Path(description="Component identifier")],
    page: PageDep,
    session: SessionDep,
) -> Component:
    return await components.get_component(session, page, component_id)


async def get_metric(
    metric_id: Annotated[str, Path(description="Identifier of metric requested")],
    page: PageDep,
    session: SessionDep,
) -> Metric:
    metric, _ = await metrics.get_metric(session, page, metric_id)
    return metric


AccessUserDep = Annotated[PageAccessUser, Depends(get_access_user)]
AccessGroupDep = Annotated[PageAccessGroup, Depends(get_access_group)]
ComponentDep = Annotated[Component, Depends(get_component)]
MetricDep = Annotated[Metric, Depends(get_metric)]
