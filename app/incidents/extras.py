"""Postmortems (on the incident row) and incident templates."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.schemas import Component as ComponentOut
from app.core.context import Writer
from app.core.errors import NotFound, Unprocessable
from app.core.pagination import Pagination
from app.core.timefmt import utcnow
from app.incidents import schemas
from app.incidents.service import NOT_FOUND, announce
from app.models import Component, Incident, IncidentTemplate, Page

# Postmortem -------------------------------------------------------------------------------------


def postmortem_out(incident: Incident) -> schemas.Postmortem:
    return schemas.Postmortem(
        preview_key=incident.postmortem_preview_key,
        body=incident.postmortem_body,
        body_updated_at=incident.postmortem_body_last_updated_at,
        body_draft=incident.postmortem_body_draft,
        body_draft_updated_at=incident.postmortem_body_draft_updated_at,
        published_at=incident.postmortem_published_at,
        notify_subscribers=incident.postmortem_notified_subscribers,
        notify_twitter=incident.postmortem_notified_twitter,
        custom_tweet=incident.postmortem_custom_tweet,
        created_at=incident.postmortem_created_at,
        updated_at=incident.postmortem_updated_at,
    )


def existing_postmortem(incident: Incident) -> schemas.Postmortem:
    if incident.postmortem_created_at is None:
        raise NotFound(NOT_FOUND)
    return postmortem_out(incident)


async def save_draft(
    writer: Writer, page: Page, incident: Incident, draft: schemas.PostmortemDraft
) -> schemas.Postmortem:
    now = utcnow()
    if incident.postmortem_created_at is None:
        incident.postmortem_created_at = now
        incident.postmortem_preview_key = secrets.token_hex(16)
    incident.postmortem_body_draft = draft.body_draft
    incident.postmortem_body_draft_updated_at = now
    incident.postmortem_updated_at = now
    incident.updated_at = now
    await announce(writer, page, incident, deliver=False)
    return postmortem_out(incident)


async def publish(
    writer: Writer, page: Page, incident: Incident, options: schemas.PostmortemPublish
) -> schemas.Postmortem:
    if incident.postmortem_created_at is None:
        raise NotFound(NOT_FOUND)
    if not incident.postmortem_body_draft:
        raise Unprocessable("postmortem.body_draft: there is no draft to publish")
    now = utcnow()
    incident.postmortem_body = incident.postmortem_body_draft
    incident.postmortem_body_last_updated_at = now
    incident.postmortem_published_at = now
    incident.postmortem_notified_subscribers = options.notify_subscribers
    incident.postmortem_notified_twitter = options.notify_twitter
    incident.postmortem_custom_tweet = options.custom_tweet
    incident.postmortem_updated_at = now
    incident.updated_at = now
    await announce(writer, page, incident, deliver=options.notify_subscribers)
    return postmortem_out(incident)


async def revert(writer: Writer, page: Page, incident: Incident) -> schemas.Postmortem:
    """Back to draft: the published text leaves the incident, the draft keeps it."""
    if incident.postmortem_created_at is None:
        raise NotFound(NOT_FOUND)
    now = utcnow()
    if incident.postmortem_body is not None:
        incident.postmortem_body_draft = incident.postmortem_body
    incident.postmortem_body = None
    incident.postmortem_published_at = None
    incident.postmortem_notified_subscribers = False
    incident.postmortem_notified_twitter = False
    incident.postmortem_updated_at = now
    incident.updated_at = now
    await announce(writer, page, incident, deliver=False)
    return postmortem_out(incident)


async def delete_postmortem(writer: Writer, page: Page, incident: Incident) -> None:
    if incident.postmortem_created_at is None:
        raise NotFound(NOT_FOUND)
    for name in (
        "postmortem_created_at",
        "postmortem_updated_at",
        "postmortem_preview_key",
        "postmortem_body",
        "postmortem_body_last_updated_at",
        "postmortem_body_draft",
        "postmortem_body_draft_updated_at",
        "postmortem_custom_tweet",
        "postmortem_published_at",
    ):
        setattr(incident, name, None)
    incident.postmortem_notified_subscribers = False
    incident.postmortem_notified_twitter = False
    incident.updated_at = utcnow()
    await announce(writer, page, incident, deliver=False)


# Templates --------------------------------------------------------------------------------------


async def template_views(
    session: AsyncSession, page: Page, templates: list[IncidentTemplate]
) -> list[schemas.IncidentTemplate]:
    wanted = {cid for t in templates for cid in t.component_ids}
    components = {}
    if wanted:
        rows = await session.scalars(
            select(Component).where(Component.page_id == page.id, Component.id.in_(wanted))
        )
        components = {row.id: row for row in rows}
    return [
        schemas.IncidentTemplate(
            id=t.id,
            components=[ComponentOut.of(components[c]) for c in t.component_ids if c in components],
            name=t.name,
            title=t.title,
            body=t.body,
            group_id=t.group_id,
            update_status=t.update_status,
            should_tweet=t.should_tweet,
            should_send_notifications=t.should_send_notifications,
        )
        for t in templates
    ]


async def get_template(session: AsyncSession, page: Page, template_id: str) -> IncidentTemplate:
    row = await session.scalar(
        select(IncidentTemplate).where(
            IncidentTemplate.id == template_id, IncidentTemplate.page_id == page.id
        )
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def list_templates(
    session: AsyncSession, page: Page, pagination: Pagination
) -> list[schemas.IncidentTemplate]:
    rows = await session.scalars(
        select(IncidentTemplate)
        .where(IncidentTemplate.page_id == page.id)
        .order_by(IncidentTemplate.created_at, IncidentTemplate.id)
        .offset(pagination.offset)
        .limit(pagination.per_page)
    )
    return await template_views(session, page, list(rows.all()))


async def _check_components(session: AsyncSession, page: Page, ids: list[str]) -> list[str]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return ids
    found = set(
        (
            await session.scalars(
                select(Component.id).where(Component.page_id == page.id, Component.id.in_(ids))
            )
        ).all()
    )
    unknown = [cid for cid in ids if cid not in found]
    if unknown:
        raise Unprocessable(
            f"template.component_ids: not components of this page: {', '.join(unknown)}"
        )
    return ids


async def save_template(
    session: AsyncSession,
    page: Page,
    fields: schemas.TemplateFields,
    template: IncidentTemplate | None = None,
) -> schemas.IncidentTemplate:
    changes = fields.model_dump(exclude_unset=True)
    if "component_ids" in changes:
        changes["component_ids"] = await _check_components(
            session, page, changes["component_ids"] or []
        )
    if template is None:
        template = IncidentTemplate(
            page_id=page.id,
            should_tweet=False,
            should_send_notifications=True,
            component_ids=[],
        )
        session.add(template)
    for name, value in changes.items():
        if name in ("should_tweet", "should_send_notifications") and value is None:
            continue
        setattr(template, name, value)
    template.updated_at = utcnow()
    await session.flush()
    return (await template_views(session, page, [template]))[0]


async def delete_template(
    session: AsyncSession, page: Page, template: IncidentTemplate
) -> schemas.IncidentTemplate:
    view = (await template_views(session, page, [template]))[0]
    await session.delete(template)
    await session.flush()
    return view
