"""The arq worker: infrastructure built once in on_startup, thin jobs over app code, cron sweeps.

`statuspage worker` builds it through build_worker(); `arq workers.settings.WorkerSettings` works too
when STATUSPAGE_DATABASE_URL and STATUSPAGE_REDIS_URL are set.
"""

from __future__ import annotations

import logging
from typing import Any

from arq.worker import Worker

from app.audiences import signin
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.queue import Queue, cron, redis_settings
from app.notifications.channels.base import Outbound
from app.notifications.delivery import Deliverer
from workers import jobs
from workers.resilience import RedisTolerantWorker

logger = logging.getLogger(__name__)

FUNCTIONS = [
    jobs.relay_outbox,
    jobs.incident_scheduler,
    jobs.purge_metric_points,
    jobs.fold_metric_rollups,
    jobs.deliver_pending,
    jobs.sweep_deliveries,
    jobs.purge_quarantined,
]
INCIDENT_SCHEDULER_SECONDS = set(range(0, 60, 15))
PURGE_METRIC_POINTS = cron(jobs.purge_metric_points, minute=17, second=0, run_at_startup=False)
# Every 2 s, not every second: arq queues a cron job up to a second ahead, and a burst worker stops
# only once its queue is empty.
FOLD_METRIC_ROLLUPS = cron(jobs.fold_metric_rollups, second=set(range(0, 60, 2)))
PURGE_QUARANTINED = cron(jobs.purge_quarantined, minute=23, second=0, run_at_startup=False)


def _every(seconds: int) -> set[int]:
    step = max(1, min(seconds, 60))
    return set(range(0, 60, step))


def _lifecycle(settings: Settings, database_url: str) -> tuple[Any, Any]:
    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["db"] = Database.connect(database_url, settings, pre_ping=True)
        # One HTTP client per process for every delivery: aiohttp (measured ~10x httpx here).
        outbound = Outbound(settings)
        ctx["http"] = outbound.http
        ctx["deliverer"] = Deliverer(settings, ctx["db"], outbound, Queue(ctx["redis"]))
        signin.configure(settings, ctx["redis"])  # viewers' sign-in links (audience pages)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await ctx["deliverer"].outbound.close()
        await ctx["db"].close()

    return on_startup, on_shutdown


def build_worker(
    settings: Settings,
    database_url: str,
    redis_url: str,
    *,
    burst: bool = False,
    handle_signals: bool = True,
) -> Worker:
    on_startup, on_shutdown = _lifecycle(settings, database_url)
    sweep_every = max(1, min(settings.outbox_sweep_seconds, 60))
    return RedisTolerantWorker(
        functions=FUNCTIONS,
        cron_jobs=[
            cron(jobs.relay_outbox, second=set(range(0, 60, sweep_every))),
            cron(jobs.incident_scheduler, second=INCIDENT_SCHEDULER_SECONDS),
            PURGE_METRIC_POINTS,
            FOLD_METRIC_ROLLUPS,
            cron(jobs.sweep_deliveries, second=_every(settings.delivery_sweep_seconds)),
            PURGE_QUARANTINED,
        ],
        redis_settings=redis_settings(redis_url),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        burst=burst,
        handle_signals=handle_signals,
        max_jobs=20,
        job_timeout=300,
        keep_result=60,
        poll_delay=0.1,  # notifications wait for the next poll: keep it short
    )


class WorkerSettings:
    """For `arq workers.settings.WorkerSettings` with external PostgreSQL and Redis."""

    _settings = get_settings()
    functions = FUNCTIONS
    cron_jobs = [
        cron(jobs.relay_outbox, second={0, 30}),
        cron(jobs.incident_scheduler, second=INCIDENT_SCHEDULER_SECONDS),
        PURGE_METRIC_POINTS,
        FOLD_METRIC_ROLLUPS,
        cron(jobs.sweep_deliveries, second=_every(_settings.delivery_sweep_seconds)),
        PURGE_QUARANTINED,
    ]
    redis_settings = redis_settings(_settings.redis_url or "redis://localhost:6379")
    on_startup, on_shutdown = _lifecycle(_settings, _settings.database_url or "")
