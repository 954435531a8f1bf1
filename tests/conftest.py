"""Real PostgreSQL and Redis for every test: the embedded servers by default, or those named by
STATUSPAGE_TEST_DATABASE_URL and STATUSPAGE_TEST_REDIS_URL. The schema comes from the migrations;
each test starts from empty tables and an empty Redis database."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from app.core.config import Settings, normalize_database_url
from app.core.db import Database
from app.core.embedded import EmbeddedServers
from app.core.migrate import upgrade
from app.main import create_app
from app.models import Base
from app.organizations.service import bootstrap


@dataclass(frozen=True)
class Servers:
    database_url: str  # the migrated test database (asyncpg SQLAlchemy URL)
    redis_url: str
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a `statuspage` subprocess pointed at the test servers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STATUSPAGE_")}
        env.update(
            STATUSPAGE_DATABASE_URL=self.database_url,
            STATUSPAGE_REDIS_URL=self.redis_url,
            STATUSPAGE_DATA_DIR=str(self.data_dir),
            STATUSPAGE_LOG_LEVEL="WARNING",
        )
        env.update(extra)
        return env


def _asyncpg_dsn(url: str) -> tuple[str, dict[str, Any]]:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }
    host = parsed.query.get("host") or parsed.host
    kwargs["host"] = host if isinstance(host, str) else None
    kwargs["port"] = parsed.port
    return "", kwargs


async def _recreate_database(admin_url: str, name: str, *, create: bool = True) -> None:
    _, kwargs = _asyncpg_dsn(admin_url)
    connection = await asyncpg.connect(**kwargs)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    data_dir = tmp_path_factory.mktemp("statuspage-data")
    admin_url = os.environ.get("STATUSPAGE_TEST_DATABASE_URL")
    redis_url = os.environ.get("STATUSPAGE_TEST_REDIS_URL")
    embedded = EmbeddedServers(tmp_path_factory.mktemp("embedded"))
    embedded.start(postgres=admin_url is None, redis=redis_url is None)
    try:
        admin = normalize_database_url(
            admin_url or (embedded.postgres.url if embedded.postgres else "")
        )
        name = f"statuspage_test_{os.getpid()}"
        asyncio.run(_recreate_database(admin, name))
        database_url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        upgrade(database_url)
        try:
            yield Servers(
                database_url=database_url,
                redis_url=redis_url or (embedded.redis.url if embedded.redis else ""),
                data_dir=data_dir,
            )
        finally:
            if admin_url is not None:  # a shared server: leave no test database behind
                asyncio.run(_recreate_database(admin, name, create=False))
    finally:
        embedded.stop()


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", rate_limit_per_minute=0, log_json=False)


async def _truncate(servers: Servers) -> None:
    database = Database.connect(servers.database_url, Settings())
    try:
        async with database.engine.begin() as connection:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            await connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await database.close()
    redis = Redis.from_url(servers.redis_url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def truncate_everything(servers: Servers) -> None:
    """For synchronous (module-scoped) fixtures: what `clean` does after each test."""
    asyncio.run(_truncate(servers))


@pytest.fixture
async def clean(servers: Servers) -> AsyncIterator[None]:
    """Empty tables and an empty Redis database after every test that touches them."""
    yield
    await _truncate(servers)


AppFactory = Callable[..., Any]


@pytest.fixture
async def make_client(
    servers: Servers, settings: Settings, clean: None
) -> AsyncIterator[Callable[..., Any]]:
    """Build an app (with its lifespan running) and an httpx client on it; several may coexist.

    Each test gets its own lifespan, so its own infrastructure (pools, caches, listeners); the app
    objects themselves are reused across tests with the same settings, because FastAPI prepares
    every route of an app on its first request (seconds, for this many routes)."""
    stack: list[tuple[str, FastAPI, Any, httpx.AsyncClient]] = []

    async def factory(**overrides: Any) -> httpx.AsyncClient:
        key = repr(sorted(overrides.items()))
        idle = _IDLE_APPS.setdefault(key, [])
        if idle:
            app = idle.pop()
        else:
            app = create_app(
                settings.model_copy(update=overrides),
                database_url=servers.database_url,
                redis_url=servers.redis_url,
            )
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        stack.append((key, app, lifespan, client))
        return client

    yield factory
    for key, app, lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
        _IDLE_APPS[key].append(app)


# Apps not in use by a test, by their settings overrides (see make_client).
_IDLE_APPS: dict[str, list[FastAPI]] = {}


@pytest.fixture
async def client(make_client: Callable[..., Any]) -> httpx.AsyncClient:
    result: httpx.AsyncClient = await make_client()
    return result


@dataclass(frozen=True)
class Tenant:
    organization_id: str
    page_id: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.api_key}"}


@pytest.fixture
async def db(servers: Servers, clean: None) -> AsyncIterator[Database]:
    database = Database.connect(servers.database_url, Settings())
    yield database
    await database.close()


@pytest.fixture
def make_tenant(db: Database) -> Callable[..., Any]:
    async def factory(role: str = "write", organization: str | None = None) -> Tenant:
        async with db.sessionmaker() as session, session.begin():
            made = await bootstrap(
                session,
                organization or f"Org {secrets.token_hex(4)}",
                "Status",
                role=role,
            )
        return Tenant(made.organization_id, made.page_id, made.api_key)

    return factory


@pytest.fixture
async def tenant(make_tenant: Callable[..., Any]) -> Tenant:
    result: Tenant = await make_tenant()
    return result
