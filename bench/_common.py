"""Helpers shared by the benchmark scripts: ports, readiness polling, process start/stop, cleanup.

Every service a benchmark starts runs in a session (process group) of its own, with its output sent to
a log file, so that it can be stopped as a whole and so that Ctrl-C in the terminal reaches only the
benchmark, whose `finally` blocks then stop everything. The embedded PostgreSQL (started through
`pg_ctl`) and Redis detach into sessions of their own, so they are found again by their data
directory, which appears on their command lines.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev dependencies

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STATUSPAGE = str(Path(PYTHON).with_name("statuspage"))
# Variables that would make `statuspage` use external servers instead of the embedded ones.
_EXTERNAL_URLS = ("STATUSPAGE_DATABASE_URL", "STATUSPAGE_REDIS_URL")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the usual bind-to-0 trick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def http_get(
    host: str, port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, bytes]:
    """One GET on a fresh connection; answers (status, body). Raises OSError when nothing listens."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_ready(
    host: str,
    port: int,
    *,
    process: subprocess.Popen[bytes] | None = None,
    path: str = "/readyz",
    timeout: float = 60.0,
    interval: float = 0.02,
) -> float:
    """Poll GET `path` every `interval` seconds until it answers 200; answer the time waited.

    Bounded by `timeout`; fails early when `process` exits first."""
    start = time.perf_counter()
    deadline = start + timeout
    last = "no answer yet"
    while True:
        try:
            status, _ = http_get(host, port, path, timeout=min(2.0, timeout))
            if status == 200:
                return time.perf_counter() - start
            last = f"HTTP {status}"
        except OSError as error:
            last = f"{type(error).__name__}: {error}"
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process {process.pid} exited with {process.returncode} ({last})")
        if time.perf_counter() > deadline:
            raise TimeoutError(
                f"http://{host}:{port}{path} not ready after {timeout:.0f} s ({last})"
            )
        time.sleep(interval)


def service_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a `statuspage` command using embedded servers under `data_dir`."""
    env = {key: value for key, value in os.environ.items() if key not in _EXTERNAL_URLS}
    env["STATUSPAGE_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def start(argv: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `argv` in a session of its own, stdout and stderr appended to `log`."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            list(argv),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@dataclass
class Stopped:
    returncode: int | None
    seconds: float
    killed: bool


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> Stopped:
    """SIGTERM the process itself and wait for it; SIGKILL its whole group if it does not exit."""
    begin = time.perf_counter()
    killed = False
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
    # Whatever is left in its group (it led the group, whose id stays taken while members live).
    if _group_members(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return Stopped(process.returncode, time.perf_counter() - begin, killed)


def _group_members(pgid: int) -> list[int]:
    members = []
    for pid in psutil.pids():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pgid:
                members.append(pid)
    return members


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Processes whose command line names `data_dir` (embedded PostgreSQL and Redis), and their
    children (PostgreSQL's backends rename themselves and no longer show the directory)."""
    needle = str(data_dir.resolve())
    me = psutil.Process()
    # Never this process or its ancestors (a wrapper such as `timeout` may name the directory).
    exempt = {me.pid, *(parent.pid for parent in me.parents())}
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.pid in exempt or needle not in cmdline:
                continue
            found[proc.pid] = proc
            for child in proc.children(recursive=True):
                found[child.pid] = child
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return list(found.values())


def describe(processes: Sequence[psutil.Process]) -> str:
    parts = []
    for proc in processes:
        try:
            parts.append(f"{proc.pid} {' '.join(proc.cmdline())[:100]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            parts.append(f"{proc.pid} (gone)")
    return "; ".join(parts)


def kill_leftovers(data_dir: Path, timeout: float = 10.0) -> list[str]:
    """Stop whatever still runs on `data_dir`; answer a description of what was found."""
    leftovers = processes_of(data_dir)
    if not leftovers:
        return []
    found = [describe([proc]) for proc in leftovers]
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            # SIGINT is PostgreSQL's "fast" shutdown; everything else gets SIGTERM.
            proc.send_signal(signal.SIGINT if proc.name() == "postgres" else signal.SIGTERM)
    _, alive = psutil.wait_procs(leftovers, timeout=timeout)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return found


def make_data_dir(prefix: str) -> Path:
    """A fresh, short path (Unix socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp")).resolve()


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)


def log_findings(log: Path, limit: int = 5) -> list[str]:
    """Lines of a service log that look like trouble (tracebacks, error or warning records)."""
    if not log.exists():
        return []
    markers = ("Traceback", '"level":"error"', '"level":"warning"', '"level":"critical"', "Error:")
    hits = [
        line.strip()
        for line in log.read_text(errors="replace").splitlines()
        if any(marker in line for marker in markers)
    ]
    return [hit[:240] for hit in hits[:limit]]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Cleanup:
    """Processes and directories to release on the way out, whatever happens."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    data_dirs: list[Path] = field(default_factory=list)
    keep_data: bool = False

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process, timeout=15)
        for data_dir in self.data_dirs:
            found = kill_leftovers(data_dir)
            if found:
                print(f"cleanup: stopped leftover processes: {'; '.join(found)}", file=sys.stderr)
            if self.keep_data:
                print(f"cleanup: kept data and logs in {data_dir}", file=sys.stderr)
            else:
                remove_data_dir(data_dir)


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def cleanup_on_exit(keep_data: bool = False) -> Iterator[Cleanup]:
    """SIGTERM and SIGHUP become SystemExit, so the cleanup below runs on them too."""
    previous = {sig: signal.signal(sig, _raise_exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    cleanup = Cleanup(keep_data=keep_data)
    try:
        yield cleanup
    finally:
        try:
            cleanup.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def pgserver_bin(name: str) -> Path:
    """A program of the PostgreSQL build that pgserver ships (found without importing pgserver)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise RuntimeError("pgserver is not installed in this environment")
    return Path(spec.origin).parent / "pginstall" / "bin" / name


@dataclass(frozen=True)
class Postgres:
    """The embedded server, reached as user postgres (trust) on its Unix socket."""

    socket_dir: str
    port: str
    log: Path

    @classmethod
    def of(cls, data_dir: Path) -> Postgres:
        pg_dir = data_dir / "postgres"
        lines = (pg_dir / "postmaster.pid").read_text().splitlines()
        # postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shm, status.
        return cls(
            socket_dir=lines[4].strip() or str(pg_dir), port=lines[3].strip(), log=pg_dir / "log"
        )

    def conninfo(self) -> list[str]:
        return ["-h", self.socket_dir, "-p", self.port, "-U", "postgres", "-d", "statuspage"]

    def sql(self, statement: str) -> str:
        completed = subprocess.run(
            [str(pgserver_bin("psql")), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             *self.conninfo(), "-c", statement],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise RuntimeError(
                f"psql failed ({completed.returncode}) on {statement!r}: {completed.stderr}"
            )
        return completed.stdout.strip()

    def problems(self, limit: int = 5) -> list[str]:
        """ERROR, FATAL and PANIC lines of the server log (whatever the server logged so far)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError as error:
            return [f"(could not read {self.log}: {error})"]
        hits = [line for line in text.splitlines() if re.search(r"\b(ERROR|FATAL|PANIC):", line)]
        return [hit[:240] for hit in hits[:limit]] + (
            [f"... {len(hits) - limit} more"] if len(hits) > limit else []
        )


def api_call(
    port: int,
    method: str,
    path: str,
    api_key: str,
    body: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
) -> tuple[int, Any]:
    """One request on a fresh connection; answers (status, parsed JSON or None)."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": f"OAuth {api_key}"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    return response.status, json.loads(raw) if raw else None


def bootstrap(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """`statuspage bootstrap --json` on the data dir: organization_id, page_id and api_key."""
    boot_log = data_dir / "bootstrap.log"
    with boot_log.open("wb") as sink:
        boot = subprocess.run(
            [STATUSPAGE, "bootstrap", "--organization", "Bench", "--page", "Bench", "--json"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
            timeout=120,
            check=False,
            start_new_session=True,
        )
    if boot.returncode != 0:
        raise RuntimeError(f"bootstrap failed ({boot.returncode}); see {boot_log}")
    created = json.loads(boot.stdout)
    return {key: str(created[key]) for key in ("organization_id", "page_id", "api_key")}


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def code_state() -> str:
    """The commit and whether the service's code differs from it (it may change between runs)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "app", "workers", "migrations"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown (git failed)"
    return f"{head}" + (f" + uncommitted changes to {len(dirty)} file(s)" if dirty else "")


def run_wrk_script(
    wrk: str,
    script: Path,
    url: str,
    api_key: str,
    connections: int,
    duration: int,
    script_args: Sequence[str],
) -> dict[str, int]:
    """Run wrk with a Lua script that prints one `BENCH key=value ...` line; answer those fields
    (requests, duration_us, non2xx, p50_us, p99_us, max_us, connect, read, write, timeout, ...)."""
    argv = [
        wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
        "-H", f"Authorization: OAuth {api_key}", "-H", "Content-Type: application/json",
        url, "--", *script_args,
    ]  # fmt: skip
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    match = re.search(r"^BENCH (.*)$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def socket_errors(fields: dict[str, int]) -> int:
    return sum(fields[key] for key in ("connect", "read", "write", "timeout"))
