"""The fast path at the HTTP layer: uvicorn's httptools protocol, answering a GET or HEAD for a
current public snapshot from the parser's headers-complete callback. It also caps the size of a
request's head (request line and headers), which httptools leaves unbounded: 431 past the cap.

A snapshot hit then costs one dictionary lookup and one transport write: no ASGI scope, no task,
no per-header validation (the snapshot's headers were built by us once per revision). Anything
else, or any doubt (a percent-encoded path, a request pipelined behind one still in flight, an
upgrade), goes to uvicorn's own handling and so to the app, whose ASGI fast path answers the same
documents the same way."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

# Request line plus headers; a browser's with many cookies stays far below.
MAX_HEAD_BYTES = 64 * 1024
_TOO_LARGE_BODY = (
    b'{"message":"Request header fields too large","error":"Request header fields too large"}'
)
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


class HeadTooLarge(Exception):
    """Raised in a parser callback: httptools stops and uvicorn calls send_400_response."""


if TYPE_CHECKING:
    from app.public.asgi import StatusPageApp
    from app.public.readpath import PublicReadPath


def snapshot_protocol(app: StatusPageApp) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's `http` setting, bound to the app whose snapshots it serves."""

    class SnapshotHttpProtocol(HttpToolsProtocol):
        answered = False  # the request being parsed was answered here
        head_bytes = 0
        head_too_large = False

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_bytes = 0

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self.head_bytes += size
            if self.head_bytes > MAX_HEAD_BYTES:
                self.head_too_large = True
                raise HeadTooLarge

        def send_400_response(self, msg: str) -> None:
            if not self.head_too_large:
                super().send_400_response(msg)
                return
            self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()

        def on_headers_complete(self) -> None:
            read_path = app.read_path
            self.answered = read_path is not None and self._answer(read_path)
            if not self.answered:
                super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self.answered:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self.answered:
                super().on_message_complete()

        def _answer(self, read_path: PublicReadPath) -> bool:
            method = self.parser.get_method()
            if method != b"GET" and method != b"HEAD":
                return False
            if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
                return False  # answers leave in request order: uvicorn queues this one
            if self.parser.should_upgrade():
                return False
            path = self.url.partition(b"?")[0]
            if not path.startswith(b"/") or b"%" in path:
                return False
            hit = read_path.lookup({"path": path.decode("ascii"), "headers": self.headers})
            if hit is None:
                return False
            snapshot, if_none_match = hit
            read_path.fast_hits += 1
            read_path.protocol_hits += 1
            if if_none_match is not None and snapshot.matches(if_none_match):
                status, headers, body = 304, snapshot.not_modified_headers, b""
            else:
                status, headers = 200, snapshot.headers
                body = (snapshot.body or b"") if method == b"GET" else b""
            keep_alive = self.parser.get_http_version() == "1.1" and self.parser.should_keep_alive()
            content = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                content += (name, b": ", value, b"\r\n")
            for name, value in headers:
                content += (name, b": ", value, b"\r\n")
            if not keep_alive:
                content.append(b"connection: close\r\n")
            content += (b"\r\n", body)
            self.transport.write(b"".join(content))
            self.server_state.total_requests += 1
            if keep_alive:
                # As uvicorn does after a response: the idle connection closes after a while.
                self.timeout_keep_alive_task = self.loop.call_later(
                    self.timeout_keep_alive, self.timeout_keep_alive_handler
                )
            else:
                self.transport.close()
            return True

    return SnapshotHttpProtocol
