"""One incident to 10,000 webhook subscribers, all pointing at one local receiver, one worker.

What is measured: the time from the incident POST returning until the receiver (an aiohttp server
in a process of its own) has a request for every subscriber; deliveries per second over that time;
duplicates (requests beyond one per `webhook-id`, counted a second after the last one); the peak
RSS of the `statuspage worker` process (sampled every 20 ms; target under 250 MB).

Baseline, measured in the same run against the same receiver: a plain aiohttp client (one session,
concurrency 32, uvloop) POSTing the same body 10,000 times. Target: ours at least 50% of that.

With --kill F the worker is SIGKILLed once the receiver has F x N requests, and a new worker is
started (lease 5 s, sweep every second): everyone must still receive the event; duplicates are
what was in flight or not yet recorded when the worker died.

Setup: PostgreSQL on 127.0.0.1:5432 (user postgres, trust; a fresh database) and Redis on
127.0.0.1:6379 (database 14, flushed) when both answer, else the embedded servers under a fresh
data dir. `statuspage api` and `statuspage worker` are separate processes (log level WARNING,
STATUSPAGE_OUTBOUND_ALLOW_PRIVATE=true for the local receiver). Subscribers are inserted with SQL.

Run from the repository root:

    .venv/bin/python bench/delivery_fanout.py [--subscribers 10000] [--kill 0.5] [--keep-data]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # type: ignore[import-untyped,unused-ignore]

from bench._common import (
    PYTHON,
    STATUSPAGE,
    Postgres,
    api_call,
    bootstrap,
    cleanup_on_exit,
    code_state,
    free_port,
    http_get,
    log_findings,
    make_data_dir,
    service_env,
    start,
    wait_ready,
)

HOST = "127.0.0.1"
RAW_CONCURRENCY = 32
EXTERNAL_PG = "postgresql://postgres@127.0.0.1:5432"
EXTERNAL_REDIS = "redis://127.0.0.1:6379/14"


# The receiver (runs as `delivery_fanout.py --receiver PORT`) ------------------------------------


def serve_receiver(port: int) -> None:
    import uvloop
    from aiohttp import web

    seen: dict[str, int] = {}
    stats: dict[str, Any] = {"count": 0, "first": None, "last": None, "sample": None}

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        stats["count"] += 1
        stats["first"] = stats["first"] or now
        stats["last"] = now
        message = request.headers.get("webhook-id")
        if message is not None:
            seen[message] = seen.get(message, 0) + 1
            if stats["sample"] is None:
                stats["sample"] = body.decode()
        return web.Response(text="ok")

    async def report(request: web.Request) -> web.Response:
        return web.json_response({**stats, "unique": len(seen)})

    async def reset(request: web.Request) -> web.Response:
        seen.clear()
        stats.update(count=0, first=None, last=None)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", report)
    app.router.add_post("/reset", reset)
    web.run_app(
        app, host=HOST, port=port, access_log=None, print=None, loop=uvloop.new_event_loop()
    )


def receiver_stats(port: int) -> dict[str, Any]:
    _, body = http_get(HOST, port, "/stats", timeout=10)
    result: dict[str, Any] = json.loads(body)
    return result


def raw_rate(port: int, body: bytes, count: int) -> float:
    """The baseline: a plain aiohttp client, one session, RAW_CONCURRENCY requests in flight."""
    import aiohttp
    import uvloop

    async def run() -> float:
        connector = aiohttp.TCPConnector(limit=RAW_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            semaphore = asyncio.Semaphore(RAW_CONCURRENCY)
            headers = {"content-type": "application/json", "webhook-id": "raw"}

            async def one() -> None:
                async with (
                    semaphore,
                    session.post(
                        f"http://{HOST}:{port}/hook", data=body, headers=headers
                    ) as response,
                ):
                    await response.read()

            begin = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(count)))
            return count / (time.perf_counter() - begin)

    return uvloop.run(run())


# Setup ------------------------------------------------------------------------------------------


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Database:
    """Where the bench runs: external servers when both answer, else the embedded ones."""

    def __init__(self, data_dir: Path, external: bool):
        self.data_dir = data_dir
        self.external = external
        self.name = f"bench_delivery_{os.getpid()}"

    def env(self, **extra: str) -> dict[str, str]:
        base = {
            "STATUSPAGE_RATE_LIMIT_PER_MINUTE": "0",
            "STATUSPAGE_LOG_LEVEL": "WARNING",
            "STATUSPAGE_OUTBOUND_ALLOW_PRIVATE": "true",
            "STATUSPAGE_PUBLIC_BASE_URL": "http://status.bench",
            **extra,
        }
        if not self.external:
            return service_env(self.data_dir, **base)
        env = service_env(self.data_dir, **base)
        env["STATUSPAGE_DATABASE_URL"] = f"{EXTERNAL_PG}/{self.name}"
        env["STATUSPAGE_REDIS_URL"] = EXTERNAL_REDIS
        return env

    def sql(self, statement: str) -> str:
        if self.external:
            argv = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", HOST, "-U", "postgres", "-d", self.name, "-c", statement]  # fmt: skip
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"psql failed on {statement[:80]!r}: {done.stderr}")
            return done.stdout.strip()
        return Postgres.of(self.data_dir).sql(statement)

    def create(self) -> None:
        if self.external:
            for statement in (
                f'DROP DATABASE IF EXISTS "{self.name}"',
                f'CREATE DATABASE "{self.name}"',
            ):
                subprocess.run(
                    ["psql", "-X", "-q", "-h", HOST, "-U", "postgres", "-d", "postgres", "-c", statement],
                    check=True, capture_output=True, timeout=60,
                )  # fmt: skip
            subprocess.run(
                ["redis-cli", "-n", EXTERNAL_REDIS.rsplit("/", 1)[1], "FLUSHDB"],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip

    def drop(self) -> None:
        if self.external:
            subprocess.run(
                ["psql", "-X", "-q", "-h", HOST, "-U", "postgres", "-d", "postgres", "-c",
                 f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'],
                check=False, capture_output=True, timeout=60,
            )  # fmt: skip


def insert_webhooks(database: Database, page_id: str, port: int, count: int) -> None:
    database.sql(
        f"""
        INSERT INTO subscribers (id, page_id, mode, state, email, endpoint, component_ids,
            skip_confirmation_notification, confirm_token, unsubscribe_token, secret,
            failure_count, created_at, updated_at)
        SELECT 'b' || lpad(n::text, 11, '0'), '{page_id}', 'webhook', 'active',
               'ops' || n || '@example.com', 'http://{HOST}:{port}/hook?n=' || n, NULL, true,
               md5('c' || n || random()::text), md5('u' || n || random()::text),
               'whsec_' || encode(decode(md5(n || random()::text), 'hex'), 'base64'),
               0, now() - interval '1 minute', now()
        FROM generate_series(1, {count}) AS n
        """
    )


class PeakRss:
    """Samples a process's RSS in a thread."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(2)
        return self.peak


def wait_for(
    port: int, expected: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = receiver_stats(port)
        if stats["unique"] >= expected:
            return stats
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {stats['unique']} of {expected} received after {timeout} s")
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument(
        "--kill", type=float, default=None, help="SIGKILL the worker at this fraction"
    )
    parser.add_argument(
        "--embedded", action="store_true", help="use embedded servers even if external ones answer"
    )
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver:
        serve_receiver(args.receiver)
        return 0
    count = args.subscribers

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-delivery-")
        cleanup.data_dirs.append(data_dir)
        external = not args.embedded and _answers(HOST, 5432) and _answers(HOST, 6379)
        database = Database(data_dir, external)
        database.create()
        try:
            return run(args, count, database, data_dir, cleanup)
        finally:
            database.drop()


def run(
    args: argparse.Namespace, count: int, database: Database, data_dir: Path, cleanup: Any
) -> int:
    recovery = {"STATUSPAGE_DELIVERY_LEASE_SECONDS": "5", "STATUSPAGE_DELIVERY_SWEEP_SECONDS": "1"}
    env = database.env(**(recovery if args.kill else {}))
    created = bootstrap(data_dir, env)
    page_id, api_key = created["page_id"], created["api_key"]
    receiver_port, api_port = free_port(HOST), free_port(HOST)
    receiver = start(
        [PYTHON, __file__, "--receiver", str(receiver_port)], data_dir / "receiver.log", env
    )
    cleanup.processes.append(receiver)
    api = start(
        [STATUSPAGE, "api", "--host", HOST, "--port", str(api_port)], data_dir / "api.log", env
    )
    cleanup.processes.append(api)
    worker_log = data_dir / "worker.log"
    command = [STATUSPAGE, "worker"]
    if args.profile_worker:
        command = [PYTHON, "-m", "cProfile", "-o", args.profile_worker, "-m", "app.cli", "worker"]
    worker = start(command, worker_log, env)
    cleanup.processes.append(worker)
    wait_ready(HOST, api_port, process=api, timeout=60)
    wait_ready(HOST, receiver_port, process=receiver, path="/stats", timeout=30)
    insert_webhooks(database, page_id, receiver_port, count)
    time.sleep(3)  # the worker's start-up (imports, first sweeps) is not part of the figure
    rss = PeakRss(worker.pid)
    worker_cpu_before = sum(psutil.Process(worker.pid).cpu_times()[:2])

    status, body = api_call(api_port, "POST", f"/v1/pages/{page_id}/incidents", api_key,
                            {"incident": {"name": "Bench fan-out", "status": "investigating",
                                          "body": "Everything is on fire", "impact_override": "major"}})  # fmt: skip
    posted = time.time()
    if status != 201:
        print(f"incident POST answered {status}: {body}", file=sys.stderr)
        return 1
    restarted = None
    if args.kill:
        wait_for(receiver_port, int(count * args.kill), 120, worker)
        worker.kill()
        worker.wait(10)
        at_kill = receiver_stats(receiver_port)
        rss_peak = rss.stop()
        restarted = start([STATUSPAGE, "worker"], worker_log, env)
        cleanup.processes.append(restarted)
        rss = PeakRss(restarted.pid)
    stats = wait_for(receiver_port, count, 300, restarted or worker)
    elapsed = stats["last"] - posted
    time.sleep(1.0)
    stats = receiver_stats(receiver_port)
    peak = max(rss.stop(), rss_peak if args.kill else 0)
    worker_cpu = sum(psutil.Process((restarted or worker).pid).cpu_times()[:2]) - (
        0 if restarted else worker_cpu_before
    )
    duplicates = stats["count"] - stats["unique"]

    sample = (stats["sample"] or "{}").encode()
    _reset(receiver_port)
    baseline = raw_rate(receiver_port, sample, count)
    rate = count / elapsed

    print(
        f"code: {code_state()}; servers: {'external 127.0.0.1' if database.external else 'embedded'}"
    )
    print(f"subscribers: {count}; body {len(sample)} bytes; worker concurrency default (32)")
    if args.kill:
        print(
            f"killed the worker (SIGKILL) with {at_kill['unique']} received; a new worker finished the rest"
        )
    print(f"POST returned -> receiver has all {count}: {elapsed:.2f} s")
    print(
        f"deliveries per second: {rate:,.0f} (first request {stats['first'] - posted:.3f} s after the POST returned)"
    )
    print(f"duplicates: {duplicates} ({100 * duplicates / count:.2f}%)")
    print(
        f"worker peak RSS: {peak / 2**20:.0f} MB (target < 250 MB); worker CPU during the run: {worker_cpu:.1f} s"
    )
    print(
        f"raw aiohttp client, same body, same receiver, concurrency {RAW_CONCURRENCY}: {baseline:,.0f}/s"
    )
    print(f"ratio ours/raw: {rate / baseline:.0%} (target >= 50%)")
    for line in log_findings(worker_log):
        print(f"worker log: {line}")
    ok = stats["unique"] == count and peak < 250 * 2**20
    return 0 if ok else 1


def _reset(port: int) -> None:
    import http.client

    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("POST", "/reset")
        connection.getresponse().read()
    finally:
        connection.close()


if __name__ == "__main__":
    raise SystemExit(main())
