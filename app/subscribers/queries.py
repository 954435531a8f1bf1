"""Subscriber reads: the filtered and sorted lists, counts, the histogram, and the subscribers a
bulk operation applies to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Unprocessable
from app.models import Incident, Page, Subscriber
from app.subscribers import schemas

# The states the API lists ("all"); unsubscribed subscribers have their own list.
LISTED_STATES = ("active", "unconfirmed", "quarantined")
MODES = ("email", "sms", "webhook", "integration_partner", "slack", "teams")


# Lists and figures ------------------------------------------------------------------------------


def _page_subscribers(page: Page) -> Select[Subscriber]:
    return select(Subscriber).where(Subscriber.page_id == page.id, Subscriber.incident_id.is_(None))


def states_of(state: str) -> tuple[str, ...]:
    return LISTED_STATES if state == "all" else (state,)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_subscribers(
    session: AsyncSession,
    page: Page,
    *,
    q: str | None,
    mode: str | None,
    state: str,
    limit: int,
    page_number: int,
    sort_field: str,
    sort_direction: str,
) -> list[Subscriber]:
    query = _page_subscribers(page).where(Subscriber.state.in_(states_of(state)))
    if mode is not None:
        query = query.where(Subscriber.mode == mode)
    primary = func.lower(
        func.coalesce(Subscriber.endpoint, Subscriber.phone_number, Subscriber.email)
    )
    if q:
        pattern = f"%{_escape_like(q.strip().lower())}%"
        digits = "".join(c for c in q if c.isdigit())
        matches = [
            func.lower(Subscriber.email).like(pattern),
            func.lower(Subscriber.endpoint).like(pattern),
            Subscriber.phone_number.like(pattern),
        ]
        if digits:
            matches.append(Subscriber.phone_number.like(f"%{digits}%"))
        query = query.where(or_(*matches))
    descending = sort_direction == "desc"
    order: list[Any]
    if sort_field == "relevance":
        if not q:
            raise Unprocessable("sort_field: relevance sorts by the search text; give q")
        term = q.strip().lower()
        exact, prefix = primary == term, primary.like(f"{_escape_like(term)}%")
        order = (
            [exact.asc(), prefix.asc(), primary.desc()]
            if descending
            else [exact.desc(), prefix.desc(), primary.asc()]
        )
    else:
        key = {
            "primary": primary,
            "created_at": Subscriber.created_at,
            "quarantined_at": Subscriber.quarantined_at,
        }[sort_field]
        order = [key.desc().nulls_last() if descending else key.asc().nulls_last()]
    query = query.order_by(*order, Subscriber.id).offset(page_number * limit).limit(limit)
    return list((await session.scalars(query)).all())


async def list_unsubscribed(
    session: AsyncSession, page: Page, offset: int, limit: int
) -> list[Subscriber]:
    query = (
        _page_subscribers(page)
        .where(Subscriber.state == "unsubscribed")
        .order_by(Subscriber.unsubscribed_at.desc(), Subscriber.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def list_incident_subscribers(
    session: AsyncSession, incident: Incident, offset: int, limit: int
) -> list[Subscriber]:
    """Active and unconfirmed ones (quarantined subscribers are left out, as by default on the
    page-level list; unsubscribed ones are gone)."""
    query = (
        select(Subscriber)
        .where(
            Subscriber.incident_id == incident.id,
            Subscriber.state.in_(("active", "unconfirmed")),
        )
        .order_by(Subscriber.created_at, Subscriber.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def _counts(session: AsyncSession, page: Page) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(Subscriber.mode, Subscriber.state, func.count())
        .where(
            Subscriber.page_id == page.id,
            Subscriber.incident_id.is_(None),
            Subscriber.state.in_(LISTED_STATES),
        )
        .group_by(Subscriber.mode, Subscriber.state)
    )
    return {(mode, state): int(n) for mode, state, n in rows}


async def count_by_type(
    session: AsyncSession, page: Page, mode: str | None, state: str
) -> schemas.SubscriberCountByType:
    counts = await _counts(session, page)
    states = states_of(state)
    figures = {
        m: sum(counts.get((m, s), 0) for s in states) if mode in (None, m) else 0 for m in MODES
    }
    return schemas.SubscriberCountByType(**figures)


async def histogram(session: AsyncSession, page: Page) -> schemas.SubscriberCountByTypeAndState:
    counts = await _counts(session, page)
    figures: dict[str, schemas.SubscriberCountByState] = {}
    for mode in MODES:
        by_state = {s: counts.get((mode, s), 0) for s in LISTED_STATES}
        figures[mode] = schemas.SubscriberCountByState(**by_state, total=sum(by_state.values()))
    return schemas.SubscriberCountByTypeAndState(**figures)


# Bulk -------------------------------------------------------------------------------------------


async def bulk_targets(
    session: AsyncSession,
    page: Page,
    subscribers: list[str] | str,
    *,
    states: tuple[str, ...],
    mode: str | None = None,
    cap: int | None = None,
) -> list[Subscriber]:
    """The page subscribers a bulk operation applies to, locked. Listed ids must all be page
    subscribers (422 otherwise, nothing changed); those in another state or mode are skipped."""
    query = _page_subscribers(page).where(Subscriber.state.in_(states))
    if mode is not None:
        query = query.where(Subscriber.mode == mode)
    if subscribers == "all":
        query = query.order_by(Subscriber.id).with_for_update()
        if cap is not None:
            query = query.limit(cap + 1)
        rows = list((await session.scalars(query)).all())
        if cap is not None and len(rows) > cap:
            raise Unprocessable(
                f'subscribers: "all" applies only when at most {cap} subscribers match; '
                "list their ids instead"
            )
        return rows
    ids = list(dict.fromkeys(subscribers))
    known = set(
        (
            await session.scalars(
                select(Subscriber.id).where(
                    Subscriber.page_id == page.id,
                    Subscriber.incident_id.is_(None),
                    Subscriber.id.in_(ids),
                )
            )
        ).all()
    )
    unknown = [sid for sid in ids if sid not in known]
    if unknown:
        raise Unprocessable(f"subscribers: not subscribers of this page: {', '.join(unknown)}")
    query = query.where(Subscriber.id.in_(ids)).order_by(Subscriber.id).with_for_update()
    return list((await session.scalars(query)).all())
