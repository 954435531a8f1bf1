"""Organizations, their API keys (bootstrap and key issuing), users and users' permissions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import Writer
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Pagination
from app.core.security import ROLE_WRITE, ROLES, generate_api_key, hash_api_key
from app.models import ApiKey, Organization, Page, User, UserPageRole
from app.organizations.schemas import PageRoles, UserCreateFields
from app.pages import service as pages
from app.pages.schemas import PageCreateFields


@dataclass(frozen=True)
class Bootstrapped:
    organization_id: str
    page_id: str
    api_key: str


async def issue_api_key(
    session: AsyncSession, organization_id: str, role: str = ROLE_WRITE, name: str | None = None
) -> str:
    """Create a key and answer its secret, which is never stored and cannot be shown again."""
    secret, _ = await _new_api_key(session, organization_id, role, name, None)
    return secret


async def _new_api_key(
    session: AsyncSession, organization_id: str, role: str, name: str | None, user_id: str | None
) -> tuple[str, ApiKey]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    secret = generate_api_key()
    key = ApiKey(
        organization_id=organization_id,
        key_hash=hash_api_key(secret),
        key_prefix=secret[:8],
        role=role,
        name=name,
        user_id=user_id,
    )
    session.add(key)
    await session.flush()
    return secret, key


async def get_or_create_organization(session: AsyncSession, name: str) -> Organization:
    organization = await session.scalar(select(Organization).where(Organization.name == name))
    if organization is None:
        organization = Organization(name=name)
        session.add(organization)
        await session.flush()
    return organization


async def bootstrap(
    session: AsyncSession, organization_name: str, page_name: str, role: str = ROLE_WRITE
) -> Bootstrapped:
    """Idempotent for the organization and page (matched by name); always issues a new key."""
    # Two bootstraps at once must not both create the organization: serialize them.
    await session.execute(text("SELECT pg_advisory_xact_lock(727105002)"))
    organization = await get_or_create_organization(session, organization_name)
    page = await session.scalar(
        select(Page)
        .where(Page.organization_id == organization.id, Page.name == page_name)
        .order_by(Page.created_at)
        .limit(1)
    )
    if page is None:
        page = await pages.create_page(session, organization.id, PageCreateFields(name=page_name))
    key = await issue_api_key(session, organization.id, role, name="bootstrap")
    return Bootstrapped(organization.id, page.id, key)


# Users and their permissions -----------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound("The requested resource could not be found.")


async def list_users(
    session: AsyncSession, organization_id: str, pagination: Pagination
) -> Sequence[User]:
    query = (
        select(User)
        .where(User.organization_id == organization_id)
        .order_by(User.created_at, User.id)
        .offset(pagination.offset)
        .limit(pagination.per_page)
    )
    return (await session.scalars(query)).all()


async def get_user(session: AsyncSession, organization_id: str, user_id: str) -> User:
    user = await session.scalar(
        select(User).where(User.id == user_id, User.organization_id == organization_id)
    )
    if user is None:
        raise _not_found()
    return user


async def create_user(
    session: AsyncSession, organization_id: str, fields: UserCreateFields
) -> User:
    """The password, if any, is not kept: users act through API keys tied to them."""
    email = fields.email
    assert email is not None  # the schema refuses null
    taken = await session.scalar(
        select(User.id).where(User.organization_id == organization_id, User.email == email)
    )
    if taken is not None:
        raise Unprocessable(f"user.email {email!r} has already been taken")
    user = User(
        organization_id=organization_id,
        email=email,
        first_name=fields.first_name,
        last_name=fields.last_name,
    )
    session.add(user)
    await session.flush()
    return user


async def delete_user(writer: Writer, user: User) -> None:
    """Its roles and API keys go with it; this process forgets its cached keys at once (others
    within the key cache's few seconds, after which the keys no longer exist)."""
    await writer.session.delete(user)
    await writer.session.flush()
    writer.work.on_commit(writer.infra.principals.clear)


async def permissions(session: AsyncSession, user: User) -> list[UserPageRole]:
    rows = await session.scalars(
        select(UserPageRole)
        .join(Page, Page.id == UserPageRole.page_id)
        .where(UserPageRole.user_id == user.id)
        .order_by(Page.created_at, Page.id)
    )
    return list(rows.all())


async def set_permissions(
    session: AsyncSession, user: User, pages: dict[str, PageRoles]
) -> list[UserPageRole]:
    """The pages named are all the user keeps, with exactly the roles given."""
    if pages:
        found = set(
            await session.scalars(
                select(Page.id).where(
                    Page.organization_id == user.organization_id, Page.id.in_(list(pages))
                )
            )
        )
        missing = [page_id for page_id in pages if page_id not in found]
        if missing:
            raise Unprocessable(f"pages: {', '.join(missing)} not found in this organization")
    await session.execute(delete(UserPageRole).where(UserPageRole.user_id == user.id))
    for page_id, roles in pages.items():
        session.add(UserPageRole(user_id=user.id, page_id=page_id, **roles.model_dump()))
    await session.flush()
    return await permissions(session, user)


async def issue_user_api_key(
    session: AsyncSession, user: User, role: str, name: str | None
) -> tuple[str, ApiKey]:
    """A key tied to the user: it carries the user's permissions on top of its own role."""
    return await _new_api_key(session, user.organization_id, role, name, user.id)
