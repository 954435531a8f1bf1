"""The three ways to reach a page, and the status indicator rules (API.md 5.3) as the feeds show them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import Tenant
from tests.public.conftest import Served, component, feed, incident, set_status, v1

# A page of three components (and a group): the statuses to set -> (indicator, description).
CASES = [
    ((), ("none", "All Systems Operational")),
    (("major_outage",) * 3, ("critical", "Major System Outage")),
    (("partial_outage",) * 3, ("major", "Partial System Outage")),
    (("degraded_performance",) * 3, ("minor", "Degraded System Service")),
    (("under_maintenance",) * 3, ("maintenance", "Service Under Maintenance")),
    (("major_outage", "operational", "degraded_performance"), ("major", "Partial System Outage")),
    (("partial_outage", "degraded_performance", "operational"), ("minor", "Minor Service Outage")),
    (("degraded_performance",), ("minor", "Partially Degraded Service")),
    (("under_maintenance",), ("maintenance", "Service Under Maintenance")),
]


async def test_indicator_from_components(served: Served, tenant: Tenant) -> None:
    rows = [await component(served.client, tenant, f"C{i}") for i in range(3)]
    await v1(
        served.client,
        tenant,
        "POST",
        "/component-groups",
        {"component_group": {"name": "G", "components": [rows[0]["id"], rows[1]["id"]]}},
    )
    current = ["operational"] * 3
    for statuses, expected in CASES:
        wanted = [*statuses, *["operational"] * (3 - len(statuses))]
        for index, (row, status) in enumerate(zip(rows, wanted, strict=True)):
            if current[index] != status:
                await set_status(served.client, tenant, row["id"], status)
                current[index] = status
        body = (await served.client.get(feed(tenant.page_id, "status.json"))).json()
        assert (body["status"]["indicator"], body["status"]["description"]) == expected, statuses
        summary = (await served.client.get(feed(tenant.page_id, "summary.json"))).json()
        assert summary["status"] == body["status"]


async def test_unresolved_incidents_raise_the_indicator(served: Served, tenant: Tenant) -> None:
    url = feed(tenant.page_id, "status.json")
    created = await incident(
        served.client, tenant, "Outage", status="investigating", impact_override="major"
    )
    assert (await served.client.get(url)).json()["status"] == {
        "indicator": "major",
        "description": "Partial System Outage",
    }
    await v1(
        served.client,
        tenant,
        "PATCH",
        f"/incidents/{created['id']}",
        {"incident": {"status": "resolved"}},
    )
    assert (await served.client.get(url)).json()["status"]["indicator"] == "none"


async def test_path_host_and_root_addressing(
    make_served: Callable[..., Any], make_tenant: Callable[..., Any]
) -> None:
    served: Served = await make_served(public_base_domain="status.test")
    tenant: Tenant = await make_tenant()
    await v1(served.client, tenant, "PATCH", "", {"page": {"domain": "status.acme.test"}})
    page = (await served.client.get(f"/v1/pages/{tenant.page_id}", headers=tenant.auth)).json()
    by_path = await served.client.get(feed(tenant.page_id, "summary.json"))
    assert by_path.status_code == 200
    expected = by_path.content

    by_domain = await served.client.get(
        "/api/v2/summary.json", headers={"Host": "status.acme.test"}
    )
    assert by_domain.status_code == 200 and by_domain.content == expected
    by_subdomain = await served.client.get(
        "/api/v2/summary.json", headers={"Host": f"{page['subdomain']}.status.test:8000"}
    )
    assert by_subdomain.status_code == 200 and by_subdomain.content == expected
    root = await served.client.get("/api/v2/summary.json")  # the one page of the server
    assert root.status_code == 200 and root.content == expected
    again = await served.client.get("/api/v2/status.json", headers={"Host": "status.acme.test"})
    assert again.json()["page"]["id"] == tenant.page_id
    # The page's canonical URL is its own domain, whatever the request used.
    assert by_path.json()["page"]["url"] == "http://status.acme.test"

    # The service's own paths are never a page's.
    assert (
        await served.client.get("/healthz", headers={"Host": "status.acme.test"})
    ).status_code == 200
    pages = await served.client.get(
        "/v1/pages", headers={**tenant.auth, "Host": "status.acme.test"}
    )
    assert pages.status_code == 200
    missing = await served.client.get(
        "/api/v2/summary.json", headers={"Host": "nosuch.status.test"}
    )
    assert missing.status_code == 404

    other: Tenant = await make_tenant()
    served.read_path.addressing.forget(tenant.page_id)  # the host cache would else hold it briefly
    assert (await served.client.get("/api/v2/summary.json")).status_code == 404  # two pages now
    assert (await served.client.get(feed(other.page_id, "summary.json"))).status_code == 200
