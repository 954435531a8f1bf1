"""What the fault drills (bench/drill_*.py) and the mixed load (bench/mixed_load.py) share.

- `RedisServer`: a redis-server of the drill's own on a free port (no persistence), which a drill
  may stop and start again on the same port without disturbing anyone else.
- `ScratchDatabase`: a fresh database on the machine's PostgreSQL (127.0.0.1:5432, user postgres,
  trust), dropped at the end.
- `OwnPostgres`: a PostgreSQL server of the drill's own (pgserver's binaries, initdb into a temp
  dir, listening on 127.0.0.1:<free port>), which a drill may stop and start; run as the `pgserver`
  user when we are root, as pgserver itself does.
- `Cluster`: `statuspage api` and `statuspage worker` processes on one database and one Redis.
- `Load`: an asyncio (aiohttp) client that records every request with its answer and spreads them
  over the API processes, leaving out a process whose port refuses connections (as a load balancer
  would after a failed health check).
- `RssSeries`: the RSS of several processes, sampled every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]

from bench._common import (
    STATUSPAGE,
    Cleanup,
    bootstrap,
    free_port,
    percentile,
    pgserver_bin,
    start,
    stop,
    wait_ready,
)
from bench.delivery_fanout import HOST, Database

COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)


def base_env(**extra: str) -> dict[str, str]:
    """Settings every drill uses: no rate limit, quiet logs, local webhook targets allowed, a
    smaller pool (4 processes share the machine's PostgreSQL, whose max_connections is 100)."""
    return {
        "STATUSPAGE_RATE_LIMIT_PER_MINUTE": "0",
        "STATUSPAGE_LOG_LEVEL": "WARNING",
        "STATUSPAGE_OUTBOUND_ALLOW_PRIVATE": "true",
        "STATUSPAGE_PUBLIC_BASE_URL": "http://status.drill",
        "STATUSPAGE_DB_POOL_SIZE": "10",
        "STATUSPAGE_DB_MAX_OVERFLOW": "5",
        **extra,
    }


# Redis ------------------------------------------------------------------------------------------


class RedisServer:
    """redis-server on 127.0.0.1:<free port>, no RDB, no AOF, in the foreground (our child)."""

    def __init__(self, data_dir: Path, cleanup: Cleanup) -> None:
        self.dir = data_dir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(HOST)
        self.cleanup = cleanup
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)]  # fmt: skip
        self.process = start(argv, self.dir / "redis.log", dict(os.environ))
        self.cleanup.processes.append(self.process)
        deadline = time.monotonic() + timeout
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.02)

    def answers(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), "PING"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        return done.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=10)
            self.process = None


# PostgreSQL -------------------------------------------------------------------------------------


class ScratchDatabase(Database):
    """A fresh database on the machine's PostgreSQL; Redis is the drill's own."""

    def __init__(self, data_dir: Path, prefix: str, redis_url: str) -> None:
        super().__init__(data_dir, external=True)
        self.name = f"drill_{prefix}_{os.getpid()}"
        self.redis_url = redis_url

    def env(self, **extra: str) -> dict[str, str]:
        env = super().env(**base_env(**extra))
        env["STATUSPAGE_REDIS_URL"] = self.redis_url
        return env

    def create(self) -> None:
        for statement in (
            f'DROP DATABASE IF EXISTS "{self.name}"',
            f'CREATE DATABASE "{self.name}"',
        ):
            subprocess.run(
                ["psql", "-X", "-q", "-h", HOST, "-U", "postgres", "-d", "postgres", "-c", statement],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip


class OwnPostgres:
    """A PostgreSQL server of our own: initdb into `data_dir/pg`, TCP on 127.0.0.1:<free port>."""

    DATABASE = "statuspage"

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pg"
        self.log = data_dir / "pg.log"
        self.port = free_port(HOST)
        # Run as the unprivileged `pgserver` user when we are root (PostgreSQL refuses root).
        self.user = "pgserver" if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{self.DATABASE}"

    def _run(self, name: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(pgserver_bin(name)), *args],
            capture_output=True, text=True, timeout=timeout, check=False, user=self.user,
            cwd="/tmp", start_new_session=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def init(self) -> None:
        self.pgdata.mkdir(parents=True)
        if self.user is not None:
            import pwd

            entry = pwd.getpwnam(self.user)
            for path in (self.pgdata.parent, self.pgdata):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.log.touch()
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8",
                  "-U", "postgres")  # fmt: skip
        self.start()
        self.sql(f"CREATE DATABASE {self.DATABASE}", database="postgres")

    def start(self) -> None:
        options = f"-h {HOST} -p {self.port} -k {self.pgdata} -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "status", timeout=20)
        except RuntimeError:
            return False
        return True

    def sql(self, statement: str, database: str = DATABASE) -> str:
        return self._run("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", HOST,
                         "-p", str(self.port), "-U", "postgres", "-d", database, "-c",
                         statement).strip()  # fmt: skip


# Our processes ----------------------------------------------------------------------------------


@dataclass
class Cluster:
    """`statuspage api` and `statuspage worker` processes sharing one database and one Redis."""

    data_dir: Path
    env: dict[str, str]
    cleanup: Cleanup
    apis: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)

    def bootstrap(self) -> dict[str, str]:
        """Migrate, then create an organization, a page and a key."""
        self.created = bootstrap(self.data_dir, self.env)
        return self.created

    @property
    def page_id(self) -> str:
        return self.created["page_id"]

    @property
    def api_key(self) -> str:
        return self.created["api_key"]

    def start(self, apis: int, workers: int) -> None:
        for number in range(apis):
            port = free_port(HOST)
            argv = [STATUSPAGE, "api", "--host", HOST, "--port", str(port)]
            process = start(argv, self.data_dir / f"api{number + 1}.log", self.env)
            self.cleanup.processes.append(process)
            self.apis.append(process)
            self.ports.append(port)
        for number in range(workers):
            self.start_worker(self.data_dir / f"worker{number + 1}.log")
        for process, port in zip(self.apis, self.ports, strict=True):
            wait_ready(HOST, port, process=process, timeout=90)

    def start_worker(self, log: Path) -> subprocess.Popen[bytes]:
        process = start([STATUSPAGE, "worker"], log, self.env)
        self.cleanup.processes.append(process)
        self.workers.append(process)
        return process

    def logs(self) -> list[Path]:
        return sorted(self.data_dir.glob("api*.log")) + sorted(self.data_dir.glob("worker*.log"))


def start_receiver(data_dir: Path, env: dict[str, str], cleanup: Cleanup) -> int:
    """bench/delivery_fanout.py's aiohttp webhook receiver, in a process of its own."""
    from bench import delivery_fanout
    from bench._common import PYTHON

    port = free_port(HOST)
    argv = [PYTHON, delivery_fanout.__file__, "--receiver", str(port)]
    process = start(argv, data_dir / "receiver.log", env)
    cleanup.processes.append(process)
    wait_ready(HOST, port, process=process, path="/stats", timeout=30)
    return port


# The load client --------------------------------------------------------------------------------


@dataclass
class Answer:
    route: str
    port: int
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    sent: float  # time.time()
    done: float
    body: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500


class Load:
    """An aiohttp client over several API processes, every answer recorded."""

    def __init__(
        self, ports: Sequence[int], api_key: str, *, failover: bool = True, timeout: float = 15.0
    ) -> None:
        self.ports = list(ports)
        self.api_key = api_key
        self.failover = failover
        self.timeout = timeout
        self.down: set[int] = set()
        self.answers: list[Answer] = []
        self._turn = itertools.count()
        self._session: Any = None

    async def __aenter__(self) -> Load:
        import aiohttp

        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=0),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    def pick(self) -> int:
        live = [port for port in self.ports if port not in self.down] or self.ports
        return live[next(self._turn) % len(live)]

    async def call(
        self,
        route: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        port: int | None = None,
        auth: bool = True,
        record: bool = True,
    ) -> Answer:
        import aiohttp

        port = port or self.pick()
        headers = {"Authorization": f"OAuth {self.api_key}"} if auth else {}
        sent = time.time()
        try:
            async with self._session.request(
                method, f"http://{HOST}:{port}{path}", json=body, headers=headers
            ) as response:
                raw = await response.read()
                parsed: Any = None
                if raw and response.content_type == "application/json":
                    with contextlib.suppress(ValueError):
                        parsed = await response.json(content_type=None)
                answer = Answer(route, port, response.status, sent, time.time(), parsed)
        except aiohttp.ClientConnectorError as error:
            # Nothing listens: a load balancer would take the process out of rotation.
            if self.failover:
                self.down.add(port)
            answer = Answer(route, port, 0, sent, time.time(), error=type(error).__name__)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            answer = Answer(route, port, 0, sent, time.time(), error=type(error).__name__)
        if record:
            self.answers.append(answer)
        return answer


def route_table(answers: Sequence[Answer]) -> list[str]:
    """One line per route: requests, 2xx, other 4xx, failures, p50/p99/max latency."""
    by_route: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_route[answer.route].append(answer)
    lines = []
    for route, group in sorted(by_route.items()):
        latencies = sorted((a.done - a.sent) * 1000 for a in group)
        ok = sum(a.ok for a in group)
        failed = sum(a.failed for a in group)
        lines.append(
            f"  {route:<28} {len(group):>7} requests, {ok:>7} 2xx, {len(group) - ok - failed:>4} "
            f"other, {failed:>4} failed; p50 {percentile(latencies, 0.5):7.1f} ms, "
            f"p99 {percentile(latencies, 0.99):7.1f} ms, max {latencies[-1]:8.1f} ms"
        )
    return lines


def error_kinds(answers: Sequence[Answer]) -> str:
    kinds: dict[str, int] = defaultdict(int)
    for answer in answers:
        if answer.failed:
            kinds[answer.error or f"HTTP {answer.status}"] += 1
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(kinds.items())) or "none"


# Memory -----------------------------------------------------------------------------------------


class RssSeries:
    """(seconds since start, RSS bytes) of each named process, every `interval` seconds."""

    def __init__(self, pids: dict[str, int], interval: float = 1.0) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval = interval
        self.samples: dict[str, list[tuple[float, int]]] = {name: [] for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-series", daemon=True)
        self._begin = time.monotonic()

    def __enter__(self) -> RssSeries:
        self._begin = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic() - self._begin
            for name, process in self.processes.items():
                with contextlib.suppress(psutil.Error):
                    self.samples[name].append((now, process.memory_info().rss))
            self._stop.wait(self.interval)

    def window_mean(self, name: str, begin: float, end: float) -> float:
        values = [rss for at, rss in self.samples[name] if begin <= at <= end]
        return sum(values) / len(values) if values else float("nan")


async def sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
