"""Pages: every field, partial updates through PATCH and PUT, create and delete (extensions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.test_auth import assert_error
from tests.conftest import Tenant

PAGE_FIELDS = {
    "id", "created_at", "updated_at", "name", "page_description", "headline", "branding",
    "subdomain", "domain", "url", "support_url", "hidden_from_search", "allow_page_subscribers",
    "allow_incident_subscribers", "allow_email_subscribers", "allow_sms_subscribers",
    "allow_rss_atom_feeds", "allow_webhook_subscribers", "notifications_from_email",
    "notifications_email_footer", "activity_score", "twitter_username",
    "viewers_must_be_team_members", "ip_restrictions", "city", "state", "country", "time_zone",
    "css_body_background_color", "css_font_color", "css_light_font_color", "css_greens",
    "css_yellows", "css_oranges", "css_blues", "css_reds", "css_border_color", "css_graph_color",
    "css_link_color", "css_no_data", "favicon_logo", "transactional_logo", "hero_cover",
    "email_logo", "twitter_logo",
}  # fmt: skip


async def test_get_page_has_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(f"/v1/pages/{tenant.page_id}", headers=tenant.auth)
    assert response.status_code == 200
    page = response.json()
    assert set(page) == PAGE_FIELDS
    assert page["domain"] is None and page["headline"] is None  # nulls are present, not omitted
    assert page["time_zone"] == "UTC"
    assert page["css_greens"] == "2fcc66"
    assert page["favicon_logo"] == {"updated_at": None, "size": None, "url": ""}
    assert set(page["hero_cover"]) == {
        "updated_at",
        "original_url",
        "size",
        "normal_url",
        "retina_url",
    }
    assert page["created_at"].endswith("Z") and len(page["created_at"]) == 24


async def test_patch_updates_only_what_is_sent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    before = (await client.get(url, headers=tenant.auth)).json()
    response = await client.patch(
        url,
        headers=tenant.auth,
        json={
            "page": {
                "name": "Acme Status",
                "time_zone": "America/Tijuana",
                "css_reds": "#FF0000",
                "allow_sms_subscribers": False,
                "domain": "status.acme.test",
                "url": "https://acme.test",
                "not_a_field": "ignored",
            }
        },
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["name"] == "Acme Status"
    assert after["time_zone"] == "America/Tijuana"
    assert after["css_reds"] == "ff0000"
    assert after["allow_sms_subscribers"] is False
    assert after["domain"] == "status.acme.test"
    assert "not_a_field" not in after
    unchanged = set(PAGE_FIELDS) - {
        "name", "time_zone", "css_reds", "allow_sms_subscribers", "domain", "url", "updated_at",
    }  # fmt: skip
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert (await client.get(url, headers=tenant.auth)).json() == after


async def test_put_behaves_like_patch(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    response = await client.put(url, headers=tenant.auth, json={"page": {"headline": "All good"}})
    assert response.status_code == 200
    assert response.json()["headline"] == "All good"
    assert response.json()["name"] == "Status"


async def test_null_clears_nullable_fields_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    await client.patch(url, headers=tenant.auth, json={"page": {"domain": "s.acme.test"}})
    cleared = await client.patch(url, headers=tenant.auth, json={"page": {"domain": None}})
    assert cleared.json()["domain"] is None
    body = assert_error(
        await client.patch(url, headers=tenant.auth, json={"page": {"name": None}}), 422
    )
    assert "name" in body["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus_Mons"),
        ("branding", "platinum"),
        ("css_greens", "green"),
        ("hidden_from_search", "maybe"),
        ("subdomain", "-bad-"),
        ("url", "ftp://acme.test"),
        ("notifications_from_email", "not-an-email"),
        ("name", "x" * 256),
        ("name", ""),
    ],
)
async def test_invalid_values_are_422_naming_the_field(
    client: httpx.AsyncClient, tenant: Tenant, field: str, value: Any
) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    before = (await client.get(url, headers=tenant.auth)).json()
    response = await client.patch(url, headers=tenant.auth, json={"page": {field: value}})
    body = assert_error(response, 422)
    assert f"page.{field}" in body["message"]
    assert (await client.get(url, headers=tenant.auth)).json() == before


async def test_duplicate_subdomain_is_409(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Callable[..., Any]
) -> None:
    other: Tenant = await make_tenant()
    taken = (await client.get(f"/v1/pages/{other.page_id}", headers=other.auth)).json()["subdomain"]
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={"page": {"subdomain": taken}}
    )
    body = assert_error(response, 409)
    assert "subdomain" in body["message"]


async def test_create_list_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(
        "/v1/pages",
        headers=tenant.auth,
        json={"page": {"name": "Second", "time_zone": "Asia/Tokyo"}},
    )
    assert created.status_code == 201, created.text
    page = created.json()
    assert set(page) == PAGE_FIELDS
    assert page["name"] == "Second" and page["time_zone"] == "Asia/Tokyo"
    assert len(page["id"]) == 12 and page["id"].isalnum() and page["id"] == page["id"].lower()
    listed = (await client.get("/v1/pages", headers=tenant.auth)).json()
    assert [p["id"] for p in listed] == [tenant.page_id, page["id"]]

    deleted = await client.delete(f"/v1/pages/{page['id']}", headers=tenant.auth)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == page["id"]
    assert_error(await client.get(f"/v1/pages/{page['id']}", headers=tenant.auth), 404)


async def test_create_requires_a_name(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = assert_error(await client.post("/v1/pages", headers=tenant.auth, json={"page": {}}), 422)
    assert "page.name" in body["message"]
    assert len((await client.get("/v1/pages", headers=tenant.auth)).json()) == 1


async def test_pagination_caps_and_pages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for index in range(4):
        response = await client.post(
            "/v1/pages", headers=tenant.auth, json={"page": {"name": f"Extra {index}"}}
        )
        assert response.status_code == 201
    everything = (await client.get("/v1/pages", headers=tenant.auth)).json()
    assert len(everything) == 5
    first = (await client.get("/v1/pages?page=1&per_page=2", headers=tenant.auth)).json()
    third = (await client.get("/v1/pages?page=3&per_page=2", headers=tenant.auth)).json()
    beyond = (await client.get("/v1/pages?page=9&per_page=2", headers=tenant.auth)).json()
    assert [p["id"] for p in first] == [p["id"] for p in everything[:2]]
    assert [p["id"] for p in third] == [everything[4]["id"]]
    assert beyond == []
    capped = (await client.get("/v1/pages?per_page=1000", headers=tenant.auth)).json()
    assert len(capped) == 5  # capped at 100, so all five
    assert_error(await client.get("/v1/pages?page=0", headers=tenant.auth), 422)
    assert_error(await client.get("/v1/pages?per_page=abc", headers=tenant.auth), 422)


async def test_json_suffix(client: httpx.AsyncClient, tenant: Tenant) -> None:
    listed = await client.get("/v1/pages.json", headers=tenant.auth)
    assert listed.status_code == 200 and listed.json()[0]["id"] == tenant.page_id
    one = await client.get(f"/v1/pages/{tenant.page_id}.json", headers=tenant.auth)
    assert one.status_code == 200 and one.json()["id"] == tenant.page_id
    patched = await client.patch(
        f"/v1/pages/{tenant.page_id}.json", headers=tenant.auth, json={"page": {"name": "Dot json"}}
    )
    assert patched.json()["name"] == "Dot json"
