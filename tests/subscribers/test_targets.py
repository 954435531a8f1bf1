"""Outbound targets: private, loopback, link-local and metadata addresses are refused unless the
setting allows them, at subscription time (and, through the same function, at delivery time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.notifications.targets import UnresolvableTarget, UnsafeTarget, check_public_target
from tests.api.test_auth import assert_error
from tests.conftest import Tenant
from tests.subscribers.helpers import base

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "https://10.0.0.1/hook",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://[::1]/hook",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost/hook",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await check_public_target(url, allow_private=False)
    await check_public_target(url, allow_private=True)


async def test_what_passes_and_what_is_malformed() -> None:
    await check_public_target("https://1.1.1.1/hook", allow_private=False)
    await check_public_target("http://[2606:4700:4700::1111]:8443/x", allow_private=False)
    for url in ("ftp://1.1.1.1/", "https:///nohost", "http://1.1.1.1:99999/", "mailto:a@b.co"):
        with pytest.raises(UnsafeTarget):
            await check_public_target(url, allow_private=True)
    with pytest.raises(UnresolvableTarget):
        await check_public_target("https://no-such-host.invalid/hook", allow_private=False)


async def test_api_refuses_private_endpoints(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for endpoint in ("http://127.0.0.1/x", "http://10.0.0.1/x", "http://169.254.169.254/x"):
        for fields in (
            {"endpoint": endpoint, "email": "a@example.com"},
            {"mode": "slack", "endpoint": endpoint},
            {"mode": "teams", "endpoint": endpoint},
        ):
            response = await client.post(
                base(tenant), headers=tenant.auth, json={"subscriber": fields}
            )
            assert "endpoint" in assert_error(response, 422)["message"]
    listed = await client.get(f"{base(tenant)}?state=all", headers=tenant.auth)
    assert listed.json() == []


async def test_setting_allows_private_endpoints(
    make_client: Callable[..., Any], tenant: Tenant
) -> None:
    client: httpx.AsyncClient = await make_client(outbound_allow_private=True)
    for endpoint in ("http://127.0.0.1:9000/x", "http://10.0.0.1/x", "http://localhost/x"):
        response = await client.post(
            base(tenant),
            headers=tenant.auth,
            json={"subscriber": {"endpoint": endpoint, "email": "a@example.com"}},
        )
        assert response.status_code == 201, response.text
        assert response.json()["endpoint"] == endpoint
