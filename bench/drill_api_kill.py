"""Fault drill: SIGKILL of one `statuspage api` process under a steady write load.

Two `statuspage api` and two `statuspage worker` processes share a fresh database on the machine's
PostgreSQL (127.0.0.1:5432) and a redis-server of the drill's own. An asyncio client keeps
--writers component writers (each PATCHes the status of a component of its own, always to a status
it does not have, so every acknowledged PATCH must leave a row in component_status_changes) and
--creators incident creators busy against both processes for --duration seconds, recording every
request and its answer. At --kill-at seconds the first API process is SIGKILLed; the client then
sends everything to the survivor (as a load balancer would once the port refuses connections).

Printed: requests sent, acknowledged (2xx), failed (no answer or 5xx), per process and per route;
then every acknowledged write is looked up in the database: each acknowledged status change must
be in component_status_changes, in the order it was acknowledged, and each acknowledged incident
must exist with its first update. Exit 0 when "acknowledged then lost" is 0 and the survivor kept
acknowledging writes after the kill, else 1.

Run from the repository root:

    .venv/bin/python bench/drill_api_kill.py [--duration 20] [--kill-at 10] [--writers 8] [--creators 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    api_call,
    cleanup_on_exit,
    code_state,
    http_get,
    log_findings,
    make_data_dir,
)
from bench._drill import (
    COMPONENT_STATUSES,
    Answer,
    Cluster,
    Load,
    RedisServer,
    ScratchDatabase,
    error_kinds,
    route_table,
)
from bench.delivery_fanout import HOST


async def component_writer(
    load: Load, page_id: str, component_id: str, end: float, acked: list[tuple[str, str]]
) -> None:
    """PATCH one component to a status it does not have, again and again; after a failure, read
    the component back (the failed write may or may not have committed)."""
    path = f"/v1/pages/{page_id}/components/{component_id}"
    current = "operational"
    turn = 0
    while time.monotonic() < end:
        turn += 1
        wanted = COMPONENT_STATUSES[turn % len(COMPONENT_STATUSES)]
        if wanted == current:
            continue
        answer = await load.call(
            "PATCH component", "PATCH", path, {"component": {"status": wanted}}
        )
        if answer.ok:
            if not isinstance(answer.body, dict) or answer.body.get("status") != wanted:
                raise RuntimeError(f"PATCH answered {answer.status} with {answer.body!r}")
            current = wanted
            acked.append((component_id, wanted))
            continue
        while time.monotonic() < end + 30:
            read = await load.call("GET component", "GET", path, record=False)
            if read.ok and isinstance(read.body, dict):
                current = str(read.body["status"])
                break
            await asyncio.sleep(0.05)


async def incident_creator(
    load: Load, page_id: str, number: int, end: float, acked: list[str]
) -> None:
    path = f"/v1/pages/{page_id}/incidents"
    count = 0
    while time.monotonic() < end:
        count += 1
        body = {"incident": {"name": f"Drill {number}-{count}", "status": "investigating",
                             "body": "Checking.", "impact_override": "minor"}}  # fmt: skip
        answer = await load.call("POST incident", "POST", path, body)
        if answer.ok:
            if not isinstance(answer.body, dict) or "id" not in answer.body:
                raise RuntimeError(f"POST answered {answer.status} with {answer.body!r}")
            acked.append(str(answer.body["id"]))


async def drive(
    cluster: Cluster, components: list[str], args: argparse.Namespace
) -> tuple[Load, list[tuple[str, str]], list[str], float]:
    acked_changes: list[tuple[str, str]] = []
    acked_incidents: list[str] = []
    async with Load(cluster.ports, cluster.api_key) as load:
        begin = time.monotonic()
        end = begin + args.duration
        tasks = [
            asyncio.create_task(component_writer(load, cluster.page_id, cid, end, acked_changes))
            for cid in components
        ] + [
            asyncio.create_task(incident_creator(load, cluster.page_id, n, end, acked_incidents))
            for n in range(args.creators)
        ]
        await asyncio.sleep(args.kill_at)
        victim = cluster.apis[0]
        victim.kill()  # SIGKILL
        killed_at = time.time()
        await asyncio.gather(*tasks)
        await asyncio.to_thread(victim.wait, 10)
    return load, acked_changes, acked_incidents, killed_at


def lost_changes(database: ScratchDatabase, page_id: str, acked: list[tuple[str, str]]) -> int:
    """Acknowledged status changes missing from the history, matched in order per component."""
    rows = database.sql(
        "SELECT component_id, new_status FROM component_status_changes "
        f"WHERE page_id = '{page_id}' ORDER BY component_id, at, id"
    )
    history: dict[str, list[str]] = defaultdict(list)
    for line in rows.splitlines():
        component_id, status = line.split("|")
        history[component_id].append(status)
    wanted: dict[str, list[str]] = defaultdict(list)
    for component_id, status in acked:
        wanted[component_id].append(status)
    lost = 0
    for component_id, statuses in wanted.items():
        position = 0
        for status in history[component_id]:
            if position < len(statuses) and statuses[position] == status:
                position += 1
        lost += len(statuses) - position
    return lost


def lost_incidents(
    database: ScratchDatabase, page_id: str, acked: list[str]
) -> tuple[int, int, int]:
    """(acknowledged incidents missing, acknowledged incidents without an update, incidents in
    the database that were never acknowledged: a request cut off after its commit)."""
    rows = database.sql(
        "SELECT i.id, count(u.id) FROM incidents i LEFT JOIN incident_updates u "
        f"ON u.incident_id = i.id WHERE i.page_id = '{page_id}' GROUP BY i.id"
    )
    updates = {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines()}
    missing = sum(1 for incident in acked if incident not in updates)
    bare = sum(1 for incident in acked if updates.get(incident) == 0)
    return missing, bare, len(set(updates) - set(acked))


def summarize(answers: list[Answer], killed_at: float, ports: list[int]) -> list[str]:
    lines = []
    for label, group in (
        ("before the kill", [a for a in answers if a.sent < killed_at]),
        ("after the kill", [a for a in answers if a.sent >= killed_at]),
    ):
        for number, port in enumerate(ports, 1):
            mine = [a for a in group if a.port == port]
            lines.append(
                f"  {label:<16} api{number}: sent {len(mine):>6}, acknowledged "
                f"{sum(a.ok for a in mine):>6}, failed {sum(a.failed for a in mine):>4}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--kill-at", type=float, default=None, help="default: half the duration")
    parser.add_argument("--writers", type=int, default=8, help="component writers")
    parser.add_argument("--creators", type=int, default=4, help="incident creators")
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)
    if args.kill_at is None:
        args.kill_at = args.duration / 2

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spdrill-apikill-")
        cleanup.data_dirs.append(data_dir)
        redis = RedisServer(data_dir, cleanup)
        redis.start()
        database = ScratchDatabase(data_dir, "apikill", redis.url)
        database.create()
        try:
            return run(args, database, Cluster(data_dir, database.env(), cleanup))
        finally:
            database.drop()


def run(args: argparse.Namespace, database: ScratchDatabase, cluster: Cluster) -> int:
    cluster.bootstrap()
    cluster.start(apis=2, workers=2)
    page_id, key = cluster.page_id, cluster.api_key
    components = []
    for number in range(args.writers):
        body: dict[str, Any] = {"component": {"name": f"Writer {number}"}}
        status, created = api_call(
            cluster.ports[0], "POST", f"/v1/pages/{page_id}/components", key, body
        )
        if status != 201:
            raise RuntimeError(f"component POST answered {status}: {created}")
        components.append(str(created["id"]))

    load, acked_changes, acked_incidents, killed_at = asyncio.run(drive(cluster, components, args))
    answers = load.answers
    sent = len(answers)
    acknowledged = sum(a.ok for a in answers)
    failed = sum(a.failed for a in answers)
    after_kill_ok = sum(a.ok for a in answers if a.sent >= killed_at + 1)
    lost_status = lost_changes(database, page_id, acked_changes)
    missing, bare, unacknowledged = lost_incidents(database, page_id, acked_incidents)
    lost = lost_status + missing + bare
    survivor, _ = http_get(HOST, cluster.ports[1], "/readyz", timeout=5)

    print(f"code: {code_state()}")
    print(
        f"setup: 2 api + 2 worker processes, PostgreSQL 127.0.0.1:5432 (scratch database), own "
        f"redis-server; {args.writers} component writers + {args.creators} incident creators for "
        f"{args.duration:.0f} s; api1 SIGKILLed at {args.kill_at:.1f} s"
    )
    print(f"requests sent: {sent}")
    print(f"acknowledged (2xx): {acknowledged}")
    print(f"failed (no answer or 5xx): {failed} ({error_kinds(answers)})")
    print(f"other answers (4xx): {sent - acknowledged - failed}")
    print("\n".join(summarize(answers, killed_at, cluster.ports)))
    print("\n".join(route_table(answers)))
    print(
        f"acknowledged status changes: {len(acked_changes)}, missing from the history: {lost_status}"
    )
    print(
        f"acknowledged incidents: {len(acked_incidents)}, missing: {missing}, "
        f"without their first update: {bare}; committed but never acknowledged: {unacknowledged}"
    )
    print(f"acknowledged then lost: {lost}")
    print(f"survivor api2 /readyz after the run: {survivor}")
    for log in cluster.logs():
        for line in log_findings(log, limit=3):
            print(f"{log.name}: {line}")
    ok = lost == 0 and after_kill_ok > 0 and survivor == 200
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
