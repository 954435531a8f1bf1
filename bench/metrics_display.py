"""Latency of the public metrics display with a year of data, against GET /healthz in the same run.

What is measured:
- p50, p99 and max latency of <requests> (default 1000, after 50 warm-up requests) sequential
  GET /metrics-display/{metric_id}/month.json on one keep-alive connection (http.client, loopback),
  served by ONE `statuspage api` process (uvicorn, uvloop, httptools) on the embedded PostgreSQL and
  Redis, access log quiet. Nothing caches the answer: every request reads the metric and its 336
  month-view rollups from PostgreSQL and renders them. The day and week views are measured the same
  way, for information.
- the data: one metric (of a Self provider, created through the API) with one year of 30-second
  points, 1,051,200 rows in metric_points, written with INSERT ... SELECT generate_series through
  psql, and its rollups computed from them with one INSERT ... SELECT ... GROUP BY (the load time is
  printed). One more point is then posted through the API, and the month view must list 336
  buckets (a year of data fills the 28 days). No worker runs: that point's 2-hour bucket stays
  queued for the rollups' fold, so every answer also recomputes it from its raw points, as readers
  do for buckets not folded yet.
- baseline, in the same run, the same way: GET /healthz (no database) on the same process.

Target: month.json p99 under 20 ms, every answer 200. Exit status 0 when it holds, 1 otherwise, 2
when psql is missing.

Run from the repository root:

    .venv/bin/python bench/metrics_display.py [--requests 1000] [--keep-data]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    STATUSPAGE,
    Postgres,
    api_call,
    bootstrap,
    cleanup_on_exit,
    code_state,
    free_port,
    kill_leftovers,
    log_findings,
    make_data_dir,
    percentile,
    pgserver_bin,
    service_env,
    start,
    stop,
    wait_ready,
)

HOST = "127.0.0.1"
TARGET_P99_MS = 20.0
WARMUP_REQUESTS = 50
YEAR_SLOTS = 365 * 2880  # 30-second slots in a year

LOAD_POINTS = """
INSERT INTO metric_points (metric_id, ts, value)
SELECT '{metric_id}', ts, 120 + 40 * sin(ts / 5400.0) + 10 * random()
FROM generate_series({first}::bigint, {last}::bigint, 30) AS ts
"""
LOAD_ROLLUPS = """
INSERT INTO metric_rollups (metric_id, period, bucket, sum, count, last, last_ts)
SELECT metric_id, width, ts - ts % width, sum(value), count(*),
       (array_agg(value ORDER BY ts DESC))[1], max(ts)
FROM metric_points, (VALUES (300), (1800), (7200)) AS widths(width)
WHERE metric_id = '{metric_id}'
GROUP BY 1, 2, 3
"""


@dataclass(frozen=True)
class Latencies:
    count: int
    non200: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    body_bytes: int


def measure(port: int, path: str, requests: int) -> Latencies:
    """`requests` sequential GETs on one keep-alive connection, after a warm-up."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    timings: list[float] = []
    non200 = 0
    size = 0
    try:
        for number in range(WARMUP_REQUESTS + requests):
            begin = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            elapsed = time.perf_counter() - begin
            if number < WARMUP_REQUESTS:
                continue
            timings.append(elapsed * 1000)
            non200 += response.status != 200
            size = len(body)
    finally:
        connection.close()
    ordered = sorted(timings)
    return Latencies(
        count=len(ordered),
        non200=non200,
        p50_ms=percentile(ordered, 0.50),
        p99_ms=percentile(ordered, 0.99),
        max_ms=ordered[-1],
        mean_ms=statistics.fmean(ordered),
        body_bytes=size,
    )


def describe(label: str, result: Latencies) -> str:
    return (
        f"{label}: p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max "
        f"{result.max_ms:.2f} ms, mean {result.mean_ms:.2f} ms over {result.count} requests "
        f"({result.body_bytes} bytes), non-200 {result.non200}"
    )


def create_metric(port: int, page_id: str, api_key: str) -> str:
    base = f"/v1/pages/{page_id}/metrics_providers"
    status, provider = api_call(port, "POST", base, api_key, {"metrics_provider": {"type": "Self"}})
    if status != 201 or not isinstance(provider, dict):
        raise RuntimeError(f"POST {base} answered {status}: {str(provider)[:300]}")
    path = f"{base}/{provider['id']}/metrics"
    body = {"metric": {"name": "API latency", "suffix": "ms", "decimal_places": 1}}
    status, metric = api_call(port, "POST", path, api_key, body)
    if status != 201 or not isinstance(metric, dict):
        raise RuntimeError(f"POST {path} answered {status}: {str(metric)[:300]}")
    return str(metric["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per path")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if not 100 <= args.requests <= 100_000:
        parser.error("--requests must be between 100 and 100000")
    if not pgserver_bin("psql").exists():
        print(f"psql missing next to {pgserver_bin('psql')}", file=sys.stderr)
        return 2

    code = code_state()
    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-display-")
        cleanup.data_dirs.append(data_dir)
        print(f"data dir: {data_dir}; code: {code}", flush=True)
        env = service_env(
            data_dir, STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_LOG_LEVEL="WARNING"
        )
        created = bootstrap(data_dir, env)
        page_id, api_key = created["page_id"], created["api_key"]
        api_port = free_port(HOST)
        api_log = data_dir / "api.log"
        api = start([STATUSPAGE, "api", "--host", HOST, "--port", str(api_port)], api_log, env)
        cleanup.processes.append(api)
        ready = wait_ready(HOST, api_port, process=api, timeout=60)
        print(f"statuspage api ready on port {api_port} after {ready:.2f} s", flush=True)
        pg = Postgres.of(data_dir)
        metric_id = create_metric(api_port, page_id, api_key)

        now = int(time.time())
        last = (now - 60) // 30 * 30
        first = last - (YEAR_SLOTS - 1) * 30
        print("loading one year of 30-second points and their rollups ...", flush=True)
        begin = time.perf_counter()
        pg.sql(LOAD_POINTS.format(metric_id=metric_id, first=first, last=last))
        points_seconds = time.perf_counter() - begin
        pg.sql(LOAD_ROLLUPS.format(metric_id=metric_id))
        pg.sql("ANALYZE metric_points; ANALYZE metric_rollups")
        load_seconds = time.perf_counter() - begin
        rows = int(pg.sql(f"SELECT count(*) FROM metric_points WHERE metric_id = '{metric_id}'"))
        rollups = pg.sql(
            f"SELECT string_agg(period || ': ' || n, ', ' ORDER BY period) FROM (SELECT period, "
            f"count(*) AS n FROM metric_rollups WHERE metric_id = '{metric_id}' GROUP BY 1) c"
        )

        post_path = f"/v1/pages/{page_id}/metrics/{metric_id}/data"
        begin = time.perf_counter()
        status, answer = api_call(
            api_port, "POST", post_path, api_key, {"data": {"timestamp": now, "value": 99.5}}
        )
        post_ms = (time.perf_counter() - begin) * 1000
        if status != 201:
            raise RuntimeError(f"POST {post_path} answered {status}: {answer}")

        display = f"/metrics-display/{metric_id}/month.json"
        connection = http.client.HTTPConnection(HOST, api_port, timeout=10)
        connection.request("GET", display)
        document = json.loads(connection.getresponse().read())
        connection.close()
        buckets = len(document["metrics"][0]["data"])

        print(f"measuring {args.requests} sequential requests per path ...", flush=True)
        month = measure(api_port, display, args.requests)
        week = measure(api_port, f"/metrics-display/{metric_id}/week.json", args.requests)
        day = measure(api_port, f"/metrics-display/{metric_id}/day.json", args.requests)
        health = measure(api_port, "/healthz", args.requests)
        pg_problems = pg.problems()

        alive_after = api.poll() is None
        stopped = stop(api)
        cleanup.processes.remove(api)
        leftovers = kill_leftovers(data_dir)
        findings = log_findings(api_log)

    passed = month.p99_ms < TARGET_P99_MS and month.non200 == 0 and buckets == 336
    print()
    print(
        f"GET /metrics-display/{{metric_id}}/{{period}}.json, one `statuspage api` process, "
        f"sequential requests on one keep-alive connection, loopback, no cache; code {code}"
    )
    print(
        f"data: {rows:,} points of one metric in metric_points (a year of 30-second slots), "
        f"rollups per period (s: rows) {rollups}; loaded in {load_seconds:.1f} s "
        f"(points {points_seconds:.1f} s, rollups and ANALYZE {load_seconds - points_seconds:.1f} s)"
    )
    print(
        f"one more point through POST .../metrics/{{id}}/data: {post_ms:.1f} ms; month view lists "
        f"{buckets} buckets (336 expected)"
    )
    print(describe("month.json (336 x 2 h)", month))
    print(describe("week.json (336 x 30 min), for information", week))
    print(describe("day.json (288 x 5 min), for information", day))
    print(describe("baseline GET /healthz", health))
    print(
        f"ratio month/healthz: p50 {month.p50_ms / health.p50_ms:.1f}x, "
        f"p99 {month.p99_ms / health.p99_ms:.1f}x"
    )
    print(
        f"target month.json p99 < {TARGET_P99_MS:.0f} ms with every answer 200 and 336 buckets: "
        f"{'PASS' if passed else 'FAIL'}"
    )
    if not alive_after:
        print("WARNING: the api process had exited by the end of the run")
    print(
        f"api stopped by SIGTERM in {stopped.seconds:.2f} s (exit {stopped.returncode}"
        f"{', killed' if stopped.killed else ''}); leftover processes on the data dir: "
        f"{'; '.join(leftovers) if leftovers else 'none'}"
    )
    for finding in findings:
        print(f"api log: {finding}")
    for problem in pg_problems:
        print(f"postgres log: {problem}")
    return 0 if passed and alive_after else 1


if __name__ == "__main__":
    raise SystemExit(main())
