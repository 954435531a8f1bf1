"""PATCH component status throughput of one `statuspage api` process, against pgbench on the same DB.

What is measured:
- status changes per second, p50 and p99 latency and the exact count of non-2xx answers of
  `wrk -t1 -c16 -d<duration>` (default 15 s, after a 2 s warm-up with the same settings) sending
  PATCH /v1/pages/{page_id}/components/{component_id} with `{"component": {"status": ...}}` and
  `Authorization: OAuth <key>` to ONE `statuspage api` process (uvicorn, uvloop, httptools) using
  the embedded PostgreSQL and Redis, with the per-key rate limit off
  (STATUSPAGE_RATE_LIMIT_PER_MINUTE=0) and the access log quiet (STATUSPAGE_LOG_LEVEL=WARNING).
  Every request is a real change: the wrk Lua script keeps a FIFO pool of idle components (64 by
  default) and each request takes one out of it and asks for the status that component does not
  have (operational <-> major_outage); the component goes back into the pool, with the status read
  from the answer, only when its answer has arrived. So no two requests in flight ever touch the
  same component (wrk's Lua API does not say which connection a request goes out on, hence a pool
  rather than "connection i owns component i"). Such a request takes the component lane
  (app/components/lane.py): one read (the component and the page's other statuses), then one
  autocommitted statement updating the component, inserting a history row and an outbox row and
  bumping the page revision; the process then publishes on Redis and wakes the outbox relay.
  Before each wrk run the current statuses are read back through the API and handed to the script.
- the number of rows the measured run added to component_status_changes (read with psql, after the
  service has gone quiet), printed next to the 2xx count (they differ by the requests still in
  flight when wrk stopped; a larger gap would mean requests that changed nothing);
- the CPU time and the peak RSS of the API process during the measured run (psutil, every 100 ms).

Baseline, measured in the same run against the SAME embedded PostgreSQL (reached on its Unix
socket, found from postmaster.pid), with the same 2 s warm-up: pgbench from pgserver,
`-c16 -j2 -T<duration> -n -M simple`, per transaction either
- "issue" (the transaction the target was set against): UPDATE the component's status (toggled)
  and INSERT a history row, between BEGIN and END; or
- "full" (for information): the statements the API's ordinary route issues per PATCH (seen with
  log_statement=all; the requests the lane leaves to the route, and every PATCH before the lane),
  in its order: the API key, page and component SELECTs, the component
  UPDATE, the history INSERT, the SELECT of all component statuses of the page, the outbox INSERT
  (the payload the API wrote, as a literal) and the page revision UPDATE ... RETURNING.
pgbench client c uses the components c+1, c+1+16, c+1+32, ... (with 16 clients and 64 components,
4 each, chosen at random), so its clients, too, never wait for each other on a component row (they
do all queue on the page row in the "full" script, as the API does). The component ids come from a
scratch table bench_components(n, id), dropped at the end. p50 and p99 of pgbench come from its
per-transaction log (-l); its own "latency average" is printed too.

Target: API changes/s at least 0.25 of the "issue" pgbench tps, and 0 non-2xx answers. Exit status
0 when both pass (and every component is still there through GET .../components, and the API is
still up at the end), 1 otherwise, 2 when wrk or pgbench is missing.

Run from the repository root:

    .venv/bin/python bench/component_patch.py [--duration 15] [--connections 16]
        [--components 64] [--query-mode simple] [--keep-data]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


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
    percentile,
    pgserver_bin,
    run_wrk_script,
    service_env,
    socket_errors,
    start,
    stop,
    wait_ready,
)
from bench.pages_get import RssSampler

HOST = "127.0.0.1"
WARMUP_SECONDS = 2
TARGET_RATIO = 0.25
MIB = 1024 * 1024
ACTOR = "bench"

# Hands out idle components (FIFO), asks each for the status it does not have, takes it back with
# the status its answer reports; counts non-2xx answers, empty-pool requests ("starved": the request
# then goes to some component, maybe one in flight) and 2xx answers it could not read ("unmatched").
# Arguments after `--`: page=<page_id> and one <component_id>=<status> per component.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non2xx, starved, unmatched = 0, 0, 0
  queue, head, tail = {}, 1, 0
  current, all, spare = {}, {}, 0
  for _, arg in pairs(args) do
    local key, value = string.match(arg, "^([%w_]+)=([%w_]+)$")
    if key == "page" then
      page = value
    elseif key ~= nil then
      tail = tail + 1
      queue[tail] = key
      current[key] = value
      table.insert(all, key)
    end
  end
end
function request()
  local id
  if head <= tail then
    id = queue[head]
    queue[head] = nil
    head = head + 1
  else
    starved = starved + 1
    spare = spare % #all + 1
    id = all[spare]
  end
  local status = "operational"
  if current[id] == "operational" then
    status = "major_outage"
  end
  current[id] = status
  return wrk.format("PATCH", "/v1/pages/" .. page .. "/components/" .. id, nil,
    '{"component":{"status":"' .. status .. '"}}')
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    return
  end
  local id = string.match(body, '"id":"([%w]+)"')
  local now = string.match(body, '"status":"([%w_]+)"')
  if id == nil or now == nil or current[id] == nil then
    unmatched = unmatched + 1
    return
  end
  current[id] = now
  tail = tail + 1
  queue[tail] = id
end
function done(summary, latency, requests)
  local non, st, un = 0, 0, 0
  for _, thread in ipairs(threads) do
    non = non + thread:get("non2xx")
    st = st + thread:get("starved")
    un = un + thread:get("unmatched")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d starved=%d unmatched=%d p50_us=%d p99_us=%d "
      .. "max_us=%d connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, non, st, un,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# pgbench: client_id is 0-based; `\set c` picks one of the client's own components (1-based n).
PICK = "\\set c 1 + :client_id + {clients} * random(0, {last_slot})\n"
COMPONENT = "(SELECT id FROM bench_components WHERE n = :c)"
TOGGLE = (
    "UPDATE components SET status = CASE WHEN status = 'operational' THEN 'major_outage' "
    f"ELSE 'operational' END, updated_at = now() WHERE id = {COMPONENT};\n"
)
HISTORY = (
    "INSERT INTO component_status_changes (id, component_id, page_id, old_status, new_status, at, "
    f"source, actor) VALUES (substr(md5(random()::text), 1, 12), {COMPONENT}, '{{page_id}}', "
    f"'operational', 'major_outage', now(), 'api', '{ACTOR}');\n"
)
ISSUE_SQL = "".join([PICK, "BEGIN;\n", TOGGLE, HISTORY, "END;\n"])
FULL_SQL = "".join(
    [
        PICK,
        "BEGIN;\n",
        "SELECT id, organization_id, role FROM api_keys "
        "WHERE key_hash = '{key_hash}' AND revoked_at IS NULL;\n",
        "SELECT * FROM pages WHERE id = '{page_id}' AND organization_id = '{organization_id}';\n",
        f"SELECT * FROM components WHERE id = {COMPONENT} AND page_id = '{{page_id}}';\n",
        TOGGLE,
        HISTORY,
        "SELECT status FROM components WHERE page_id = '{page_id}' AND is_group IS false;\n",
        "INSERT INTO outbox_events (page_id, kind, payload, attempts) "
        "VALUES ('{page_id}', 'component.update', '{payload}', 0) RETURNING id, created_at;\n",
        "UPDATE pages SET revision = revision + 1, updated_at = now() WHERE id = '{page_id}' "
        "RETURNING revision;\n",
        "END;\n",
    ]
)


def changes(pg: Postgres) -> int:
    return int(pg.sql("SELECT count(*) FROM component_status_changes"))


def settled_changes(pg: Postgres, timeout: float = 10.0) -> int:
    """The history row count once it stops moving (requests wrk left in flight are done)."""
    deadline = time.monotonic() + timeout
    last = changes(pg)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = changes(pg)
        if now == last:
            return now
        last = now
    raise TimeoutError(f"component_status_changes still growing after {timeout:.0f} s")


def list_components(port: int, page_id: str, api_key: str, limit: int) -> list[dict[str, Any]]:
    """All components of the page through GET .../components, 100 a page (at most `limit` pages)."""
    found: list[dict[str, Any]] = []
    for number in range(1, limit + 1):
        path = f"/v1/pages/{page_id}/components?page={number}&per_page=100"
        status, rows = api_call(port, "GET", path, api_key)
        if status != 200 or not isinstance(rows, list):
            raise RuntimeError(f"GET {path} answered {status}: {str(rows)[:300]}")
        found.extend(rows)
        if len(rows) < 100:
            return found
    raise RuntimeError(f"more than {limit} pages of components")


def create_components(port: int, page_id: str, api_key: str, count: int) -> list[str]:
    ids = []
    for number in range(1, count + 1):
        path = f"/v1/pages/{page_id}/components"
        status, row = api_call(port, "POST", path, api_key, {"component": {"name": f"c{number}"}})
        if status != 201 or not isinstance(row, dict) or "id" not in row:
            raise RuntimeError(f"POST {path} answered {status}: {str(row)[:300]}")
        ids.append(str(row["id"]))
    return ids


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    starved: int
    unmatched: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    @property
    def ok(self) -> int:
        return self.requests - self.non2xx

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def run_wrk(
    wrk: str,
    script: Path,
    port: int,
    page_id: str,
    api_key: str,
    statuses: dict[str, str],
    connections: int,
    duration: int,
) -> WrkResult:
    fields = run_wrk_script(
        wrk,
        script,
        f"http://{HOST}:{port}/",
        api_key,
        connections,
        duration,
        [f"page={page_id}", *(f"{component}={status}" for component, status in statuses.items())],
    )
    return WrkResult(
        requests=fields["requests"],
        seconds=fields["duration_us"] / 1e6,
        non2xx=fields["non2xx"],
        starved=fields["starved"],
        unmatched=fields["unmatched"],
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
        socket_errors=socket_errors(fields),
    )


@dataclass(frozen=True)
class PgbenchResult:
    transactions: int
    failed: int
    tps: float
    average_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    logged: int


def run_pgbench(
    pg: Postgres,
    script: Path,
    clients: int,
    duration: int,
    query_mode: str,
    log_prefix: Path | None,
) -> PgbenchResult:
    argv = [
        str(pgserver_bin("pgbench")), *pg.conninfo(), f"-c{clients}", "-j2", f"-T{duration}",
        "-n", "-M", query_mode, "-f", str(script),
    ]  # fmt: skip
    if log_prefix is not None:
        argv += ["-l", f"--log-prefix={log_prefix}"]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    out = completed.stdout

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        if match is None:
            raise RuntimeError(
                f"pgbench failed ({completed.returncode}), no {pattern!r}:\n{out}\n{completed.stderr}"
            )
        return float(match.group(1))

    transactions = int(number(r"number of transactions actually processed: (\d+)"))
    failed_match = re.search(r"number of failed transactions: (\d+)", out)
    failed = int(failed_match.group(1)) if failed_match else 0
    if completed.returncode != 0:
        raise RuntimeError(
            f"pgbench exited with {completed.returncode}:\n{out}\n{completed.stderr}"
        )
    latencies: list[float] = []
    if log_prefix is not None:
        for path in sorted(log_prefix.parent.glob(f"{log_prefix.name}.*")):
            for line in path.read_text().splitlines():
                # client_id transaction_no time_us script_no epoch_s epoch_us [...]
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():  # else "failed": counted above
                    latencies.append(int(parts[2]) / 1000)
    latencies.sort()
    return PgbenchResult(
        transactions=transactions,
        failed=failed,
        tps=number(r"tps = ([\d.]+) \(without initial connection time\)"),
        average_ms=number(r"latency average = ([\d.]+) ms"),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else float("nan"),
        logged=len(latencies),
    )


def describe_wrk(label: str, result: WrkResult) -> str:
    return (
        f"{label}: {result.rate:,.0f} changes/s ({result.ok} 2xx in {result.seconds:.1f} s), "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms, "
        f"non-2xx {result.non2xx}, socket errors {result.socket_errors}, "
        f"empty-pool requests {result.starved}, unreadable 2xx {result.unmatched}"
    )


def describe_pgbench(label: str, result: PgbenchResult) -> str:
    return (
        f"{label}: {result.tps:,.0f} tps ({result.transactions} transactions, "
        f"{result.failed} failed), p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
        f"max {result.max_ms:.1f} ms (from {result.logged} logged transactions), "
        f"pgbench latency average {result.average_ms:.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per target")
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections and pgbench clients"
    )
    parser.add_argument("--components", type=int, default=64, help="components to spread over")
    parser.add_argument(
        "--query-mode",
        choices=("simple", "extended", "prepared"),
        default="simple",
        help="pgbench -M (the API itself uses asyncpg's prepared statements)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")
    if not 1 <= args.connections <= 64:
        parser.error("--connections must be between 1 and 64")
    if not args.connections <= args.components <= 1000:
        parser.error("--components must be between --connections and 1000")
    connections: int = args.connections
    per_client = args.components // connections

    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk was not found on PATH; this benchmark needs it. Install it with\n"
            "    apt-get update && apt-get install -y wrk\n"
            "(as root on Debian/Ubuntu) and run again.",
            file=sys.stderr,
        )
        return 2
    if not pgserver_bin("pgbench").exists() or not pgserver_bin("psql").exists():
        print(f"pgbench or psql missing next to {pgserver_bin('pgbench')}", file=sys.stderr)
        return 2

    code = code_state()
    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-patch-")
        cleanup.data_dirs.append(data_dir)
        print(f"data dir: {data_dir}; code: {code}", flush=True)
        env = service_env(
            data_dir, STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_LOG_LEVEL="WARNING"
        )

        created = bootstrap(data_dir, env)
        organization_id = created["organization_id"]
        page_id, api_key = created["page_id"], created["api_key"]

        api_port = free_port(HOST)
        api_log = data_dir / "api.log"
        api = start([STATUSPAGE, "api", "--host", HOST, "--port", str(api_port)], api_log, env)
        cleanup.processes.append(api)
        ready = wait_ready(HOST, api_port, process=api, timeout=60)
        print(f"statuspage api ready on port {api_port} after {ready:.2f} s", flush=True)
        # The API started the embedded PostgreSQL; it listens on a Unix socket only.
        pg = Postgres.of(data_dir)

        component_ids = create_components(api_port, page_id, api_key, args.components)
        pages_limit = args.components // 100 + 2
        print(f"created {len(component_ids)} components", flush=True)

        script = data_dir / "patch.lua"
        script.write_text(WRK_SCRIPT)

        def api_run(seconds: int) -> WrkResult:
            settled_changes(pg)
            rows = list_components(api_port, page_id, api_key, pages_limit)
            statuses = {str(row["id"]): str(row["status"]) for row in rows}
            if set(statuses) != set(component_ids):
                raise RuntimeError("the components listed are not the ones created")
            return run_wrk(wrk, script, api_port, page_id, api_key, statuses, connections, seconds)

        print(f"statuspage api: warm-up {WARMUP_SECONDS} s, then {args.duration} s ...", flush=True)
        api_run(WARMUP_SECONDS)
        changes_before = settled_changes(pg)
        cpu_before = cpu_seconds(api.pid)
        with RssSampler(api.pid) as api_rss:
            result = api_run(args.duration)
        cpu_used = cpu_seconds(api.pid) - cpu_before
        changes_after = settled_changes(pg)
        db_changes = changes_after - changes_before
        final = list_components(api_port, page_id, api_key, pages_limit)
        final_ids = {str(row["id"]) for row in final}
        components_ok = final_ids == set(component_ids)
        final_statuses = sorted({str(row["status"]) for row in final})

        # pgbench, against the same server, while the (now idle) API keeps it running.
        payload = pg.sql(
            "SELECT payload::text FROM outbox_events WHERE kind = 'component.update' "
            "ORDER BY id DESC LIMIT 1"
        )
        key_hash = pg.sql("SELECT key_hash FROM api_keys WHERE revoked_at IS NULL LIMIT 1")
        if not payload or re.search(r":[A-Za-z_]", payload):
            # pgbench would read ":name" in the literal as a variable.
            raise RuntimeError(f"unusable outbox payload for the full script: {payload[:200]!r}")
        pg.sql(
            "CREATE TABLE bench_components (n int PRIMARY KEY, id varchar(12) NOT NULL);"
            + "INSERT INTO bench_components VALUES "
            + ", ".join(f"({n}, '{cid}')" for n, cid in enumerate(component_ids, start=1))
        )
        fields = {
            "clients": str(connections),
            "last_slot": str(per_client - 1),
            "page_id": page_id,
            "organization_id": organization_id,
            "key_hash": key_hash,
            "payload": payload.replace("'", "''"),
        }
        baselines: dict[str, PgbenchResult] = {}
        for name, template in (("issue", ISSUE_SQL), ("full", FULL_SQL)):
            sql_file = data_dir / f"pgbench-{name}.sql"
            sql_file.write_text(template.format(**fields))
            print(
                f"pgbench {name}: warm-up {WARMUP_SECONDS} s, then {args.duration} s ...",
                flush=True,
            )
            run_pgbench(pg, sql_file, connections, WARMUP_SECONDS, args.query_mode, None)
            log_dir = data_dir / f"pgbench-{name}-log"
            log_dir.mkdir()
            baselines[name] = run_pgbench(
                pg, sql_file, connections, args.duration, args.query_mode, log_dir / "tx"
            )
        pg.sql("DROP TABLE bench_components")
        pg_problems = pg.problems()

        alive_after = api.poll() is None
        stopped = stop(api)
        cleanup.processes.remove(api)
        leftovers = kill_leftovers(data_dir)
        findings = log_findings(api_log)

    issue, full = baselines["issue"], baselines["full"]
    ratio = result.rate / issue.tps
    ratio_pass = ratio >= TARGET_RATIO
    clean_load = (
        result.non2xx == 0
        and result.socket_errors == 0
        and result.starved == 0
        and result.unmatched == 0
    )
    print()
    print(
        f"PATCH /v1/pages/{{page_id}}/components/{{id}} (status operational <-> major_outage over "
        f"{args.components} components), wrk -t1 -c{connections} -d{args.duration}s after a "
        f"{WARMUP_SECONDS} s warm-up, loopback; baseline pgbench -c{connections} -j2 "
        f"-T{args.duration} -n -M {args.query_mode} on the same PostgreSQL"
    )
    print(describe_wrk("statuspage api (1 process, embedded PostgreSQL + Redis)", result))
    print(
        f"real changes in the database during the measured run: {db_changes} history rows "
        f"vs {result.ok} 2xx answers (difference {db_changes - result.ok:+d}; up to "
        f"+{connections} is requests still in flight when wrk stopped)"
    )
    print(
        f"api process: {cpu_used:.1f} s CPU in {result.seconds:.1f} s "
        f"({100 * cpu_used / result.seconds:.0f}% of one core, "
        f"{1000 * cpu_used / max(result.ok, 1):.2f} ms CPU per change), "
        f"peak RSS {api_rss.peak_bytes / MIB:.1f} MiB"
    )
    print(describe_pgbench("pgbench 'issue' (UPDATE component + INSERT history)", issue))
    print(describe_pgbench("pgbench 'full' (the API's statements, page revision included)", full))
    print(
        f"ratio api/pgbench-issue: {ratio:.3f} (target >= {TARGET_RATIO}): "
        f"{'PASS' if ratio_pass else 'FAIL'}; "
        f"p50 {result.p50_ms / issue.p50_ms:.1f}x, p99 {result.p99_ms / issue.p99_ms:.1f}x"
    )
    print(
        f"ratio api/pgbench-full (no target): {result.rate / full.tps:.3f}; "
        f"p50 {result.p50_ms / full.p50_ms:.1f}x, p99 {result.p99_ms / full.p99_ms:.1f}x"
    )
    print(
        f"non-2xx answers: {result.non2xx}, socket errors {result.socket_errors} "
        f"(must be 0): {'PASS' if clean_load else 'FAIL'}"
    )
    print(
        f"components through GET .../components after the run: {len(final_ids)} of "
        f"{len(component_ids)} ({'all there' if components_ok else 'MISMATCH'}), "
        f"statuses seen: {', '.join(final_statuses)}"
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
    return 0 if ratio_pass and clean_load and components_ok and alive_after else 1


if __name__ == "__main__":
    raise SystemExit(main())
