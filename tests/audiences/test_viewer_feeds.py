"""What the viewers of an audience-specific page see in its feeds and HTML page: their own
components, metrics and incidents; an anonymous visitor nothing (401, or the sign-in form for the
HTML page); the organization's API key everything. Viewers with the same grants share one
snapshot per document and revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from app.audiences import signin
from tests.audiences.helpers import create_group, create_user
from tests.conftest import Servers, Tenant
from tests.metrics.helpers import create_metric
from tests.public.conftest import Served, component, feed, incident, make_served, v1

__all__ = ["make_served"]  # the fixture, imported for these tests


async def viewer_cookie(servers: Servers, page_id: str, user_id: str) -> dict[str, str]:
    """A signed-in viewer's Cookie header (the sign-in flow itself: test_signin*.py)."""
    redis = Redis.from_url(servers.redis_url)
    try:
        session_id = await signin.open_session(
            redis, page_id=page_id, page_access_user_id=user_id, ttl_seconds=600
        )
    finally:
        await redis.aclose()
    return {"Cookie": f"{signin.cookie_name(page_id)}={session_id}"}


def names(items: list[dict[str, Any]]) -> set[str]:
    return {item["name"] for item in items}


async def test_viewers_see_their_audience(
    make_served: Callable[..., Any], tenant: Tenant, servers: Servers
) -> None:
    served: Served = await make_served()
    client = served.client
    page_id = tenant.page_id
    api = (await component(client, tenant, "API"))["id"]
    billing = (await component(client, tenant, "Billing"))["id"]
    hidden = (await component(client, tenant, "Internal"))["id"]
    latency = (await create_metric(client, tenant, name="API latency"))["id"]
    await create_metric(client, tenant, name="Billing queue")

    # A public page first: everyone reads it, from the fast path, with CORS.
    public = await client.get(feed(page_id, "summary.json"))
    assert public.status_code == 200
    assert public.headers["access-control-allow-origin"] == "*"

    partners = await create_group(
        client, tenant, "Partners", component_ids=[api], metric_ids=[latency]
    )
    staff = await create_group(client, tenant, "Staff", component_ids=[billing])
    ada = await create_user(
        client, tenant, "ada@example.com", page_access_group_ids=[partners["id"]]
    )
    dan = await create_user(
        client, tenant, "dan@example.com", page_access_group_ids=[partners["id"]]
    )
    bob = await create_user(client, tenant, "bob@example.com", page_access_group_ids=[staff["id"]])

    await incident(client, tenant, "API errors", status="investigating", component_ids=[api])
    await incident(
        client,
        tenant,
        "Billing down",
        status="identified",
        components={billing: "major_outage"},
        component_ids=[billing],
    )
    await incident(client, tenant, "Everything slow", status="investigating")
    await incident(client, tenant, "Internal work", status="monitoring", component_ids=[hidden])

    # Anonymous: nothing, no CORS; the HTML page sends them to the sign-in form.
    for document in ("summary.json", "components.json", "incidents.json", "status.json"):
        anonymous = await client.get(feed(page_id, document))
        assert anonymous.status_code == 401, document
        assert "access-control-allow-origin" not in anonymous.headers
    html = await client.get(f"/p/{page_id}/")
    assert html.status_code == 303
    assert html.headers["location"].endswith(f"/p/{page_id}/auth/signin")
    assert (await client.get(f"/p/{page_id}/history.rss")).status_code == 401
    assert (await client.get(f"/p/{page_id}/api/v2/stream")).status_code == 401
    signin_form = await client.get(f"/p/{page_id}/auth/signin")
    assert signin_form.status_code == 200 and 'name="email"' in signin_form.text
    # An unknown session is nobody.
    bogus = {"Cookie": f"{signin.cookie_name(page_id)}=not-a-session"}
    assert (await client.get(feed(page_id, "summary.json"), headers=bogus)).status_code == 401

    # The organization's key: everything (the page's full snapshot, no CORS).
    full = await client.get(feed(page_id, "summary.json"), headers=tenant.auth)
    assert full.status_code == 200
    assert "access-control-allow-origin" not in full.headers
    assert names(full.json()["components"]) == {"API", "Billing", "Internal"}
    assert len(full.json()["incidents"]) == 4
    outage = full.json()["status"]["indicator"]
    assert outage in ("major", "critical")

    # Ada (Partners): API, the API incident and the page-wide one; Billing's outage is not hers.
    ada_auth = await viewer_cookie(servers, page_id, ada["id"])
    renders = served.read_path.store.renders
    summary = await client.get(feed(page_id, "summary.json"), headers=ada_auth)
    assert summary.status_code == 200, summary.text
    assert "access-control-allow-origin" not in summary.headers
    assert summary.headers["cache-control"].startswith("private")
    assert "Cookie" in summary.headers["vary"]
    body = summary.json()
    assert names(body["components"]) == {"API"}
    assert names(body["incidents"]) == {"API errors", "Everything slow"}
    assert body["status"]["indicator"] not in ("major", "critical")
    assert all(c["id"] == api for i in body["incidents"] for c in i["components"])
    assert summary.headers["etag"] != full.headers["etag"]
    assert served.read_path.store.renders == renders + 1
    # 304 on her own tag.
    again = await client.get(
        feed(page_id, "summary.json"),
        headers={**ada_auth, "If-None-Match": summary.headers["etag"]},
    )
    assert again.status_code == 304

    components_doc = await client.get(feed(page_id, "components.json"), headers=ada_auth)
    assert names(components_doc.json()["components"]) == {"API"}
    incidents_doc = await client.get(feed(page_id, "incidents.json"), headers=ada_auth)
    assert names(incidents_doc.json()["incidents"]) == {"API errors", "Everything slow"}

    # Dan has the same grants: the same audience, the same snapshot (no new render).
    dan_auth = await viewer_cookie(servers, page_id, dan["id"])
    renders = served.read_path.store.renders
    dans = await client.get(feed(page_id, "summary.json"), headers=dan_auth)
    assert dans.content == summary.content and dans.headers["etag"] == summary.headers["etag"]
    assert served.read_path.store.renders == renders

    # Bob (Staff): Billing, its outage and the page-wide incident.
    bob_auth = await viewer_cookie(servers, page_id, bob["id"])
    bobs = (await client.get(feed(page_id, "summary.json"), headers=bob_auth)).json()
    assert names(bobs["components"]) == {"Billing"}
    assert names(bobs["incidents"]) == {"Billing down", "Everything slow"}
    assert bobs["status"]["indicator"] == outage

    # The HTML page: Ada's components, incidents and metrics only, no live stream, a sign-out.
    full_page = await client.get(f"/p/{page_id}/", headers=tenant.auth)
    assert "Billing" in full_page.text and "/api/v2/stream" in full_page.text
    page = await client.get(f"/p/{page_id}/", headers=ada_auth)
    assert page.status_code == 200
    text = page.text
    assert "API errors" in text and "Everything slow" in text
    assert "Billing" not in text and "Internal" not in text
    assert "API latency" in text and "Billing queue" not in text
    assert 'data-stream=""' in text
    assert f'action="http://127.0.0.1:8000/p/{page_id}/auth/signout"' in text
    assert "auth/signout" not in full_page.text
    bob_page = (await client.get(f"/p/{page_id}/", headers=bob_auth)).text
    assert "Billing down" in bob_page and "API errors" not in bob_page
    # An incident page of another audience does not exist for her.
    others = full.json()["incidents"]
    billing_down = next(i for i in others if i["name"] == "Billing down")
    assert (
        await client.get(f"/p/{page_id}/incidents/{billing_down['id']}", headers=ada_auth)
    ).status_code == 404
    api_errors = next(i for i in others if i["name"] == "API errors")
    assert (
        await client.get(f"/p/{page_id}/incidents/{api_errors['id']}", headers=ada_auth)
    ).status_code == 200

    # A new grant bumps the revision: Ada's next read shows it.
    await v1(client, tenant, "PATCH", f"/page_access_users/{ada['id']}/components", {
        "component_ids": [billing]
    })  # fmt: skip
    await served.read_path.tracker.fetch(page_id)
    widened = (await client.get(feed(page_id, "summary.json"), headers=ada_auth)).json()
    assert names(widened["components"]) == {"API", "Billing"}

    # A deleted viewer is nobody, however valid their cookie.
    response = await client.delete(
        f"/v1/pages/{page_id}/page_access_users/{bob['id']}", headers=tenant.auth
    )
    assert response.status_code == 204
    await served.read_path.tracker.fetch(page_id)
    assert (await client.get(feed(page_id, "summary.json"), headers=bob_auth)).status_code == 401


async def test_private_page_stays_key_only(
    make_served: Callable[..., Any], tenant: Tenant, servers: Servers
) -> None:
    """Team-members-only wins over audience-specific: a viewer's session is not enough."""
    served: Served = await make_served()
    client = served.client
    user = await create_user(client, tenant, "ada@example.com")
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        json={"page": {"viewers_must_be_team_members": True}},
    )
    assert response.status_code == 200, response.text
    auth = await viewer_cookie(servers, tenant.page_id, user["id"])
    url = feed(tenant.page_id, "summary.json")
    assert (await client.get(url, headers=auth)).status_code == 401
    assert (await client.get(url, headers=tenant.auth)).status_code == 200
    assert (await client.get(f"/p/{tenant.page_id}/auth/signin")).status_code == 404


async def test_list_caps_count_what_the_viewer_sees(
    make_served: Callable[..., Any], tenant: Tenant, servers: Servers
) -> None:
    """incidents.json holds the 50 newest incidents the viewer may see, not the viewer's part of
    the page's 50 newest: newer incidents of other audiences do not push theirs out."""
    served: Served = await make_served()
    client = served.client
    mine = (await component(client, tenant, "API"))["id"]
    theirs = (await component(client, tenant, "Internal"))["id"]
    group = await create_group(client, tenant, "Partners", component_ids=[mine])
    ada = await create_user(client, tenant, "ada@example.com", page_access_group_ids=[group["id"]])
    for number in range(3):
        await incident(client, tenant, f"Ours {number}", status="resolved", component_ids=[mine])
    for number in range(52):
        await incident(
            client, tenant, f"Theirs {number}", status="resolved", component_ids=[theirs]
        )
    auth = await viewer_cookie(servers, tenant.page_id, ada["id"])

    seen = (await client.get(feed(tenant.page_id, "incidents.json"), headers=auth)).json()
    assert [i["name"] for i in seen["incidents"]] == ["Ours 2", "Ours 1", "Ours 0"]
    everything = await client.get(feed(tenant.page_id, "incidents.json"), headers=tenant.auth)
    assert len(everything.json()["incidents"]) == 50
    rss = await client.get(f"/p/{tenant.page_id}/history.rss", headers=auth)
    assert rss.status_code == 200
    assert rss.text.count("<item>") == 3
