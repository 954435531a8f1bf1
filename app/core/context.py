"""The request's unit of work: one session, one transaction, committed before the response is sent,
then the after-commit work (publishing, enqueueing, storing an idempotent answer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from app.core.errors import Conflict, ServiceUnavailable
from app.core.idempotency import Claim, IdempotencyStore
from app.core.infra import Infrastructure

logger = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None] | None]


@dataclass
class UnitOfWork:
    session: AsyncSession | None = None
    idempotency: IdempotencyStore | None = None
    claim: Claim | None = None
    after_commit: list[AfterCommit] = field(default_factory=list)
    # The last statements of the transaction, run just before COMMIT (so that row locks they
    # take, like a page's revision, are held as briefly as possible).
    before_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Once per transaction: a page's revision bump, the outbox relay's wake-up call.
    bumped_pages: set[str] = field(default_factory=set)
    relay_scheduled: bool = False
    read_only: bool = False

    def on_commit(self, callback: AfterCommit) -> None:
        self.after_commit.append(callback)

    def before_committing(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.before_commit.append(callback)

    async def finish(self, response: Response) -> None:
        """Commit on success (rollback otherwise), then run what waits for the commit."""
        succeeded = response.status_code < 400
        if self.session is not None and not self.read_only:
            if succeeded:
                try:
                    for last_statement in self.before_commit:
                        await last_statement()
                    await self.session.commit()
                except IntegrityError as exc:
                    raise Conflict("The change conflicts with existing data") from exc
                except (OperationalError, DBAPIError, OSError) as exc:
                    raise ServiceUnavailable(
                        "The database is unavailable; nothing was changed"
                    ) from exc
            else:
                await self.session.rollback()
        if self.claim is not None and self.idempotency is not None:
            if succeeded:
                await self.idempotency.complete(self.claim, response)
            else:
                await self.idempotency.release(self.claim)
            self.claim = None
        if succeeded:
            for callback in self.after_commit:
                try:
                    result = callback()
                    if result is not None:
                        await result
                except Exception:
                    # The commit is the durable record; a worker sweep picks up what this missed.
                    logger.exception("after-commit callback failed")

    async def abort(self) -> None:
        if self.session is not None:
            try:
                await self.session.rollback()
            except Exception:
                logger.exception("rollback failed")
        if self.claim is not None and self.idempotency is not None:
            await self.idempotency.release(self.claim)
            self.claim = None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


@dataclass
class Writer:
    """What a service needs to change state: the transaction, its after-commit work, the shared
    infrastructure, and who is acting (recorded in histories)."""

    session: AsyncSession
    work: UnitOfWork
    infra: Infrastructure
    actor: str
