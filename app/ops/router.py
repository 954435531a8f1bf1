"""Operations: liveness, readiness (database and Redis), Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

import orjson
from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from app.core.infra import Infrastructure
from app.core.routing import EXTENSION

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])
_CHECK_TIMEOUT = 2.0


def _infra(request: Request) -> Infrastructure:
    infra: Infrastructure = request.app.state.infra
    return infra


@router.get(
    "/healthz",
    operation_id="getHealthz",
    summary="Liveness (extension)",
    description="200 while the process is alive; touches nothing else.",
    openapi_extra=EXTENSION,
)
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


async def _check(name: str, probe: asyncio.Future[object] | object) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(probe, _CHECK_TIMEOUT)  # type: ignore[arg-type]
    except Exception as exc:
        return name, f"{type(exc).__name__}: {exc}"[:300]
    return name, None


@router.get(
    "/readyz",
    operation_id="getReadyz",
    responses={503: {"description": "The database or Redis is unavailable"}},
    summary="Readiness (extension)",
    description="200 when the database and Redis answer; 503 naming the one that does not.",
    openapi_extra=EXTENSION,
)
async def readyz(request: Request) -> Response:
    infra = _infra(request)
    results = await asyncio.gather(
        _check("database", infra.db.ping()), _check("redis", infra.redis.ping())
    )
    failing = {name: error for name, error in results if error is not None}
    checks = {name: ("ok" if error is None else "unavailable") for name, error in results}
    if failing:
        names = " and ".join(sorted(failing))
        message = f"Not ready: {names} unavailable"
        body = {"message": message, "error": message, "checks": checks, "details": failing}
        return Response(orjson.dumps(body), status_code=503, media_type="application/json")
    return Response(orjson.dumps({"status": "ok", "checks": checks}), media_type="application/json")


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics (extension)",
    response_class=PlainTextResponse,
    openapi_extra=EXTENSION,
)
async def metrics(request: Request) -> Response:
    infra = _infra(request)
    gauges: list[tuple[str, str, float]] = []
    try:
        depth = await asyncio.wait_for(infra.queue.depth(), _CHECK_TIMEOUT)
        gauges.append(("statuspage_queue_depth", "Jobs waiting in the arq queue.", depth))
    except Exception as exc:
        logger.warning("queue depth unavailable: %s", exc)
    public = infra.public
    if public is not None:
        gauges.append(
            (
                "statuspage_public_snapshot_hits",
                "Public documents answered from memory (since start).",
                public.fast_hits,
            )
        )
        gauges.append(
            (
                "statuspage_public_protocol_hits",
                "Of those, answered by the HTTP protocol itself (no ASGI call).",
                public.protocol_hits,
            )
        )
    return PlainTextResponse(
        infra.metrics.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
