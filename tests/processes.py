"""Real `statuspage` processes for tests that need the network: a command run to completion, or an
API server on a free port, stopped (and its output shown on failure) when the test is done."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

STATUSPAGE = [sys.executable, "-m", "app.cli"]


def run_statuspage(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*STATUSPAGE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


async def burst_worker(env: dict[str, str]) -> None:
    """`statuspage worker --burst`: the jobs due now (cron jobs run at start-up), then exit 0."""
    process = await asyncio.create_subprocess_exec(
        *STATUSPAGE, "worker", "--burst",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()


async def start_worker(env: dict[str, str], *, stderr: bool = False) -> asyncio.subprocess.Process:
    """`statuspage worker` in a process of its own (for the tests that kill or stop it); with
    `stderr`, its log is kept for `communicate()` (read it: a full pipe would stop the worker)."""
    return await asyncio.create_subprocess_exec(
        *STATUSPAGE, "worker",
        env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ApiProcess:
    process: subprocess.Popen[str]
    base_url: str

    @classmethod
    @contextmanager
    def start(cls, env: dict[str, str], *, command: str = "api") -> Iterator[ApiProcess]:
        port = free_port()
        process = subprocess.Popen(
            [*STATUSPAGE, command, "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        api = cls(process, f"http://127.0.0.1:{port}")
        try:
            api.wait_ready()
            yield api
        finally:
            api.stop()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise AssertionError(f"statuspage exited with {self.process.returncode}:\n{output}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"statuspage not ready on {self.base_url} after {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()
        elif self.process.stdout is not None:
            self.process.communicate()
