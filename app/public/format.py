"""Times as the public documents show them: the page's time zone offset with milliseconds (v2
feeds), RFC 822 (RSS), RFC 3339 UTC (Atom), and the page URLs the documents link to."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from email.utils import format_datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
)


def page_zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local_timestamp(value: datetime, zone: tzinfo) -> str:
    """`2026-11-27T10:01:02.123-05:00`; `Z` on UTC pages (as Statuspage writes them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    text = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
    offset = local.utcoffset()
    if zone is UTC or (not offset and str(zone) in _UTC_NAMES):
        return text + "Z"
    seconds = int(offset.total_seconds()) if offset else 0
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def rfc822(value: datetime) -> str:
    """`Wed, 07 Oct 2026 21:23:29 +0000` (RSS)."""
    return format_datetime(value.astimezone(UTC).replace(microsecond=0))


def rfc3339_utc(value: datetime) -> str:
    """`2025-10-03T03:47:27Z` (Atom)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(value: datetime) -> str:
    """`Wed, 07 Oct 2026 21:23:29 GMT` (Last-Modified)."""
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def page_url(
    public_base_url: str, base_domain: str | None, page_id: str, subdomain: str, domain: str | None
) -> str:
    """The page's canonical public URL, the same however a request reached it: its own domain,
    else its subdomain of the public base domain, else the /p/{page_id} prefix of the service."""
    base = urlsplit(public_base_url)
    scheme = base.scheme or "http"
    if domain:
        return f"{scheme}://{domain}"
    if base_domain:
        port = f":{base.port}" if base.port else ""
        return f"{scheme}://{subdomain}.{base_domain}{port}"
    return f"{public_base_url.rstrip('/')}/p/{page_id}"
