"""Regression (bench/drill_postgres_restart.py): while PostgreSQL was down, every request answered 500
"Internal server error" and logged a traceback, because asyncpg lets the socket's OSError out while
connecting and only DBAPIError was mapped to the 503 "The database is unavailable". Requests that
need the database must answer 503 in the error shape, and the process must serve again once the
database is back (the drill covers the restart itself)."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.core.config import Settings
from app.main import create_app
from tests.conftest import Servers

UNAVAILABLE = "The database is unavailable; nothing was changed"


async def test_requests_answer_503_while_the_database_is_unreachable(
    servers: Servers, tmp_path: Path
) -> None:
    # A Unix socket directory where no server listens: connecting fails with an OSError.
    url = f"postgresql+asyncpg://postgres@/statuspage?host={tmp_path}"
    app = create_app(Settings(), database_url=url, redis_url=servers.redis_url)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t",
        ) as client,
    ):
        for method, path in (
            ("GET", "/v1/pages"),
            ("PATCH", "/v1/pages/abcdefghijkl/components/abcdefghijkl"),
            ("GET", "/p/abcdefghijkl/api/v2/summary.json"),
        ):
            response = await client.request(
                method,
                path,
                headers={"Authorization": "OAuth some-key"},
                json={"component": {"status": "major_outage"}} if method == "PATCH" else None,
            )
            assert response.status_code == 503, (method, path, response.text)
            assert response.json() == {"message": UNAVAILABLE, "error": UNAVAILABLE}
