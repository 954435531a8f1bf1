"""Fault drill: SIGKILL of one of two `statuspage worker` processes during a 10,000-subscriber fan-out.

Two `statuspage api` and two `statuspage worker` processes share a fresh database on the machine's
PostgreSQL (127.0.0.1:5432) and a redis-server of the drill's own. --subscribers webhook subscribers
(inserted with bench/delivery_fanout.py's SQL) point at delivery_fanout's aiohttp receiver, which
counts requests and distinct `webhook-id`s (one per delivery, the same on every retry). One incident
is created; once the receiver has --kill-at x N requests, worker 1 is SIGKILLed and NOT restarted:
the surviving worker must take over the dead worker's claimed batches once their lease expires
(STATUSPAGE_DELIVERY_LEASE_SECONDS=5, sweep every second, as in delivery_fanout.py --kill).

Printed: received when killed, time until every subscriber had the event, distinct deliveries
received, duplicates (requests beyond one per webhook-id; target < 1%), the deliveries' states in
the database. Exit 0 when every subscriber received the event and duplicates < 1%, else 1.

Run from the repository root:

    .venv/bin/python bench/drill_worker_kill.py [--subscribers 10000] [--kill-at 0.5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import api_call, cleanup_on_exit, code_state, log_findings, make_data_dir
from bench._drill import Cluster, RedisServer, ScratchDatabase, start_receiver
from bench.delivery_fanout import insert_webhooks, receiver_stats, wait_for

DUPLICATE_TARGET = 0.01


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction received at the kill")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spdrill-workerkill-")
        cleanup.data_dirs.append(data_dir)
        redis = RedisServer(data_dir, cleanup)
        redis.start()
        database = ScratchDatabase(data_dir, "workerkill", redis.url)
        database.create()
        env = database.env(
            STATUSPAGE_DELIVERY_LEASE_SECONDS="5", STATUSPAGE_DELIVERY_SWEEP_SECONDS="1"
        )
        try:
            return run(args, database, Cluster(data_dir, env, cleanup))
        finally:
            database.drop()


def run(args: argparse.Namespace, database: ScratchDatabase, cluster: Cluster) -> int:
    count = args.subscribers
    cluster.bootstrap()
    receiver = start_receiver(cluster.data_dir, cluster.env, cluster.cleanup)
    cluster.start(apis=2, workers=2)
    insert_webhooks(database, cluster.page_id, receiver, count)
    time.sleep(3)  # the workers' start-up is not part of the figure
    body = {"incident": {"name": "Drill fan-out", "status": "investigating",
                         "body": "Everything is on fire", "impact_override": "major"}}  # fmt: skip
    status, answer = api_call(
        cluster.ports[0], "POST", f"/v1/pages/{cluster.page_id}/incidents", cluster.api_key, body
    )
    posted = time.time()
    if status != 201:
        print(f"incident POST answered {status}: {answer}", file=sys.stderr)
        return 1
    victim, survivor = cluster.workers
    wait_for(receiver, int(count * args.kill_at), 180, victim)
    victim.kill()  # SIGKILL
    victim.wait(10)
    killed = time.time()
    at_kill = receiver_stats(receiver)
    try:
        stats = wait_for(receiver, count, 300, survivor)
    except TimeoutError as error:
        print(f"NOT DELIVERED: {error}")
        stats = receiver_stats(receiver)
    time.sleep(2.0)  # late duplicates
    stats = receiver_stats(receiver)
    duplicates = stats["count"] - stats["unique"]
    states = database.sql("SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state")
    distinct_subscribers = database.sql(
        "SELECT count(DISTINCT subscriber_id) FROM deliveries WHERE state = 'delivered'"
    )

    print(f"code: {code_state()}")
    print(
        "setup: 2 api + 2 worker processes, PostgreSQL 127.0.0.1:5432 (scratch database), own "
        f"redis-server; {count} webhook subscribers on one local aiohttp receiver; lease 5 s, sweep 1 s"
    )
    print(
        f"worker1 SIGKILLed {killed - posted:.2f} s after the POST, with {at_kill['unique']} "
        f"deliveries received ({at_kill['count']} requests); worker2 finished alone"
    )
    print(f"POST returned -> last request received: {stats['last'] - posted:.2f} s")
    print(f"distinct deliveries received (webhook-id): {stats['unique']} of {count}")
    print(f"requests received: {stats['count']}")
    print(f"duplicates: {duplicates} ({100 * duplicates / count:.2f}%, target < 1%)")
    print(f"deliveries in the database by state: {states.replace(chr(10), ', ')}")
    print(f"distinct subscribers with a delivered delivery: {distinct_subscribers}")
    for log in cluster.logs():
        for line in log_findings(log, limit=3):
            print(f"{log.name}: {line}")
    ok = stats["unique"] == count and duplicates < DUPLICATE_TARGET * count
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
