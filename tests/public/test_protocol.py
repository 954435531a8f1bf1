"""The HTTP-level fast path (app/public/protocol.py) in a real `statuspage api` process: snapshot
hits answered by the protocol itself, with keep-alive, HEAD, 304, pipelining and HTTP/1.0 right,
and everything it declines still answered by the app."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Servers, truncate_everything
from tests.processes import ApiProcess, run_statuspage


@dataclass(frozen=True)
class Running:
    api: ApiProcess
    page_id: str
    headers: dict[str, str]

    @property
    def summary_path(self) -> str:
        return f"/p/{self.page_id}/api/v2/summary.json"


@pytest.fixture(scope="module")
def running(servers: Servers) -> Iterator[Running]:
    env = servers.env(STATUSPAGE_RATE_LIMIT_PER_MINUTE="0")
    made = json.loads(
        run_statuspage(["bootstrap", "--organization", "P", "--page", "P", "--json"], env).stdout
    )
    with ApiProcess.start(env) as api:
        auth = {"Authorization": f"OAuth {made['api_key']}"}
        created = httpx.post(
            f"{api.base_url}/v1/pages/{made['page_id']}/components",
            headers=auth,
            json={"component": {"name": "Protocol API"}},
        )
        assert created.status_code == 201, created.text
        yield Running(api, made["page_id"], auth)
    truncate_everything(servers)


def _protocol_hits(api: ApiProcess) -> float:
    text = httpx.get(f"{api.base_url}/metrics").text
    found = re.search(r"^statuspage_public_protocol_hits (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


def _current_summary(running: Running) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:
        response = httpx.get(running.api.base_url + running.summary_path)
        if response.status_code == 200 and "Protocol API" in response.text:
            return response
        assert time.monotonic() < deadline, response.text
        time.sleep(0.05)


def _read_response(stream: socket.SocketIO) -> tuple[bytes, dict[bytes, bytes], bytes]:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        chunk = stream.read(1)
        assert chunk, f"connection closed inside a response head: {head!r}"
        head += chunk
    status, *lines = head[:-4].split(b"\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get(b"content-length", b"0"))
    body = b""
    while len(body) < length:
        chunk = stream.read(length - len(body))
        assert chunk
        body += chunk
    return status, headers, body


def test_snapshot_hits_are_answered_by_the_protocol(running: Running) -> None:
    first = _current_summary(running)
    before = _protocol_hits(running.api)
    with httpx.Client(base_url=running.api.base_url) as client:  # one kept-alive connection
        again = client.get(running.summary_path)
        assert again.status_code == 200 and again.content == first.content
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["access-control-allow-origin"] == "*"
        assert "date" in again.headers
        head = client.head(running.summary_path)
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(first.content)
        unchanged = client.get(
            running.summary_path, headers={"If-None-Match": first.headers["etag"]}
        )
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == first.headers["etag"]
        changed = client.get(running.summary_path, headers={"If-None-Match": '"other"'})
        assert changed.status_code == 200 and changed.content == first.content
    assert _protocol_hits(running.api) - before >= 4


def test_pipelined_and_http_1_0_requests(running: Running) -> None:
    body = _current_summary(running).content
    host, port = running.api.base_url.removeprefix("http://").split(":")
    request = f"GET {running.summary_path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    other = f"GET /v1/pages/{running.page_id} HTTP/1.1\r\nHost: {host}\r\n".encode()
    other += f"Authorization: {running.headers['Authorization']}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        stream = socket.SocketIO(sock, "rb")
        # Three requests in one write: answers come back in order, whoever answers each.
        sock.sendall(request + other + request)
        answers = [_read_response(stream) for _ in range(3)]
        assert [status for status, _, _ in answers] == [b"HTTP/1.1 200 OK"] * 3
        assert answers[0][2] == body and answers[2][2] == body
        assert json.loads(answers[1][2])["id"] == running.page_id
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        stream = socket.SocketIO(sock, "rb")
        sock.sendall(f"GET {running.summary_path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        status, headers, received = _read_response(stream)
        assert status.startswith(b"HTTP/1.1 200") and received == body
        assert headers[b"connection"] == b"close"
        assert stream.read(1) == b""  # and the server closed the connection


def test_what_the_protocol_declines_the_app_answers(running: Running) -> None:
    body = _current_summary(running).content
    base = running.api.base_url
    encoded = httpx.get(f"{base}/p/{running.page_id}/api/v2/summary%2Ejson")
    assert encoded.status_code == 200 and encoded.content == body
    with_query = httpx.get(f"{base}{running.summary_path}?cache=bust")
    assert with_query.status_code == 200 and with_query.content == body
    missing = httpx.get(f"{base}/p/{running.page_id}/api/v2/nothing.json")
    assert missing.status_code == 404
    assert set(missing.json()) >= {"message", "error"}


def test_an_oversized_request_head_is_431(running: Running) -> None:
    host, port = running.api.base_url.removeprefix("http://").split(":")
    big = "a" * (70 * 1024)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        stream = socket.SocketIO(sock, "rb")
        sock.sendall(
            f"GET {running.summary_path} HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}\r\n\r\n".encode()
        )
        status, headers, body = _read_response(stream)
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
        assert set(json.loads(body)) == {"message", "error"}
        assert headers[b"connection"] == b"close"
    # A large but reasonable head (cookies, long tokens) is fine.
    fine = httpx.get(
        running.api.base_url + running.summary_path, headers={"X-Big": "b" * 32 * 1024}
    )
    assert fine.status_code == 200
