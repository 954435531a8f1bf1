"""Request bodies: JSON (with or without a Content-Type), Rails-style forms, and the errors of bad ones."""

from __future__ import annotations

import httpx

from tests.api.test_auth import assert_error
from tests.conftest import Tenant


async def test_form_encoded_body(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        content=b"page[name]=Form+Page&page[hidden_from_search]=t&page[allow_rss_atom_feeds]=false"
        b"&page[time_zone]=Europe%2FBerlin",
    )
    # Without a Content-Type a body is read as JSON, and this one is not JSON: malformed.
    assert_error(response, 400)
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"page[name]=Form+Page&page[hidden_from_search]=t&page[allow_rss_atom_feeds]=false"
        b"&page[time_zone]=Europe%2FBerlin",
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["name"] == "Form Page"
    assert page["hidden_from_search"] is True
    assert page["allow_rss_atom_feeds"] is False
    assert page["time_zone"] == "Europe/Berlin"


async def test_form_through_httpx_data(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/pages",
        headers=tenant.auth,
        data={"page[name]": "Made by form", "page[branding]": "premium"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["branding"] == "premium"


async def test_multipart_form(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        files={"page[name]": (None, "Multipart")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Multipart"


async def test_json_without_content_type(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        content=b'{"page": {"name": "No content type"}}',
    )
    assert "content-type" not in response.request.headers
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "No content type"


async def test_json_sent_as_curl_default_form_type(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b'{"page": {"name": "curl -d json"}}',
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "curl -d json"


async def test_form_wrong_type_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        data={"page[allow_sms_subscribers]": "sometimes"},
    )
    body = assert_error(response, 422)
    assert "page.allow_sms_subscribers" in body["message"]


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/pages/{tenant.page_id}"
    response = await client.patch(
        url, headers={**tenant.auth, "Content-Type": "application/json"}, content=b'{"page": {'
    )
    assert_error(response, 400)
    assert (await client.get(url, headers=tenant.auth)).json()["name"] == "Status"


async def test_unsupported_content_type_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers={**tenant.auth, "Content-Type": "text/csv"},
        content=b"name,Status",
    )
    body = assert_error(response, 400)
    assert "Content-Type" in body["message"]


async def test_conflicting_form_keys_are_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"page=1&page[name]=x",
    )
    assert_error(response, 400)


async def test_wrong_envelope_type_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={"page": "x"}
    )
    body = assert_error(response, 422)
    assert "page" in body["message"]
    response = await client.patch(f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json=[1, 2])
    assert_error(response, 422)


async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    big = b'{"page": {"page_description": "' + b"x" * (1024 * 1024) + b'"}}'
    response = await client.patch(f"/v1/pages/{tenant.page_id}", headers=tenant.auth, content=big)
    assert_error(response, 413)

    async def chunks() -> object:
        for _ in range(3):
            yield b"x" * (512 * 1024)

    streamed = await client.patch(
        f"/v1/pages/{tenant.page_id}",
        headers=tenant.auth,
        content=chunks(),  # type: ignore[arg-type]
    )
    assert_error(streamed, 413)


async def test_unknown_route_and_method(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_error(await client.get("/v1/nothing-here", headers=tenant.auth), 404)
    assert_error(
        await client.post(f"/v1/pages/{tenant.page_id}", headers=tenant.auth, json={}), 405
    )
    assert_error(await client.delete("/healthz"), 405)
