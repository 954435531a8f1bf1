"""Real `statuspage api` processes: a write through one shows on the other (pub/sub, with the
revalidation timer behind it), the SSE stream carries it with resume, and an open stream does not
hold up a shutdown."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import Servers, Tenant
from tests.processes import STATUSPAGE, free_port


def _start(servers: Servers) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = servers.env(
        STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_PUBLIC_STREAM_HEARTBEAT_SECONDS="0.5"
    )
    process = subprocess.Popen(
        [*STATUSPAGE, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return f"http://127.0.0.1:{port}", process


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("the api did not become ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


@pytest.fixture(scope="module")
def two_apis(servers: Servers) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """Two processes started side by side, shared by this module's tests (the shutdown test,
    last, stops the second)."""
    started = [_start(servers), _start(servers)]
    try:
        for base, process in started:
            _wait_ready(base, process)
        yield started[0][0], started[1][0], started[1][1]
    finally:
        for _, process in started:
            _stop(process)


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Events (and comments, as {"comment": ...}) as they arrive."""
    fields: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if fields:
                yield fields
            fields = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def _next_event(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    async for event in events:
        if "data" in event:
            event["data"] = orjson.loads(event["data"])
            return event
    raise AssertionError("the stream ended")


async def _component(client: httpx.AsyncClient, base: str, tenant: Tenant) -> str:
    response = await client.post(
        f"{base}/v1/pages/{tenant.page_id}/components",
        headers=tenant.auth,
        json={"component": {"name": "API"}},
    )
    assert response.status_code == 201, response.text
    component_id: str = response.json()["id"]
    return component_id


async def _set(client: httpx.AsyncClient, base: str, tenant: Tenant, cid: str, status: str) -> None:
    response = await client.patch(
        f"{base}/v1/pages/{tenant.page_id}/components/{cid}",
        headers=tenant.auth,
        json={"component": {"status": status}},
    )
    assert response.status_code == 200, response.text


async def test_a_write_shows_on_the_other_process(
    two_apis: tuple[str, str, subprocess.Popen[bytes]], tenant: Tenant
) -> None:
    writer, reader, _ = two_apis
    async with httpx.AsyncClient(timeout=10) as client:
        cid = await _component(client, writer, tenant)
        url = f"{reader}/p/{tenant.page_id}/api/v2/summary.json"
        for status in ("major_outage", "operational", "partial_outage"):
            await _set(client, writer, tenant, cid, status)
            for _ in range(400):
                body = (await client.get(url)).json()
                if body["components"][0]["status"] == status:
                    break
                await asyncio.sleep(0.025)
            else:
                raise AssertionError(f"{status} never showed on the other process")


async def test_stream_with_resume_and_shutdown(
    two_apis: tuple[str, str, subprocess.Popen[bytes]], tenant: Tenant
) -> None:
    writer, reader, reader_process = two_apis
    url = f"{reader}/p/{tenant.page_id}/api/v2/stream"
    async with httpx.AsyncClient(timeout=30) as client:
        cid = await _component(client, writer, tenant)
        async with client.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["access-control-allow-origin"] == "*"
            events = _sse(response)
            first = await _next_event(events)
            assert first["event"] == "update"
            assert first["data"]["changes"] is None
            assert first["data"]["summary"]["page"]["id"] == tenant.page_id
            start = int(first["id"])

            await _set(client, writer, tenant, cid, "major_outage")
            second = await _next_event(events)
            assert int(second["id"]) > start
            assert second["data"]["revision"] == int(second["id"])
            assert second["data"]["changes"]["components"] == [cid]
            assert second["data"]["changes"]["status"] is True
            assert second["data"]["summary"]["status"]["indicator"] == "critical"
            async for item in events:  # nothing new: heartbeats keep the line open
                if "comment" in item:
                    assert item["comment"] == "heartbeat"
                    break
        current = int(second["id"])

        # Resume from an older revision: the current state at once.
        async with client.stream("GET", url, headers={"Last-Event-ID": str(start)}) as response:
            resumed = await _next_event(_sse(response))
            assert int(resumed["id"]) == current
            assert resumed["data"]["summary"]["status"]["indicator"] == "critical"

        # Resume from the current revision: nothing until the next change.
        async with client.stream("GET", url, headers={"Last-Event-ID": str(current)}) as response:
            events = _sse(response)
            async for item in events:
                if "comment" in item:
                    break
                assert "data" not in item, item
            await _set(client, writer, tenant, cid, "operational")
            latest = await _next_event(events)
            assert int(latest["id"]) > current
            assert latest["data"]["changes"]["components"] == [cid]

        # An open stream does not hold up a shutdown.
        async with client.stream("GET", url) as response:
            await _next_event(_sse(response))
            reader_process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(reader_process.communicate, timeout=20)
    assert reader_process.returncode == 0
