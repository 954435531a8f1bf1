"""Fault drill: PostgreSQL restarted (stopped, --down seconds, started) under a light load.

The drill runs a PostgreSQL server of its own (pgserver's binaries: initdb into a temp dir, TCP on
127.0.0.1:<free port>, run as the `pgserver` user when we are root) and a redis-server of its own;
the machine's PostgreSQL is never touched. Two `statuspage api` and two `statuspage worker`
processes use them. The load: GET /readyz on each API process every 0.1 s, and one component
status PATCH every --write-interval seconds through the two processes in turn. After --before
seconds PostgreSQL is stopped (`pg_ctl stop -m fast`), started again --down seconds later, and the
load goes on for --after seconds; our processes are never restarted.

Printed: /readyz answers while PostgreSQL was down (target: all 503), per process the time from
PostgreSQL accepting connections again to /readyz answering 200 ("time to recover"), the writes
during the outage (what they answered: 503, never 500), the writes after recovery (target: all
2xx), and whether every process is still the one started at the beginning. Exit 0 when all of
that holds, else 1.

Run from the repository root:

    .venv/bin/python bench/drill_postgres_restart.py [--down 5] [--before 5] [--after 15]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    api_call,
    cleanup_on_exit,
    code_state,
    log_findings,
    make_data_dir,
    service_env,
)
from bench._drill import (
    COMPONENT_STATUSES,
    Answer,
    Cluster,
    Load,
    OwnPostgres,
    RedisServer,
    base_env,
    error_kinds,
)


@dataclass
class Timeline:
    stop_begin: float = 0.0  # time.time() when `pg_ctl stop` was called
    down_at: float = 0.0  # when it returned (the server is gone)
    start_begin: float = 0.0  # when `pg_ctl start` was called
    up_at: float = 0.0  # when it returned (accepting connections)


async def poll_ready(load: Load, port: int, end: float) -> None:
    while time.monotonic() < end:
        await load.call(f"readyz {port}", "GET", "/readyz", port=port, auth=False)
        await asyncio.sleep(0.1)


async def write(load: Load, page_id: str, component_id: str, end: float, interval: float) -> None:
    turn = 0
    while time.monotonic() < end:
        turn += 1
        status = COMPONENT_STATUSES[turn % 4]  # never under_maintenance: always a change
        await load.call(
            "PATCH component",
            "PATCH",
            f"/v1/pages/{page_id}/components/{component_id}",
            {"component": {"status": status}},
        )
        await asyncio.sleep(interval)


async def drive(
    cluster: Cluster, pg: OwnPostgres, component_id: str, args: argparse.Namespace, t: Timeline
) -> Load:
    async with Load(cluster.ports, cluster.api_key, failover=False, timeout=10) as load:
        end = time.monotonic() + args.before + args.down + args.after
        tasks = [asyncio.create_task(poll_ready(load, port, end)) for port in cluster.ports]
        tasks.append(
            asyncio.create_task(
                write(load, cluster.page_id, component_id, end, args.write_interval)
            )
        )
        await asyncio.sleep(args.before)
        t.stop_begin = time.time()
        await asyncio.to_thread(pg.stop, "fast")
        t.down_at = time.time()
        await asyncio.sleep(args.down)
        t.start_begin = time.time()
        await asyncio.to_thread(pg.start)
        t.up_at = time.time()
        await asyncio.gather(*tasks)
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--down", type=float, default=5.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--before", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=15.0)
    parser.add_argument("--write-interval", type=float, default=0.2)
    parser.add_argument("--recover-within", type=float, default=10.0, help="target, seconds")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spdrill-pg-")
        cleanup.data_dirs.append(data_dir)
        redis = RedisServer(data_dir, cleanup)
        redis.start()
        pg = OwnPostgres(data_dir)
        pg.init()
        try:
            env = service_env(
                data_dir,
                **base_env(STATUSPAGE_DATABASE_URL=pg.url, STATUSPAGE_REDIS_URL=redis.url),
            )
            return run(args, pg, Cluster(data_dir, env, cleanup))
        finally:
            for process in reversed(cleanup.processes):
                if process.poll() is None:
                    process.terminate()
                    process.wait(15)
            if pg.running():
                pg.stop("fast")


def run(args: argparse.Namespace, pg: OwnPostgres, cluster: Cluster) -> int:
    cluster.bootstrap()
    cluster.start(apis=2, workers=2)
    pids = [p.pid for p in cluster.apis + cluster.workers]
    status, created = api_call(
        cluster.ports[0], "POST", f"/v1/pages/{cluster.page_id}/components", cluster.api_key,
        {"component": {"name": "Database-backed"}},
    )  # fmt: skip
    if status != 201:
        raise RuntimeError(f"component POST answered {status}: {created}")
    t = Timeline()
    load = asyncio.run(drive(cluster, pg, str(created["id"]), args, t))
    alive = [p.poll() is None for p in cluster.apis + cluster.workers]
    same = pids == [p.pid for p in cluster.apis + cluster.workers]

    answers = load.answers
    print(f"code: {code_state()}")
    print(
        "setup: 2 api + 2 worker processes on a PostgreSQL of the drill's own (127.0.0.1:"
        f"{pg.port}) and an own redis-server; /readyz polled every 0.1 s per process, one "
        f"component PATCH every {args.write_interval} s"
    )
    print(
        f"PostgreSQL: pg_ctl stop took {t.down_at - t.stop_begin:.2f} s; down "
        f"{t.start_begin - t.down_at:.1f} s; pg_ctl start took {t.up_at - t.start_begin:.2f} s"
    )
    ok = True
    recovered: list[float] = []
    for number, port in enumerate(cluster.ports, 1):
        mine = [a for a in answers if a.route == f"readyz {port}"]
        during = [a for a in mine if t.down_at <= a.sent and a.done <= t.start_begin]
        seen = Counter(a.status or (a.error or "no answer") for a in during)
        after = [a for a in mine if a.sent >= t.up_at]
        first_ok = next((a for a in after if a.status == 200), None)
        never_again_503 = first_ok is not None and all(
            a.status == 200 for a in after if a.sent >= first_ok.sent
        )
        recover = (first_ok.done - t.up_at) if first_ok else float("inf")
        recovered.append(recover)
        print(
            f"api{number} /readyz while PostgreSQL was down: {len(during)} answers, "
            f"{dict(seen)}; after the start: first 200 {recover:.2f} s after PostgreSQL accepted "
            f"connections ({first_ok.done - t.stop_begin if first_ok else float('inf'):.2f} s after "
            f"the stop began), all 200 from then on: {never_again_503}"
        )
        ok = ok and bool(during) and all(a.status == 503 for a in during)
        ok = ok and recover <= args.recover_within and never_again_503
    writes = [a for a in answers if a.route == "PATCH component"]
    outage = [a for a in writes if t.stop_begin <= a.sent < t.up_at]
    recovered_at = t.up_at + max(recovered)
    later = [a for a in writes if a.sent >= recovered_at]
    first_write: Answer | None = next((a for a in writes if a.sent >= t.up_at and a.ok), None)
    print(
        f"writes while PostgreSQL was stopping or down: {len(outage)}, answered "
        f"{dict(Counter(a.status for a in outage))} ({error_kinds(outage)})"
    )
    if first_write is not None:
        print(
            f"first acknowledged write {first_write.done - t.up_at:.2f} s after PostgreSQL was up"
        )
    between = [a for a in writes if t.up_at <= a.sent < recovered_at]
    print(
        f"writes between PostgreSQL up and both /readyz 200: {len(between)}, "
        f"{sum(a.ok for a in between)} acknowledged"
    )
    print(
        f"writes after recovery: {len(later)}, acknowledged {sum(a.ok for a in later)}, "
        f"other {dict(Counter(a.status for a in later if not a.ok))}"
    )
    print(f"time to recover (PostgreSQL accepting -> every /readyz 200): {max(recovered):.2f} s")
    print(f"processes alive (api1, api2, worker1, worker2): {alive}; never restarted: {same}")
    for log in cluster.logs():
        for line in log_findings(log, limit=3):
            print(f"{log.name}: {line}")
    # A write that cannot reach the database answers 503 "The database is unavailable", not 500.
    internal = sum(a.status == 500 for a in outage)
    print(f"writes during the outage answering 500 (target 0; 503 expected): {internal}")
    ok = ok and bool(later) and all(a.ok for a in later) and all(alive) and same and not internal
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
