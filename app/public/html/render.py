"""The HTML status page and incident pages: pure functions of the database state and `now`, returning
the bytes the public read path stores as snapshots. Every link is built from `base_url`, the page's
public base (`https://status.example.com` or `http://host/p/{page_id}`), so one rendering serves
whichever way the page is addressed. Jinja2 autoescapes every value taken from the database."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Page
from app.public.html.data import load_incident_page, load_status_page
from app.public.snapshots import Visibility

_HERE = Path(__file__).resolve().parent
_ENV = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Inlined into every page: one request per page, nothing to build or fetch.
_CSS = Markup((_HERE / "static" / "style.css").read_text().strip())
_JS = Markup((_HERE / "static" / "live.js").read_text().strip())

_COLORS = {
    "css_body_background_color": "ffffff",
    "css_font_color": "333333",
    "css_light_font_color": "a7a7a7",
    "css_greens": "2fcc66",
    "css_yellows": "f1c40f",
    "css_oranges": "e67e22",
    "css_blues": "3498db",
    "css_reds": "e74c3c",
    "css_border_color": "ecf0f1",
    "css_graph_color": "3498db",
    "css_link_color": "3498db",
    "css_no_data": "b3bac5",
}
_HEX = re.compile(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}")
STATUS_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded Performance",
    "partial_outage": "Partial Outage",
    "major_outage": "Major Outage",
    "under_maintenance": "Under Maintenance",
}


def _colors(page: Page) -> dict[str, str]:
    """The page's css_* colours; anything that is not a hex colour falls back to the default, so a
    stored value can never leave the <style> block."""
    result = {}
    for name, default in _COLORS.items():
        value = getattr(page, name, None)
        result[name] = value if isinstance(value, str) and _HEX.fullmatch(value) else default
    return result


def _logo_url(page: Page) -> str | None:
    # No logo column exists yet; a page that gains one (an http(s) URL) shows it instead of its name.
    value = getattr(page, "logo_url", None)
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def _subscribe_modes(page: Page) -> list[str]:
    if not page.allow_page_subscribers:
        return []
    allowed = (
        ("email", page.allow_email_subscribers),
        ("sms", page.allow_sms_subscribers),
        ("webhook", page.allow_webhook_subscribers),
    )
    return [mode for mode, on in allowed if on]


def _helpers(zone: ZoneInfo) -> dict[str, Any]:
    def local(value: datetime) -> datetime:
        return value.astimezone(zone)

    def when(value: datetime) -> str:
        at = local(value)
        return f"{at:%b} {at.day}, {at.year} - {at:%H:%M %Z}"

    def span(start: datetime, end: datetime | None) -> str:
        begin = local(start)
        text = f"{begin:%b} {begin.day}, {begin:%H:%M}"
        if end is not None:
            finish = local(end)
            same_day = finish.date() == begin.date()
            text += (
                f" - {finish:%H:%M}" if same_day else f" - {finish:%b} {finish.day}, {finish:%H:%M}"
            )
        return f"{text} {begin:%Z}"

    def update_label(status: str) -> str:
        return status.replace("_", " ").capitalize()

    return {
        "when": when,
        "span": span,
        "iso": lambda value: local(value).isoformat(timespec="seconds"),
        "epoch_ms": lambda value: int(value.timestamp()) * 1000 + value.microsecond // 1000,
        "short_date": lambda day: f"{day:%b} {day.day}",
        "long_date": lambda day: f"{day:%b} {day.day}, {day.year}",
        "status_label": lambda status: STATUS_LABELS.get(status, status),
        "update_label": update_label,
        "zone_label": zone.key,
    }


def _render(
    template: str,
    page: Page,
    zone: ZoneInfo,
    base_url: str,
    *,
    live: bool = True,
    **context: Any,
) -> bytes:
    html = _ENV.get_template(template).render(
        page=page,
        live=live,
        base_url=base_url.rstrip("/"),
        colors=_colors(page),
        logo_url=_logo_url(page),
        css=_CSS,
        js=_JS,
        **_helpers(zone),
        **context,
    )
    return html.encode()


async def render_status_page(
    session: AsyncSession,
    page: Page,
    *,
    base_url: str,
    now: datetime,
    visible: Visibility | None = None,
) -> bytes:
    """`visible`: an audience's rendering of an audience-specific page (only what it may see, and
    no live stream, which carries the whole page)."""
    base = base_url.rstrip("/")
    data = await load_status_page(session, page, base_url=base, now=now, visible=visible)
    today: date = now.astimezone(data.zone).date()
    return _render(
        "status.html",
        page,
        data.zone,
        base,
        live=visible is None,
        data=data,
        today=today,
        subscribe_modes=_subscribe_modes(page),
    )


async def render_incident_page(
    session: AsyncSession,
    page: Page,
    incident_id: str,
    *,
    base_url: str,
    now: datetime,
    visible: Visibility | None = None,
) -> bytes | None:
    """None when the page has no such incident. `now` is part of the contract (every rendering is a
    function of the state and the time) though an incident page does not depend on it today."""
    base = base_url.rstrip("/")
    data = await load_incident_page(session, page, incident_id, base_url=base, visible=visible)
    if data is None:
        return None
    return _render(
        "incident.html", page, data.zone, base, live=visible is None, incident=data.incident
    )
