"""POST /v1/pages/{page_id}/incidents affecting 10 components: one `statuspage api` process, wrk
with 16 connections.

What is measured: requests per second, p50 and p99 latency and non-2xx answers of
`wrk -t1 -c<connections> -d<duration>` (default 16 connections, 15 s after a 2 s warm-up) creating
incidents whose `components` map sets 10 components each (every request really changes all 10:
the script alternates each group's status between major_outage and degraded_performance). Each
request therefore writes an incident, its first update, 10 incident-component links, 10 component
status changes with their history rows and component webhook events, the incident's outbox event
and the page revision, in one transaction.

Each target has 160 components of its own, split into 16 groups of 10, handed out round-robin, so concurrent requests
mostly touch different rows (requests on the same components serialize on their row locks, as
they must).

Baseline, measured in the same run with the same wrk settings: the bulk component status
extension, PATCH /v1/pages/{page_id}/components with the same 10-component maps (the same status
changes without an incident). The ratio incident/bulk is printed; no target is set.

Setup: a fresh STATUSPAGE_DATA_DIR, `statuspage bootstrap --json`, `statuspage api` on a free port
(embedded PostgreSQL and Redis, rate limit off, log level WARNING). Exit status 0 when every answer
was 2xx and the API was still up, 1 otherwise, 2 when wrk is missing.

Run from the repository root:

    .venv/bin/python bench/incident_create.py [--duration 15] [--connections 16] [--keep-data]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    STATUSPAGE,
    api_call,
    bootstrap,
    cleanup_on_exit,
    free_port,
    kill_leftovers,
    log_findings,
    make_data_dir,
    run_wrk_script,
    service_env,
    socket_errors,
    start,
    stop,
    wait_ready,
)

HOST = "127.0.0.1"
WARMUP_SECONDS = 2
GROUPS = 16
PER_INCIDENT = 10

# Arguments after `--`: mode=incident|bulk, page=<id>, then group=<id,id,...> for each group.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non2xx, groups, flip, next_group, n = 0, {}, {}, 0, 0
  for _, arg in pairs(args) do
    local key, value = string.match(arg, "^([%w_]+)=([%w_,]+)$")
    if key == "page" then
      page = value
    elseif key == "mode" then
      mode = value
    elseif key == "group" then
      table.insert(groups, value)
      table.insert(flip, false)
    end
  end
end
function request()
  next_group = next_group % #groups + 1
  n = n + 1
  flip[next_group] = not flip[next_group]
  local status = "degraded_performance"
  if flip[next_group] then
    status = "major_outage"
  end
  local parts = {}
  for id in string.gmatch(groups[next_group], "[%w]+") do
    table.insert(parts, '"' .. id .. '":"' .. status .. '"')
  end
  local map = "{" .. table.concat(parts, ",") .. "}"
  if mode == "incident" then
    return wrk.format("POST", "/v1/pages/" .. page .. "/incidents", nil,
      '{"incident":{"name":"Bench ' .. n .. '","status":"investigating","body":"Looking into it",'
        .. '"components":' .. map .. '}}')
  end
  return wrk.format("PATCH", "/v1/pages/" .. page .. "/components", nil,
    '{"components":' .. map .. '}')
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end
function done(summary, latency, requests)
  local non = 0
  for _, thread in ipairs(threads) do
    non = non + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d p50_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, non,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    non2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    @property
    def rate(self) -> float:
        return (self.requests - self.non2xx) / self.seconds

    def describe(self, label: str) -> str:
        return (
            f"{label}: {self.rate:,.1f} requests/s ({self.requests - self.non2xx} 2xx in "
            f"{self.seconds:.1f} s), p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms, non-2xx {self.non2xx}, socket errors {self.socket_errors}"
        )


def run_wrk(
    wrk: str,
    script: Path,
    port: int,
    mode: str,
    page_id: str,
    api_key: str,
    groups: list[list[str]],
    connections: int,
    duration: int,
) -> Result:
    fields = run_wrk_script(
        wrk,
        script,
        f"http://{HOST}:{port}/",
        api_key,
        connections,
        duration,
        [f"mode={mode}", f"page={page_id}", *(f"group={','.join(group)}" for group in groups)],
    )
    return Result(
        requests=fields["requests"],
        seconds=fields["duration_us"] / 1e6,
        non2xx=fields["non2xx"],
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
        socket_errors=socket_errors(fields),
    )


def create_components(port: int, page_id: str, api_key: str, count: int) -> list[str]:
    ids = []
    for number in range(1, count + 1):
        path = f"/v1/pages/{page_id}/components"
        status, row = api_call(port, "POST", path, api_key, {"component": {"name": f"c{number}"}})
        if status != 201 or not isinstance(row, dict):
            raise RuntimeError(f"POST {path} answered {status}: {str(row)[:300]}")
        ids.append(str(row["id"]))
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per target")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 600 or not 1 <= args.connections <= 64:
        parser.error("--duration must be 1-600 and --connections 1-64")
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk was not found on PATH (apt-get install -y wrk)", file=sys.stderr)
        return 2

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-incident-")
        cleanup.data_dirs.append(data_dir)
        env = service_env(
            data_dir, STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_LOG_LEVEL="WARNING"
        )
        created = bootstrap(data_dir, env)
        page_id, api_key = created["page_id"], created["api_key"]
        port = free_port(HOST)
        api_log = data_dir / "api.log"
        api = start([STATUSPAGE, "api", "--host", HOST, "--port", str(port)], api_log, env)
        cleanup.processes.append(api)
        wait_ready(HOST, port, process=api, timeout=60)
        # Each target gets components of its own, so requests still in flight when one run ends
        # cannot contend with the next run's (the bulk extension locks rows in request order).
        per_mode = GROUPS * PER_INCIDENT
        ids = create_components(port, page_id, api_key, 2 * per_mode)
        groups_of = {
            mode: [ids[i : i + PER_INCIDENT] for i in range(start, start + per_mode, PER_INCIDENT)]
            for mode, start in (("bulk", 0), ("incident", per_mode))
        }
        script = data_dir / "incident.lua"
        script.write_text(WRK_SCRIPT)

        results: dict[str, Result] = {}
        for mode in ("bulk", "incident"):
            print(f"{mode}: warm-up {WARMUP_SECONDS} s, then {args.duration} s ...", flush=True)
            groups = groups_of[mode]
            run_wrk(
                wrk, script, port, mode, page_id, api_key, groups, args.connections, WARMUP_SECONDS
            )
            results[mode] = run_wrk(
                wrk, script, port, mode, page_id, api_key, groups, args.connections, args.duration
            )
        status, unresolved = api_call(
            port, "GET", f"/v1/pages/{page_id}/incidents/unresolved?per_page=1", api_key
        )
        sample_ok = status == 200 and isinstance(unresolved, list) and len(unresolved) == 1
        sample_components = len(unresolved[0]["components"]) if sample_ok else 0
        alive = api.poll() is None
        stop(api)
        cleanup.processes.remove(api)
        leftovers = kill_leftovers(data_dir)
        findings = log_findings(api_log)

    incident, bulk = results["incident"], results["bulk"]
    print()
    print(
        f"wrk -t1 -c{args.connections} -d{args.duration}s after a {WARMUP_SECONDS} s warm-up, "
        f"one statuspage api process (embedded PostgreSQL + Redis), {PER_INCIDENT} components "
        "changed per request"
    )
    print(incident.describe("POST .../incidents (10 components)"))
    print(bulk.describe("baseline PATCH .../components (bulk, the same 10 changes)"))
    print(
        f"ratio incident/bulk: {incident.rate / bulk.rate:.2f} requests/s, "
        f"p50 {incident.p50_ms / bulk.p50_ms:.1f}x, p99 {incident.p99_ms / bulk.p99_ms:.1f}x"
    )
    print(f"latest unresolved incident lists {sample_components} components")
    if leftovers:
        print(f"leftover processes: {'; '.join(leftovers)}")
    for finding in findings:
        print(f"api log: {finding}")
    clean = incident.non2xx == 0 and incident.socket_errors == 0 and bulk.non2xx == 0
    return 0 if clean and alive and sample_components == PER_INCIDENT else 1


if __name__ == "__main__":
    raise SystemExit(main())
