"""The `statuspage` command: serve, api, worker, migrate, bootstrap, openapi.

This is the composition root, so it is the one place in app/ that may start the worker from workers/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from app.core.config import Settings, get_settings
from app.core.embedded import EmbeddedServers
from app.core.logging import configure_logging

logger = logging.getLogger("statuspage")
T = TypeVar("T")


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    redis_url: str


@contextlib.contextmanager
def infrastructure(settings: Settings, *, need_redis: bool = True) -> Iterator[Endpoints]:
    """The configured servers, or embedded ones under the data directory for what is unset.
    Embedded servers this process started are stopped on the way out."""
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database_url),
            ("REDIS_URL", settings.redis_url),
        )
        if value is None and (name == "DATABASE_URL" or need_redis)
    ]
    if missing and settings.environment == "production":
        names = ", ".join(f"STATUSPAGE_{name}" for name in missing)
        raise SystemExit(f"in production the embedded servers are off: set {names}")
    embedded = EmbeddedServers(settings.data_dir)
    try:
        embedded.start(
            postgres=settings.database_url is None,
            redis=need_redis and settings.redis_url is None,
        )
        database_url = settings.database_url or (embedded.postgres.url if embedded.postgres else "")
        redis_url = settings.redis_url or (embedded.redis.url if embedded.redis else "")
        yield Endpoints(database_url, redis_url)
    finally:
        embedded.stop()


def _run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop (uvicorn's `loop` setting only applies to Server.run())."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM asks for a clean stop: unwind (stopping embedded servers) and exit 0, so that
    # supervisors such as systemd see a normal exit.
    raise SystemExit(0)


def _uvicorn_server(app: Any, host: str, port: int) -> Any:
    import uvicorn

    from app.public.asgi import StatusPageApp
    from app.public.protocol import snapshot_protocol

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        # Public snapshots are answered in the HTTP protocol itself (see app/public/protocol.py).
        http=snapshot_protocol(app) if isinstance(app, StatusPageApp) else "httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # Long-lived responses (the public SSE stream) end when a shutdown begins: uvicorn waits for
    # open responses before it runs the app's shutdown.
    app.state.server_exiting = lambda: server.should_exit
    # What start-up built lives as long as the process: keep it out of every garbage collection
    # (else every full collection rescans it while requests wait).
    gc.freeze()
    return server


def _migrate(database_url: str) -> None:
    from app.core.migrate import upgrade

    upgrade(database_url)


@contextlib.contextmanager
def _mail(settings: Settings) -> Iterator[Settings]:
    """With no SMTP server configured, `serve` starts a local one that writes each message as an
    .eml file under data_dir/mail, and delivery is pointed at it."""
    if settings.smtp_host is not None:
        yield settings
        return
    from app.notifications.mailsink import MailSink

    sink = MailSink(settings.data_dir.resolve() / "mail")
    port = sink.start()
    try:
        yield settings.model_copy(
            update={"smtp_host": sink.host, "smtp_port": port, "smtp_tls": "off"}
        )
    finally:
        sink.stop()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.main import create_app
    from workers.settings import build_worker

    with infrastructure(settings) as endpoints, _mail(settings) as settings:
        _migrate(endpoints.database_url)
        app = create_app(
            settings, database_url=endpoints.database_url, redis_url=endpoints.redis_url
        )
        server = _uvicorn_server(app, args.host, args.port)

        async def run() -> None:
            # arq binds a worker to the loop that is running when it is built.
            worker = build_worker(
                settings, endpoints.database_url, endpoints.redis_url, handle_signals=False
            )
            worker_task = asyncio.create_task(worker.async_run())
            try:
                await server.serve()
            finally:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
                await worker.close()

        logger.info("serving", extra={"url": f"http://{args.host}:{args.port}"})
        _run(run())
    return 0


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    from app.main import create_app

    with infrastructure(settings) as endpoints:
        app = create_app(
            settings, database_url=endpoints.database_url, redis_url=endpoints.redis_url
        )
        _run(_uvicorn_server(app, args.host, args.port).serve())
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.settings import build_worker

    with infrastructure(settings) as endpoints:

        async def run() -> None:
            worker = build_worker(
                settings, endpoints.database_url, endpoints.redis_url, burst=args.burst
            )
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                # arq answers SIGINT/SIGTERM by cancelling the task it runs in: a requested stop,
                # which ends in the usual shutdown. A cancellation of this task itself goes on.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            finally:
                await worker.close()

        _run(run())
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with infrastructure(settings, need_redis=False) as endpoints:
        _migrate(endpoints.database_url)
    return 0


def cmd_bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    from app.core.db import Database
    from app.organizations.service import bootstrap

    with infrastructure(settings, need_redis=False) as endpoints:
        _migrate(endpoints.database_url)

        async def run() -> dict[str, str]:
            database = Database.connect(endpoints.database_url, settings)
            try:
                async with database.sessionmaker() as session, session.begin():
                    result = await bootstrap(session, args.organization, args.page, args.role)
            finally:
                await database.close()
            return {
                "organization_id": result.organization_id,
                "page_id": result.page_id,
                "api_key": result.api_key,
            }

        created = _run(run())
    if args.json:
        sys.stdout.write(json.dumps(created) + "\n")
    else:
        sys.stdout.write(
            f"organization_id: {created['organization_id']}\n"
            f"page_id:         {created['page_id']}\n"
            f"api_key:         {created['api_key']}  (shown once; store it now)\n\n"
            f'curl -H "Authorization: OAuth {created["api_key"]}" '
            f"{settings.public_base_url}/v1/pages\n"
        )
    return 0


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from app.main import create_app

    document = create_app(settings).openapi()
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    sys.stderr.write(f"wrote {output}\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statuspage", description="Statuspage-compatible status page service"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def listener(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)

    serve = commands.add_parser("serve", help="migrate, then run the API and the worker")
    listener(serve)
    serve.set_defaults(handler=cmd_serve)
    api = commands.add_parser("api", help="run the API only")
    listener(api)
    api.set_defaults(handler=cmd_api)
    worker = commands.add_parser("worker", help="run the worker only")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(handler=cmd_worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        handler=cmd_migrate
    )
    boot = commands.add_parser("bootstrap", help="create an organization, a page and an API key")
    boot.add_argument("--organization", required=True)
    boot.add_argument("--page", required=True)
    boot.add_argument("--role", choices=["write", "read"], default="write")
    boot.add_argument("--json", action="store_true", help="print one JSON object only")
    boot.set_defaults(handler=cmd_bootstrap)
    spec = commands.add_parser("openapi", help="write the OpenAPI document")
    spec.add_argument("--output", default="openapi/openapi.json")
    spec.set_defaults(handler=cmd_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result: int = args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
