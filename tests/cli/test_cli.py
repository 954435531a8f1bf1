"""The `statuspage` command as users run it: real processes, real servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.conftest import Servers
from tests.processes import STATUSPAGE, free_port


def _run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STATUSPAGE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _bootstrap(env: dict[str, str], organization: str, page: str) -> dict[str, Any]:
    result = _run(["bootstrap", "--organization", organization, "--page", page, "--json"], env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # exactly one JSON object and nothing else
    created: dict[str, Any] = json.loads(lines[0])
    assert set(created) == {"organization_id", "page_id", "api_key"}
    return created


def test_bootstrap_is_idempotent(servers: Servers, clean: None) -> None:
    first = _bootstrap(servers.env(), "Acme", "Acme Status")
    second = _bootstrap(servers.env(), "Acme", "Acme Status")
    assert second["organization_id"] == first["organization_id"]
    assert second["page_id"] == first["page_id"]
    assert second["api_key"] != first["api_key"]
    other = _bootstrap(servers.env(), "Acme", "Internal")
    assert other["organization_id"] == first["organization_id"]
    assert other["page_id"] != first["page_id"]


def test_bootstrap_human_output(servers: Servers, clean: None) -> None:
    result = _run(["bootstrap", "--organization", "Human", "--page", "Status"], servers.env())
    assert result.returncode == 0, result.stderr
    assert "api_key:" in result.stdout and "Authorization: OAuth" in result.stdout


def _wait_ready(base: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("serve did not become ready")


def _processes_using(data_dir: Path) -> list[psutil.Process]:
    found = []
    marker = str(data_dir.resolve())
    for process in psutil.process_iter(["cmdline", "cwd"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in cmdline:
            found.append(process)
    redis_pid = data_dir / "redis" / "redis.pid"
    if redis_pid.exists():
        pid = int(redis_pid.read_text().strip() or 0)
        if pid and psutil.pid_exists(pid):
            found.append(psutil.Process(pid))
    return found


def _serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATUSPAGE_")}
    env.update(STATUSPAGE_DATA_DIR=str(data_dir), STATUSPAGE_LOG_LEVEL="WARNING")
    return subprocess.Popen(
        [*STATUSPAGE, "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen[str], how: signal.Signals) -> None:
    process.send_signal(how)
    process.communicate(timeout=30)  # also closes the pipes


def test_serve_with_embedded_servers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATUSPAGE_")}
    env.update(STATUSPAGE_DATA_DIR=str(data_dir), STATUSPAGE_LOG_LEVEL="WARNING")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = _serve(data_dir, port)
    try:
        _wait_ready(base, serve)
        created = _bootstrap(env, "Embedded", "Status")  # while serve runs
        auth = {"Authorization": f"OAuth {created['api_key']}"}
        pages = httpx.get(f"{base}/v1/pages", headers=auth, timeout=10)
        assert pages.status_code == 200
        assert [p["id"] for p in pages.json()] == [created["page_id"]]
        renamed = httpx.patch(
            f"{base}/v1/pages/{created['page_id']}",
            headers=auth,
            data={"page[headline]": "Survives restarts"},
            timeout=10,
        )
        assert renamed.status_code == 200, renamed.text
    finally:
        _stop(serve, signal.SIGTERM)
    assert serve.returncode is not None
    assert _processes_using(data_dir) == []  # no orphan postgres, redis or worker

    again = _bootstrap(env, "Embedded", "Status")  # while nothing runs
    assert (again["organization_id"], again["page_id"]) == (
        created["organization_id"],
        created["page_id"],
    )
    assert _processes_using(data_dir) == []

    serve = _serve(data_dir, port)
    try:
        _wait_ready(base, serve)
        page = httpx.get(
            f"{base}/v1/pages/{created['page_id']}",
            headers={"Authorization": f"OAuth {again['api_key']}"},
            timeout=10,
        )
        assert page.status_code == 200
        assert page.json()["headline"] == "Survives restarts"  # the data survived the restart
    finally:
        _stop(serve, signal.SIGINT)
    assert _processes_using(data_dir) == []


def test_openapi_command_writes_the_document(tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"
    result = _run(["openapi", "--output", str(output)], dict(os.environ))
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    assert "/v1/pages/{page_id}" in document["paths"]


def test_serve_with_a_relative_data_dir(tmp_path: Path) -> None:
    """The default STATUSPAGE_DATA_DIR is relative (./.statuspage): serve from a working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATUSPAGE_")}
    env.update(STATUSPAGE_DATA_DIR=".statuspage", STATUSPAGE_LOG_LEVEL="WARNING")
    port = free_port()
    serve = subprocess.Popen(
        [*STATUSPAGE, "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_ready(f"http://127.0.0.1:{port}", serve)
    finally:
        _stop(serve, signal.SIGTERM)
    assert (tmp_path / ".statuspage" / "postgres" / "PG_VERSION").exists()
    assert _processes_using(tmp_path / ".statuspage") == []
