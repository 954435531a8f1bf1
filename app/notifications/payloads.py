"""What each channel sends for an event, built from the outbox payload (API.md 4.3 shapes) once per
event and specialised per subscriber only where it must be (links, signatures)."""

from __future__ import annotations

import binascii
import html
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core.timefmt import format_timestamp
from app.notifications.fanout import (
    COMPONENT_UPDATE,
    INCIDENT_REMINDER,
    RESOLVED_STATUSES,
    SUBSCRIBER_CONFIRMATION,
    SUBSCRIBER_QUARANTINED,
    SUBSCRIBER_UNSUBSCRIBED,
    is_maintenance,
)

DOCUMENTATION_PATH = "/docs"
SMS_LIMIT = 320
_PLACEHOLDER = "__STATUSPAGE_UNSUBSCRIBE_URL__"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class PageInfo:
    id: str
    name: str
    from_address: str | None
    footer: str | None


@dataclass(slots=True)
class Recipient:
    """The subscriber fields a delivery needs, read with the claim."""

    id: str
    page_id: str
    mode: str
    state: str
    email: str | None
    endpoint: str | None
    phone_number: str | None
    display_phone_number: str | None
    secret: str | None
    unsubscribe_token: str
    confirm_token: str
    failure_count: int = 0

    @property
    def phone(self) -> str | None:
        """E.164 (+<country code><number>) from the display form when it carries the code."""
        display = self.display_phone_number or ""
        if display.startswith("+"):
            return "+" + re.sub(r"\D", "", display)
        return self.phone_number


@dataclass(slots=True)
class Event:
    """An outbox event being delivered, with what was built from it so far."""

    id: int
    kind: str
    payload: dict[str, Any]
    page: PageInfo
    base_url: str
    cache: dict[str, Any] = field(default_factory=dict)

    def unsubscribe_url(self, recipient: Recipient) -> str:
        return f"{self.base_url}/subscriptions/unsubscribe/{recipient.unsubscribe_token}"

    def confirm_url(self, recipient: Recipient) -> str:
        return f"{self.base_url}/subscriptions/confirm/{recipient.confirm_token}"

    @property
    def incident(self) -> dict[str, Any]:
        incident: dict[str, Any] = self.payload.get("incident") or {}
        return incident


# Webhooks ---------------------------------------------------------------------------------------


def webhook_body(event: Event, recipient: Recipient) -> bytes:
    """`meta` first (its unsubscribe link is the subscriber's), then the event's own keys, which
    are serialized once per event."""
    tail = event.cache.get("webhook")
    if tail is None:
        body: dict[str, Any] = {"page": event.payload.get("page")}
        if event.kind == COMPONENT_UPDATE:
            body["component_update"] = event.payload.get("component_update")
            body["component"] = event.payload.get("component")
        else:
            # The incident as the API shows it, less its private metadata.
            body["incident"] = {k: v for k, v in event.incident.items() if k != "metadata"}
        tail = event.cache["webhook"] = orjson.dumps(body)[1:]
        event.cache["documentation"] = event.base_url + DOCUMENTATION_PATH
    meta = {
        "unsubscribe": event.unsubscribe_url(recipient),
        "documentation": event.cache["documentation"],
        "generated_at": format_timestamp(datetime.now().astimezone()),
    }
    return b'{"meta":' + orjson.dumps(meta) + b"," + tail


# Wording ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wording:
    name: str  # incident_created, maintenance_started, ...
    headline: str
    lead: str
    color: str


_WORDING = {
    "incident_created": ("New incident", "A new incident has been reported.", "#e74c3c"),
    "incident_updated": ("Incident update", "There is an update on this incident.", "#e67e22"),
    "incident_resolved": ("Resolved", "This incident has been resolved.", "#2fcc66"),
    "maintenance_scheduled": ("Scheduled maintenance", "Maintenance has been scheduled.", "#3498db"),
    "maintenance_reminder": ("Upcoming maintenance", "This maintenance starts soon.", "#3498db"),
    "maintenance_started": ("Maintenance in progress", "Scheduled maintenance is now in progress.", "#3498db"),
    "maintenance_updated": ("Maintenance update", "There is an update on this maintenance.", "#3498db"),
    "maintenance_completed": ("Maintenance completed", "This maintenance has been completed.", "#2fcc66"),
}  # fmt: skip


def wording(event: Event) -> Wording:
    incident = event.incident
    updates = incident.get("incident_updates") or []
    statuses = [u.get("status") for u in updates] or [incident.get("status")]
    newest, earlier, first = statuses[0], statuses[1:], len(statuses) <= 1
    if is_maintenance(incident):
        if event.kind == INCIDENT_REMINDER:
            name = "maintenance_reminder"
        elif newest in RESOLVED_STATUSES:
            name = "maintenance_completed"
        elif newest == "in_progress" and "in_progress" not in earlier:
            name = "maintenance_started"
        else:
            name = "maintenance_scheduled" if first else "maintenance_updated"
    elif newest in RESOLVED_STATUSES:
        name = "incident_resolved"
    else:
        name = "incident_created" if first else "incident_updated"
    headline, lead, color = _WORDING[name]
    return Wording(name, headline, lead, color)


def _label(status: str | None) -> str:
    return (status or "").replace("_", " ").capitalize()


def _when(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _event_fields(event: Event) -> dict[str, Any]:
    incident = event.incident
    updates = incident.get("incident_updates") or []
    latest = updates[0] if updates else {}
    words = wording(event)
    window = ""
    if incident.get("scheduled_for"):
        window = f"{_when(incident['scheduled_for'])} to {_when(incident.get('scheduled_until'))}"
    return {
        "page_name": event.page.name,
        "footer": event.page.footer,
        "headline": words.headline,
        "lead": words.lead,
        "color": words.color,
        "incident_name": incident.get("name", ""),
        "incident_url": incident.get("shortlink") or event.base_url,
        "status_label": _label(latest.get("status") or incident.get("status")),
        "update_body": latest.get("body") or "",
        "window": window,
        "components": [(c.get("name", ""), _label(c.get("status"))) for c in incident.get("components") or []],
        "noun": "maintenance" if is_maintenance(incident) else "incident",
        "subject": f"[{event.page.name}] {words.headline}: {incident.get('name', '')}",
    }  # fmt: skip


# Email ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _render(template: str, fields: dict[str, Any]) -> Rendered:
    return Rendered(
        subject=fields["subject"],
        text=_TEMPLATES.get_template(f"{template}.txt").render(fields),
        html=_TEMPLATES.get_template(f"{template}.html").render(fields),
    )


def _what(recipient: Recipient) -> str:
    return "webhook notifications" if recipient.mode == "webhook" else "status notifications"


def render_email(event: Event, recipient: Recipient, *, last_error: str | None = None) -> Rendered:
    unsubscribe = event.unsubscribe_url(recipient)
    if event.kind == SUBSCRIBER_CONFIRMATION:
        fields = {
            "page_name": event.page.name, "footer": event.page.footer, "what": _what(recipient),
            "confirm_url": event.confirm_url(recipient), "unsubscribe_url": unsubscribe,
            "subject": f"[{event.page.name}] Confirm your subscription",
        }  # fmt: skip
        return _render("confirmation", fields)
    if event.kind == SUBSCRIBER_UNSUBSCRIBED:
        fields = {
            "page_name": event.page.name, "footer": event.page.footer, "what": _what(recipient),
            "unsubscribe_url": unsubscribe,
            "subject": f"[{event.page.name}] You have been unsubscribed",
        }  # fmt: skip
        return _render("unsubscribed", fields)
    if event.kind == SUBSCRIBER_QUARANTINED:
        fields = {
            "page_name": event.page.name, "footer": event.page.footer,
            "endpoint": recipient.endpoint or "", "failures": event.payload.get("failures", 10),
            "last_error": event.payload.get("last_error") or last_error,
            "purge_at": _when(event.payload.get("purge_at")), "unsubscribe_url": unsubscribe,
            "subject": f"[{event.page.name}] Your webhook has been quarantined",
        }  # fmt: skip
        return _render("quarantine", fields)
    # Event emails differ per recipient only by the unsubscribe link: rendered once per event.
    cached: Rendered | None = event.cache.get("email")
    if cached is None:
        fields = _event_fields(event)
        fields["unsubscribe_url"] = _PLACEHOLDER
        cached = event.cache["email"] = _render("event", fields)
    return Rendered(
        cached.subject,
        cached.text.replace(_PLACEHOLDER, unsubscribe),
        cached.html.replace(_PLACEHOLDER, unsubscribe),
    )


def sender_address(event: Event, default: str) -> str:
    if event.page.from_address:
        return formataddr((event.page.name, event.page.from_address))
    return default


def email_message(event: Event, recipient: Recipient, default_from: str) -> EmailMessage:
    rendered = render_email(event, recipient)
    sender = sender_address(event, default_from)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = recipient.email or ""
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=domain)
    if event.kind != SUBSCRIBER_UNSUBSCRIBED:
        # RFC 8058 one-click unsubscribe: mail clients POST to the URL.
        message["List-Unsubscribe"] = f"<{event.unsubscribe_url(recipient)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Statuspage-Event"] = event.kind
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


@dataclass(frozen=True, slots=True)
class Outgoing:
    sender: str  # envelope sender
    recipient: str
    data: bytes


def _qp(text: str) -> str:
    return binascii.b2a_qp(text.encode(), istext=True).decode().replace("\n", "\r\n")


def email_bytes(event: Event, recipient: Recipient, default_from: str) -> Outgoing:
    """The message as bytes, for the hot path. Event emails differ per recipient only by the To
    header and the unsubscribe link, so the MIME is assembled from parts prepared once per event
    (about 20x cheaper here than building an EmailMessage each time); notices use email_message."""
    to = recipient.email or ""
    if event.kind in (SUBSCRIBER_CONFIRMATION, SUBSCRIBER_UNSUBSCRIBED, SUBSCRIBER_QUARANTINED) or (
        not to.isascii() or any(c in to for c in "\r\n<>,")
    ):
        message = email_message(event, recipient, default_from)
        sender = parseaddr(str(message["From"]))[1]
        return Outgoing(sender, to, message.as_bytes())
    prepared = event.cache.get("mime")
    if prepared is None:
        rendered = render_email(event, recipient)
        sender = sender_address(event, default_from).replace("\r", "").replace("\n", "")
        subject = Header(rendered.subject, "utf-8").encode(maxlinelen=76, linesep="\r\n")
        boundary = "=_statuspage_" + secrets.token_hex(12)
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        prepared = event.cache["mime"] = (sender, subject, boundary, domain)
    sender, subject, boundary, domain = prepared
    cached: Rendered = event.cache["email"]
    unsubscribe = event.unsubscribe_url(recipient)
    text = _qp(cached.text.replace(_PLACEHOLDER, unsubscribe))
    html_part = _qp(cached.html.replace(_PLACEHOLDER, unsubscribe))
    data = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\nMessage-ID: {make_msgid(domain=domain)}\r\n"
        f"List-Unsubscribe: <{unsubscribe}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        f"X-Statuspage-Event: {event.kind}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f'--{boundary}\r\nContent-Type: text/plain; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{text}\r\n"
        f'--{boundary}\r\nContent-Type: text/html; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{html_part}\r\n"
        f"--{boundary}--\r\n"
    )
    return Outgoing(parseaddr(sender)[1], to, data.encode())


# SMS, Slack, Teams ------------------------------------------------------------------------------


def sms_text(event: Event, recipient: Recipient) -> str:
    page = event.page.name
    if event.kind == SUBSCRIBER_CONFIRMATION:
        return f"{page}: confirm your SMS subscription: {event.confirm_url(recipient)}"
    if event.kind == SUBSCRIBER_UNSUBSCRIBED:
        return f"{page}: you have been unsubscribed from SMS notifications."
    fields = _event_fields(event)
    stop = f" Unsubscribe: {event.unsubscribe_url(recipient)}"
    text = f"[{page}] {fields['headline']}: {fields['incident_name']}. {fields['update_body']}"
    room = SMS_LIMIT - len(stop)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + stop


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: Event, recipient: Recipient) -> dict[str, Any]:
    fields = _event_fields(event)
    title = f"{fields['headline']}: {fields['incident_name']}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{_slack_escape(fields['status_label'])}* - "
                f"{_slack_escape(fields['update_body'] or fields['lead'])}"[:3000],
            },
        },
    ]
    if fields["components"]:
        listing = "\n".join(f"• {_slack_escape(n)}: {s}" for n, s in fields["components"])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listing[:3000]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"<{fields['incident_url']}|View on {_slack_escape(event.page.name)}>"
                    f" · <{event.unsubscribe_url(recipient)}|Unsubscribe>",
                }
            ],
        }
    )
    return {"text": f"[{event.page.name}] {title}", "blocks": blocks}


def teams_message(event: Event, recipient: Recipient) -> dict[str, Any]:
    """A MessageCard, which Teams incoming webhooks (and Workflows) accept."""
    fields = _event_fields(event)
    # Teams renders a subset of HTML and markdown in these strings: user text goes in escaped.
    title = html.escape(f"{fields['headline']}: {fields['incident_name']}")
    page = html.escape(event.page.name)
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": f"[{page}] {title}",
        "themeColor": fields["color"].lstrip("#"),
        "title": f"[{page}] {title}",
        "sections": [
            {
                "activityTitle": fields["status_label"],
                "text": html.escape(fields["update_body"] or fields["lead"]),
                "facts": [{"name": html.escape(n), "value": s} for n, s in fields["components"]],
            }
        ],
        "potentialAction": [
            {
                "@type": "OpenUri",
                "name": "View",
                "targets": [{"os": "default", "uri": fields["incident_url"]}],
            },
            {
                "@type": "OpenUri",
                "name": "Unsubscribe",
                "targets": [{"os": "default", "uri": event.unsubscribe_url(recipient)}],
            },
        ],
    }
