"""/history.rss and /history.atom (API.md 5.4), read with a real feed parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import feedparser

from tests.conftest import Tenant
from tests.public.conftest import Served, incident, v1


async def _incidents(served: Served, tenant: Tenant) -> tuple[str, str]:
    await v1(served.client, tenant, "PATCH", "", {"page": {"name": "Acme"}})
    created = await incident(
        served.client, tenant, "Login <errors>", status="investigating", body="Looking & checking"
    )
    await v1(
        served.client,
        tenant,
        "PATCH",
        f"/incidents/{created['id']}",
        {"incident": {"status": "investigating", "body": "Still looking"}},
    )
    await v1(
        served.client,
        tenant,
        "PATCH",
        f"/incidents/{created['id']}",
        {"incident": {"status": "resolved", "body": "Fixed"}},
    )
    start = datetime(2030, 1, 16, 12, 0, tzinfo=UTC)
    maintenance = await incident(
        served.client,
        tenant,
        "Upgrade",
        status="scheduled",
        body="Planned",
        scheduled_for=start.isoformat(),
        scheduled_until=(start + timedelta(hours=4)).isoformat(),
    )
    return created["id"], maintenance["id"]


async def test_rss(served: Served, tenant: Tenant) -> None:
    incident_id, maintenance_id = await _incidents(served, tenant)
    response = await served.client.get(f"/p/{tenant.page_id}/history.rss")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "rss20"
    assert parsed.feed.title == "Acme Status - Incident History"
    assert [e.title for e in parsed.entries] == ["Upgrade", "Login <errors>"]
    maintenance, realtime = parsed.entries
    assert realtime.link.endswith(f"/p/{tenant.page_id}/incidents/{incident_id}")
    assert realtime.id == realtime.link
    html = realtime.description
    assert html.index("Resolved") < html.index("Update") < html.index("Investigating")
    assert "Looking &amp; checking" in html
    assert "&lt;var data-var='date'&gt;" in response.text  # Statuspage's markup, escaped
    assert maintenance.published_parsed[:5] == (2030, 1, 16, 12, 0)
    assert (
        "THIS IS A SCHEDULED EVENT Jan <var>16</var>, <var>12:00</var> - <var>16:00</var> UTC"
        in (maintenance.description)
    )
    assert (
        "<maintenanceEndDate>Wed, 16 Jan 2030 16:00:00 +0000</maintenanceEndDate>" in response.text
    )
    assert maintenance.link.endswith(maintenance_id)


async def test_atom(served: Served, tenant: Tenant) -> None:
    incident_id, _ = await _incidents(served, tenant)
    response = await served.client.get(f"/p/{tenant.page_id}/history.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Acme Status - Incident History"
    assert parsed.feed.author == "Acme"
    realtime = parsed.entries[1]
    assert realtime.id.endswith(f",2005:Incident/{incident_id}")
    assert realtime.link.endswith(f"/incidents/{incident_id}")
    assert realtime.content[0].type == "text/html"
    assert "<strong>Resolved</strong> - Fixed" in realtime.content[0].value
    assert realtime.updated_parsed >= realtime.published_parsed


async def test_feeds_off_answer_404(served: Served, tenant: Tenant) -> None:
    assert (await served.client.get(f"/p/{tenant.page_id}/history.atom")).status_code == 200
    await v1(served.client, tenant, "PATCH", "", {"page": {"allow_rss_atom_feeds": False}})
    for path in ("/history.rss", "/history.atom"):
        response = await served.client.get(f"/p/{tenant.page_id}{path}")
        assert response.status_code == 404
        assert response.json()["message"] == "The requested resource could not be found."
