"""One incident to 10,000 email subscribers through a local SMTP server: messages per second.

What is measured: the time from the incident POST returning until the SMTP server (aiosmtpd in a
process of its own, counting messages) has accepted one message per subscriber, and messages per
second over that time; duplicates (recipients that got more than one); the worker's peak RSS.

Baseline, measured in the same run against the same server: a plain aiosmtplib client sending the
same rendered message 2,000 times over STATUSPAGE_SMTP_CONNECTIONS (default 4) connections.

Setup as in bench/delivery_fanout.py (external PostgreSQL/Redis on 127.0.0.1 when they answer,
else embedded; `statuspage api` and one `statuspage worker`; subscribers inserted with SQL).

    .venv/bin/python bench/email_fanout.py [--subscribers 10000] [--keep-data]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    start,
    wait_ready,
)
from bench.delivery_fanout import HOST, Database, PeakRss

RAW_MESSAGES = 2000
CONNECTIONS = 4


def serve_smtp(smtp_port: int, stats_port: int) -> None:
    """aiosmtpd counting messages per recipient, plus an HTTP /stats for the bench."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from aiosmtpd.controller import Controller

    counts: dict[str, int] = {}
    stats: dict[str, Any] = {"count": 0, "first": None, "last": None, "sample": None}

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            now = time.time()
            stats["count"] += 1
            stats["first"] = stats["first"] or now
            stats["last"] = now
            for rcpt in envelope.rcpt_tos:
                counts[rcpt] = counts.get(rcpt, 0) + 1
            if stats["sample"] is None:
                stats["sample"] = envelope.content.decode(errors="replace")
            return "250 OK"

    class Stats(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({**stats, "unique": len(counts)}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            counts.clear()
            stats.update(count=0, first=None, last=None)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    controller = Controller(Handler(), hostname=HOST, port=smtp_port)
    controller.start()
    ThreadingHTTPServer((HOST, stats_port), Stats).serve_forever()


def smtp_stats(port: int) -> dict[str, Any]:
    _, body = http_get(HOST, port, "/", timeout=10)
    result: dict[str, Any] = json.loads(body)
    return result


def raw_rate(smtp_port: int, message: str) -> float:
    import aiosmtplib

    async def share(count: int) -> None:
        client = aiosmtplib.SMTP(hostname=HOST, port=smtp_port, start_tls=False)
        await client.connect()
        for n in range(count):
            await client.sendmail("status@bench", [f"raw{n}@example.com"], message.encode())
        await client.quit()

    async def run() -> float:
        begin = time.perf_counter()
        await asyncio.gather(*(share(RAW_MESSAGES // CONNECTIONS) for _ in range(CONNECTIONS)))
        return RAW_MESSAGES / (time.perf_counter() - begin)

    return asyncio.run(run())


def insert_emails(database: Database, page_id: str, count: int) -> None:
    database.sql(
        f"""
        INSERT INTO subscribers (id, page_id, mode, state, email, skip_confirmation_notification,
            confirm_token, unsubscribe_token, failure_count, created_at, updated_at)
        SELECT 'e' || lpad(n::text, 11, '0'), '{page_id}', 'email', 'active',
               'reader' || n || '@example.com', true, md5('c' || n || random()::text),
               md5('u' || n || random()::text), 0, now() - interval '1 minute', now()
        FROM generate_series(1, {count}) AS n
        """
    )


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--smtp", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smtp:
        serve_smtp(*args.smtp)
        return 0
    count = args.subscribers
    with cleanup_on_exit(keep_data=args.keep_data) as cleanup:
        data_dir = make_data_dir("spbench-email-")
        cleanup.data_dirs.append(data_dir)
        database = Database(data_dir, not args.embedded and _answers(5432) and _answers(6379))
        database.create()
        try:
            smtp_port, stats_port, api_port = free_port(HOST), free_port(HOST), free_port(HOST)
            env = database.env(
                STATUSPAGE_SMTP_HOST=HOST,
                STATUSPAGE_SMTP_PORT=str(smtp_port),
                STATUSPAGE_SMTP_TLS="off",
                STATUSPAGE_SMTP_CONNECTIONS=str(CONNECTIONS),
            )
            created = bootstrap(data_dir, env)
            page_id, api_key = created["page_id"], created["api_key"]
            sink = start(
                [PYTHON, __file__, "--smtp", str(smtp_port), str(stats_port)],
                data_dir / "smtp.log",
                env,
            )
            cleanup.processes.append(sink)
            api = start(
                [STATUSPAGE, "api", "--host", HOST, "--port", str(api_port)],
                data_dir / "api.log",
                env,
            )
            cleanup.processes.append(api)
            worker_log = data_dir / "worker.log"
            worker = start([STATUSPAGE, "worker"], worker_log, env)
            cleanup.processes.append(worker)
            wait_ready(HOST, api_port, process=api, timeout=60)
            wait_ready(HOST, stats_port, process=sink, path="/", timeout=30)
            insert_emails(database, page_id, count)
            time.sleep(3)
            rss = PeakRss(worker.pid)
            status, body = api_call(
                api_port, "POST", f"/v1/pages/{page_id}/incidents", api_key,
                {"incident": {"name": "Bench email", "body": "Mail for everyone"}},
            )  # fmt: skip
            posted = time.time()
            if status != 201:
                print(f"incident POST answered {status}: {body}", file=sys.stderr)
                return 1
            deadline = time.monotonic() + 600
            while (stats := smtp_stats(stats_port))["unique"] < count:
                if worker.poll() is not None or time.monotonic() > deadline:
                    print(f"stopped with {stats['unique']} of {count}", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            elapsed = stats["last"] - posted
            time.sleep(1.0)
            stats = smtp_stats(stats_port)
            peak = rss.stop()
            http_get(HOST, stats_port, "/", timeout=10)
            baseline = raw_rate(smtp_port, stats["sample"] or "Subject: x\r\n\r\nx\r\n")
            rate = count / elapsed
            print(
                f"code: {code_state()}; servers: {'external' if database.external else 'embedded'}"
            )
            print(f"email subscribers: {count}; SMTP connections per batch: {CONNECTIONS}")
            print(f"POST returned -> SMTP server has all {count}: {elapsed:.2f} s")
            print(f"messages per second: {rate:,.0f}")
            print(f"duplicates: {stats['count'] - stats['unique']}")
            print(f"worker peak RSS: {peak / 2**20:.0f} MB")
            print(
                f"raw aiosmtplib, same message, {CONNECTIONS} connections: {baseline:,.0f}/s; "
                f"ratio ours/raw: {rate / baseline:.0%}"
            )
            for line in log_findings(worker_log):
                print(f"worker log: {line}")
            return 0
        finally:
            database.drop()


if __name__ == "__main__":
    raise SystemExit(main())
