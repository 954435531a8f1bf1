"""Organizations and their API keys (bootstrap and key issuing)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import ROLE_WRITE, ROLES, generate_api_key, hash_api_key
from app.models import ApiKey, Organization, Page
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
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    secret = generate_api_key()
    session.add(
        ApiKey(
            organization_id=organization_id,
            key_hash=hash_api_key(secret),
            key_prefix=secret[:8],
            role=role,
            name=name,
        )
    )
    await session.flush()
    return secret


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
