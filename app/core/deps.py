"""Dependencies every /v1 route chains: session -> principal (auth, rate limit, idempotency) -> page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core.context import UnitOfWork
from app.core.errors import Forbidden, NotFound, RateLimited, Unauthorized
from app.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.core.idempotency import Claim, fingerprint
from app.core.infra import Infrastructure
from app.core.routing import ReplayResponse
from app.core.security import SAFE_METHODS, Principal, extract_api_key, hash_api_key
from app.models import ApiKey, Page


def get_infra(request: Request) -> Infrastructure:
    infra: Infrastructure = request.app.state.infra
    return infra


InfraDep = Annotated[Infrastructure, Depends(get_infra)]


def get_work(request: Request) -> UnitOfWork:
    work: UnitOfWork = request.state.work
    return work


WorkDep = Annotated[UnitOfWork, Depends(get_work)]


async def get_session(work: WorkDep, infra: InfraDep) -> AsyncSession:
    if work.session is None:
        work.session = infra.db.sessionmaker()
    return work.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def authenticate(
    request: Request, session: SessionDep, infra: InfraDep, work: WorkDep
) -> Principal:
    key = extract_api_key(request)
    if key is None:
        raise Unauthorized("Could not authenticate: send Authorization: OAuth <api key>")
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.organization_id, ApiKey.role).where(
                ApiKey.key_hash == hash_api_key(key), ApiKey.revoked_at.is_(None)
            )
        )
    ).first()
    if row is None:
        raise Unauthorized("Could not authenticate: unknown API key")
    principal = Principal(api_key_id=row.id, organization_id=row.organization_id, role=row.role)

    decision = await infra.rate_limiter.hit(principal.api_key_id)
    if decision is not None:
        request.state.response_headers = decision.headers()
        if not decision.allowed:
            raise RateLimited(
                infra.settings.rate_limit_status, decision.retry_after, decision.headers()
            )

    if request.method not in SAFE_METHODS:
        if not principal.can_write:
            raise Forbidden("This API key is read-only")
        idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
        if idempotency_key is not None:
            print_ = fingerprint(request.method, request.url.path, await request.body())
            claim = await infra.idempotency.claim(principal.api_key_id, idempotency_key, print_)
            if isinstance(claim, Response):
                raise ReplayResponse(claim)
            if isinstance(claim, Claim):
                work.idempotency = infra.idempotency
                work.claim = claim
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


async def get_page(
    page_id: Annotated[str, Path(description="Page identifier")],
    principal: PrincipalDep,
    session: SessionDep,
) -> Page:
    page = await session.scalar(
        select(Page).where(Page.id == page_id, Page.organization_id == principal.organization_id)
    )
    if page is None:
        # A page of another organization is indistinguishable from one that does not exist.
        raise NotFound("The requested resource could not be found.")
    return page


PageDep = Annotated[Page, Depends(get_page)]
