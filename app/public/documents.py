"""The documents every page serves, by their path under the page (`/p/{page_id}` or the page's own
host), each with its snapshot key and content type."""

from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Document:
    key: str  # the snapshot key, unique within a page
    path: str  # under the page
    content_type: str
    # Date-based content (uptime bars, "past 14 days"): the snapshot also expires at the page's
    # midnight, in its time zone.
    daily: bool = False


SUMMARY = Document("summary.json", "/api/v2/summary.json", JSON)
STATUS = Document("status.json", "/api/v2/status.json", JSON)
COMPONENTS = Document("components.json", "/api/v2/components.json", JSON)
INCIDENTS = Document("incidents.json", "/api/v2/incidents.json", JSON)
UNRESOLVED = Document("incidents/unresolved.json", "/api/v2/incidents/unresolved.json", JSON)
MAINTENANCES = Document("scheduled-maintenances.json", "/api/v2/scheduled-maintenances.json", JSON)
UPCOMING = Document(
    "scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/upcoming.json", JSON
)
ACTIVE = Document(
    "scheduled-maintenances/active.json", "/api/v2/scheduled-maintenances/active.json", JSON
)
HISTORY_RSS = Document("history.rss", "/history.rss", RSS)
HISTORY_ATOM = Document("history.atom", "/history.atom", ATOM)
HTML_INDEX = Document("html:index", "/", HTML, daily=True)
HTML_INDEX_FILE = Document("html:index", "/index.html", HTML, daily=True)

FEEDS = (SUMMARY, STATUS, COMPONENTS, INCIDENTS, UNRESOLVED, MAINTENANCES, UPCOMING, ACTIVE)
BY_PATH: dict[str, Document] = {
    d.path: d for d in (*FEEDS, HISTORY_RSS, HISTORY_ATOM, HTML_INDEX, HTML_INDEX_FILE)
}
INCIDENT_PAGE_PREFIX = "/incidents/"
STREAM_PATH = "/api/v2/stream"


def incident_page(incident_id: str) -> Document:
    return Document(f"html:incident:{incident_id}", INCIDENT_PAGE_PREFIX + incident_id, HTML, True)


def document_at(path: str) -> Document | None:
    """The document at `path` under a page, if any (the incident pages included)."""
    document = BY_PATH.get(path)
    if document is None and path.startswith(INCIDENT_PAGE_PREFIX):
        incident_id = path[len(INCIDENT_PAGE_PREFIX) :]
        if incident_id and "/" not in incident_id and len(incident_id) <= 32:
            return incident_page(incident_id)
    return document
