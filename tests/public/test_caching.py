"""Snapshots on the wire: ETag and 304, Cache-Control, CORS on public and private pages, one render
per revision however many ask, the fast path, other processes reusing a snapshot from Redis, and
feeds served without Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.core.db import Database
from app.public.snapshots import local_day
from tests.conftest import Tenant
from tests.metrics.helpers import create_metric, fold, post_point
from tests.public.conftest import Served, component, feed, set_status, v1

SUMMARY = "summary.json"


async def test_etag_and_not_modified(served: Served, tenant: Tenant) -> None:
    url = feed(tenant.page_id, SUMMARY)
    first = await served.client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith(f'"{tenant.page_id}-') and etag.endswith('"')
    assert first.headers["cache-control"] == (
        "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
    )
    assert first.headers["last-modified"].endswith(" GMT")
    assert first.headers["content-length"] == str(len(first.content))

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await served.client.get(url, headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["access-control-allow-origin"] == "*"
    assert (await served.client.get(url, headers={"If-None-Match": '"old"'})).status_code == 200

    head = await served.client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag

    await component(served.client, tenant, "New")
    changed = await served.client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert [c["name"] for c in changed.json()["components"]] == ["New"]


async def test_fast_path_serves_current_snapshots(served: Served, tenant: Tenant) -> None:
    url = feed(tenant.page_id, "status.json")
    cold = await served.client.get(url)
    assert "x-request-id" in cold.headers  # rendered behind FastAPI
    hits = served.read_path.fast_hits
    warm = await served.client.get(url)
    assert warm.content == cold.content
    assert "x-request-id" not in warm.headers  # answered before FastAPI's middleware
    assert served.read_path.fast_hits == hits + 1
    cold_head = await served.client.head(feed(tenant.page_id, "components.json"))
    assert cold_head.status_code == 200 and cold_head.content == b""


async def test_one_render_per_revision(served: Served, tenant: Tenant) -> None:
    item = await component(served.client, tenant, "API")
    url = feed(tenant.page_id, SUMMARY)
    await served.client.get(url)
    await set_status(served.client, tenant, item["id"], "major_outage")
    renders = served.read_path.store.renders
    answers = await asyncio.gather(*(served.client.get(url) for _ in range(32)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["status"]["indicator"] for a in answers} == {"critical"}
    assert served.read_path.store.renders == renders + 1


async def test_public_page_cors(served: Served, tenant: Tenant) -> None:
    response = await served.client.get(
        feed(tenant.page_id, SUMMARY), headers={"Origin": "https://example.com"}
    )
    assert response.headers["access-control-allow-origin"] == "*"


async def test_private_page_needs_a_key_of_its_organization(
    served: Served, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    await v1(served.client, tenant, "PATCH", "", {"page": {"viewers_must_be_team_members": True}})
    stranger = await make_tenant()
    for document in (SUMMARY, "status.json", "incidents.json"):
        url = feed(tenant.page_id, document)
        anonymous = await served.client.get(url)
        assert anonymous.status_code == 401
        assert set(anonymous.json()) == {"message", "error"}
        assert "access-control-allow-origin" not in anonymous.headers
        assert (await served.client.get(url, headers=stranger.auth)).status_code == 401
        again = await served.client.get(url)  # a snapshot in memory changes nothing
        assert again.status_code == 401

        allowed = await served.client.get(url, headers=tenant.auth)
        assert allowed.status_code == 200
        assert "access-control-allow-origin" not in allowed.headers
        assert allowed.headers["cache-control"] == "private, no-cache"
        assert allowed.headers["vary"] == "Authorization"
        by_query = await served.client.get(url, params={"api_key": tenant.api_key})
        assert by_query.status_code == 200
    for path in ("/history.rss", "/api/v2/stream"):
        assert (await served.client.get(f"/p/{tenant.page_id}{path}")).status_code == 401


async def test_another_process_reuses_the_snapshot_from_redis(
    make_served: Callable[..., Any], tenant: Tenant
) -> None:
    first: Served = await make_served()
    second: Served = await make_served()
    url = feed(tenant.page_id, SUMMARY)
    rendered = await first.client.get(url)
    renders = second.read_path.store.renders
    reused = await second.client.get(url)
    assert reused.content == rendered.content
    assert reused.headers["etag"] == rendered.headers["etag"]
    assert second.read_path.store.renders == renders


async def test_feeds_work_and_stay_fresh_without_redis(
    make_served: Callable[..., Any], tenant: Tenant
) -> None:
    """A process whose Redis is away serves from memory and the database, and the revalidation
    timer brings it another process's write (no message can reach it)."""
    writer: Served = await make_served()
    reader: Served = await make_served(redis_url="redis://127.0.0.1:9/0")
    item = await component(writer.client, tenant, "API")
    url = feed(tenant.page_id, "status.json")
    assert (await reader.client.get(url)).json()["status"]["indicator"] == "none"
    await set_status(writer.client, tenant, item["id"], "major_outage")
    for _ in range(200):
        if (await reader.client.get(url)).json()["status"]["indicator"] == "critical":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the change never showed")


def test_local_day_ends_at_the_pages_midnight() -> None:
    # The night US Pacific time moves to summer time: that day ends at 00:00 PST = 08:00 UTC.
    pacific = ZoneInfo("America/Los_Angeles")
    day, expires = local_day(datetime(2026, 3, 8, 6, 30, tzinfo=UTC), pacific)
    assert day == date(2026, 3, 7).toordinal()
    assert expires == datetime(2026, 3, 8, 8, 0, tzinfo=UTC).timestamp()
    # UTC+14: already tomorrow there, and that day ends at 10:00 UTC.
    kiritimati = ZoneInfo("Pacific/Kiritimati")
    day, expires = local_day(datetime(2026, 11, 27, 11, 0, tzinfo=UTC), kiritimati)
    assert day == date(2026, 11, 28).toordinal()
    assert expires == datetime(2026, 11, 28, 10, 0, tzinfo=UTC).timestamp()


async def test_html_snapshot_expires_at_the_pages_midnight(served: Served, tenant: Tenant) -> None:
    await v1(served.client, tenant, "PATCH", "", {"page": {"time_zone": "Pacific/Kiritimati"}})
    before = datetime.now(UTC)
    page = await served.client.get(f"/p/{tenant.page_id}/")
    after = datetime.now(UTC)
    assert page.status_code == 200
    zone = ZoneInfo("Pacific/Kiritimati")
    candidates = {local_day(moment, zone) for moment in (before, after)}
    held = served.read_path.store.latest_in_memory(tenant.page_id, "html:index")
    assert held is not None
    assert (held.day, held.expires) in candidates
    assert f"-{held.day}-" in page.headers["etag"]  # the day, then the bytes' digest
    # Feeds show no days: they expire only with the revision.
    await served.client.get(feed(tenant.page_id, SUMMARY))
    summary = served.read_path.store.latest_in_memory(tenant.page_id, SUMMARY)
    assert summary is not None and summary.expires is None and summary.day is None


async def test_cors_preflight(served: Served, tenant: Tenant) -> None:
    asked = {
        "Origin": "https://example.com",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match, last-event-id",
    }
    for path in ("api/v2/summary.json", "api/v2/stream", "history.atom", ""):
        response = await served.client.options(f"/p/{tenant.page_id}/{path}", headers=asked)
        assert response.status_code == 204, (path, response.text)
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-allow-methods"] == "GET, HEAD"
        assert response.headers["access-control-allow-headers"] == "if-none-match, last-event-id"
        assert int(response.headers["access-control-max-age"]) > 0
    unknown = await served.client.options(f"/p/{tenant.page_id}/api/v2/nothing.json", headers=asked)
    assert unknown.status_code == 404
    missing = await served.client.options("/p/zzzzzzzzzzzz/api/v2/summary.json", headers=asked)
    assert missing.status_code == 404

    await v1(served.client, tenant, "PATCH", "", {"page": {"viewers_must_be_team_members": True}})
    private = await served.client.options(feed(tenant.page_id, SUMMARY), headers=asked)
    assert private.status_code == 204
    assert not any(name.startswith("access-control-") for name in private.headers)


async def test_metric_charts_are_redrawn_every_minute(
    make_served: Callable[..., Any], tenant: Tenant, db: Database
) -> None:
    """Points do not bump the page revision; a page showing charts is re-rendered a minute later
    at most (here half a second), and its ETag follows the new bytes."""
    served: Served = await make_served(public_chart_refresh_seconds=0.5)
    metric = await create_metric(served.client, tenant)
    url = f"/p/{tenant.page_id}/"
    started = time.time()
    first = await served.client.get(url)
    held = served.read_path.store.latest_in_memory(tenant.page_id, "html:index")
    assert held is not None and held.expires is not None
    assert started < held.expires <= time.time() + 0.5
    etag = first.headers["etag"]

    slot = int(time.time()) // 30 * 30 - 60
    assert (await post_point(served.client, tenant, metric["id"], slot, 42.5)).status_code == 201
    await fold(db)
    await asyncio.sleep(max(0.0, held.expires - time.time()) + 0.05)  # the minute has passed
    redrawn = await served.client.get(url, headers={"If-None-Match": etag})
    assert redrawn.status_code == 200
    assert redrawn.headers["etag"] != etag
    assert redrawn.content != first.content
