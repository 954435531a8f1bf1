"""Dependencies every /v1 route chains: principal (auth, rate limit, idempotency) -> page.

The chain is kept flat and its statements prebuilt: on a read-mostly API, dependency resolution and
SQL construction would otherwise cost more than the queries themselves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core.context import UnitOfWork, Writer
from app.core.errors import Forbidden, NotFound, RateLimited, Unauthorized
from app.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.core.idempotency import Claim, fingerprint
from app.core.infra import Infrastructure
from app.core.routing import ReplayResponse
from app.core.security import SAFE_METHODS, Principal, extract_api_key, hash_api_key
from app.models import ApiKey, Page, UserPageRole

_KEY_BY_HASH = select(ApiKey.id, ApiKey.organization_id, ApiKey.role, ApiKey.user_id).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)
_USER_ROLES_ON_PAGE = select(
    UserPageRole.page_configuration, UserPageRole.incident_manager, UserPageRole.maintenance_manager
).where(UserPageRole.user_id == bindparam("user_id"), UserPageRole.page_id == bindparam("page_id"))
# The parts of a page its incident and maintenance managers may change; every other write on a
# page needs the page configuration role.
_INCIDENT_SECTIONS = frozenset({"incidents", "incident_templates"})
_PAGE_OF_ORGANIZATION = select(Page).where(
    Page.id == bindparam("page_id"), Page.organization_id == bindparam("organization_id")
)


def infra_of(request: Request) -> Infrastructure:
    infra: Infrastructure = request.app.state.infra
    return infra


def work_of(request: Request) -> UnitOfWork:
    work: UnitOfWork = request.state.work
    return work


def session_of(request: Request) -> AsyncSession:
    """The request's session, opened on first use. Reads (GET/HEAD) run in autocommit: no
    BEGIN/COMMIT round trips; writes get one transaction, committed before the response."""
    work = work_of(request)
    if work.session is None:
        db = infra_of(request).db
        factory = db.read_sessionmaker if request.method in SAFE_METHODS else db.sessionmaker
        work.session = factory()
    return work.session


async def get_session(request: Request) -> AsyncSession:
    return session_of(request)


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_infra(request: Request) -> Infrastructure:
    return infra_of(request)


InfraDep = Annotated[Infrastructure, Depends(get_infra)]


async def get_work(request: Request) -> UnitOfWork:
    return work_of(request)


WorkDep = Annotated[UnitOfWork, Depends(get_work)]


async def _principal(request: Request, infra: Infrastructure, key: str) -> Principal | None:
    key_hash = hash_api_key(key)
    principal = infra.principals.get(key_hash)
    if principal is not None:
        return principal
    row = (await session_of(request).execute(_KEY_BY_HASH, {"key_hash": key_hash})).first()
    if row is None:
        return None
    principal = Principal(
        api_key_id=row.id, organization_id=row.organization_id, role=row.role, user_id=row.user_id
    )
    infra.principals.put(key_hash, principal)
    return principal


async def authenticate(request: Request) -> Principal:
    infra = infra_of(request)
    key = extract_api_key(request)
    if key is None:
        raise Unauthorized("Could not authenticate: send Authorization: OAuth <api key>")
    principal = await _principal(request, infra, key)
    if principal is None:
        raise Unauthorized("Could not authenticate: unknown API key")

    decision = await infra.rate_limiter.hit(principal.api_key_id)
    if decision is not None:
        request.state.response_headers = decision.headers()
        if not decision.allowed:
            raise RateLimited(
                infra.settings.rate_limit_status, decision.retry_after, decision.headers()
            )

    if principal.user_id is not None:
        await _check_user_permissions(request, principal.user_id)
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
                work = work_of(request)
                work.idempotency = infra.idempotency
                work.claim = claim
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def _page_section(path: str, page_id: str) -> str:
    """`incidents` for /v1/pages/{page_id}/incidents/..., "" for the page itself."""
    rest = path.partition(f"/pages/{page_id}")[2].strip("/")
    return rest.split("/", 1)[0].removesuffix(".json")


async def _check_user_permissions(request: Request, user_id: str) -> None:
    """A key tied to a user sees only the pages the user's permissions name (others are 404) and
    changes them only as the user's roles allow (403); organization-wide writes need a key that is
    not tied to a user."""
    writing = request.method not in SAFE_METHODS
    page_id = request.path_params.get("page_id")
    if page_id is None:
        if writing:
            raise Forbidden("This API key is tied to a user: it may change only the user's pages")
        return
    params = {"user_id": user_id, "page_id": page_id}
    roles = (await session_of(request).execute(_USER_ROLES_ON_PAGE, params)).first()
    if roles is None:
        raise NotFound("The requested resource could not be found.")
    if not writing:
        return
    if _page_section(request.url.path, page_id) in _INCIDENT_SECTIONS:
        allowed = roles.incident_manager or roles.maintenance_manager
    else:
        allowed = roles.page_configuration
    if not allowed:
        raise Forbidden("The user of this API key has no role that may change this")


async def get_page(
    page_id: Annotated[str, Path(description="Page identifier")],
    request: Request,
    principal: PrincipalDep,
) -> Page:
    page = await session_of(request).scalar(
        _PAGE_OF_ORGANIZATION,
        {"page_id": page_id, "organization_id": principal.organization_id},
    )
    if page is None:
        # A page of another organization is indistinguishable from one that does not exist.
        raise NotFound("The requested resource could not be found.")
    return page


PageDep = Annotated[Page, Depends(get_page)]


async def get_writer(request: Request, principal: PrincipalDep) -> Writer:
    return Writer(
        session_of(request),
        work_of(request),
        infra_of(request),
        actor=f"api_key:{principal.api_key_id}",
    )


WriterDep = Annotated[Writer, Depends(get_writer)]
