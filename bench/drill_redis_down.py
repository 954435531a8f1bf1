"""Fault drill: Redis stopped for --outage seconds (default 30) under a write load.

Two `statuspage api` and two `statuspage worker` processes share a fresh database on the machine's
PostgreSQL (127.0.0.1:5432) and a redis-server of the drill's own, which is stopped after --before
seconds of load and started again (empty, on the same port) --outage seconds later; the load goes on
for --after seconds more. --subscribers webhook subscribers point at bench/delivery_fanout.py's
aiohttp receiver.

The load: one incident created every --interval seconds through the two processes in turn, and
GET /p/{page}/api/v2/summary.json through both processes every --read-interval seconds. A summary
is "stale" when it lacks the latest incident acknowledged more than --fresh seconds before the GET
was sent (a freshness bound, since during the outage a process learns of another's writes from its
0.5 s revalidation instead of pub/sub).

Printed, before / during / after the outage: incident POSTs sent, acknowledged, failed (no answer,
5xx); summaries read, non-200, stale. Then, once Redis is back: the time until the receiver had
every notification (incidents in the database x subscribers distinct webhook-ids), and duplicates.
Exit 0 when no write failed, every summary during the outage was a fresh 200, and every
notification was delivered; else 1.

Run from the repository root:

    .venv/bin/python bench/drill_redis_down.py [--outage 30] [--subscribers 100] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import cleanup_on_exit, code_state, log_findings, make_data_dir
from bench._drill import (
    Answer,
    Cluster,
    Load,
    RedisServer,
    ScratchDatabase,
    error_kinds,
    route_table,
    start_receiver,
)
from bench.delivery_fanout import insert_webhooks, receiver_stats


@dataclass
class Timeline:
    down_at: float = 0.0  # time.time() when Redis was stopped
    up_at: float = 0.0  # when it answered again
    acked: list[tuple[float, str]] = field(default_factory=list)  # (acknowledged at, incident id)
    stale: list[Answer] = field(default_factory=list)


def phase(at: float, timeline: Timeline) -> str:
    if at < timeline.down_at:
        return "before"
    if at < timeline.up_at:
        return "during"
    return "after"


async def creator(
    load: Load, page_id: str, end: float, interval: float, timeline: Timeline
) -> None:
    number = 0
    while time.monotonic() < end:
        number += 1
        tick = time.monotonic()
        body = {"incident": {"name": f"Redis drill {number}", "status": "investigating",
                             "body": "Checking.", "impact_override": "minor"}}  # fmt: skip
        answer = await load.call("POST incident", "POST", f"/v1/pages/{page_id}/incidents", body)
        if answer.ok and isinstance(answer.body, dict):
            timeline.acked.append((answer.done, str(answer.body["id"])))
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))


async def reader(
    load: Load, page_id: str, end: float, interval: float, fresh: float, timeline: Timeline
) -> None:
    path = f"/p/{page_id}/api/v2/summary.json"
    turn = 0
    while time.monotonic() < end:
        tick = time.monotonic()
        port = load.ports[turn % len(load.ports)]
        turn += 1
        sent = time.time()
        known = [incident for at, incident in timeline.acked if at < sent - fresh]
        answer = await load.call("GET summary.json", "GET", path, port=port, auth=False)
        if answer.status == 200 and known and isinstance(answer.body, dict):
            shown = {str(incident["id"]) for incident in answer.body.get("incidents", [])}
            if known[-1] not in shown:
                timeline.stale.append(answer)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - tick)))


async def drive(
    cluster: Cluster, redis: RedisServer, args: argparse.Namespace, timeline: Timeline
) -> Load:
    async with Load(cluster.ports, cluster.api_key, failover=False) as load:
        end = time.monotonic() + args.before + args.outage + args.after
        tasks = [
            asyncio.create_task(creator(load, cluster.page_id, end, args.interval, timeline)),
            asyncio.create_task(
                reader(load, cluster.page_id, end, args.read_interval, args.fresh, timeline)
            ),
        ]
        await asyncio.sleep(args.before)
        timeline.down_at = time.time()
        await asyncio.to_thread(redis.stop)
        await asyncio.sleep(args.outage)
        await asyncio.to_thread(redis.start)
        timeline.up_at = time.time()
        await asyncio.gather(*tasks)
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds Redis stays down")
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after")
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between incidents")
    parser.add_argument("--read-interval", type=float, default=0.1)
    parser.add_argument("--fresh", type=float, default=2.0, help="freshness bound, seconds")
    parser.add_argument("--settle", type=float, default=180.0, help="max wait for deliveries")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spdrill-redis-")
        cleanup.data_dirs.append(data_dir)
        redis = RedisServer(data_dir, cleanup)
        redis.start()
        database = ScratchDatabase(data_dir, "redis", redis.url)
        database.create()
        try:
            return run(args, database, redis, Cluster(data_dir, database.env(), cleanup))
        finally:
            database.drop()


def run(
    args: argparse.Namespace, database: ScratchDatabase, redis: RedisServer, cluster: Cluster
) -> int:
    cluster.bootstrap()
    receiver = start_receiver(cluster.data_dir, cluster.env, cluster.cleanup)
    cluster.start(apis=2, workers=2)
    insert_webhooks(database, cluster.page_id, receiver, args.subscribers)
    time.sleep(3)
    timeline = Timeline()
    load = asyncio.run(drive(cluster, redis, args, timeline))
    load_end = time.time()

    incidents = int(
        database.sql(f"SELECT count(*) FROM incidents WHERE page_id = '{cluster.page_id}'")
    )
    expected = incidents * args.subscribers
    deadline = time.monotonic() + args.settle
    stats = receiver_stats(receiver)
    while stats["unique"] < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        stats = receiver_stats(receiver)
    settled = time.time()
    time.sleep(2.0)
    stats = receiver_stats(receiver)
    duplicates = stats["count"] - stats["unique"]
    states = database.sql("SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state")
    alive = [p.poll() is None for p in cluster.apis + cluster.workers]
    backlog, last = database.sql(
        "SELECT count(*), coalesce(extract(epoch FROM max(d.delivered_at)), 0) FROM deliveries d "
        "JOIN outbox_events e ON e.id = d.event_id WHERE d.state = 'delivered' AND "
        f"e.created_at >= to_timestamp({timeline.down_at}) AND e.created_at < to_timestamp({timeline.up_at})"
    ).split("|")

    print(f"code: {code_state()}")
    print(
        "setup: 2 api + 2 worker processes, PostgreSQL 127.0.0.1:5432 (scratch database), own "
        f"redis-server; {args.subscribers} webhook subscribers; one incident every "
        f"{args.interval} s; summary.json read every {args.read_interval} s (both processes)"
    )
    print(
        f"Redis stopped {args.before:.0f} s into the load, for {args.outage:.0f} s "
        f"(answered again {timeline.up_at - timeline.down_at:.1f} s after the stop, empty)"
    )
    answers = load.answers
    write_failures = 0
    outage_bad_reads = 0
    for name in ("before", "during", "after"):
        writes = [
            a for a in answers if a.route == "POST incident" and phase(a.sent, timeline) == name
        ]
        reads = [
            a for a in answers if a.route == "GET summary.json" and phase(a.sent, timeline) == name
        ]
        stale = [a for a in timeline.stale if phase(a.sent, timeline) == name]
        bad = sum(a.status != 200 for a in reads)
        write_failures += sum(not a.ok for a in writes)
        if name == "during":
            outage_bad_reads = bad + len(stale)
        print(
            f"  {name:<6} the outage: incident POSTs {len(writes):>4} sent, "
            f"{sum(a.ok for a in writes):>4} acknowledged, {sum(a.failed for a in writes):>3} failed; "
            f"summary.json {len(reads):>4} read, {bad:>3} non-200, {len(stale):>3} stale"
        )
    print("\n".join(route_table(answers)))
    print(f"failures: {error_kinds(answers)}")
    print(f"incidents in the database: {incidents} (acknowledged: {len(timeline.acked)})")
    print(
        f"notifications expected: {expected} ({incidents} x {args.subscribers}); received "
        f"(distinct webhook-id): {stats['unique']}; requests {stats['count']}; duplicates {duplicates}"
    )
    if stats["unique"] >= expected:
        print(
            f"every notification delivered {settled - timeline.up_at:.1f} s after Redis came back "
            f"({settled - load_end:.1f} s after the load stopped)"
        )
    else:
        print(f"NOT DELIVERED after {args.settle:.0f} s: {expected - stats['unique']}")
    print(
        f"events written during the outage: {backlog} deliveries delivered, the last "
        f"{float(last) - timeline.up_at:.1f} s after Redis came back"
    )
    print(f"deliveries in the database by state: {states.replace(chr(10), ', ')}")
    print(f"processes still running (api1, api2, worker1, worker2): {alive}")
    for log in cluster.logs():
        for line in log_findings(log, limit=3):
            print(f"{log.name}: {line}")
    ok = (
        write_failures == 0 and outage_bad_reads == 0 and stats["unique"] == expected and all(alive)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
