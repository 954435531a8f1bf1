"""Mixed load against two `statuspage api` processes and one `statuspage worker` for --duration s.

Setup: a fresh database on the machine's PostgreSQL (127.0.0.1:5432), a redis-server of the run's
own, 20 components, one `Self` metrics provider with 5 metrics, --subscribers webhook subscribers
on bench/delivery_fanout.py's aiohttp receiver (so the worker delivers every component change).

The load: --concurrency asyncio clients (aiohttp, keep-alive), each sending one request after the
other, spread over both processes, the route picked at random per request:
  45% GET /p/{page}/api/v2/summary.json, 10% components.json, 5% incidents/unresolved.json
  (public feed reads, no key); 15% PATCH a component's status; 10% an incident step (each client
  creates an incident, moves it through identified and monitoring, resolves it, starts again);
  15% POST one metric point.

Printed: requests, error rate (no answer or 5xx; other unexpected statuses apart), per route the
count, p50 / p99 / max latency; the RSS of each process sampled every second (start, middle, end,
peak) and its growth over the last half of the run (mean of the last 10 s against the mean of the
10 s around the middle; the issue's "last 5 of 10 minutes"). Exit 0 when the error rate is under
0.1% and every process grew less than 10% over the last half, else 1.

Run from the repository root (the issue's run is 600 s):

    .venv/bin/python bench/mixed_load.py [--duration 600] [--concurrency 8] [--subscribers 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    api_call,
    cleanup_on_exit,
    code_state,
    cpu_seconds,
    log_findings,
    make_data_dir,
)
from bench._drill import (
    COMPONENT_STATUSES,
    Cluster,
    Load,
    RedisServer,
    RssSeries,
    ScratchDatabase,
    error_kinds,
    route_table,
    start_receiver,
)
from bench.delivery_fanout import insert_webhooks, receiver_stats

MIB = 1024 * 1024
GROWTH_TARGET = 0.10
ERROR_TARGET = 0.001
WINDOW = 10.0  # seconds averaged at the middle and at the end
INCIDENT_STEPS = ("identified", "monitoring", "resolved")


def call(port: int, method: str, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = api_call(port, method, path, key, body)
    if status >= 300 or not isinstance(answer, dict):
        raise RuntimeError(f"{method} {path} answered {status}: {answer}")
    return answer


def build_page(port: int, page_id: str, key: str) -> tuple[list[str], list[str]]:
    base = f"/v1/pages/{page_id}"
    components = [
        str(call(port, "POST", f"{base}/components", key, {"component": {"name": f"Service {n:02d}"}})["id"])
        for n in range(20)
    ]  # fmt: skip
    provider = call(port, "POST", f"{base}/metrics_providers", key, {"metrics_provider": {"type": "Self"}})  # fmt: skip
    metrics = [
        str(call(port, "POST", f"{base}/metrics_providers/{provider['id']}/metrics", key,
                 {"metric": {"name": f"Latency {n}", "suffix": "ms"}})["id"])
        for n in range(5)
    ]  # fmt: skip
    return components, metrics


class Client:
    """One closed-loop client: a request, its answer, the next request."""

    def __init__(
        self, load: Load, page_id: str, components: list[str], metrics: list[str], seed: int
    ) -> None:
        self.load = load
        self.base = f"/v1/pages/{page_id}"
        self.public = f"/p/{page_id}/api/v2"
        self.components = components
        self.metrics = metrics
        self.random = random.Random(seed)
        self.incident: str | None = None
        self.step = 0

    async def one(self) -> None:
        pick = self.random.random()
        if pick < 0.45:
            await self.load.call(
                "GET summary.json", "GET", f"{self.public}/summary.json", auth=False
            )
        elif pick < 0.55:
            await self.load.call("GET components.json", "GET", f"{self.public}/components.json", auth=False)  # fmt: skip
        elif pick < 0.60:
            await self.load.call("GET incidents/unresolved", "GET", f"{self.public}/incidents/unresolved.json", auth=False)  # fmt: skip
        elif pick < 0.75:
            component = self.random.choice(self.components)
            status = self.random.choice(COMPONENT_STATUSES[:4])
            await self.load.call("PATCH component", "PATCH", f"{self.base}/components/{component}",
                                 {"component": {"status": status}})  # fmt: skip
        elif pick < 0.85:
            await self.incident_step()
        else:
            metric = self.random.choice(self.metrics)
            point = {"data": {"timestamp": int(time.time()), "value": self.random.uniform(10, 90)}}
            await self.load.call("POST metric data", "POST", f"{self.base}/metrics/{metric}/data", point)  # fmt: skip

    async def incident_step(self) -> None:
        if self.incident is None:
            body = {"incident": {"name": "Mixed load", "status": "investigating",
                                 "body": "Looking into it.",
                                 "components": {self.random.choice(self.components): "degraded_performance"}}}  # fmt: skip
            answer = await self.load.call("POST incident", "POST", f"{self.base}/incidents", body)
            if answer.ok and isinstance(answer.body, dict):
                self.incident, self.step = str(answer.body["id"]), 0
            return
        status = INCIDENT_STEPS[self.step]
        answer = await self.load.call(
            "PATCH incident",
            "PATCH",
            f"{self.base}/incidents/{self.incident}",
            {"incident": {"status": status, "body": f"Now {status}."}},
        )
        if answer.ok:
            self.step += 1
            if self.step == len(INCIDENT_STEPS):
                self.incident = None

    async def run(self, end: float) -> None:
        while time.monotonic() < end:
            await self.one()


async def drive(
    cluster: Cluster, components: list[str], metrics: list[str], args: argparse.Namespace
) -> Load:
    async with Load(cluster.ports, cluster.api_key, failover=False) as load:
        end = time.monotonic() + args.duration
        clients = [
            Client(load, cluster.page_id, components, metrics, seed)
            for seed in range(args.concurrency)
        ]
        await asyncio.gather(*(client.run(end) for client in clients))
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-mixed-")
        cleanup.data_dirs.append(data_dir)
        redis = RedisServer(data_dir, cleanup)
        redis.start()
        database = ScratchDatabase(data_dir, "mixed", redis.url)
        database.create()
        try:
            return run(args, database, Cluster(data_dir, database.env(), cleanup))
        finally:
            database.drop()


def run(args: argparse.Namespace, database: ScratchDatabase, cluster: Cluster) -> int:
    cluster.bootstrap()
    receiver = start_receiver(cluster.data_dir, cluster.env, cluster.cleanup)
    cluster.start(apis=2, workers=1)
    insert_webhooks(database, cluster.page_id, receiver, args.subscribers)
    components, metrics = build_page(cluster.ports[0], cluster.page_id, cluster.api_key)
    pids = {
        "api1": cluster.apis[0].pid,
        "api2": cluster.apis[1].pid,
        "worker": cluster.workers[0].pid,
    }
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    with RssSeries(pids) as rss:
        load = asyncio.run(drive(cluster, components, metrics, args))
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    answers = load.answers
    failed = sum(a.failed for a in answers)
    unexpected = sum(not a.ok and not a.failed for a in answers)
    duration = max(a.done for a in answers) - min(a.sent for a in answers)
    delivered = receiver_stats(receiver)

    print(f"code: {code_state()}")
    print(
        "setup: 2 api + 1 worker processes, PostgreSQL 127.0.0.1:5432 (scratch database), own "
        f"redis-server; 20 components, 5 metrics, {args.subscribers} webhook subscribers; "
        f"{args.concurrency} closed-loop clients for {args.duration:.0f} s"
    )
    print(
        f"requests: {len(answers)} ({len(answers) / duration:,.0f}/s; {os.cpu_count()} CPUs shared "
        "by the client, our processes, PostgreSQL, Redis and the receiver)"
    )
    print(
        f"error rate: {failed / len(answers):.4%} ({failed} without an answer or 5xx: "
        f"{error_kinds(answers)}); other non-2xx: {unexpected}"
    )
    print("\n".join(route_table(answers)))
    print(f"webhook requests received: {delivered['count']}")
    middle = args.duration / 2
    ok = failed < ERROR_TARGET * len(answers)
    print(
        f"RSS every {rss.interval:.0f} s; growth over the last half = mean of the last "
        f"{WINDOW:.0f} s / mean of the {WINDOW:.0f} s around {middle:.0f} s - 1 (target < 10%)"
    )
    for name in pids:
        samples = rss.samples[name]
        at_middle = rss.window_mean(name, middle - WINDOW / 2, middle + WINDOW / 2)
        at_end = rss.window_mean(name, samples[-1][0] - WINDOW, samples[-1][0])
        growth = at_end / at_middle - 1
        ok = ok and growth < GROWTH_TARGET
        print(
            f"  {name:<6} start {samples[0][1] / MIB:6.1f} MiB, middle {at_middle / MIB:6.1f} MiB, "
            f"end {at_end / MIB:6.1f} MiB, peak {max(r for _, r in samples) / MIB:6.1f} MiB; "
            f"growth over the last half {growth:+.1%} ({len(samples)} samples); "
            f"CPU {cpu[name]:.0f} s"
        )
    for log in cluster.logs():
        for line in log_findings(log, limit=3):
            print(f"{log.name}: {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
