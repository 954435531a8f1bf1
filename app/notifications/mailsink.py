"""A local SMTP server for `statuspage serve` without STATUSPAGE_SMTP_HOST: every message is written
as an .eml file under the data directory, so a new user can read what would have been sent."""

from __future__ import annotations

import logging
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

logger = logging.getLogger(__name__)


class _WriteEml:
    def __init__(self, directory: Path):
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        # The server runs on a thread and loop of its own: a short blocking write is harmless.
        (self.directory / name).write_bytes(data)
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class MailSink:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int | None = None):
        self.directory = directory
        self.host = host
        self.port = port or _free_port(host)
        self._controller: Controller | None = None

    def start(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(
            _WriteEml(self.directory), hostname=self.host, port=self.port, data_size_limit=10 << 20
        )
        self._controller.start()
        logger.info(
            "mail sink: messages are written under %s", self.directory,
            extra={"smtp": f"{self.host}:{self.port}"},
        )  # fmt: skip
        return self.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
