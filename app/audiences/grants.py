"""The association tables behind audience-specific pages, handled one way: who (an owner) holds
which items. The same table read from either end serves both sides of the API, e.g.
page_access_user_components is a user's components and a component's page access users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import Unprocessable
from app.models import (
    Component,
    Metric,
    PageAccessGroup,
    PageAccessGroupComponent,
    PageAccessGroupMember,
    PageAccessGroupMetric,
    PageAccessUser,
    PageAccessUserComponent,
    PageAccessUserMetric,
)

ItemModel = type[Component] | type[Metric] | type[PageAccessUser] | type[PageAccessGroup]


@dataclass(frozen=True)
class Grants:
    table: type[Any]
    owner: InstrumentedAttribute[str]
    item: InstrumentedAttribute[str]
    item_model: ItemModel
    field: str  # how the items are named in request bodies, for error messages


USER_COMPONENTS = Grants(
    PageAccessUserComponent,
    PageAccessUserComponent.page_access_user_id,
    PageAccessUserComponent.component_id,
    Component,
    "component_ids",
)
USER_METRICS = Grants(
    PageAccessUserMetric,
    PageAccessUserMetric.page_access_user_id,
    PageAccessUserMetric.metric_id,
    Metric,
    "metric_ids",
)
USER_GROUPS = Grants(
    PageAccessGroupMember,
    PageAccessGroupMember.page_access_user_id,
    PageAccessGroupMember.page_access_group_id,
    PageAccessGroup,
    "page_access_group_ids",
)
GROUP_USERS = Grants(
    PageAccessGroupMember,
    PageAccessGroupMember.page_access_group_id,
    PageAccessGroupMember.page_access_user_id,
    PageAccessUser,
    "page_access_user_ids",
)
GROUP_COMPONENTS = Grants(
    PageAccessGroupComponent,
    PageAccessGroupComponent.page_access_group_id,
    PageAccessGroupComponent.component_id,
    Component,
    "component_ids",
)
GROUP_METRICS = Grants(
    PageAccessGroupMetric,
    PageAccessGroupMetric.page_access_group_id,
    PageAccessGroupMetric.metric_id,
    Metric,
    "metric_ids",
)
COMPONENT_USERS = Grants(
    PageAccessUserComponent,
    PageAccessUserComponent.component_id,
    PageAccessUserComponent.page_access_user_id,
    PageAccessUser,
    "page_access_user_ids",
)
COMPONENT_GROUPS = Grants(
    PageAccessGroupComponent,
    PageAccessGroupComponent.component_id,
    PageAccessGroupComponent.page_access_group_id,
    PageAccessGroup,
    "page_access_group_ids",
)


async def check_on_page(
    session: AsyncSession, grants: Grants, page_id: str, ids: Sequence[str]
) -> None:
    """Every id must name an item of this page: one of another page (or none) is a 422."""
    if not ids:
        return
    model = grants.item_model
    found = set(
        await session.scalars(select(model.id).where(model.page_id == page_id, model.id.in_(ids)))
    )
    missing = [item for item in ids if item not in found]
    if missing:
        raise Unprocessable(f"{grants.field}: {', '.join(missing)} not found on this page")


async def add(
    session: AsyncSession, grants: Grants, page_id: str, owner_id: str, ids: Sequence[str]
) -> None:
    await check_on_page(session, grants, page_id, ids)
    if ids:
        rows = [{grants.owner.key: owner_id, grants.item.key: item} for item in ids]
        await session.execute(insert(grants.table).values(rows).on_conflict_do_nothing())


async def replace(
    session: AsyncSession, grants: Grants, page_id: str, owner_id: str, ids: Sequence[str]
) -> None:
    await check_on_page(session, grants, page_id, ids)
    await session.execute(delete(grants.table).where(grants.owner == owner_id))
    await add(session, grants, page_id, owner_id, ids)


async def remove(
    session: AsyncSession,
    grants: Grants,
    page_id: str,
    owner_id: str,
    ids: Sequence[str] | None,
) -> None:
    """Remove the listed items, or every item when `ids` is None."""
    statement = delete(grants.table).where(grants.owner == owner_id)
    if ids is not None:
        await check_on_page(session, grants, page_id, ids)
        statement = statement.where(grants.item.in_(ids))
    await session.execute(statement)


async def held(
    session: AsyncSession, grants: Grants, owner_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Each owner's items, in one query."""
    result: dict[str, list[str]] = {owner_id: [] for owner_id in owner_ids}
    if owner_ids:
        rows = await session.execute(
            select(grants.owner, grants.item)
            .where(grants.owner.in_(owner_ids))
            .order_by(grants.owner, grants.item)
        )
        for owner_id, item in rows:
            result[owner_id].append(item)
    return result
