"""Bulk metric data ingestion through one `statuspage api` process, against COPY of the same rows.

What is measured:
- points per second stored through POST /v1/pages/{page_id}/metrics/data by ONE `statuspage api`
  process (uvicorn, uvloop, httptools) on the embedded PostgreSQL and Redis, rate limit off
  (STATUSPAGE_RATE_LIMIT_PER_MINUTE=0), access log quiet: `wrk -t1 -c<clients>` (default 8) for
  <duration> seconds (default 15, after a 2 s warm-up), each request a JSON batch of 100 points
  across 10 metrics of a Self provider (10 consecutive 30-second slots per metric; requests take
  turns among 6 sets of 10 metrics, see GROUPS). A wrk Lua script numbers the batches so that no
  two carry the same (metric, slot) (they start 27 days back and move forward; were the run to
  reach the present, batch numbers would wrap and replace earlier points, which the output would
  say). Each request stores its points and queues the
  2-hour buckets they fall in, in one statement, before its 202; a `statuspage worker` runs
  alongside (on the same cores) and folds the queued buckets into the day, week and month rollups
  every 2 seconds. Also printed: p50/p99 latency, non-2xx answers, the CPU time of the API process,
  the worker, PostgreSQL and wrk, the rollups' backlog when the run ends and how long the worker
  takes to fold it, and a check, once folded, that every rollup equals the aggregate of its raw
  points (concurrent requests write to the same metrics: 8 clients, 6 sets of metrics).
- baseline, in the same run on the same PostgreSQL, once the API is idle and the server has
  settled (VACUUM ANALYZE and a CHECKPOINT, no autovacuum running): `psql \\copy` of exactly the
  rows the API stored (exported first with \\copy ... TO) into a scratch table created
  `(LIKE metric_points INCLUDING ALL)`, i.e. with the same primary key: rows per second of that
  single COPY, timed around the psql process (its start-up included, a few ms); the better of two.

Target: API points/s at least 0.2 of the COPY rows/s, with 0 non-2xx answers, consistent rollups,
and a worker that keeps up (the backlog left at the end folded within DRAIN_LIMIT_SECONDS). Also
printed, stricter: the points over the run's time plus that drain time. Exit status 0 when all
hold, 1 otherwise, 2 when wrk or psql is missing.

Run from the repository root:

    .venv/bin/python bench/metrics_ingest.py [--duration 15] [--clients 8] [--keep-data]
"""

from __future__ import annotations

import argparse
import math
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev dependencies

from bench._common import (
    STATUSPAGE,
    Postgres,
    api_call,
    bootstrap,
    cleanup_on_exit,
    code_state,
    cpu_seconds,
    free_port,
    kill_leftovers,
    log_findings,
    make_data_dir,
    pgserver_bin,
    processes_of,
    run_wrk_script,
    service_env,
    socket_errors,
    start,
    stop,
    wait_ready,
)

HOST = "127.0.0.1"
WARMUP_SECONDS = 2
TARGET_RATIO = 0.2
METRICS = 10
SLOTS_PER_METRIC = 10  # per request: 10 metrics x 10 slots = 100 points
# Requests go round GROUPS sets of METRICS metrics: one set holds 28 days x 2,880 slots x 10 metrics,
# about 800,000 points, which a 15-second run at the target rate would exceed, making later batches
# replace earlier points (a costlier write than the COPY it is compared with, which copies each row
# once). With 6 sets every batch writes new slots up to about 4.5 million points.
GROUPS = 6
SLOT = 30
START_DAYS_BACK = 27  # inside the 28-day backfill window
# The worker folds every 2 seconds; a backlog it needs longer than this for means it is falling behind.
DRAIN_LIMIT_SECONDS = 5.0

# Batch k holds, for every metric of set k % GROUPS, the slots base + 30 * (10j .. 10j + 9) with
# j = k // GROUPS; the run's batches are numbered from `first`. Counts non-2xx answers. Arguments
# after `--`: page=<id> base=<unix s> first=<batch> limit=<batches before the present, all sets>
# metrics=<id,id,...> (GROUPS x METRICS ids, set by set)
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non2xx, wrapped = 0, 0
  metrics = {}
  for _, arg in pairs(args) do
    local key, value = string.match(arg, "^(%w+)=([%w,]+)$")
    if key == "page" then page = value
    elseif key == "base" then base = tonumber(value)
    elseif key == "first" then counter = tonumber(value)
    elseif key == "limit" then limit = tonumber(value)
    elseif key == "metrics" then
      for id in string.gmatch(value, "[^,]+") do table.insert(metrics, id) end
    end
  end
  path = "/v1/pages/" .. page .. "/metrics/data"
end
function request()
  local k = counter % limit
  if counter >= limit then wrapped = wrapped + 1 end
  counter = counter + 1
  local parts = {}
  local group, j = k % GROUPS, math.floor(k / GROUPS)
  for m = 1, PER_REQUEST do
    local points = {}
    for i = 0, PER_METRIC - 1 do
      local n = PER_METRIC * j + i
      points[#points + 1] = string.format('{"timestamp":%d,"value":%d.%d}',
        base + SLOT * n, n % 997, (m + i) % 10)
    end
    parts[#parts + 1] = '"' .. metrics[group * PER_REQUEST + m] .. '":['
      .. table.concat(points, ",") .. ']'
  end
  return wrk.format("POST", path, nil, '{"data":{' .. table.concat(parts, ",") .. '}}')
end
function response(status, headers, body)
  if status ~= 202 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local non, wrap = 0, 0
  for _, thread in ipairs(threads) do
    non = non + thread:get("non2xx")
    wrap = wrap + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d wrapped=%d p50_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, non, wrap,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
""".replace("PER_METRIC", str(SLOTS_PER_METRIC)).replace("SLOT", str(SLOT))
WRK_SCRIPT = WRK_SCRIPT.replace("PER_REQUEST", str(METRICS)).replace("GROUPS", str(GROUPS))

# Rollups that differ from the aggregate of their raw points (0 when ingestion is consistent); sums
# are compared to a relative 1e-9, as adding the same doubles in another order may round apart.
INCONSISTENT_ROLLUPS = """
SELECT count(*) FROM metric_rollups r FULL JOIN (
    SELECT metric_id, w AS period, ts - ts % w AS bucket, sum(value) AS sum, count(*) AS count,
           (array_agg(value ORDER BY ts DESC))[1] AS last, max(ts) AS last_ts
    FROM metric_points, (VALUES (300), (1800), (7200)) AS widths(w)
    GROUP BY 1, 2, 3
) a USING (metric_id, period, bucket)
WHERE r.sum IS NULL OR a.sum IS NULL OR abs(r.sum - a.sum) > 1e-9 * greatest(1, abs(a.sum))
   OR r.count IS DISTINCT FROM a.count
   OR r.last IS DISTINCT FROM a.last OR r.last_ts IS DISTINCT FROM a.last_ts
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    wrapped: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    @property
    def points_per_second(self) -> float:
        return (self.requests - self.non2xx) * METRICS * SLOTS_PER_METRIC / self.seconds


def run_wrk(
    wrk: str,
    script: Path,
    port: int,
    api_key: str,
    clients: int,
    duration: int,
    script_args: list[str],
) -> WrkResult:
    fields = run_wrk_script(
        wrk, script, f"http://{HOST}:{port}/", api_key, clients, duration, script_args
    )
    return WrkResult(
        requests=fields["requests"],
        seconds=fields["duration_us"] / 1e6,
        non2xx=fields["non2xx"],
        wrapped=fields["wrapped"],
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
        socket_errors=socket_errors(fields),
    )


def psql_copy(pg: Postgres, command: str) -> float:
    """Run one psql \\copy; answers its wall time in seconds."""
    argv = [str(pgserver_bin("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", *pg.conninfo()]
    begin = time.perf_counter()
    completed = subprocess.run(
        [*argv, "-c", command], capture_output=True, text=True, timeout=600, check=False
    )
    elapsed = time.perf_counter() - begin
    if completed.returncode != 0:
        raise RuntimeError(f"psql failed on {command!r}: {completed.stderr}")
    return elapsed


def postgres_cpu(data_dir: Path) -> float:
    """CPU seconds used so far by the embedded PostgreSQL's processes (the server and backends)."""
    total = 0.0
    for process in processes_of(data_dir):
        try:
            if process.name() != "postgres":  # the embedded Redis lives there too
                continue
            times = process.cpu_times()
            total += times.user + times.system
        except (OSError, ValueError, psutil.Error):
            continue
    return total


def settle(pg: Postgres, limit: float = 120.0) -> None:
    """Let PostgreSQL finish what the API's writes left it to do (autovacuum of the tables they
    grew, a checkpoint of their WAL), so that the COPY baseline does not share the server with it:
    measured, the COPY ran about a third slower right after the API's run than on a quiet server."""
    pg.sql("VACUUM (ANALYZE) metric_points, metric_rollups")
    pg.sql("CHECKPOINT")
    begin = time.perf_counter()
    busy = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
    while int(pg.sql(busy)) > 0 and time.perf_counter() - begin < limit:
        time.sleep(0.1)


def children_cpu() -> float:
    """CPU seconds of this process's finished children (wrk, psql)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def queued(pg: Postgres) -> int:
    """Rows of the rollups' queue (0 for code before it, which kept rollups in each request)."""
    if pg.sql("SELECT to_regclass('metric_rollup_queue') IS NULL") == "t":
        return 0
    return int(pg.sql("SELECT count(*) FROM metric_rollup_queue"))


def drain(pg: Postgres, limit: float) -> tuple[int, float]:
    """Wait for the worker to fold the rollups' queue; answers (rows queued at first, seconds until
    empty, or `limit` and more when it never got there)."""
    begin = time.perf_counter()
    backlog = queued(pg)
    while queued(pg) > 0:
        if time.perf_counter() - begin > 4 * limit:
            break
        time.sleep(0.05)
    return backlog, time.perf_counter() - begin


def create_metrics(port: int, page_id: str, api_key: str) -> list[str]:
    base = f"/v1/pages/{page_id}/metrics_providers"
    status, provider = api_call(port, "POST", base, api_key, {"metrics_provider": {"type": "Self"}})
    if status != 201 or not isinstance(provider, dict):
        raise RuntimeError(f"POST {base} answered {status}: {str(provider)[:300]}")
    ids = []
    for number in range(GROUPS * METRICS):
        path = f"{base}/{provider['id']}/metrics"
        status, row = api_call(port, "POST", path, api_key, {"metric": {"name": f"m{number}"}})
        if status != 201 or not isinstance(row, dict):
            raise RuntimeError(f"POST {path} answered {status}: {str(row)[:300]}")
        ids.append(str(row["id"]))
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds")
    parser.add_argument("--clients", type=int, default=8, help="wrk connections (-c)")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 300:
        parser.error("--duration must be between 1 and 300 seconds")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be between 1 and 64")

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk was not found on PATH (apt-get install -y wrk)", file=sys.stderr)
        return 2
    if not pgserver_bin("psql").exists():
        print(f"psql missing next to {pgserver_bin('psql')}", file=sys.stderr)
        return 2

    code = code_state()
    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-ingest-")
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
        worker_log = data_dir / "worker.log"
        worker = start([STATUSPAGE, "worker"], worker_log, env)
        cleanup.processes.append(worker)
        pg = Postgres.of(data_dir)
        metric_ids = create_metrics(api_port, page_id, api_key)

        now = int(time.time())
        base = (now - START_DAYS_BACK * 86_400) // 7200 * 7200
        # batches before the present
        limit = GROUPS * ((now - 60 - base) // (SLOT * SLOTS_PER_METRIC))
        script = data_dir / "ingest.lua"
        script.write_text(WRK_SCRIPT)
        fixed = [f"page={page_id}", f"base={base}", f"limit={limit}"]
        fixed.append(f"metrics={','.join(metric_ids)}")

        def api_run(seconds: int, first: int) -> WrkResult:
            script_args = [*fixed, f"first={first}"]
            return run_wrk(wrk, script, api_port, api_key, args.clients, seconds, script_args)

        print(f"statuspage api: warm-up {WARMUP_SECONDS} s, then {args.duration} s ...", flush=True)
        warmup = api_run(WARMUP_SECONDS, 0)
        drain(pg, DRAIN_LIMIT_SECONDS)  # the run starts with the warm-up folded
        cpu_before = cpu_seconds(api.pid)
        worker_before = cpu_seconds(worker.pid)
        pg_before = postgres_cpu(data_dir)
        wrk_before = children_cpu()
        # Batches the warm-up did not write (nor had in flight when it ended).
        result = api_run(args.duration, warmup.requests + 2 * args.clients)
        cpu_used = cpu_seconds(api.pid) - cpu_before
        worker_used = cpu_seconds(worker.pid) - worker_before
        pg_used = postgres_cpu(data_dir) - pg_before
        wrk_used = children_cpu() - wrk_before
        backlog, drain_seconds = drain(pg, DRAIN_LIMIT_SECONDS)
        time.sleep(0.5)  # requests wrk left in flight finish
        drain(pg, DRAIN_LIMIT_SECONDS)  # and are folded
        stored = int(pg.sql("SELECT count(*) FROM metric_points"))
        inconsistent = int(pg.sql(INCONSISTENT_ROLLUPS))

        export = data_dir / "points.copy"
        psql_copy(pg, f"\\copy (SELECT metric_id, ts, value FROM metric_points) TO '{export}'")
        print(f"COPY baseline: {stored} rows, twice ...", flush=True)
        copy_seconds, copied = math.inf, 0
        for _ in range(2):  # the better of two
            settle(pg)
            pg.sql("CREATE TABLE bench_points (LIKE metric_points INCLUDING ALL)")
            seconds = psql_copy(pg, f"\\copy bench_points (metric_id, ts, value) FROM '{export}'")
            copy_seconds = min(copy_seconds, seconds)
            copied = int(pg.sql("SELECT count(*) FROM bench_points"))
            pg.sql("DROP TABLE bench_points")
        pg_problems = pg.problems()

        alive_after = api.poll() is None and worker.poll() is None
        worker_stopped = stop(worker)  # before the api, whose exit may end the embedded Redis
        cleanup.processes.remove(worker)
        stopped = stop(api)
        cleanup.processes.remove(api)
        leftovers = kill_leftovers(data_dir)
        findings = log_findings(api_log)
        worker_findings = log_findings(worker_log)

    ok = result.requests - result.non2xx
    copy_rate = copied / copy_seconds
    ratio = result.points_per_second / copy_rate
    ratio_pass = ratio >= TARGET_RATIO
    kept_up = drain_seconds <= DRAIN_LIMIT_SECONDS
    with_drain = ok * METRICS * SLOTS_PER_METRIC / (result.seconds + drain_seconds)
    clean = result.non2xx == 0 and result.socket_errors == 0 and inconsistent == 0
    print()
    print(
        f"POST /v1/pages/{{page_id}}/metrics/data, {METRICS * SLOTS_PER_METRIC} points a request "
        f"({METRICS} metrics x {SLOTS_PER_METRIC} slots), wrk -t1 -c{args.clients} "
        f"-d{args.duration}s after a {WARMUP_SECONDS} s warm-up, loopback; code {code}"
    )
    print(
        f"statuspage api (1 process, embedded PostgreSQL + Redis): "
        f"{result.points_per_second:,.0f} points/s ({ok} requests of 202 in "
        f"{result.seconds:.1f} s = {ok / result.seconds:,.0f} requests/s), p50 "
        f"{result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms, "
        f"non-2xx {result.non2xx}, socket errors {result.socket_errors}, batches that wrapped "
        f"around (replacing older points) {result.wrapped}"
    )
    print(
        f"api process: {cpu_used:.1f} s CPU in {result.seconds:.1f} s "
        f"({100 * cpu_used / result.seconds:.0f}% of one core, "
        f"{1000 * cpu_used / max(ok, 1):.2f} ms CPU per request)"
    )
    print(
        f"postgres processes: {pg_used:.1f} s CPU in the same time "
        f"({1000 * pg_used / max(ok, 1):.2f} ms CPU per request, the worker's folds included); "
        f"statuspage worker: {worker_used:.1f} s ({1000 * worker_used / max(ok, 1):.2f} ms); "
        f"wrk: {wrk_used:.1f} s ({1000 * wrk_used / max(ok, 1):.2f} ms)"
    )
    print(
        f"rollups' queue when the run ended: {backlog} (metric, 2-hour bucket) rows, folded by the "
        f"worker {drain_seconds:.2f} s later (limit {DRAIN_LIMIT_SECONDS:.0f} s): "
        f"{'PASS' if kept_up else 'FAIL'}; points/s counting that time too: {with_drain:,.0f} "
        f"(ratio {with_drain / copy_rate:.3f})"
    )
    print(
        f"rows in metric_points after both runs: {stored}; rollups inconsistent with their raw "
        f"points once folded: {inconsistent} (must be 0)"
    )
    print(
        f"baseline psql \\copy of the same {copied} rows into a scratch table with the same "
        f"primary key, on the settled server, the better of two: {copy_seconds:.2f} s = "
        f"{copy_rate:,.0f} rows/s"
    )
    print(
        f"ratio api/COPY: {ratio:.3f} (target >= {TARGET_RATIO}): "
        f"{'PASS' if ratio_pass else 'FAIL'}"
    )
    print(f"non-2xx, socket errors, inconsistent rollups all 0: {'PASS' if clean else 'FAIL'}")
    if not alive_after:
        print("WARNING: the api or worker process had exited by the end of the run")
    print(
        f"api stopped by SIGTERM in {stopped.seconds:.2f} s (exit {stopped.returncode}"
        f"{', killed' if stopped.killed else ''}); leftover processes on the data dir: "
        f"{'; '.join(leftovers) if leftovers else 'none'}"
    )
    print(
        f"worker stopped by SIGTERM in {worker_stopped.seconds:.2f} s (exit "
        f"{worker_stopped.returncode}{', killed' if worker_stopped.killed else ''})"
    )
    for finding in findings:
        print(f"api log: {finding}")
    for finding in worker_findings:
        print(f"worker log: {finding}")
    for problem in pg_problems:
        print(f"postgres log: {problem}")
    return 0 if ratio_pass and clean and kept_up and alive_after else 1


if __name__ == "__main__":
    raise SystemExit(main())
