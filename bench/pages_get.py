"""GET /v1/pages/{page_id} throughput of one `statuspage api` process, and its peak RSS under load.

What is measured:
- requests per second, p50 and p99 latency and the count of non-2xx answers of
  `wrk -t1 -c32 -d<duration>` (default 15 s, after a 2 s warm-up with the same settings) against
  GET /v1/pages/{page_id} with `Authorization: OAuth <key>`, served by ONE `statuspage api` process
  (uvicorn, uvloop, httptools) using the embedded PostgreSQL and Redis, with the per-key rate limit
  off (STATUSPAGE_RATE_LIMIT_PER_MINUTE=0) and the access log quiet (STATUSPAGE_LOG_LEVEL=WARNING);
- the peak RSS of that API process (the pid started here, plus any children other than the embedded
  redis-server it spawns; PostgreSQL is not its child), sampled with psutil every 100 ms during the
  measured run.

Setup: a fresh temporary STATUSPAGE_DATA_DIR; `statuspage bootstrap --json` there (starts embedded
PostgreSQL, migrates, creates an organization, a page and an API key, stops PostgreSQL again); then
`statuspage api` on a free port, waited for on /readyz.

Baseline, measured in the same run with the same wrk settings, warm-up and request: a bare ASGI
callable (bench/_bare_asgi.py) under uvicorn, one process, uvloop + httptools, access log off,
answering the exact page JSON bytes fetched once from the real API. Its RSS is sampled the same way.

Non-2xx answers are counted exactly by a wrk Lua `response()` hook (its cost to wrk was lost in the
noise when checked against the bare baseline). Targets: 0 non-2xx, peak API RSS under 150 MiB. Exit
status 0 when both pass (and the API is still up at the end), 1 otherwise, 2 when wrk is missing.

Run from the repository root:

    .venv/bin/python bench/pages_get.py [--duration 15] [--connections 32] [--keep-data]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev dependencies

from bench._common import (
    PYTHON,
    STATUSPAGE,
    bootstrap,
    cleanup_on_exit,
    free_port,
    http_get,
    kill_leftovers,
    log_findings,
    make_data_dir,
    service_env,
    start,
    stop,
    wait_ready,
)

HOST = "127.0.0.1"
RSS_TARGET_MIB = 150.0
MIB = 1024 * 1024
WARMUP_SECONDS = 2
INFRA_NAMES = ("redis-server", "postgres", "psql", "pg_ctl")

# Counts non-2xx answers exactly and prints machine-readable figures at the end of a wrk run.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  non2xx = 0
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
      .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, non,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    non2xx: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


class RssSampler:
    """Samples the RSS of one process (plus its non-infrastructure children) every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self.excluded: set[str] = set()
        self.included: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def current(self) -> int:
        total: int = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                name = child.name()
                if name in INFRA_NAMES:
                    self.excluded.add(f"{name} ({child.pid})")
                    continue
                total += child.memory_info().rss
                self.included.add(f"{name} ({child.pid})")
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_bytes = max(self.peak_bytes, self.current())
                self.samples += 1
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def high_water_mark(pid: int) -> int | None:
    """The kernel's peak RSS of the process since it started (VmHWM), in bytes."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def run_wrk(
    wrk: str, script: Path, url: str, headers: list[str], connections: int, duration: int
) -> WrkResult:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
    for header in headers:
        argv += ["-H", header]
    argv.append(url)
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    match = re.search(r"^BENCH (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    fields = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
    return WrkResult(
        requests=fields["requests"],
        seconds=fields["duration_us"] / 1e6,
        non2xx=fields["non2xx"],
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
        socket_errors=sum(fields[key] for key in ("connect", "read", "write", "timeout")),
    )


def measure(
    label: str,
    wrk: str,
    script: Path,
    url: str,
    headers: list[str],
    connections: int,
    duration: int,
    pid: int,
) -> tuple[WrkResult, RssSampler]:
    print(f"{label}: warm-up {WARMUP_SECONDS} s, then {duration} s ...", flush=True)
    run_wrk(wrk, script, url, headers, connections, WARMUP_SECONDS)
    with RssSampler(pid) as sampler:
        result = run_wrk(wrk, script, url, headers, connections, duration)
    return result, sampler


def describe(label: str, result: WrkResult) -> str:
    return (
        f"{label}: {result.rps:,.0f} req/s ({result.requests} in {result.seconds:.1f} s), "
        f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms, "
        f"non-2xx {result.non2xx}, socket errors {result.socket_errors}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=15, help="measured seconds per target")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 600:
        parser.error("--duration must be between 1 and 600 seconds")

    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk was not found on PATH; this benchmark needs it. Install it with\n"
            "    apt-get update && apt-get install -y wrk\n"
            "(as root on Debian/Ubuntu) and run again.",
            file=sys.stderr,
        )
        return 2

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-pages-")
        cleanup.data_dirs.append(data_dir)
        print(f"data dir: {data_dir}", flush=True)
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

        path = f"/v1/pages/{page_id}"
        auth = f"OAuth {api_key}"
        status, body = http_get(HOST, api_port, path, headers={"Authorization": auth})
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        body_file = data_dir / "page.json"
        body_file.write_bytes(body)
        api_idle = RssSampler(api.pid).current()

        bare_port = free_port(HOST)
        bare_argv = [
            PYTHON, "-m", "uvicorn", "bench._bare_asgi:app",
            "--host", HOST, "--port", str(bare_port),
            "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning", "--no-server-header",
            "--lifespan", "off",
        ]  # fmt: skip
        bare_env = service_env(data_dir, BENCH_BODY_FILE=str(body_file))
        bare = start(bare_argv, data_dir / "bare.log", bare_env)
        cleanup.processes.append(bare)
        wait_ready(HOST, bare_port, process=bare, path=path, timeout=30)
        bare_status, bare_body = http_get(HOST, bare_port, path)
        if bare_status != 200 or bare_body != body:
            raise RuntimeError("the baseline does not answer the same bytes")

        script = data_dir / "count.lua"
        script.write_text(WRK_SCRIPT)
        headers = [f"Authorization: {auth}"]
        base, base_rss = measure(
            "baseline (bare ASGI)",
            wrk,
            script,
            f"http://{HOST}:{bare_port}{path}",
            headers,
            args.connections,
            args.duration,
            bare.pid,
        )
        stop(bare)
        cleanup.processes.remove(bare)
        result, api_rss = measure(
            "statuspage api",
            wrk,
            script,
            f"http://{HOST}:{api_port}{path}",
            headers,
            args.connections,
            args.duration,
            api.pid,
        )
        api_hwm = high_water_mark(api.pid)
        alive_after = api.poll() is None
        stopped = stop(api)
        cleanup.processes.remove(api)
        leftovers = kill_leftovers(data_dir)
        findings = log_findings(api_log)

    rss_mib = api_rss.peak_bytes / MIB
    rss_pass = rss_mib < RSS_TARGET_MIB
    non2xx_pass = result.non2xx == 0 and base.non2xx == 0
    print()
    print(
        f"GET /v1/pages/{{page_id}} ({len(body)} bytes of JSON), wrk -t1 -c{args.connections} "
        f"-d{args.duration}s after a {WARMUP_SECONDS} s warm-up, loopback, load generator: wrk"
    )
    print(describe("baseline bare ASGI (uvicorn, uvloop+httptools, same bytes)", base))
    print(describe("statuspage api (1 process, embedded PostgreSQL + Redis)", result))
    print(
        f"ratio api/baseline: throughput {result.rps / base.rps:.3f}x, "
        f"p50 latency {result.p50_ms / base.p50_ms:.2f}x, p99 latency {result.p99_ms / base.p99_ms:.2f}x"
    )
    print(
        f"non-2xx answers: api {result.non2xx}, baseline {base.non2xx} "
        f"(must be 0): {'PASS' if non2xx_pass else 'FAIL'}"
    )
    print(
        f"peak RSS of the api process under load: {rss_mib:.1f} MiB "
        f"({api_rss.samples} samples every 100 ms; idle before load {api_idle / MIB:.1f} MiB; "
        f"kernel VmHWM since start {api_hwm / MIB if api_hwm else float('nan'):.1f} MiB; "
        f"children counted: {', '.join(sorted(api_rss.included)) or 'none'}; "
        f"excluded: {', '.join(sorted(api_rss.excluded)) or 'none'})"
    )
    print(
        f"peak RSS of the baseline process under the same load: {base_rss.peak_bytes / MIB:.1f} MiB; "
        f"ratio api/baseline {api_rss.peak_bytes / base_rss.peak_bytes:.2f}x"
    )
    print(f"target peak RSS under {RSS_TARGET_MIB:.0f} MiB: {'PASS' if rss_pass else 'FAIL'}")
    if not alive_after:
        print("WARNING: the api process had exited by the end of the run")
    print(
        f"api stopped by SIGTERM in {stopped.seconds:.2f} s (exit {stopped.returncode}"
        f"{', killed' if stopped.killed else ''}); leftover processes on the data dir: "
        f"{'; '.join(leftovers) if leftovers else 'none'}"
    )
    for finding in findings:
        print(f"api log: {finding}")
    return 0 if rss_pass and non2xx_pass and alive_after else 1


if __name__ == "__main__":
    raise SystemExit(main())
