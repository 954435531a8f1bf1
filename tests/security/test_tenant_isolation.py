"""Tenant isolation over every /v1 operation of our OpenAPI document: a key of organization A
against resources of organization B gets 404 (or 403), shows no byte of B's data and changes
nothing; without a key every /v1 operation answers 401.

The operations come from the document itself, so a route added later is covered without a
change here; path parameters are filled with real ids of B's resources where B has one of that
kind, and with a fresh id otherwise."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.ids import new_id
from app.main import create_app
from tests.conftest import Tenant

METHODS = ("get", "post", "put", "patch", "delete")
MARKER = "zz-tenant-b-secret"
PARAMETER = re.compile(r"{(\w+)}")


def operations() -> list[tuple[str, str]]:
    app: FastAPI = create_app()
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [
        (method.upper(), path)
        for path, item in sorted(paths.items())
        if path.startswith("/v1/")
        for method in METHODS
        if method in item
    ]


OPERATIONS = operations()


@dataclass
class Victim:
    tenant: Tenant
    ids: dict[str, str]
    texts: list[str]


async def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def populate(client: httpx.AsyncClient, tenant: Tenant) -> Victim:
    """B's page with one resource of each kind, every name carrying MARKER."""
    auth, base = tenant.auth, f"/v1/pages/{tenant.page_id}"
    await client.patch(base, headers=auth, json={"page": {"name": f"{MARKER} page"}})
    component = await _created(
        await client.post(
            f"{base}/components", headers=auth, json={"component": {"name": f"{MARKER} api"}}
        )
    )
    member = await _created(
        await client.post(
            f"{base}/components", headers=auth, json={"component": {"name": f"{MARKER} db"}}
        )
    )
    group = await _created(
        await client.post(
            f"{base}/component-groups",
            headers=auth,
            json={"component_group": {"name": f"{MARKER} group", "components": [member["id"]]}},
        )
    )
    incident = await _created(
        await client.post(
            f"{base}/incidents",
            headers=auth,
            json={
                "incident": {
                    "name": f"{MARKER} incident",
                    "body": f"{MARKER} body",
                    "component_ids": [component["id"]],
                }
            },
        )
    )
    template = await _created(
        await client.post(
            f"{base}/incident_templates",
            headers=auth,
            json={"template": {"name": f"{MARKER} t", "title": "t", "body": "b"}},
        )
    )
    provider = await _created(
        await client.post(
            f"{base}/metrics_providers", headers=auth, json={"metrics_provider": {"type": "Self"}}
        )
    )
    metric = await _created(
        await client.post(
            f"{base}/metrics_providers/{provider['id']}/metrics",
            headers=auth,
            json={"metric": {"name": f"{MARKER} latency", "tooltip_description": MARKER}},
        )
    )
    ids = {
        "page_id": tenant.page_id,
        "organization_id": tenant.organization_id,
        "component_id": component["id"],
        "id": group["id"],
        "incident_id": incident["id"],
        "incident_update_id": incident["incident_updates"][0]["id"],
        "template_id": template["id"],
        "metrics_provider_id": provider["id"],
        "metric_id": metric["id"],
    }
    subscriber = await client.post(
        f"{base}/subscribers",
        headers=auth,
        json={
            "subscriber": {"email": f"{MARKER}@example.com", "skip_confirmation_notification": True}
        },
    )
    if subscriber.status_code == 201:
        ids["subscriber_id"] = subscriber.json()["id"]
    texts = [MARKER, *(value for key, value in ids.items())]
    return Victim(tenant, ids, texts)


def fill(path: str, ids: dict[str, str]) -> str:
    return PARAMETER.sub(lambda match: ids.get(match.group(1), new_id()), path)


async def snapshot(client: httpx.AsyncClient, victim: Victim) -> list[Any]:
    """What B sees of its own page: must be the same before and after A's attempts."""
    base, auth = f"/v1/pages/{victim.tenant.page_id}", victim.tenant.auth
    seen = []
    for path in ("", "/components", "/incidents", "/incident_templates", "/metrics"):
        response = await client.get(base + path, headers=auth)
        assert response.status_code == 200, response.text
        seen.append(response.json())
    return seen


@pytest.fixture
async def victim(client: httpx.AsyncClient, make_tenant: Callable[..., Any]) -> Victim:
    return await populate(client, await make_tenant())


async def test_a_key_of_another_organization_sees_and_changes_nothing(
    client: httpx.AsyncClient, make_tenant: Callable[..., Any], victim: Victim
) -> None:
    intruder: Tenant = await make_tenant()
    before = await snapshot(client, victim)
    checked = 0
    for method, template in OPERATIONS:
        if "{" not in template:
            continue  # /v1/pages: the intruder's own organization
        path = fill(template, victim.ids)
        response = await client.request(method, path, headers=intruder.auth, json={})
        where = f"{method} {template}"
        assert response.status_code in (403, 404), (
            f"{where}: {response.status_code} {response.text}"
        )
        body = response.json()
        assert set(body) >= {"message", "error"}, where
        leaked = [text for text in victim.texts if text in response.text]
        assert not leaked, f"{where} leaked {leaked}"
        checked += 1
    assert checked >= 50
    assert await snapshot(client, victim) == before


async def test_listing_pages_shows_only_the_keys_organization(
    client: httpx.AsyncClient, make_tenant: Callable[..., Any], victim: Victim
) -> None:
    intruder: Tenant = await make_tenant()
    response = await client.get("/v1/pages", headers=intruder.auth)
    assert response.status_code == 200
    assert [page["id"] for page in response.json()] == [intruder.page_id]
    assert MARKER not in response.text


async def test_every_operation_without_a_key_is_401(
    client: httpx.AsyncClient, victim: Victim
) -> None:
    before = await snapshot(client, victim)
    for method, template in OPERATIONS:
        response = await client.request(method, fill(template, victim.ids), json={})
        where = f"{method} {template}"
        assert response.status_code == 401, f"{where}: {response.status_code} {response.text}"
        assert set(response.json()) >= {"message", "error"}, where
        assert MARKER not in response.text, where
    assert await snapshot(client, victim) == before


async def test_a_wrong_key_is_401_everywhere(client: httpx.AsyncClient, victim: Victim) -> None:
    bogus = {"Authorization": "OAuth " + "0" * 64}
    for method, template in OPERATIONS:
        response = await client.request(method, fill(template, victim.ids), headers=bogus, json={})
        assert response.status_code == 401, f"{method} {template}: {response.status_code}"
