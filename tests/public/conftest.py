"""Fixtures for the public read path: apps whose read path the tests can look into, and a page
built through the /v1 API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from app.public.asgi import StatusPageApp
from app.public.readpath import PublicReadPath
from tests.conftest import Servers, Tenant


@dataclass
class Served:
    app: StatusPageApp
    client: httpx.AsyncClient

    @property
    def read_path(self) -> PublicReadPath:
        read_path = self.app.read_path
        assert read_path is not None
        return read_path


@pytest.fixture
async def make_served(
    servers: Servers, settings: Settings, clean: None
) -> AsyncIterator[Callable[..., Any]]:
    stack: list[tuple[Any, Served]] = []

    async def factory(redis_url: str | None = None, **overrides: Any) -> Served:
        app = create_app(
            settings.model_copy(update=overrides),
            database_url=servers.database_url,
            redis_url=redis_url or servers.redis_url,
        )
        assert isinstance(app, StatusPageApp)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        served = Served(app, client)
        stack.append((lifespan, served))
        return served

    yield factory
    for lifespan, served in reversed(stack):
        await served.client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def served(make_served: Callable[..., Any]) -> Served:
    result: Served = await make_served()
    return result


async def v1(
    client: httpx.AsyncClient, tenant: Tenant, method: str, path: str, body: Any = None
) -> Any:
    response = await client.request(
        method, f"/v1/pages/{tenant.page_id}{path}", headers=tenant.auth, json=body
    )
    assert response.status_code < 300, response.text
    return response.json()


async def component(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **fields: Any
) -> dict[str, Any]:
    created: dict[str, Any] = await v1(
        client, tenant, "POST", "/components", {"component": {"name": name, **fields}}
    )
    return created


async def set_status(
    client: httpx.AsyncClient, tenant: Tenant, component_id: str, status: str
) -> None:
    await v1(
        client,
        tenant,
        "PATCH",
        f"/components/{component_id}",
        {"component": {"status": status}},
    )


async def incident(
    client: httpx.AsyncClient, tenant: Tenant, name: str, **fields: Any
) -> dict[str, Any]:
    created: dict[str, Any] = await v1(
        client, tenant, "POST", "/incidents", {"incident": {"name": name, **fields}}
    )
    return created


def feed(page_id: str, document: str) -> str:
    return f"/p/{page_id}/api/v2/{document}"
