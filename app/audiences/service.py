"""Audience-specific pages: page access users and groups, what is granted to them, and what a
viewer may therefore see (for the public read path). Every change bumps the page's revision, since
it changes what some audience sees."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.audiences import grants
from app.audiences.grants import Grants
from app.audiences.schemas import PageAccessGroup as GroupOut
from app.audiences.schemas import (
    PageAccessGroupFields,
    PageAccessUserCreateFields,
    PageAccessUserFields,
)
from app.audiences.schemas import PageAccessUser as UserOut
from app.components.service import display_order
from app.core.context import Writer
from app.core.errors import Conflict, NotFound
from app.core.pagination import Pagination
from app.core.timefmt import utcnow
from app.models import (
    Component,
    Metric,
    Page,
    PageAccessGroup,
    PageAccessGroupMember,
    PageAccessUser,
)
from app.pages.service import bump_revision


def _not_found() -> NotFound:
    return NotFound("The requested resource could not be found.")


async def _changed(writer: Writer, page: Page, row: PageAccessUser | PageAccessGroup) -> None:
    row.updated_at = utcnow()
    await writer.session.flush()
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)


# Page access users ---------------------------------------------------------------------------


async def user_views(session: AsyncSession, rows: Sequence[PageAccessUser]) -> list[UserOut]:
    ids = [row.id for row in rows]
    groups = await grants.held(session, grants.USER_GROUPS, ids)
    components = await grants.held(session, grants.USER_COMPONENTS, ids)
    metrics = await grants.held(session, grants.USER_METRICS, ids)
    return [
        UserOut(
            id=row.id,
            page_id=row.page_id,
            email=row.email,
            external_login=row.external_login,
            page_access_group_id=groups[row.id][0] if groups[row.id] else None,
            page_access_group_ids=groups[row.id],
            component_ids=components[row.id],
            metric_ids=metrics[row.id],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


async def user_view(session: AsyncSession, row: PageAccessUser) -> UserOut:
    return (await user_views(session, [row]))[0]


async def list_users(
    session: AsyncSession, page: Page, pagination: Pagination, email: str | None = None
) -> Sequence[PageAccessUser]:
    query = select(PageAccessUser).where(PageAccessUser.page_id == page.id)
    if email:
        query = query.where(PageAccessUser.email == email.strip().lower())
    query = query.order_by(PageAccessUser.created_at, PageAccessUser.id)
    query = query.offset(pagination.offset).limit(pagination.per_page)
    return (await session.scalars(query)).all()


async def get_user(
    session: AsyncSession, page: Page, user_id: str, *, for_update: bool = False
) -> PageAccessUser:
    """A change locks the user's row, so that changes to its grants apply one after another."""
    query = select(PageAccessUser).where(
        PageAccessUser.id == user_id, PageAccessUser.page_id == page.id
    )
    row = await session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise _not_found()
    return row


async def _check_email_free(
    session: AsyncSession, page: Page, email: str, except_id: str | None = None
) -> None:
    query = select(PageAccessUser.id).where(
        PageAccessUser.page_id == page.id, PageAccessUser.email == email
    )
    if except_id is not None:
        query = query.where(PageAccessUser.id != except_id)
    if await session.scalar(query) is not None:
        raise Conflict(f"page_access_user.email {email!r} already has access to this page")


async def create_user(
    writer: Writer, page: Page, fields: PageAccessUserCreateFields
) -> PageAccessUser:
    session = writer.session
    email = fields.email
    assert email is not None  # the schema refuses null
    await _check_email_free(session, page, email)
    group_ids = fields.page_access_group_ids or []
    await grants.check_on_page(session, grants.USER_GROUPS, page.id, group_ids)
    row = PageAccessUser(
        page_id=page.id,
        email=email,
        external_login=fields.external_login,
        subscribe_to_components=fields.subscribe_to_components,
    )
    session.add(row)
    await session.flush()
    await grants.add(session, grants.USER_GROUPS, page.id, row.id, group_ids)
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return row


async def update_user(
    writer: Writer, page: Page, row: PageAccessUser, fields: PageAccessUserFields
) -> PageAccessUser:
    session = writer.session
    changes = fields.model_dump(exclude_unset=True)
    if "email" in changes and changes["email"] != row.email:
        await _check_email_free(session, page, changes["email"], row.id)
        row.email = changes["email"]
    if "external_login" in changes:
        row.external_login = changes["external_login"]
    if fields.page_access_group_ids is not None:
        ids = fields.page_access_group_ids
        await grants.replace(session, grants.USER_GROUPS, page.id, row.id, ids)
    if changes:
        await _changed(writer, page, row)
    return row


async def delete_user(writer: Writer, page: Page, row: PageAccessUser) -> None:
    await writer.session.delete(row)
    await writer.session.flush()
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)


# Page access groups --------------------------------------------------------------------------


async def group_views(session: AsyncSession, rows: Sequence[PageAccessGroup]) -> list[GroupOut]:
    ids = [row.id for row in rows]
    users = await grants.held(session, grants.GROUP_USERS, ids)
    components = await grants.held(session, grants.GROUP_COMPONENTS, ids)
    metrics = await grants.held(session, grants.GROUP_METRICS, ids)
    return [
        GroupOut(
            id=row.id,
            page_id=row.page_id,
            name=row.name,
            page_access_user_ids=users[row.id],
            external_identifier=row.external_identifier,
            metric_ids=metrics[row.id],
            component_ids=components[row.id],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


async def group_view(session: AsyncSession, row: PageAccessGroup) -> GroupOut:
    return (await group_views(session, [row]))[0]


async def list_groups(
    session: AsyncSession, page: Page, pagination: Pagination
) -> Sequence[PageAccessGroup]:
    query = (
        select(PageAccessGroup)
        .where(PageAccessGroup.page_id == page.id)
        .order_by(PageAccessGroup.created_at, PageAccessGroup.id)
        .offset(pagination.offset)
        .limit(pagination.per_page)
    )
    return (await session.scalars(query)).all()


async def get_group(
    session: AsyncSession, page: Page, group_id: str, *, for_update: bool = False
) -> PageAccessGroup:
    query = select(PageAccessGroup).where(
        PageAccessGroup.id == group_id, PageAccessGroup.page_id == page.id
    )
    row = await session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise _not_found()
    return row


_GROUP_LISTS: tuple[tuple[str, Grants], ...] = (
    ("component_ids", grants.GROUP_COMPONENTS),
    ("metric_ids", grants.GROUP_METRICS),
    ("page_access_user_ids", grants.GROUP_USERS),
)


async def _check_group_lists(
    session: AsyncSession, page: Page, fields: PageAccessGroupFields
) -> None:
    """All ids checked before anything is written."""
    for name, table in _GROUP_LISTS:
        ids = getattr(fields, name)
        if ids:
            await grants.check_on_page(session, table, page.id, ids)


async def _replace_group_lists(
    session: AsyncSession, page: Page, row: PageAccessGroup, fields: PageAccessGroupFields
) -> None:
    for name, table in _GROUP_LISTS:
        ids = getattr(fields, name)
        if ids is not None:
            await grants.replace(session, table, page.id, row.id, ids)


async def create_group(
    writer: Writer, page: Page, fields: PageAccessGroupFields
) -> PageAccessGroup:
    session = writer.session
    await _check_group_lists(session, page, fields)
    assert fields.name is not None
    row = PageAccessGroup(
        page_id=page.id, name=fields.name, external_identifier=fields.external_identifier
    )
    session.add(row)
    await session.flush()
    await _replace_group_lists(session, page, row, fields)
    await bump_revision(session, writer.work, writer.infra.notifier, page)
    return row


async def update_group(
    writer: Writer, page: Page, row: PageAccessGroup, fields: PageAccessGroupFields
) -> PageAccessGroup:
    changes = fields.model_dump(exclude_unset=True)
    await _check_group_lists(writer.session, page, fields)
    if fields.name is not None:
        row.name = fields.name
    if "external_identifier" in changes:
        row.external_identifier = fields.external_identifier
    await _replace_group_lists(writer.session, page, row, fields)
    if changes:
        await _changed(writer, page, row)
    return row


async def delete_group(writer: Writer, page: Page, row: PageAccessGroup) -> GroupOut:
    view = await group_view(writer.session, row)
    await writer.session.delete(row)
    await writer.session.flush()
    await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    return view


# Grants: Statuspage's PATCH/PUT add, POST replaces, DELETE removes ---------------------------


async def add_grants(
    writer: Writer,
    page: Page,
    owner: PageAccessUser | PageAccessGroup | Component,
    table: Grants,
    ids: Sequence[str],
) -> None:
    await grants.add(writer.session, table, page.id, owner.id, ids)
    await _touch(writer, page, owner)


async def replace_grants(
    writer: Writer,
    page: Page,
    owner: PageAccessUser | PageAccessGroup | Component,
    table: Grants,
    ids: Sequence[str],
) -> None:
    await grants.replace(writer.session, table, page.id, owner.id, ids)
    await _touch(writer, page, owner)


async def remove_grants(
    writer: Writer,
    page: Page,
    owner: PageAccessUser | PageAccessGroup | Component,
    table: Grants,
    ids: Sequence[str] | None,
) -> None:
    await grants.remove(writer.session, table, page.id, owner.id, ids)
    await _touch(writer, page, owner)


async def _touch(
    writer: Writer, page: Page, owner: PageAccessUser | PageAccessGroup | Component
) -> None:
    if isinstance(owner, Component):
        # A component's own fields are unchanged: only who may see it.
        await bump_revision(writer.session, writer.work, writer.infra.notifier, page)
    else:
        await _changed(writer, page, owner)


async def granted_components(
    session: AsyncSession, owner_id: str, table: Grants, pagination: Pagination
) -> list[Component]:
    rows = await session.scalars(
        select(Component)
        .join(table.table, table.item == Component.id)
        .where(table.owner == owner_id)
    )
    ordered = display_order(rows.all())
    return ordered[pagination.offset : pagination.offset + pagination.per_page]


async def granted_metrics(
    session: AsyncSession, owner_id: str, table: Grants, pagination: Pagination
) -> Sequence[Metric]:
    query = (
        select(Metric)
        .join(table.table, table.item == Metric.id)
        .where(table.owner == owner_id)
        .order_by(Metric.created_at, Metric.id)
        .offset(pagination.offset)
        .limit(pagination.per_page)
    )
    return (await session.scalars(query)).all()


# What a viewer may see -----------------------------------------------------------------------


async def _audience_specific(session: AsyncSession, page_id: str) -> bool:
    """A page becomes audience-specific with its first page access user or group (pages carry no
    page-type flag)."""
    users = exists().where(PageAccessUser.page_id == page_id)
    groups = exists().where(PageAccessGroup.page_id == page_id)
    return bool(await session.scalar(select(users | groups)))


async def _viewer_groups(
    session: AsyncSession, page_id: str, page_access_user_id: str | None, group_ids: Sequence[str]
) -> list[str]:
    """The groups named (those of this page only) and those the user belongs to."""
    named = select(PageAccessGroup.id).where(
        PageAccessGroup.page_id == page_id, PageAccessGroup.id.in_(list(group_ids))
    )
    if page_access_user_id is None:
        return list(await session.scalars(named))
    member = (
        select(PageAccessGroupMember.page_access_group_id)
        .join(PageAccessUser, PageAccessUser.id == PageAccessGroupMember.page_access_user_id)
        .where(
            PageAccessGroupMember.page_access_user_id == page_access_user_id,
            PageAccessUser.page_id == page_id,
        )
    )
    return list(await session.scalars(union(named, member)))


async def _granted_ids(
    session: AsyncSession,
    page_id: str,
    page_access_user_id: str | None,
    group_ids: Sequence[str],
    direct: Grants,
    via_group: Grants,
) -> set[str]:
    groups = await _viewer_groups(session, page_id, page_access_user_id, group_ids)
    queries = []
    if groups:
        queries.append(select(via_group.item).where(via_group.owner.in_(groups)))
    if page_access_user_id is not None:
        queries.append(
            select(direct.item)
            .join(PageAccessUser, PageAccessUser.id == direct.owner)
            .where(direct.owner == page_access_user_id, PageAccessUser.page_id == page_id)
        )
    if not queries:
        return set()
    return set(await session.scalars(union(*queries)))


async def visible_component_ids(
    session: AsyncSession,
    page_id: str,
    *,
    page_access_user_id: str | None,
    group_ids: Sequence[str],
) -> set[str] | None:
    """The components a viewer may see: None for everything (the page is not audience-specific),
    else those granted to the user or to any of their groups (the groups they belong to and those
    named, e.g. by a sign-in). A granted component group brings its members, and a granted member
    brings its group (the container it is shown in). An anonymous viewer gets the empty set."""
    if not await _audience_specific(session, page_id):
        return None
    granted = await _granted_ids(
        session,
        page_id,
        page_access_user_id,
        group_ids,
        grants.USER_COMPONENTS,
        grants.GROUP_COMPONENTS,
    )
    if not granted:
        return granted
    rows = await session.execute(
        select(Component.id, Component.group_id).where(Component.page_id == page_id)
    )
    visible = set()
    for component_id, group_id in rows:
        if component_id in granted or group_id in granted:
            visible.add(component_id)
            if group_id is not None:
                visible.add(group_id)
    return visible


async def visible_metric_ids(
    session: AsyncSession,
    page_id: str,
    *,
    page_access_user_id: str | None,
    group_ids: Sequence[str],
) -> set[str] | None:
    """The metrics a viewer may see, by the same rules as visible_component_ids."""
    if not await _audience_specific(session, page_id):
        return None
    return await _granted_ids(
        session, page_id, page_access_user_id, group_ids, grants.USER_METRICS, grants.GROUP_METRICS
    )
