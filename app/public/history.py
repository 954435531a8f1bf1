"""`/history.rss` and `/history.atom` (API.md 5.4): one entry per incident or maintenance, most
recent first, each holding the HTML of its updates (newest first) in Statuspage's markup, times in
the page's time zone. None (404) when the page has turned its feeds off."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from sqlalchemy import select

from app.models import Incident
from app.public.feeds import IncidentRecord, load_capped
from app.public.format import rfc822, rfc3339_utc
from app.public.snapshots import RenderContext

ENTRY_CAP = 50

_LABELS = {
    "in_progress": "In progress",
    "postmortem": "Postmortem",
}


def _attr(value: str) -> str:
    return xml_escape(value, {'"': "&quot;"})


def _label(status: str) -> str:
    return _LABELS.get(status, status.replace("_", " ").capitalize())


def _date_var(local: datetime) -> str:
    return f"{local:%b} <var data-var='date'>{local.day:>2}</var>"


def _time_var(local: datetime) -> str:
    return f"<var data-var='time'>{local:%H:%M}</var>"


def entry_html(context: RenderContext, record: IncidentRecord) -> str:
    """The updates newest first; "Update" for those that did not change the status."""
    parts: list[str] = []
    row = record.row
    if row.is_maintenance and row.scheduled_for is not None:
        start = row.scheduled_for.astimezone(context.zone)
        window = f"{_date_var(start)}, {_time_var(start)}"
        if row.scheduled_until is not None:
            end = row.scheduled_until.astimezone(context.zone)
            same_day = end.date() == start.date()
            window += " - " + (
                _time_var(end) if same_day else f"{_date_var(end)}, {_time_var(end)}"
            )
            window += f" {end:%Z}"
        else:
            window += f" {start:%Z}"
        parts.append(f"<p><strong>THIS IS A SCHEDULED EVENT {window}</strong></p>")
    updates = record.updates
    for index, update in enumerate(updates):
        older = updates[index + 1] if index + 1 < len(updates) else None
        label = (
            "Update"
            if older is not None and older.status == update.status
            else _label(update.status)
        )
        local = update.display_at.astimezone(context.zone)
        parts.append(
            f"<p><small>{_date_var(local)}, {_time_var(local)} {local:%Z}</small><br>"
            f"<strong>{label}</strong> - {escape(update.body)}</p>"
        )
    return "".join(parts)


def _title(context: RenderContext) -> str:
    name = context.page.name
    return (
        f"{name} - Incident History"
        if name.endswith("Status")
        else f"{name} Status - Incident History"
    )


async def _entries(context: RenderContext) -> list[IncidentRecord]:
    query = (
        select(Incident)
        .where(Incident.page_id == context.page.id)
        .order_by(Incident.created_at.desc(), Incident.id)
    )
    return await load_capped(context, query, ENTRY_CAP)


def _updated(record: IncidentRecord) -> datetime:
    times = [record.row.updated_at, *(u.updated_at for u in record.updates)]
    return max(times)


async def render_rss(context: RenderContext) -> bytes | None:
    if not context.page.allow_rss_atom_feeds:
        return None
    base = context.base_url
    items = []
    for record in await _entries(context):
        row = record.row
        link = f"{base}/incidents/{row.id}"
        published = (
            row.scheduled_for if row.is_maintenance and row.scheduled_for else row.created_at
        )
        extra = ""
        if row.is_maintenance and row.scheduled_until is not None:
            extra = f"<maintenanceEndDate>{rfc822(row.scheduled_until)}</maintenanceEndDate>"
        items.append(
            "<item>"
            f"<title>{xml_escape(row.name)}</title>"
            f"<description>{xml_escape(entry_html(context, record))}</description>"
            f"<pubDate>{rfc822(published)}</pubDate>{extra}"
            f"<link>{xml_escape(link)}</link>"
            f"<guid>{xml_escape(link)}</guid>"
            "</item>"
        )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{xml_escape(_title(context))}</title>"
        f"<link>{xml_escape(base)}</link>"
        f"<description>{xml_escape(context.page.page_description or 'Statuspage')}</description>"
        f"<pubDate>{rfc822(context.changed_at)}</pubDate>"
        f"{''.join(items)}</channel></rss>\n"
    )
    return document.encode()


async def render_atom(context: RenderContext) -> bytes | None:
    if not context.page.allow_rss_atom_feeds:
        return None
    base = context.base_url
    authority = urlsplit(base).netloc + urlsplit(base).path
    records = await _entries(context)
    entries = []
    for record in records:
        row = record.row
        content = xml_escape(entry_html(context, record))
        entries.append(
            "<entry>"
            f"<id>tag:{xml_escape(authority)},2005:Incident/{row.id}</id>"
            f"<published>{rfc3339_utc(row.created_at)}</published>"
            f"<updated>{rfc3339_utc(_updated(record))}</updated>"
            f'<link rel="alternate" type="text/html" href="{_attr(base)}/incidents/{row.id}"/>'
            f"<title>{xml_escape(row.name)}</title>"
            f'<content type="html">{content}</content>'
            "</entry>"
        )
    updated = max([context.changed_at, *(_updated(r) for r in records)])
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">'
        f"<id>tag:{xml_escape(authority)},2005:/history</id>"
        f'<link rel="alternate" type="text/html" href="{_attr(base)}"/>'
        f'<link rel="self" type="application/atom+xml" href="{_attr(base)}/history.atom"/>'
        f"<title>{xml_escape(_title(context))}</title>"
        f"<updated>{rfc3339_utc(updated)}</updated>"
        f"<author><name>{xml_escape(context.page.name)}</name></author>"
        f"{''.join(entries)}</feed>\n"
    )
    return document.encode()
