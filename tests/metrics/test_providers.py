"""Metrics providers: every route and field, credentials per type, another organization's key."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.models import Metric, MetricPoint, MetricsProvider
from tests.api.test_auth import assert_error
from tests.components.test_components import revision
from tests.conftest import Tenant
from tests.metrics.helpers import (
    DATADOG,
    PROVIDER_FIELDS,
    aligned_past,
    create_metric,
    create_provider,
    post_point,
)


async def test_create_returns_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    provider = await create_provider(client, tenant, type="Self")
    assert set(provider) == PROVIDER_FIELDS
    assert provider["type"] == "Self"
    assert provider["page_id"] == tenant.page_id
    assert provider["disabled"] is False
    assert provider["metric_base_uri"] is None
    assert provider["last_revalidated_at"] is None
    assert provider["created_at"].endswith("Z") and len(provider["id"]) == 12
    again = await client.get(
        f"/v1/pages/{tenant.page_id}/metrics_providers/{provider['id']}.json",
        headers=tenant.auth,
    )
    assert again.status_code == 200 and again.json() == provider


async def test_credentials_are_stored_and_never_returned(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    provider = await create_provider(client, tenant, **DATADOG)
    assert set(provider) == PROVIDER_FIELDS
    assert provider["metric_base_uri"] == DATADOG["metric_base_uri"]
    assert "dd-api" not in str(provider)
    async with db.sessionmaker() as session:
        row = await session.get(MetricsProvider, provider["id"])
    assert row is not None and (row.api_key, row.application_key) == ("dd-api", "dd-app")


async def test_each_type_needs_its_credentials(client: httpx.AsyncClient, tenant: Tenant) -> None:
    url = f"/v1/pages/{tenant.page_id}/metrics_providers"
    good: list[dict[str, Any]] = [
        {"type": "Pingdom", "api_token": "t"},
        {"type": "Pingdom", "application_key": "k", "email": "a@b.io", "password": "p"},
        {"type": "NewRelic", "api_key": "k", "metric_base_uri": "https://api.newrelic.com/v2"},
        {"type": "Librato", "email": "a@b.io", "api_token": "t"},
        DATADOG,
        {"type": "Self"},
    ]
    for fields in good:
        response = await client.post(url, headers=tenant.auth, json={"metrics_provider": fields})
        assert response.status_code == 201, (fields, response.text)
        assert response.json()["type"] == fields["type"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"type": "Pingdom", "email": "a@b.io"}, "metrics_provider"),
        ({"type": "NewRelic", "api_key": "k"}, "metric_base_uri"),
        ({"type": "Librato", "email": "a@b.io"}, "api_token"),
        ({"type": "Datadog", "api_key": "k", "metric_base_uri": "https://x.io"}, "application_key"),
        ({"type": "Prometheus"}, "metrics_provider.type"),
        ({}, "metrics_provider.type"),
        ({"type": "Self", "metric_base_uri": "ftp://x"}, "metrics_provider.metric_base_uri"),
        ({"type": "Librato", "email": "nope", "api_token": "t"}, "metrics_provider.email"),
    ]
    for fields, named in bad:
        response = await client.post(url, headers=tenant.auth, json={"metrics_provider": fields})
        assert named in assert_error(response, 422)["message"], fields
    listed = (await client.get(url, headers=tenant.auth)).json()
    assert len(listed) == len(good)


async def test_form_encoded_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics_providers",
        headers=tenant.auth,
        data={"metrics_provider[type]": "Librato", "metrics_provider[email]": "ops@example.com",
              "metrics_provider[api_token]": "secret"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["type"] == "Librato"


async def test_list_is_unpaginated_and_ordered(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ids = [(await create_provider(client, tenant))["id"] for _ in range(3)]
    url = f"/v1/pages/{tenant.page_id}/metrics_providers"
    listed = await client.get(url, headers=tenant.auth)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()] == ids
    assert all(set(p) == PROVIDER_FIELDS for p in listed.json())
    second = await client.get(url, params={"per_page": 1, "page": 2}, headers=tenant.auth)
    assert [p["id"] for p in second.json()] == ids[1:2]


async def test_patch_and_put(client: httpx.AsyncClient, tenant: Tenant) -> None:
    provider = await create_provider(client, tenant)
    url = f"/v1/pages/{tenant.page_id}/metrics_providers/{provider['id']}"
    # Becoming a Datadog provider needs Datadog's credentials, sent along (as Terraform does).
    refused = await client.patch(
        url, headers=tenant.auth, json={"metrics_provider": {"type": "Datadog"}}
    )
    assert "Datadog" in assert_error(refused, 422)["message"]
    patched = await client.patch(url, headers=tenant.auth, json={"metrics_provider": DATADOG})
    assert patched.status_code == 200, patched.text
    assert patched.json()["type"] == "Datadog"
    assert patched.json()["updated_at"] >= provider["updated_at"]
    put = await client.put(
        url,
        headers=tenant.auth,
        json={"metrics_provider": {"metric_base_uri": "https://api.datadoghq.eu/api/v1"}},
    )
    assert put.status_code == 200
    assert put.json()["metric_base_uri"] == "https://api.datadoghq.eu/api/v1"
    assert put.json()["type"] == "Datadog"
    nulled = await client.patch(
        url, headers=tenant.auth, json={"metrics_provider": {"metric_base_uri": None}}
    )
    assert "metric_base_uri" in assert_error(nulled, 422)["message"]
    assert (await client.get(url, headers=tenant.auth)).json() == put.json()


async def test_delete_answers_the_provider_and_takes_its_metrics(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    provider = await create_provider(client, tenant)
    metric = await create_metric(client, tenant, provider["id"])
    slot = aligned_past(300, 3)
    assert (await post_point(client, tenant, metric["id"], slot, 1)).status_code == 201
    before = await revision(db, tenant.page_id)
    url = f"/v1/pages/{tenant.page_id}/metrics_providers/{provider['id']}"
    deleted = await client.delete(url, headers=tenant.auth)
    assert deleted.status_code == 200
    assert deleted.json() == provider
    assert_error(await client.get(url, headers=tenant.auth), 404)
    assert_error(
        await client.get(f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}", headers=tenant.auth),
        404,
    )
    assert await revision(db, tenant.page_id) == before + 1
    async with db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Metric)) == 0
        assert await session.scalar(select(func.count()).select_from(MetricPoint)) == 0


async def test_another_organization_sees_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create_provider(client, other)
    mine = f"/v1/pages/{tenant.page_id}/metrics_providers/{theirs['id']}"
    theirs_with_my_key = f"/v1/pages/{other.page_id}/metrics_providers/{theirs['id']}"
    for url in (mine, theirs_with_my_key):
        assert_error(await client.get(url, headers=tenant.auth), 404)
        assert_error(
            await client.patch(
                url, headers=tenant.auth, json={"metrics_provider": {"type": "Self"}}
            ),
            404,
        )
        assert_error(await client.delete(url, headers=tenant.auth), 404)
        assert_error(await client.get(f"{url}/metrics", headers=tenant.auth), 404)
        assert_error(
            await client.post(
                f"{url}/metrics", headers=tenant.auth, json={"metric": {"name": "x"}}
            ),
            404,
        )
    listed = await client.get(f"/v1/pages/{other.page_id}/metrics_providers", headers=tenant.auth)
    assert_error(listed, 404)
    assert (await client.get(
        f"/v1/pages/{tenant.page_id}/metrics_providers", headers=tenant.auth
    )).json() == []  # fmt: skip
    still = await client.get(theirs_with_my_key, headers=other.auth)
    assert still.status_code == 200


async def test_needs_a_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_error(await client.get(f"/v1/pages/{tenant.page_id}/metrics_providers"), 401)
