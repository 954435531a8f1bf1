"""Subscriber rules: mode inference, the page's allow_* settings, component scope, duplicates,
states (double opt-in, unsubscription, quarantine) and the outbox events that ask for messages.

Page-level routes address page subscribers (incident_id NULL); incident routes address that
incident's subscribers. Services only flush; the request's unit of work commits.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.context import Writer
from app.core.errors import NotFound, Unprocessable
from app.core.timefmt import utcnow
from app.models import Component, Incident, Page, PageAccessUser, Subscriber
from app.notifications import outbox
from app.notifications.targets import UnsafeTarget, check_public_target
from app.subscribers import schemas
from app.subscribers.phone import Phone, parse_phone

CONFIRMATION_EVENT = "subscriber.confirmation"
UNSUBSCRIBED_EVENT = "subscriber.unsubscribed"
NOT_FOUND = "The requested resource could not be found."
# Statuspage has no double opt-in for these: whoever holds the URL owns the destination.
NO_DOUBLE_OPT_IN = frozenset({"webhook", "slack", "teams"})
RESOLVED_STATUSES = frozenset({"resolved", "completed"})
_PAGE_FLAG_OF_MODE = {
    "email": ("allow_email_subscribers", "email"),
    "sms": ("allow_sms_subscribers", "SMS"),
    "webhook": ("allow_webhook_subscribers", "webhook"),
}


@dataclass(frozen=True)
class Contact:
    """Who to reach and how, validated, before any row exists."""

    mode: str
    email: str | None = None
    endpoint: str | None = None
    phone: Phone | None = None
    workspace_name: str | None = None
    channel_name: str | None = None


@dataclass(frozen=True)
class Created:
    subscriber: Subscriber
    created: bool  # False when an existing subscription was answered instead
    secret: str | None = None


# Views ------------------------------------------------------------------------------------------


def view(row: Subscriber) -> schemas.Subscriber:
    return schemas.Subscriber(
        id=row.id,
        skip_confirmation_notification=row.skip_confirmation_notification,
        mode=row.mode,
        email=row.email,
        endpoint=row.endpoint,
        phone_number=row.phone_number,
        phone_country=row.phone_country,
        display_phone_number=row.display_phone_number,
        obfuscated_channel_name=row.obfuscated_channel_name,
        workspace_name=row.workspace_name,
        quarantined_at=row.quarantined_at,
        purge_at=row.purge_at,
        components=row.component_ids,
        page_access_user_id=row.page_access_user_id,
        created_at=row.created_at,
        state=row.state,
    )


def created_view(result: Created) -> schemas.SubscriberCreated:
    return schemas.SubscriberCreated(**view(result.subscriber).model_dump(), secret=result.secret)


def obfuscate_channel(name: str) -> str:
    bare = name.lstrip("#")
    return "#" + "*" * max(len(bare) - 2, 0) + bare[-2:]


def new_webhook_secret() -> str:
    """Standard Webhooks signing secret: whsec_ + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# Lookups ----------------------------------------------------------------------------------------


async def get_subscriber(
    session: AsyncSession,
    page: Page,
    subscriber_id: str,
    *,
    incident: Incident | None = None,
    for_update: bool = False,
) -> Subscriber:
    query = select(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.page_id == page.id)
    query = query.where(
        Subscriber.incident_id.is_(None)
        if incident is None
        else Subscriber.incident_id == incident.id
    )
    if for_update:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def public_page(session: AsyncSession, page_id: str) -> Page:
    """A page anyone may subscribe to: pages whose viewers must be team members answer 404."""
    page = await session.scalar(select(Page).where(Page.id == page_id))
    if page is None or page.viewers_must_be_team_members:
        raise NotFound(NOT_FOUND)
    return page


async def subscribable_incident(session: AsyncSession, page: Page, incident_id: str) -> Incident:
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id, Incident.page_id == page.id)
    )
    if incident is None:
        raise NotFound(NOT_FOUND)
    return incident


# Creation ---------------------------------------------------------------------------------------


def infer_contact(
    *,
    mode: str | None,
    email: str | None,
    endpoint: str | None,
    phone_number: str | None,
    phone_country: str | None,
    workspace_name: str | None = None,
    channel_name: str | None = None,
) -> Contact:
    """Statuspage infers the mode: email; webhook = endpoint + email; sms = phone_number (+ phone_
    country). Extension: an explicit mode of slack or teams with the incoming-webhook endpoint."""
    if mode in ("slack", "teams"):
        if endpoint is None:
            raise Unprocessable(f"subscriber.endpoint: a {mode} subscriber needs its webhook URL")
        if phone_number is not None:
            raise Unprocessable(f"subscriber.phone_number: not used by a {mode} subscriber")
        return Contact(mode, email, endpoint, None, workspace_name, channel_name)
    if workspace_name is not None or channel_name is not None:
        raise Unprocessable("subscriber.workspace_name: only for slack or teams subscribers")
    if endpoint is not None and phone_number is not None:
        raise Unprocessable("subscriber: give either an endpoint (webhook) or a phone_number (SMS)")
    if endpoint is not None:
        inferred = "webhook"
    elif phone_number is not None:
        if email is not None:
            raise Unprocessable("subscriber: give either an email or a phone_number, not both")
        inferred = "sms"
    elif email is not None:
        inferred = "email"
    else:
        raise Unprocessable(
            "subscriber: give an email (email subscriber), an endpoint and an email (webhook "
            "subscriber) or a phone_number and phone_country (SMS subscriber)"
        )
    if mode is not None and mode != inferred:
        raise Unprocessable(f"subscriber.mode: the fields given make a {inferred} subscriber")
    if inferred == "webhook" and email is None:
        raise Unprocessable(
            "subscriber.email: a webhook subscriber needs an email address, "
            "which is told when the endpoint keeps failing"
        )
    phone = None
    if phone_number is not None:
        try:
            phone = parse_phone(phone_number, phone_country)
        except ValueError as exc:
            raise Unprocessable(f"subscriber.{exc}") from exc
    elif phone_country is not None:
        raise Unprocessable("subscriber.phone_country: only with a phone_number")
    return Contact(inferred, email, endpoint, phone)


def check_allowed(page: Page, mode: str, incident: Incident | None) -> None:
    if incident is None and not page.allow_page_subscribers:
        raise Unprocessable("This page does not allow page subscribers (allow_page_subscribers)")
    if incident is not None:
        if not page.allow_incident_subscribers:
            raise Unprocessable(
                "This page does not allow incident subscribers (allow_incident_subscribers)"
            )
        if mode not in ("email", "sms"):
            raise Unprocessable("subscriber: incident subscribers are email or SMS subscribers")
        if incident.status in RESOLVED_STATUSES:
            raise Unprocessable(
                "The incident is resolved: only unresolved incidents take subscribers"
            )
    flag = _PAGE_FLAG_OF_MODE.get(mode)
    if flag is not None and not getattr(page, flag[0]):
        raise Unprocessable(f"This page does not allow {flag[1]} subscribers ({flag[0]})")


async def resolve_components(
    session: AsyncSession, page: Page, ids: list[str] | None, field: str
) -> list[str] | None:
    """Component ids of this page, a group standing for its members; None means all."""
    if ids is None:
        return None
    rows = {
        row.id: row
        for row in await session.scalars(
            select(Component).where(Component.page_id == page.id, Component.id.in_(ids))
        )
    }
    unknown = [cid for cid in ids if cid not in rows]
    if unknown:
        raise Unprocessable(f"{field}: not components of this page: {', '.join(unknown)}")
    groups = [cid for cid in ids if rows[cid].is_group]
    members: dict[str, list[str]] = {gid: [] for gid in groups}
    if groups:
        for member_id, group_id in await session.execute(
            select(Component.id, Component.group_id)
            .where(Component.page_id == page.id, Component.group_id.in_(groups))
            .order_by(Component.position, Component.id)
        ):
            if group_id is not None:
                members[group_id].append(member_id)
    resolved: list[str] = []
    for cid in ids:
        resolved.extend(members.get(cid, [cid]))
    if not resolved:
        raise Unprocessable(f"{field}: the chosen groups have no components")
    return list(dict.fromkeys(resolved))


async def page_access_user_id(session: AsyncSession, page: Page, code: str | None) -> str | None:
    """The page access user (audience-specific pages) a subscriber belongs to, by its id."""
    if code is None:
        return None
    found = await session.scalar(
        select(PageAccessUser.id).where(
            PageAccessUser.id == code, PageAccessUser.page_id == page.id
        )
    )
    if found is None:
        raise Unprocessable("subscriber.page_access_user: not a page access user of this page")
    return found


def _same_contact(contact: Contact) -> ColumnElement[bool]:
    if contact.phone is not None:
        return (Subscriber.phone_number == contact.phone.number) & (
            Subscriber.phone_country == contact.phone.country
        )
    if contact.endpoint is not None:
        return Subscriber.endpoint == contact.endpoint
    return func.lower(Subscriber.email) == (contact.email or "").lower()


async def _existing(
    session: AsyncSession, page: Page, contact: Contact, incident: Incident | None
) -> Subscriber | None:
    """The live subscription this one would duplicate. An advisory lock on its identity makes
    two simultaneous requests for the same contact create one row, not two."""
    identity = "|".join(
        [
            page.id,
            contact.mode,
            incident.id if incident else "",
            contact.phone.country + contact.phone.number
            if contact.phone
            else contact.endpoint or (contact.email or "").lower(),
        ]
    )
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(identity))))
    query = select(Subscriber).where(
        Subscriber.page_id == page.id,
        Subscriber.mode == contact.mode,
        Subscriber.state != "unsubscribed",
        _same_contact(contact),
        Subscriber.incident_id.is_(None)
        if incident is None
        else Subscriber.incident_id == incident.id,
    )
    return await session.scalar(query.order_by(Subscriber.created_at).limit(1))


async def create_subscriber(
    writer: Writer,
    page: Page,
    contact: Contact,
    *,
    component_ids: list[str] | None = None,
    skip_confirmation: bool = False,
    incident: Incident | None = None,
    self_serve: bool = False,
    page_access_user: str | None = None,
    field: str = "subscriber",
) -> Created:
    """A new subscriber, or the live one with the same page, mode, contact and incident (no
    second row; a self-serve repeat of an unconfirmed one sends its confirmation again)."""
    session = writer.session
    check_allowed(page, contact.mode, incident)
    if contact.endpoint is not None:
        try:
            await check_public_target(
                contact.endpoint, allow_private=writer.infra.settings.outbound_allow_private
            )
        except UnsafeTarget as exc:
            raise Unprocessable(f"{field}.endpoint: {exc}") from exc
    components = await resolve_components(session, page, component_ids, f"{field}.component_ids")
    access_user_id = await page_access_user_id(session, page, page_access_user)

    existing = await _existing(session, page, contact, incident)
    if existing is not None:
        if self_serve and existing.state == "unconfirmed":
            await _emit(writer, existing, CONFIRMATION_EVENT)
        return Created(existing, created=False)

    now = utcnow()
    active = contact.mode in NO_DOUBLE_OPT_IN or (skip_confirmation and not self_serve)
    secret = new_webhook_secret() if contact.mode == "webhook" else None
    row = Subscriber(
        page_id=page.id,
        incident_id=incident.id if incident else None,
        mode=contact.mode,
        state="active" if active else "unconfirmed",
        email=contact.email,
        endpoint=contact.endpoint,
        phone_number=contact.phone.number if contact.phone else None,
        phone_country=contact.phone.country if contact.phone else None,
        display_phone_number=contact.phone.display if contact.phone else None,
        workspace_name=contact.workspace_name,
        obfuscated_channel_name=obfuscate_channel(contact.channel_name)
        if contact.channel_name
        else None,
        component_ids=components,
        skip_confirmation_notification=skip_confirmation and not self_serve,
        page_access_user_id=access_user_id,
        confirm_token=secrets.token_urlsafe(32),
        unsubscribe_token=secrets.token_urlsafe(32),
        secret=secret,
        confirmed_at=now if active else None,
        failure_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    if not active:
        await _emit(writer, row, CONFIRMATION_EVENT)
    return Created(row, created=True, secret=secret)


async def _emit(writer: Writer, row: Subscriber, kind: str) -> None:
    await outbox.emit(
        writer.session,
        writer.work,
        writer.infra.notifier,
        kind=kind,
        payload={"subscriber_id": row.id},
        page_id=row.page_id,
    )


# State changes ----------------------------------------------------------------------------------


async def unsubscribe(writer: Writer, row: Subscriber, *, notify: bool) -> bool:
    """Answers whether anything changed. Only an active subscriber is told goodbye: an unconfirmed
    one never asked for mail, a quarantined one cannot be reached, and a subscriber created with
    skip_confirmation_notification hears nothing about its subscription."""
    if row.state == "unsubscribed":
        return False
    was_active = row.state == "active"
    row.state = "unsubscribed"
    row.unsubscribed_at = utcnow()
    if notify and was_active and not row.skip_confirmation_notification:
        await _emit(writer, row, UNSUBSCRIBED_EVENT)
    return True


async def resend_confirmation(writer: Writer, row: Subscriber) -> None:
    if row.state != "unconfirmed":
        raise Unprocessable(
            f"Only unconfirmed subscribers are sent a confirmation; this one is {row.state}"
        )
    await _emit(writer, row, CONFIRMATION_EVENT)


def reactivate(row: Subscriber) -> bool:
    if row.state != "quarantined":
        return False
    row.state = "active"
    row.quarantined_at = None
    row.purge_at = None
    row.failure_count = 0
    row.failure_window_started_at = None
    return True


def confirm(row: Subscriber) -> bool:
    if row.state != "unconfirmed":
        return False
    row.state = "active"
    row.confirmed_at = utcnow()
    return True


async def set_components(
    session: AsyncSession, page: Page, row: Subscriber, component_ids: list[str] | None
) -> None:
    if row.state == "unsubscribed":
        raise Unprocessable("The subscriber is unsubscribed")
    row.component_ids = await resolve_components(session, page, component_ids, "component_ids")
    row.updated_at = utcnow()


async def by_token(
    session: AsyncSession, token: str, *, purpose: str, page_id: str | None = None
) -> Subscriber:
    column = Subscriber.confirm_token if purpose == "confirm" else Subscriber.unsubscribe_token
    query = select(Subscriber).where(column == token)
    if page_id is not None:
        query = query.where(Subscriber.page_id == page_id)
    row = await session.scalar(query.with_for_update())
    if row is None:
        raise NotFound(NOT_FOUND)
    return row
