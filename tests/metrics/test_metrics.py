"""Metrics: every route and field, validation, pagination, another organization's key."""

from __future__ import annotations

from typing import Any

import httpx

from app.core.db import Database
from tests.api.test_auth import assert_error
from tests.components.test_components import revision
from tests.conftest import Tenant
from tests.metrics.helpers import DATADOG, METRIC_FIELDS, create_metric, create_provider


async def test_create_returns_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    provider = await create_provider(client, tenant)
    metric = await create_metric(client, tenant, provider["id"], "Latency")
    assert set(metric) == METRIC_FIELDS
    assert metric == {
        "id": metric["id"],
        "metrics_provider_id": provider["id"],
        "metric_identifier": None,
        "name": "Latency",
        "display": True,
        "tooltip_description": None,
        "backfilled": True,
        "y_axis_min": None,
        "y_axis_max": None,
        "y_axis_hidden": False,
        "suffix": None,
        "decimal_places": 0,
        "most_recent_data_at": None,
        "created_at": metric["created_at"],
        "updated_at": metric["updated_at"],
        "last_fetched_at": None,
        "backfill_percentage": 1,
        "reference_name": None,
    }
    assert len(metric["id"]) == 12 and metric["created_at"].endswith("Z")
    again = await client.get(
        f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}.json", headers=tenant.auth
    )
    assert again.status_code == 200 and again.json() == metric


async def test_create_with_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    metric = await create_metric(
        client,
        tenant,
        name="Error rate",
        metric_identifier="errors.rate",
        transform="sum",
        suffix="%",
        y_axis_min=0,
        y_axis_max=100.5,
        y_axis_hidden=True,
        display=False,
        decimal_places=2,
        tooltip_description="Share of 5xx answers",
    )
    assert {k: metric[k] for k in (
        "name", "metric_identifier", "suffix", "y_axis_min", "y_axis_max", "y_axis_hidden",
        "display", "decimal_places", "tooltip_description",
    )} == {
        "name": "Error rate", "metric_identifier": "errors.rate", "suffix": "%",
        "y_axis_min": 0.0, "y_axis_max": 100.5, "y_axis_hidden": True, "display": False,
        "decimal_places": 2, "tooltip_description": "Share of 5xx answers",
    }  # fmt: skip
    assert "transform" not in metric  # accepted, stored, not part of Statuspage's Metric


async def test_form_encoded_create(client: httpx.AsyncClient, tenant: Tenant) -> None:
    provider = await create_provider(client, tenant)
    response = await client.post(
        f"/v1/pages/{tenant.page_id}/metrics_providers/{provider['id']}/metrics",
        headers=tenant.auth,
        data={"metric[name]": "Queue depth", "metric[y_axis_min]": "0",
              "metric[y_axis_hidden]": "t", "metric[decimal_places]": "1",
              "metric[suffix]": ""},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["y_axis_min"], body["y_axis_hidden"]) == ("Queue depth", 0.0, True)
    assert (body["decimal_places"], body["suffix"]) == (1, None)


async def test_provider_rules(client: httpx.AsyncClient, tenant: Tenant) -> None:
    datadog = await create_provider(client, tenant, **DATADOG)
    url = f"/v1/pages/{tenant.page_id}/metrics_providers/{datadog['id']}/metrics"
    missing = await client.post(url, headers=tenant.auth, json={"metric": {"name": "CPU"}})
    assert "metric.metric_identifier" in assert_error(missing, 422)["message"]
    pulled = await create_metric(
        client, tenant, datadog["id"], "CPU", metric_identifier="avg:system.cpu{*}"
    )
    assert pulled["backfilled"] is False and pulled["backfill_percentage"] == 0
    newrelic = await create_provider(
        client, tenant, type="NewRelic", api_key="k", metric_base_uri="https://api.newrelic.com"
    )
    nr_url = f"/v1/pages/{tenant.page_id}/metrics_providers/{newrelic['id']}/metrics"
    no_app = await client.post(
        nr_url, headers=tenant.auth, json={"metric": {"name": "Apdex", "metric_identifier": "x"}}
    )
    assert "metric.application_id" in assert_error(no_app, 422)["message"]
    await create_metric(
        client, tenant, newrelic["id"], "Apdex", metric_identifier="x", application_id="123"
    )


async def test_bad_input(client: httpx.AsyncClient, tenant: Tenant) -> None:
    provider = await create_provider(client, tenant)
    url = f"/v1/pages/{tenant.page_id}/metrics_providers/{provider['id']}/metrics"
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "metric.name"),
        ({"name": ""}, "metric.name"),
        ({"name": "x" * 256}, "metric.name"),
        ({"name": "x", "transform": "median"}, "metric.transform"),
        ({"name": "x", "decimal_places": -1}, "metric.decimal_places"),
        ({"name": "x", "decimal_places": None}, "metric.decimal_places"),
        ({"name": "x", "display": "maybe"}, "metric.display"),
        ({"name": "x", "y_axis_min": "low"}, "metric.y_axis_min"),
        ({"name": "x", "y_axis_min": 10, "y_axis_max": 1}, "metric.y_axis_min"),
    ]
    for fields, named in cases:
        response = await client.post(url, headers=tenant.auth, json={"metric": fields})
        assert named in assert_error(response, 422)["message"], fields
    listed = await client.get(f"/v1/pages/{tenant.page_id}/metrics", headers=tenant.auth)
    assert listed.json() == []


async def test_update_applies_what_was_sent(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant, suffix="ms", decimal_places=1)
    url = f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}"
    before = await revision(db, tenant.page_id)
    patched = await client.patch(
        url, headers=tenant.auth, json={"metric": {"name": "p99", "metric_identifier": "lat.p99"}}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["metric_identifier"]) == ("p99", "lat.p99")
    assert (body["suffix"], body["decimal_places"]) == ("ms", 1)
    assert body["updated_at"] >= metric["updated_at"]
    assert await revision(db, tenant.page_id) == before + 1
    put = await client.put(
        url, headers=tenant.auth, json={"metric": {"suffix": None, "y_axis_max": 500}}
    )
    assert put.status_code == 200
    assert (put.json()["suffix"], put.json()["y_axis_max"], put.json()["name"]) == (
        None,
        500.0,
        "p99",
    )
    form = await client.patch(
        url,
        headers={**tenant.auth, "Content-Type": "application/x-www-form-urlencoded"},
        content=b"metric[name]=Latency+p99&metric[display]=false",
    )
    assert (form.json()["name"], form.json()["display"]) == ("Latency p99", False)
    refused = await client.patch(url, headers=tenant.auth, json={"metric": {"name": None}})
    assert "metric.name" in assert_error(refused, 422)["message"]
    assert (await client.get(url, headers=tenant.auth)).json() == form.json()


async def test_delete_answers_the_metric(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    metric = await create_metric(client, tenant)
    url = f"/v1/pages/{tenant.page_id}/metrics/{metric['id']}"
    before = await revision(db, tenant.page_id)
    deleted = await client.delete(url, headers=tenant.auth)
    assert deleted.status_code == 200 and deleted.json() == metric
    assert await revision(db, tenant.page_id) == before + 1
    assert_error(await client.get(url, headers=tenant.auth), 404)
    assert_error(await client.delete(url, headers=tenant.auth), 404)


async def test_lists_paginate(client: httpx.AsyncClient, tenant: Tenant) -> None:
    first = await create_provider(client, tenant)
    second = await create_provider(client, tenant)
    mine = [(await create_metric(client, tenant, first["id"], f"M{i}"))["id"] for i in range(3)]
    other = (await create_metric(client, tenant, second["id"], "Other"))["id"]
    url = f"/v1/pages/{tenant.page_id}/metrics"
    everything = (await client.get(url, headers=tenant.auth)).json()
    assert [m["id"] for m in everything] == [*mine, other]
    assert all(set(m) == METRIC_FIELDS for m in everything)
    page_two = await client.get(url, params={"page": 2, "per_page": 2}, headers=tenant.auth)
    assert [m["id"] for m in page_two.json()] == [mine[2], other]
    capped = await client.get(url, params={"per_page": 500}, headers=tenant.auth)
    assert len(capped.json()) == 4
    by_provider = f"/v1/pages/{tenant.page_id}/metrics_providers/{first['id']}/metrics"
    assert [m["id"] for m in (await client.get(by_provider, headers=tenant.auth)).json()] == mine
    last = await client.get(by_provider, params={"page": 2, "per_page": 2}, headers=tenant.auth)
    assert [m["id"] for m in last.json()] == mine[2:]


async def test_another_organization_sees_nothing(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any
) -> None:
    other: Tenant = await make_tenant()
    theirs = await create_metric(client, other)
    for page_id in (tenant.page_id, other.page_id):
        url = f"/v1/pages/{page_id}/metrics/{theirs['id']}"
        assert_error(await client.get(url, headers=tenant.auth), 404)
        assert_error(
            await client.patch(url, headers=tenant.auth, json={"metric": {"name": "mine"}}), 404
        )
        assert_error(await client.delete(url, headers=tenant.auth), 404)
        assert_error(await client.delete(f"{url}/data", headers=tenant.auth), 404)
        assert_error(
            await client.post(
                f"{url}/data", headers=tenant.auth, json={"data": {"timestamp": 1, "value": 1}}
            ),
            404,
        )
    assert (await client.get(f"/v1/pages/{tenant.page_id}/metrics", headers=tenant.auth)).json() == []  # fmt: skip
    assert_error(await client.get(f"/v1/pages/{other.page_id}/metrics", headers=tenant.auth), 404)
    unchanged = await client.get(
        f"/v1/pages/{other.page_id}/metrics/{theirs['id']}", headers=other.auth
    )
    assert unchanged.json() == theirs
