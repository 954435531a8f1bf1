"""Component and group rules: membership, ordering, and status changes with their history, outbox
event and page revision, all in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.components.rollup import page_status, worst_status
from app.components.schemas import Component as ComponentOut
from app.components.schemas import ComponentFields, GroupFields
from app.core.context import Writer
from app.core.errors import NotFound, Unprocessable
from app.core.ids import new_id
from app.core.pagination import Pagination
from app.core.timefmt import format_timestamp, utcnow
from app.models import Component, ComponentStatusChange, Page
from app.notifications import outbox
from app.pages.service import bump_revision

COMPONENT_UPDATE_EVENT = "component.update"


async def page_components(session: AsyncSession, page_id: str) -> list[Component]:
    rows = await session.scalars(select(Component).where(Component.page_id == page_id))
    return list(rows.all())


def display_order(rows: Sequence[Component]) -> list[Component]:
    """Top-level rows by position, each group followed by its members by position."""
    by_id = {row.id: row for row in rows}

    def key(row: Component) -> tuple[int, int, int]:
        if row.group_id is not None and row.group_id in by_id:
            return (by_id[row.group_id].position, 1, row.position)
        return (row.position, 0, 0)

    return sorted(rows, key=key)


async def list_components(
    session: AsyncSession, page: Page, pagination: Pagination
) -> list[Component]:
    ordered = display_order(await page_components(session, page.id))
    return ordered[pagination.offset : pagination.offset + pagination.per_page]


async def get_component(session: AsyncSession, page: Page, component_id: str) -> Component:
    row = await session.scalar(
        select(Component).where(Component.id == component_id, Component.page_id == page.id)
    )
    if row is None:
        raise NotFound("The requested resource could not be found.")
    return row


_COMPONENT_ON_PAGE = (
    select(Component, Page)
    .join(Page, Page.id == Component.page_id)
    .where(
        Component.id == bindparam("component_id"),
        Page.id == bindparam("page_id"),
        Page.organization_id == bindparam("organization_id"),
    )
)
_COMPONENT_ON_PAGE_FOR_UPDATE = _COMPONENT_ON_PAGE.with_for_update(of=Component)


async def component_on_page(
    session: AsyncSession,
    organization_id: str,
    page_id: str,
    component_id: str,
    *,
    for_update: bool = False,
) -> tuple[Page, Component] | None:
    """One query for a component route: the page (of this organization) and the component."""
    statement = _COMPONENT_ON_PAGE_FOR_UPDATE if for_update else _COMPONENT_ON_PAGE
    params = {"component_id": component_id, "page_id": page_id, "organization_id": organization_id}
    row = (await session.execute(statement, params)).first()
    return None if row is None else (row.Page, row.Component)


async def get_group(session: AsyncSession, page: Page, group_id: str) -> Component:
    row = await get_component(session, page, group_id)
    if not row.is_group:
        raise NotFound("The requested resource could not be found.")
    return row


async def group_members(session: AsyncSession, group: Component) -> list[Component]:
    rows = await session.scalars(
        select(Component)
        .where(Component.group_id == group.id, Component.page_id == group.page_id)
        .order_by(Component.position, Component.created_at)
    )
    return list(rows.all())


# Ordering -----------------------------------------------------------------------------------


async def _siblings(session: AsyncSession, page_id: str, group_id: str | None) -> list[Component]:
    parent = Component.group_id.is_(None) if group_id is None else Component.group_id == group_id
    rows = await session.scalars(
        select(Component)
        .where(Component.page_id == page_id, parent)
        .order_by(Component.position, Component.created_at, Component.id)
    )
    return list(rows.all())


def _renumber(rows: list[Component]) -> None:
    for index, row in enumerate(rows, start=1):
        if row.position != index:
            row.position = index


async def _place(
    session: AsyncSession,
    row: Component,
    group_id: str | None,
    position: int | None,
    *,
    new: bool = False,
) -> None:
    """Put `row` among the children of `group_id` at `position` (default: last), closing the gap
    it leaves behind; positions stay 1..n without duplicates."""
    if not new:
        old = [r for r in await _siblings(session, row.page_id, row.group_id) if r.id != row.id]
        _renumber(old)
    targets = [r for r in await _siblings(session, row.page_id, group_id) if r.id != row.id]
    index = len(targets) if position is None else max(0, min(position - 1, len(targets)))
    row.group_id = group_id
    targets.insert(index, row)
    _renumber(targets)


# Status changes -----------------------------------------------------------------------------


def _event_component(row: Component) -> dict[str, Any]:
    return {
        "created_at": format_timestamp(row.created_at),
        "updated_at": format_timestamp(row.updated_at),
        "id": row.id,
        "page_id": row.page_id,
        "group_id": row.group_id,
        "group": row.is_group,
        "name": row.name,
        "description": row.description,
        "status": row.status,
        "position": row.position,
        "showcase": row.showcase,
        "only_show_if_degraded": row.only_show_if_degraded,
        "start_date": row.start_date.isoformat() if row.start_date else None,
    }


def component_update_payload(
    row: Component,
    old_status: str,
    change_id: str,
    now: datetime,
    indicator: str,
    description: str,
) -> dict[str, Any]:
    """The outbox event of a status change (API.md 4.3), `row` already carrying the new status."""
    return {
        "page": {
            "id": row.page_id,
            "status_indicator": indicator,
            "status_description": description,
        },
        "component_update": {
            "created_at": format_timestamp(now),
            "new_status": row.status,
            "old_status": old_status,
            "id": change_id,
            "component_id": row.id,
            "component_type": "Component",
        },
        "component": _event_component(row),
    }


async def _refresh_group_status(session: AsyncSession, group_id: str | None) -> None:
    if group_id is None:
        return
    group = await session.get(Component, group_id)
    if group is None:
        return
    statuses = await session.scalars(select(Component.status).where(Component.group_id == group_id))
    status = worst_status(statuses.all())
    if group.status != status:
        group.status = status


@dataclass
class PageStatuses:
    """Every component's status on a page and the impacts of its unresolved incidents, read in one
    query per transaction and kept current in memory, so that each change can compute the page
    indicator (API.md 5.3) and its group's status without another query."""

    rows: dict[str, tuple[str, str | None, bool]]  # id -> (status, group_id, is_group)
    incident_impacts: list[str] = field(default_factory=list)

    @classmethod
    async def load(cls, session: AsyncSession, page_id: str) -> PageStatuses:
        await session.flush()
        statuses = cls({})
        for row in await session.execute(_PAGE_STATUSES, {"page_id": page_id}):
            if row.kind == "component":
                statuses.rows[row.id] = (row.status, row.group_id, row.is_group)
            else:
                statuses.incident_impacts.append(row.status)
        return statuses

    def set(self, component_id: str, status: str) -> None:
        _, group_id, is_group = self.rows[component_id]
        self.rows[component_id] = (status, group_id, is_group)

    def indicator(self) -> tuple[str, str]:
        leaves = (s for s, _, is_group in self.rows.values() if not is_group)
        return page_status(leaves, self.incident_impacts)

    def group_status(self, group_id: str) -> str:
        return worst_status(s for s, g, _ in self.rows.values() if g == group_id)


_PAGE_STATUSES = text(
    """
    SELECT 'component' AS kind, id, status, group_id, is_group
    FROM components WHERE page_id = :page_id
    UNION ALL
    SELECT 'incident', id, coalesce(impact_override, impact), NULL, false
    FROM incidents
    WHERE page_id = :page_id AND NOT is_maintenance AND NOT backfilled AND status <> 'resolved'
    """
)

# The whole change in one round trip: the component, its history row and the webhook event (the
# page revision follows just before COMMIT). The component row is already locked by the request.
_APPLY_STATUS_CHANGE = text(
    """
    WITH changed AS (
        UPDATE components SET status = :new_status, updated_at = :now
        WHERE id = :component_id RETURNING id
    ), history AS (
        INSERT INTO component_status_changes
            (id, component_id, page_id, old_status, new_status, at, source, actor, incident_id)
        SELECT :change_id, id, :page_id, :old_status, :new_status, :now, :source, :actor,
               :incident_id
        FROM changed
    ), event AS (
        INSERT INTO outbox_events (page_id, kind, payload, created_at, attempts)
        SELECT :page_id, :kind, :payload, :now, 0 FROM changed
    )
    SELECT count(*) FROM changed
    """
).bindparams(bindparam("payload", type_=JSONB))


async def set_status(
    writer: Writer,
    page: Page,
    row: Component,
    new_status: str,
    *,
    source: str = "api",
    actor: str | None = None,
    incident_id: str | None = None,
    statuses: PageStatuses | None = None,
) -> str | None:
    """Change one component's status: a history row, an outbox event for webhook subscribers, the
    group's derived status and the page revision, in the caller's transaction. Answers the id of
    the history row, or None when the component already had that status (nothing is written)."""
    if row.is_group:
        raise Unprocessable("A component group's status follows its components; set theirs")
    if row.status == new_status:
        return None
    session = writer.session
    await session.flush()  # pending ORM changes first, so the statement below sees them
    if statuses is None:
        statuses = await PageStatuses.load(session, page.id)
    statuses.set(row.id, new_status)
    indicator, description = statuses.indicator()
    now = utcnow()
    change_id = new_id()
    old_status = row.status
    set_committed_value(row, "status", new_status)
    set_committed_value(row, "updated_at", now)
    payload = component_update_payload(row, old_status, change_id, now, indicator, description)
    await session.execute(
        _APPLY_STATUS_CHANGE,
        {
            "new_status": new_status,
            "old_status": old_status,
            "now": now,
            "component_id": row.id,
            "change_id": change_id,
            "page_id": page.id,
            "source": source,
            "actor": actor or writer.actor,
            "incident_id": incident_id,
            "kind": COMPONENT_UPDATE_EVENT,
            "payload": payload,
        },
    )
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    outbox.wake_after_commit(writer.work, writer.infra.notifier)
    if row.group_id is not None and row.group_id in statuses.rows:
        group_status = statuses.group_status(row.group_id)
        if statuses.rows[row.group_id][0] != group_status:
            statuses.set(row.group_id, group_status)
            group = await session.get(Component, row.group_id)
            if group is not None:
                group.status = group_status
    return change_id


# Components ---------------------------------------------------------------------------------


async def _resolve_group(session: AsyncSession, page: Page, group_id: str) -> Component:
    group = await session.scalar(
        select(Component).where(Component.id == group_id, Component.page_id == page.id)
    )
    if group is None:
        raise Unprocessable(
            f"component.group_id {group_id!r} is not a component group of this page"
        )
    if not group.is_group:
        raise Unprocessable(f"component.group_id {group_id!r} is a component, not a group")
    return group


def _automation_email(base_url: str) -> str:
    host = urlsplit(base_url).hostname or "localhost"
    return f"component+{uuid.uuid4()}@notifications.{host}"


async def create_component(writer: Writer, page: Page, fields: ComponentFields) -> Component:
    session = writer.session
    group_id = fields.group_id
    if group_id is not None:
        await _resolve_group(session, page, group_id)
    status = fields.status or "operational"
    row = Component(
        page_id=page.id,
        name=fields.name,
        description=fields.description,
        status=status,
        showcase=True if fields.showcase is None else fields.showcase,
        only_show_if_degraded=bool(fields.only_show_if_degraded),
        start_date=fields.start_date,
        is_group=False,
        automation_email=_automation_email(writer.infra.settings.public_base_url),
        position=0,
    )
    await _place(session, row, group_id, fields.position, new=True)
    session.add(row)
    await session.flush()
    session.add(
        ComponentStatusChange(
            component_id=row.id,
            page_id=page.id,
            old_status=None,
            new_status=status,
            at=row.created_at,
            source="api",
            actor=writer.actor,
        )
    )
    await _refresh_group_status(session, group_id)
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return row


async def _release_from(writer: Writer, page: Page, group_id: str | None) -> None:
    """A group cannot be empty: when its last member leaves, the group goes (as in Statuspage)."""
    if group_id is None:
        return
    group = await writer.session.get(Component, group_id)
    if group is None:
        return
    if await group_members(writer.session, group):
        await _refresh_group_status(writer.session, group_id)
        return
    await _delete_row(writer, group)


async def update_component(
    writer: Writer, page: Page, row: Component, fields: ComponentFields
) -> Component:
    """Apply what was sent; a request that changes nothing writes nothing."""
    session = writer.session
    changes = fields.model_dump(exclude_unset=True)
    if row.is_group:
        if changes.get("status") is not None:
            raise Unprocessable("component.status: a group's status follows its components")
        if changes.get("group_id") is not None:
            raise Unprocessable("component.group_id: component groups cannot be nested")
    changed = False
    for name in ("name", "description", "showcase", "only_show_if_degraded", "start_date"):
        if name in changes and getattr(row, name) != changes[name]:
            setattr(row, name, changes[name])
            changed = True
    old_group = row.group_id
    position = changes.get("position")
    if "group_id" in changes and changes["group_id"] != row.group_id:
        if changes["group_id"] is not None:
            await _resolve_group(session, page, changes["group_id"])
        await _place(session, row, changes["group_id"], position)
        await session.flush()
        await _refresh_group_status(session, row.group_id)
        await _release_from(writer, page, old_group)
        changed = True
    elif position is not None and position != row.position:
        await _place(session, row, row.group_id, position)
        changed = True
    if changes.get("status") is not None:
        await set_status(writer, page, row, changes["status"])
    if changed:
        row.updated_at = utcnow()
        await bump_revision(session, writer.work, writer.infra.notifier, page)
    return row


async def _delete_row(writer: Writer, row: Component) -> None:
    session = writer.session
    siblings = [r for r in await _siblings(session, row.page_id, row.group_id) if r.id != row.id]
    if row.is_group:
        members = await group_members(session, row)
        top = [r for r in await _siblings(session, row.page_id, None) if r.id != row.id]
        for member in members:
            member.group_id = None
        # Released members take the group's place, in their order.
        index = max(0, row.position - 1)
        _renumber(top[:index] + members + top[index:])
        siblings = []
    await session.delete(row)
    _renumber(siblings)
    await session.flush()


async def delete_component(writer: Writer, page: Page, row: Component) -> None:
    group_id = row.group_id
    await _delete_row(writer, row)
    await _release_from(writer, page, group_id)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)


async def bulk_set_status(writer: Writer, page: Page, statuses: dict[str, str]) -> list[Component]:
    rows = {row.id: row for row in await page_components(writer.session, page.id)}
    unknown = sorted(set(statuses) - set(rows))
    if unknown:
        raise Unprocessable(f"components: not components of this page: {', '.join(unknown)}")
    groups = sorted(cid for cid in statuses if rows[cid].is_group)
    if groups:
        raise Unprocessable(f"components: groups have no status of their own: {', '.join(groups)}")
    # Lock in id order, as incidents do, so that overlapping writers cannot deadlock.
    await writer.session.execute(
        select(Component.id)
        .where(Component.page_id == page.id, Component.id.in_(sorted(statuses)))
        .order_by(Component.id)
        .with_for_update()
    )
    current = await PageStatuses.load(writer.session, page.id)
    for component_id, status in statuses.items():
        await set_status(writer, page, rows[component_id], status, statuses=current)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return [rows[cid] for cid in statuses]


# Groups -------------------------------------------------------------------------------------


async def _members_for(
    writer: Writer, page: Page, ids: list[str], group_id: str | None
) -> list[Component]:
    if not ids:
        raise Unprocessable("component_group.components: a group needs at least one component")
    rows = {
        row.id: row
        for row in await writer.session.scalars(
            select(Component).where(Component.page_id == page.id, Component.id.in_(ids))
        )
    }
    unknown = [cid for cid in dict.fromkeys(ids) if cid not in rows]
    if unknown:
        raise Unprocessable(
            f"component_group.components: not components of this page: {', '.join(unknown)}"
        )
    nested = [cid for cid in rows if rows[cid].is_group]
    if nested:
        raise Unprocessable("component_group.components: component groups cannot be nested")
    return [rows[cid] for cid in dict.fromkeys(ids)]


async def group_view(session: AsyncSession, group: Component) -> dict[str, Any]:
    members = await group_members(session, group)
    return {
        "id": group.id,
        "page_id": group.page_id,
        "name": group.name,
        "description": group.description,
        "components": [m.id for m in members],
        "position": group.position,
        "created_at": group.created_at,
        "updated_at": group.updated_at,
    }


async def list_groups(session: AsyncSession, page: Page, pagination: Pagination) -> list[Component]:
    rows = await session.scalars(
        select(Component)
        .where(Component.page_id == page.id, Component.is_group.is_(True))
        .order_by(Component.position, Component.created_at)
        .offset(pagination.offset)
        .limit(pagination.per_page)
    )
    return list(rows.all())


async def _move_members(
    writer: Writer, page: Page, group: Component, members: list[Component]
) -> None:
    session = writer.session
    left_behind: set[str] = set()
    for index, member in enumerate(members, start=1):
        if member.group_id != group.id:
            if member.group_id is not None:
                left_behind.add(member.group_id)
            await _place(session, member, group.id, index)
        elif member.position != index:
            await _place(session, member, group.id, index)
    await session.flush()
    wanted = {m.id for m in members}
    for current in await group_members(session, group):
        if current.id not in wanted:
            await _place(session, current, None, None)  # released to the top level
    await session.flush()
    await _refresh_group_status(session, group.id)
    for old_group in left_behind - {group.id}:
        await _release_from(writer, page, old_group)


async def create_group(
    writer: Writer, page: Page, fields: GroupFields, description: str | None
) -> Component:
    session = writer.session
    members = await _members_for(writer, page, fields.components or [], None)
    group = Component(
        page_id=page.id,
        name=fields.name,
        description=fields.description if fields.description is not None else description,
        status="operational",
        is_group=True,
        showcase=True,
        only_show_if_degraded=False,
        position=0,
    )
    await _place(session, group, None, fields.position, new=True)
    session.add(group)
    await session.flush()
    await _move_members(writer, page, group, members)
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return group


async def update_group(
    writer: Writer, page: Page, group: Component, fields: GroupFields, description: str | None
) -> Component:
    session = writer.session
    changes = fields.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        group.name = changes["name"]
    if "description" in changes:
        group.description = changes["description"]
    elif description is not None:
        group.description = description
    if "components" in changes:
        members = await _members_for(writer, page, changes["components"] or [], group.id)
        await _move_members(writer, page, group, members)
    if changes.get("position") is not None:
        await _place(session, group, None, changes["position"])
    group.updated_at = utcnow()
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return group


async def delete_group(writer: Writer, page: Page, group: Component) -> dict[str, Any]:
    view = await group_view(writer.session, group)
    await _delete_row(writer, group)
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return view


def component_out(row: Component) -> ComponentOut:
    return ComponentOut.of(row)
