"""Page rules: creation with a unique subdomain, partial updates, the revision every change bumps."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.core.context import UnitOfWork
from app.core.errors import Conflict
from app.core.notifier import Notifier
from app.core.pagination import Pagination
from app.core.timefmt import utcnow
from app.models import Page
from app.pages.schemas import PageFields


async def list_pages(
    session: AsyncSession, organization_id: str, pagination: Pagination
) -> Sequence[Page]:
    """Statuspage leaves this list unpaginated; page/per_page are honoured when a client sends them."""
    query = (
        select(Page)
        .where(Page.organization_id == organization_id)
        .order_by(Page.created_at, Page.id)
    )
    if pagination.requested:
        query = query.offset(pagination.offset).limit(pagination.per_page)
    return (await session.scalars(query)).all()


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-")
    return slug or "status"


async def _taken(session: AsyncSession, column: str, value: str, except_id: str | None) -> bool:
    attribute = getattr(Page, column)
    query = select(func.count()).select_from(Page).where(attribute == value)
    if except_id is not None:
        query = query.where(Page.id != except_id)
    return bool(await session.scalar(query))


async def _check_unique(session: AsyncSession, fields: PageFields, page_id: str | None) -> None:
    for column in ("subdomain", "domain"):
        value = getattr(fields, column)
        if (
            column in fields.model_fields_set
            and value is not None
            and await _taken(session, column, value, page_id)
        ):
            raise Conflict(f"page.{column} {value!r} is already taken")


async def create_page(session: AsyncSession, organization_id: str, fields: PageFields) -> Page:
    await _check_unique(session, fields, None)
    values = fields.model_dump(exclude_unset=True)
    if not values.get("subdomain"):
        base = _slug(str(values["name"]))
        subdomain = base
        while await _taken(session, "subdomain", subdomain, None):
            subdomain = f"{base}-{secrets.token_hex(3)}"
        values["subdomain"] = subdomain
    page = Page(organization_id=organization_id, **values)
    session.add(page)
    await session.flush()
    return page


async def update_page(
    session: AsyncSession, work: UnitOfWork, notifier: Notifier, page: Page, fields: PageFields
) -> Page:
    await _check_unique(session, fields, page.id)
    changes = fields.model_dump(exclude_unset=True)
    for name, value in changes.items():
        setattr(page, name, value)
    if changes:
        page.updated_at = utcnow()
        await session.flush()
        await bump_revision(session, work, notifier, page)
    return page


async def delete_page(session: AsyncSession, page: Page) -> Page:
    await session.delete(page)
    await session.flush()
    return page


async def bump_revision(
    session: AsyncSession, work: UnitOfWork, notifier: Notifier, page: Page
) -> None:
    """The page's revision goes up by one in the caller's transaction, once however many changes
    it holds, as its last statement before COMMIT; after the commit every process hears of it (the
    public read path drops its snapshots). Every change to what the page shows calls this."""
    if page.id in work.bumped_pages:
        return
    work.bumped_pages.add(page.id)
    page_id = page.id

    async def bump() -> None:
        revision = await session.scalar(_BUMP, {"page_id": page_id})
        assert revision is not None
        set_committed_value(page, "revision", revision)
        work.on_commit(lambda: notifier.page_changed(page_id, revision))

    work.before_committing(bump)


_BUMP = (
    update(Page)
    .where(Page.id == bindparam("page_id"))
    # updated_at as it is: the revision counts every change, updated_at the page's own settings.
    .values(revision=Page.revision + 1, updated_at=Page.updated_at)
    .returning(Page.revision)
    .execution_options(synchronize_session=False)
)
