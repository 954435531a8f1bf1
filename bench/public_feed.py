"""The public read path against nginx: GET summary.json from one `statuspage api` process, and the
same bytes from nginx, in the same run; then how fast a second process serves a write.

What is measured (one run, one machine, loopback):
- `wrk -t1 -c<connections> -d<duration>s --latency` (after a 2 s warm-up each) on
  GET /p/{page_id}/api/v2/summary.json of ONE `statuspage api` process (uvicorn, uvloop, httptools,
  embedded PostgreSQL and Redis, rate limit off, log level WARNING), and on nginx (one worker,
  access log off) serving the identical bytes from a file: requests/s, p50/p99 latency, the ratio;
- the same for a 304 revalidation (`If-None-Match` with each server's own ETag);
- the peak RSS of the api process during its runs (psutil every 100 ms; and the kernel's VmHWM);
- freshness: over <writes> component status changes made through the first process, the time from
  the write's response until a SECOND `statuspage api` process serves the change (polled on one
  keep-alive connection as fast as it answers): p50, p99, max.

The page: 50 components in 5 groups of 10, 2 unresolved incidents with 3 updates each (one
affecting a component), 1 scheduled maintenance. Targets: throughput ratio >= 0.6 (200 and 304),
peak RSS < 150 MiB, freshness p99 < 1 s. Exit status 0 when all pass, 1 otherwise, 2 when wrk or
nginx is missing.

Run from the repository root:

    .venv/bin/python bench/public_feed.py [--duration 10] [--connections 32] [--writes 100]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench._common import (
    PYTHON,
    STATUSPAGE,
    api_call,
    bootstrap,
    cleanup_on_exit,
    code_state,
    free_port,
    http_get,
    log_findings,
    make_data_dir,
    percentile,
    service_env,
    start,
    stop,
    wait_ready,
)
from bench.pages_get import RssSampler, high_water_mark

HOST = "127.0.0.1"
MIB = 1024 * 1024
WARMUP_SECONDS = 2
RATIO_TARGET = 0.6
RSS_TARGET_MIB = 150.0
FRESHNESS_TARGET_S = 1.0

# Counts answers whose status is not the expected one; prints machine-readable figures.
WRK_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  expected = tonumber(args[1])
  unexpected = 0
end
function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d unexpected=%d p50_us=%d p99_us=%d max_us=%d errors=%d\\n",
    summary.requests, summary.duration, bad,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout))
end
"""

NGINX_CONF = """
{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  keepalive_requests 1000000;
  types {{ application/json json; }}
  server {{
    listen {host}:{port};
    root {root};
  }}
}}
"""


@dataclass(frozen=True)
class Wrk:
    requests: int
    seconds: float
    unexpected: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    wrk: str,
    script: Path,
    url: str,
    expected: int,
    headers: list[str],
    connections: int,
    seconds: int,
) -> Wrk:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for header in headers:
        argv += ["-H", header]
    argv += [url, "--", str(expected)]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    match = re.search(r"^BENCH (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed: {completed.stdout}\n{completed.stderr}")
    fields = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
    return Wrk(
        fields["requests"],
        fields["duration_us"] / 1e6,
        fields["unexpected"],
        fields["p50_us"] / 1000,
        fields["p99_us"] / 1000,
        fields["max_us"] / 1000,
        fields["errors"],
    )


def describe(label: str, result: Wrk) -> str:
    return (
        f"{label}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
        f"max {result.max_ms:.1f} ms, unexpected status {result.unexpected}, socket errors {result.errors}"
    )


def call(
    port: int, method: str, path: str, key: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    status, answer = api_call(port, method, path, key, body)
    if status >= 300:
        raise RuntimeError(f"{method} {path} answered {status}: {answer}")
    return answer if isinstance(answer, dict) else {}


def build_page(port: int, page_id: str, key: str) -> list[str]:
    """50 components in 5 groups, 2 unresolved incidents of 3 updates, 1 maintenance."""
    base = f"/v1/pages/{page_id}"
    ids = [
        str(call(port, "POST", f"{base}/components", key, {"component": {"name": f"Service {n:02d}", "description": f"Component number {n}"}})["id"])
        for n in range(50)
    ]  # fmt: skip
    for group in range(5):
        members = ids[group * 10 : group * 10 + 10]
        body = {"component_group": {"name": f"Region {group}", "components": members}}
        call(port, "POST", f"{base}/component-groups", key, body)
    for number, component_id in enumerate(ids[:2]):
        created = call(port, "POST", f"{base}/incidents", key, {"incident": {
            "name": f"Elevated errors {number}", "status": "investigating",
            "body": "We are investigating elevated error rates.",
            "components": {component_id: "partial_outage"}}})  # fmt: skip
        for status, text in (
            ("identified", "The cause is identified."),
            ("monitoring", "A fix is out; monitoring."),
        ):
            call(port, "PATCH", f"{base}/incidents/{created['id']}", key, {"incident": {"status": status, "body": text}})  # fmt: skip
    start_at = datetime.now(UTC) + timedelta(days=3)
    call(port, "POST", f"{base}/incidents", key, {"incident": {
        "name": "Database maintenance", "status": "scheduled", "body": "Planned upgrade.",
        "scheduled_for": start_at.isoformat(), "scheduled_until": (start_at + timedelta(hours=2)).isoformat(),
        "component_ids": ids[10:12]}})  # fmt: skip
    return ids


def start_nginx(tmp: Path, body: bytes) -> tuple[subprocess.Popen[bytes], int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    root = tmp / "www"
    root.mkdir(parents=True)
    (root / "summary.json").write_bytes(body)
    port = free_port(HOST)
    user = "user root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, host=HOST, port=port, root=root))
    process = start([nginx, "-c", str(conf), "-p", str(tmp)], tmp / "nginx.log", dict(os.environ))
    wait_ready(HOST, port, process=process, path="/summary.json", timeout=20)
    return process, port


def etag_of(port: int, path: str) -> str:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.getheader("etag") or ""
    finally:
        connection.close()


def freshness(
    writer: int, reader: int, page_id: str, key: str, component_id: str, writes: int
) -> list[float]:
    """Seconds from each write's response until the reader serves it."""
    path = f"/p/{page_id}/api/v2/summary.json"
    connection = http.client.HTTPConnection(HOST, reader, timeout=5)
    delays = []
    statuses = ("major_outage", "operational")
    try:
        for number in range(writes):
            wanted = statuses[number % 2]
            body = {"component": {"status": wanted}}
            call(writer, "PATCH", f"/v1/pages/{page_id}/components/{component_id}", key, body)
            returned = time.perf_counter()
            deadline = returned + 10
            while True:
                connection.request("GET", path)
                response = connection.getresponse()
                summary = orjson.loads(response.read())
                shown = {c["id"]: c["status"] for c in summary["components"]}
                if shown.get(component_id) == wanted:
                    delays.append(time.perf_counter() - returned)
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"write {number} never showed on the second process")
    finally:
        connection.close()
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None or (shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists()):
        print(
            "this benchmark needs wrk and nginx: apt-get install -y wrk nginx-light",
            file=sys.stderr,
        )
        return 2

    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-public-")
        cleanup.data_dirs.append(data_dir)
        env = service_env(
            data_dir, STATUSPAGE_RATE_LIMIT_PER_MINUTE="0", STATUSPAGE_LOG_LEVEL="WARNING"
        )
        created = bootstrap(data_dir, env)
        page_id, key = created["page_id"], created["api_key"]

        api_port = free_port(HOST)
        api_log = data_dir / "api.log"
        api = start([STATUSPAGE, "api", "--host", HOST, "--port", str(api_port)], api_log, env)
        cleanup.processes.append(api)
        wait_ready(HOST, api_port, process=api)
        ids = build_page(api_port, page_id, key)

        path = f"/p/{page_id}/api/v2/summary.json"
        status, body = http_get(HOST, api_port, path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        nginx, nginx_port = start_nginx(data_dir / "nginx", body)
        cleanup.processes.append(nginx)
        if http_get(HOST, nginx_port, "/summary.json")[1] != body:
            raise RuntimeError("nginx does not answer the same bytes")
        ours_url = f"http://{HOST}:{api_port}{path}"
        nginx_url = f"http://{HOST}:{nginx_port}/summary.json"
        ours_tag, nginx_tag = etag_of(api_port, path), etag_of(nginx_port, "/summary.json")

        # Reference: uvicorn's floor, a bare ASGI callable answering the same bytes.
        bare_port = free_port(HOST)
        bare_argv = [
            PYTHON, "-m", "uvicorn", "bench._bare_asgi:app", "--host", HOST,
            "--port", str(bare_port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning", "--no-server-header", "--lifespan", "off",
        ]  # fmt: skip
        bare_env = service_env(
            data_dir, BENCH_BODY_FILE=str(data_dir / "nginx" / "www" / "summary.json")
        )
        bare = start(bare_argv, data_dir / "bare.log", bare_env)
        cleanup.processes.append(bare)
        wait_ready(HOST, bare_port, process=bare, path="/summary.json", timeout=30)
        bare_url = f"http://{HOST}:{bare_port}/summary.json"

        script = data_dir / "status.lua"
        script.write_text(WRK_SCRIPT)
        results: dict[str, Wrk] = {}
        peak = 0
        plan: tuple[tuple[str, str, int, list[str], int | None], ...] = (
            ("nginx 200", nginx_url, 200, [], None),
            ("bare ASGI 200", bare_url, 200, [], None),
            ("ours 200", ours_url, 200, [], api.pid),
            ("nginx 304", nginx_url, 304, [f"If-None-Match: {nginx_tag}"], None),
            ("ours 304", ours_url, 304, [f"If-None-Match: {ours_tag}"], api.pid),
        )
        for label, url, expected, headers, pid in plan:
            print(f"{label}: warm-up {WARMUP_SECONDS} s, then {args.duration} s ...", flush=True)
            run_wrk(wrk, script, url, expected, headers, args.connections, WARMUP_SECONDS)
            if pid is None:
                results[label] = run_wrk(
                    wrk, script, url, expected, headers, args.connections, args.duration
                )
            else:
                with RssSampler(pid) as sampler:
                    results[label] = run_wrk(
                        wrk, script, url, expected, headers, args.connections, args.duration
                    )
                peak = max(peak, sampler.peak_bytes)
        hwm = high_water_mark(api.pid)
        for reference in (nginx, bare):
            stop(reference)
            cleanup.processes.remove(reference)

        second_port = free_port(HOST)
        second = start(
            [STATUSPAGE, "api", "--host", HOST, "--port", str(second_port)],
            data_dir / "api2.log",
            env,
        )
        cleanup.processes.append(second)
        wait_ready(HOST, second_port, process=second)
        http_get(HOST, second_port, path)
        print(f"freshness: {args.writes} writes through the first process ...", flush=True)
        delays = sorted(freshness(api_port, second_port, page_id, key, ids[20], args.writes))
        findings = log_findings(api_log) + log_findings(data_dir / "api2.log")

    n200, o200, n304, o304 = (
        results[k] for k in ("nginx 200", "ours 200", "nginx 304", "ours 304")
    )
    ratio200, ratio304 = o200.rps / n200.rps, o304.rps / n304.rps
    bare200 = results["bare ASGI 200"]
    p99 = percentile(delays, 0.99)
    rss_mib = peak / MIB
    print()
    print(
        f"code: {code_state()}; summary.json {len(body):,} bytes; wrk -t1 -c{args.connections} -d{args.duration}s"
    )
    for label, result in results.items():
        print(describe(label, result))
    print(
        f"ratio ours/nginx, 200: {ratio200:.3f} (target >= {RATIO_TARGET}) {'PASS' if ratio200 >= RATIO_TARGET else 'FAIL'}"
    )
    print(
        f"ratio ours/nginx, 304: {ratio304:.3f} (target >= {RATIO_TARGET}) {'PASS' if ratio304 >= RATIO_TARGET else 'FAIL'}"
    )
    print(
        f"ratio ours/bare ASGI (uvicorn's floor), 200: {o200.rps / bare200.rps:.3f}; "
        f"bare ASGI/nginx: {bare200.rps / n200.rps:.3f}"
    )
    print(
        f"p99 latency ours/nginx: 200 {o200.p99_ms / n200.p99_ms:.2f}x, 304 {o304.p99_ms / n304.p99_ms:.2f}x"
    )
    print(
        f"peak RSS of the api process under load: {rss_mib:.1f} MiB (kernel VmHWM {(hwm or 0) / MIB:.1f} MiB) "
        f"(target < {RSS_TARGET_MIB:.0f}) {'PASS' if rss_mib < RSS_TARGET_MIB else 'FAIL'}"
    )
    print(
        f"freshness on a second process over {len(delays)} writes: p50 {percentile(delays, 0.5) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms "
        f"(target p99 < {FRESHNESS_TARGET_S:.0f} s) {'PASS' if p99 < FRESHNESS_TARGET_S else 'FAIL'}"
    )
    for finding in findings:
        print(f"api log: {finding}")
    clean = all(r.unexpected == 0 and r.errors == 0 for r in results.values())
    passed = (
        min(ratio200, ratio304) >= RATIO_TARGET
        and rss_mib < RSS_TARGET_MIB
        and p99 < FRESHNESS_TARGET_S
    )
    return 0 if passed and clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
