"""The HTML status page and incident page, rendered through the app."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update

from app.core.db import Database
from app.models import Component, ComponentStatusChange, Incident, IncidentUpdate
from tests.components.test_components import create, patch
from tests.components.test_groups import make_group
from tests.conftest import Tenant
from tests.incidents.helpers import create_incident, patch_incident, revision
from tests.metrics.helpers import create_metric, post_bulk

TOKYO = ZoneInfo("Asia/Tokyo")  # no daylight saving time: dates and labels are predictable


async def get_html(client: httpx.AsyncClient, tenant: Tenant, db: Database, path: str = "/") -> str:
    """The page as served once it shows the latest write: the read path serves snapshots and
    promises the new state within a second of a write."""
    wanted = f'data-revision="{await revision(db, tenant.page_id)}"'
    deadline = time.monotonic() + 3
    while True:
        response = await client.get(f"/p/{tenant.page_id}{path}")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        if wanted in response.text or time.monotonic() > deadline:
            assert wanted in response.text, "the page does not show the latest revision"
            return response.text
        await asyncio.sleep(0.05)


async def patch_page(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={"page": fields}
    )
    assert response.status_code == 200, response.text


def banner(html: str) -> tuple[str, str]:
    match = re.search(r'<div id="banner" class="banner i-(\w+)"[^>]*>([^<]*)</div>', html)
    assert match, "no status banner"
    return match.group(1), match.group(2)


def component_block(html: str, component_id: str) -> str:
    match = re.search(
        rf'<div class="comp" data-component="{component_id}">(.*?)\n</div>', html, re.S
    )
    assert match, f"component {component_id} not shown"
    return match.group(1)


def bar_cells(block: str) -> list[str]:
    bar = re.search(r'<div class="bar"[^>]*>(.*?)</div>', block, re.S)
    assert bar, "no uptime bar"
    return re.findall(r"<i[^>]*></i>", bar.group(1))


async def backdate_components(db: Database, ids: list[str], days: int) -> datetime:
    """Make the components (and their first history row) `days` days old."""
    created = datetime.now(UTC) - timedelta(days=days)
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Component).where(Component.id.in_(ids)).values(created_at=created)
        )
        await session.execute(
            update(ComponentStatusChange)
            .where(ComponentStatusChange.component_id.in_(ids))
            .values(at=created)
        )
    return created


async def add_outage(
    db: Database, component_id: str, start: datetime, minutes: int, status: str = "major_outage"
) -> None:
    async with db.sessionmaker() as session, session.begin():
        for at, old, new in (
            (start, "operational", status),
            (start + timedelta(minutes=minutes), status, "operational"),
        ):
            session.add(
                ComponentStatusChange(
                    component_id=component_id, page_id="x", old_status=old, new_status=new,
                    at=at, source="api", actor="test",
                )
            )  # fmt: skip


async def backdate_incident(db: Database, incident_id: str, at: datetime) -> None:
    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            update(Incident)
            .where(Incident.id == incident_id)
            .values(created_at=at, started_at=at, resolved_at=at + timedelta(hours=1))
        )
        await session.execute(
            update(IncidentUpdate)
            .where(IncidentUpdate.incident_id == incident_id)
            .values(created_at=at, display_at=at)
        )


async def test_banner_follows_the_page_indicator(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    a = await create(client, tenant, "API")
    b = await create(client, tenant, "Website")
    assert banner(await get_html(client, tenant, db)) == ("none", "All Systems Operational")

    await patch(client, tenant, a["id"], status="degraded_performance")
    assert banner(await get_html(client, tenant, db)) == ("minor", "Partially Degraded Service")

    await patch(client, tenant, a["id"], status="major_outage")
    html = await get_html(client, tenant, db)
    assert banner(html) == ("major", "Partial System Outage")
    assert '<span class="status s-major_outage">Major Outage</span>' in component_block(
        html, a["id"]
    )

    await patch(client, tenant, b["id"], status="major_outage")
    assert banner(await get_html(client, tenant, db)) == ("critical", "Major System Outage")


async def test_components_in_groups(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    api = await create(client, tenant, "API", description="The public API")
    db_ = await create(client, tenant, "Database")
    queue = await create(client, tenant, "Queue")
    await make_group(client, tenant, "Backend", [db_["id"], queue["id"]])
    await create(client, tenant, "Quiet", only_show_if_degraded=True)
    no_bar = await create(client, tenant, "Internal tool", showcase=False)
    html = await get_html(client, tenant, db)

    group = re.search(r'<details class="group" data-component="(\w+)">(.*?)</details>', html, re.S)
    assert group, "the operational group is shown collapsed"
    assert '<span class="name">Backend</span>' in group.group(2)
    members = re.findall(r'<div class="comp" data-component="(\w+)">', group.group(2))
    assert members == [db_["id"], queue["id"]]
    assert 'title="The public API"' in component_block(html, api["id"])
    assert "Quiet" not in html  # only shown while degraded
    assert '<div class="bar"' not in component_block(html, no_bar["id"])

    await patch(client, tenant, queue["id"], status="partial_outage")
    html = await get_html(client, tenant, db)
    assert re.search(r'<details class="group" data-component="\w+" open>', html)
    assert "Partial Outage" in html


async def test_ninety_day_uptime_bar(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await patch_page(client, tenant, time_zone="Asia/Tokyo")
    api = await create(client, tenant, "API")
    await backdate_components(db, [api["id"]], days=120)
    today = datetime.now(TOKYO).date()
    outage_day = today - timedelta(days=3)
    await add_outage(db, api["id"], datetime(*outage_day.timetuple()[:3], 10, tzinfo=TOKYO), 30)
    html = await get_html(client, tenant, db)

    block = component_block(html, api["id"])
    cells = bar_cells(block)
    assert len(cells) == 90
    assert cells[-4] == '<i class="x" data-t="97.91% uptime · 30 min major outage"></i>'
    assert all(cell == "<i></i>" for i, cell in enumerate(cells) if i != 86)
    # Each cell's tooltip names its day: the nth cell's date comes from the page's stylesheet.
    labels = dict(re.findall(r'\.bar>i:nth-child\((\d+)\)\{--d:"([^"]+)"\}', html))
    assert len(labels) == 90
    assert labels["87"] == f"{outage_day:%b} {outage_day.day}"
    assert labels["90"] == f"{today:%b} {today.day}"
    # 30 minutes down out of 90 days (the last one still running).
    assert re.search(r"99\.9[67] % uptime", block)
    assert (
        f"Outages: {outage_day:%b} {outage_day.day}: 97.91% uptime · 30 min major outage" in block
    )


async def test_young_component_has_no_data_days(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    api = await create(client, tenant, "API")
    cells = bar_cells(component_block(await get_html(client, tenant, db), api["id"]))
    assert len(cells) == 90
    assert cells[:89] == ['<i class="n"></i>'] * 89
    assert cells[89] == "<i></i>"


async def test_active_incident_with_its_updates(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await patch_page(client, tenant, time_zone="Asia/Tokyo")
    api = await create(client, tenant, "API")
    incident = await create_incident(
        client, tenant, "Elevated errors", status="investigating", body="We are looking into it.",
        components={api["id"]: "partial_outage"},
    )  # fmt: skip
    response = await patch_incident(
        client, tenant, incident["id"], status="identified", body="A bad deploy.\nRolling back."
    )
    assert response.status_code == 200, response.text
    html = await get_html(client, tenant, db)

    article = re.search(r'<article class="event i-major"(.*?)</article>', html, re.S)
    assert article, "the active incident is shown in its impact's colour"
    text = article.group(1)
    assert f'href="http://127.0.0.1:8000/p/{tenant.page_id}/incidents/{incident["id"]}"' in text
    assert "Elevated errors" in text
    identified = text.index("<strong>Identified</strong> - A bad deploy.\nRolling back.")
    investigating = text.index("<strong>Investigating</strong> - We are looking into it.")
    assert identified < investigating  # newest first
    posted = datetime.fromisoformat(
        response.json()["incident_updates"][0]["display_at"].replace("Z", "+00:00")
    ).astimezone(TOKYO)
    assert f"{posted:%b} {posted.day}, {posted.year} - {posted:%H:%M} JST" in text
    assert "This incident affects: API." in text


async def test_maintenances_upcoming_and_in_progress(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    api = await create(client, tenant, "API")
    upcoming = await create_incident(
        client, tenant, "Database upgrade", status="scheduled", body="Planned upgrade.",
        scheduled_for="2099-01-01T10:00:00Z", scheduled_until="2099-01-01T11:00:00Z",
        component_ids=[api["id"]],
    )  # fmt: skip
    running = await create_incident(
        client, tenant, "Network work", status="scheduled", body="Planned.",
        scheduled_for="2020-01-01T10:00:00Z", scheduled_until="2099-01-01T11:00:00Z",
    )  # fmt: skip
    await patch_incident(client, tenant, running["id"], status="in_progress", body="Started.")
    html = await get_html(client, tenant, db)

    section = html[html.index('<h2 id="upcoming-title">Scheduled Maintenance</h2>') :]
    assert "Database upgrade" in section.split("</section>")[0]
    assert "Scheduled for Jan 1, 10:00 - 11:00 UTC" in section
    top = html[: html.index("Scheduled Maintenance</h2>")]
    assert f'data-event="{running["id"]}@' in top
    assert '<article class="event i-maintenance"' in top
    assert "<strong>In progress</strong> - Started." in top
    assert f'data-event="{upcoming["id"]}@' not in top


async def test_history_of_fourteen_days(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await patch_page(client, tenant, time_zone="Asia/Tokyo")
    recent = await create_incident(
        client, tenant, "Login failures", status="resolved", body="Fixed the login service."
    )
    old = await create_incident(client, tenant, "Ancient outage", status="resolved", body="Old.")
    today = datetime.now(TOKYO).date()
    three_days_ago = today - timedelta(days=3)
    await backdate_incident(
        db, recent["id"], datetime(*three_days_ago.timetuple()[:3], 12, tzinfo=TOKYO)
    )
    await backdate_incident(db, old["id"], datetime.now(UTC) - timedelta(days=20))
    html = await get_html(client, tenant, db)

    history = html[html.index('<h2 id="history-title">') :]
    days = re.findall(r'<div class="day">\n<h3>([^<]+)</h3>(.*?)\n</div>', history, re.S)
    assert [d for d, _ in days] == [
        f"{day:%b} {day.day}, {day.year}" for day in (today - timedelta(n) for n in range(14))
    ]
    assert "No incidents reported today." in days[0][1]
    assert "Login failures" in days[3][1]
    assert "Fixed the login service." in days[3][1]
    assert all(
        "No incidents reported." in body for i, (_, body) in enumerate(days) if i not in (0, 3)
    )
    assert "Ancient outage" not in html


async def test_incident_page_and_unknown_ids(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    api = await create(client, tenant, "API")
    web = await create(client, tenant, "Website")
    incident = await create_incident(
        client, tenant, "Slow pages", status="investigating", body="Looking.",
        components={api["id"]: "degraded_performance", web["id"]: "degraded_performance"},
    )  # fmt: skip
    await patch_incident(client, tenant, incident["id"], status="resolved", body="All good.")
    html = await get_html(client, tenant, db, f"/incidents/{incident['id']}")
    assert "<h1>Slow pages</h1>" in html
    assert html.index("<strong>Resolved</strong><div>All good.") < html.index(
        "<strong>Investigating</strong><div>Looking."
    )
    assert "This incident affected: API, Website." in html
    assert f'href="http://127.0.0.1:8000/p/{tenant.page_id}/"' in html

    missing = await client.get(f"/p/{tenant.page_id}/incidents/nosuchincide")
    assert missing.status_code == 404
    assert missing.json() == {
        "message": "The requested resource could not be found.",
        "error": "The requested resource could not be found.",
    }
    assert (await client.get("/p/nosuchpage00/")).status_code == 404


async def test_subscribe_form_follows_the_page_settings(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    html = await get_html(client, tenant, db)
    action = f'action="http://127.0.0.1:8000/p/{tenant.page_id}/api/v2/subscribers.json"'
    assert html.count(action) == 3
    assert 'name="subscriber[email]"' in html
    assert 'name="subscriber[phone_number]"' in html and 'name="subscriber[phone_country]"' in html
    assert 'name="subscriber[endpoint]"' in html

    await patch_page(client, tenant, allow_sms_subscribers=False, allow_webhook_subscribers=False)
    html = await get_html(client, tenant, db)
    assert html.count(action) == 1
    assert 'class="sub-email"' in html and "subscriber[phone_number]" not in html

    await patch_page(client, tenant, allow_page_subscribers=False)
    html = await get_html(client, tenant, db)
    assert action not in html and "Subscribe to updates" not in html


async def test_feeds_links_colours_and_stream(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await patch_page(client, tenant, css_greens="00aa00", css_link_color="123abc")
    html = await get_html(client, tenant, db)
    base = f"http://127.0.0.1:8000/p/{tenant.page_id}"
    assert "--green:#00aa00;" in html and "--link:#123abc;" in html
    assert f'href="{base}/history.rss"' in html and f'href="{base}/history.atom"' in html
    assert f'data-stream="{base}/api/v2/stream"' in html
    assert "new EventSource(url)" in html

    await patch_page(client, tenant, allow_rss_atom_feeds=False)
    assert "history.rss" not in await get_html(client, tenant, db)


async def test_user_text_is_escaped(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    evil = "<script>alert(1)</script>"
    component = await create(client, tenant, evil, description='"><img src=x onerror=alert(2)>')
    await create_incident(
        client, tenant, "<b>bold</b>", status="investigating", body="</p><script>x()</script>",
        components={component["id"]: "major_outage"},
    )  # fmt: skip
    await patch_page(client, tenant, name="Acme <i>Status</i>")
    html = await get_html(client, tenant, db)
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>x()</script>" not in html
    assert "Acme <i>Status</i>" not in html
    assert html.count("<script") == 1  # ours


async def test_private_page_needs_a_key_of_its_organization(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, make_tenant: Any
) -> None:
    await patch_page(client, tenant, viewers_must_be_team_members=True)
    response = await client.get(f"/p/{tenant.page_id}/")
    assert response.status_code == 401
    assert set(response.json()) == {"message", "error"}
    stranger = await make_tenant()
    response = await client.get(f"/p/{tenant.page_id}/", headers=stranger.auth)
    assert response.status_code == 401
    response = await client.get(f"/p/{tenant.page_id}/", headers=tenant.auth)
    assert response.status_code == 200
    assert "private" in response.headers["cache-control"]


async def test_metrics_chart(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> None:
    metric = await create_metric(client, tenant, name="API latency", suffix="ms")
    await create_metric(client, tenant, name="Hidden", display=False)
    now = int(time.time())
    # In finished 5-minute buckets only: the chart may leave out the one still filling.
    points = [{"timestamp": now - 600 * (i + 1), "value": 100 + i} for i in range(6)]
    response = await post_bulk(client, tenant, {metric["id"]: points})
    assert response.status_code == 202, response.text
    # Data points do not move the page revision; the page's snapshot shows them from the next one.
    await patch_page(client, tenant, headline="Metrics below")
    html = await get_html(client, tenant, db)
    figure = re.search(
        rf'<figure class="metric" id="metric-{metric["id"]}">(.*?)</figure>', html, re.S
    )
    assert figure, "no chart for the displayed metric"
    assert "API latency" in figure.group(1) and "100ms" in figure.group(1)
    polyline = re.search(r'<polyline points="([^"]+)"/>', figure.group(1))
    assert polyline and len(polyline.group(1).split()) == 6
    assert "Hidden" not in html


async def test_fifty_components_stay_under_100_kb(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    """A full page: 50 components in 5 groups, each with 90 days of history and a few outages,
    two active incidents of three updates and an upcoming maintenance."""
    ids = []
    for g in range(5):
        members = [
            (await create(client, tenant, f"Service {g}-{i}", description="What it does"))["id"]
            for i in range(10)
        ]
        await make_group(client, tenant, f"Region {g}", members)
        ids += members
    await backdate_components(db, ids, days=200)
    today = date.today()
    for n, component_id in enumerate(ids):
        for back in (5 + n % 40, 30 + n % 50):
            day = today - timedelta(days=back)
            await add_outage(db, component_id, datetime(*day.timetuple()[:3], 9, tzinfo=UTC), 45)
    for name in ("Errors on checkout", "Slow search"):
        incident = await create_incident(
            client, tenant, name, status="investigating", body="We are investigating this.",
            components={ids[0]: "partial_outage"},
        )  # fmt: skip
        for status in ("identified", "monitoring"):
            await patch_incident(client, tenant, incident["id"], status=status, body="Progress.")
    await create_incident(
        client, tenant, "Upgrade", status="scheduled", body="Planned.",
        scheduled_for="2099-01-01T10:00:00Z", scheduled_until="2099-01-01T11:00:00Z",
    )  # fmt: skip
    response = await client.get(f"/p/{tenant.page_id}/")
    assert response.status_code == 200
    assert response.text.count('<div class="bar"') == 50
    assert len(response.content) < 100_000, len(response.content)
