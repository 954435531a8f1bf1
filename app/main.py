"""create_app(): lifespan, middleware, exception handlers and routers. No logic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.audiences.groups import router as audience_groups_router
from app.audiences.public import router as audience_signin_router
from app.audiences.router import router as audiences_router
from app.components.lane import ComponentStatusLane
from app.components.router import router as components_router
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.infra import Infrastructure
from app.core.lanes import LaneMiddleware
from app.core.metrics import Metrics
from app.core.middleware import ServiceMiddleware
from app.core.openapi import build_openapi
from app.embed.router import router as embed_router
from app.embed.script import router as embed_script_router
from app.incidents.router import router as incidents_router
from app.metrics.lane import BulkDataLane
from app.metrics.public import router as metrics_display_router
from app.metrics.router import router as metrics_router
from app.notifications.router import router as deliveries_router
from app.ops.router import router as ops_router
from app.organizations.router import router as organizations_router
from app.pages.router import router as pages_router
from app.public.asgi import StatusPageApp
from app.public.router import bare_router as public_bare_router
from app.public.router import router as public_router
from app.subscribers.public import router as subscribers_public_router
from app.subscribers.router import router as subscribers_router


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: StatusPageApp) -> AsyncIterator[None]:
        db_url = database_url or settings.database_url
        r_url = redis_url or settings.redis_url
        if not db_url or not r_url:
            raise RuntimeError(
                "STATUSPAGE_DATABASE_URL and STATUSPAGE_REDIS_URL must be set "
                "(or use `statuspage serve`, which starts embedded servers)"
            )
        app.state.infra = Infrastructure.build(settings, db_url, r_url, metrics)
        app.state.infra.start()
        app.read_path = app.state.infra.public  # the public fast path answers from now on
        try:
            yield
        finally:
            app.read_path = None
            await app.state.infra.close()

    app = StatusPageApp(
        title="Status page service",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    # Inside ServiceMiddleware (added later, so outside): lanes get request ids, limits, metrics.
    app.state.lanes = [ComponentStatusLane(), BulkDataLane()]
    app.add_middleware(LaneMiddleware, lanes=app.state.lanes)
    app.add_middleware(ServiceMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(ops_router)
    app.include_router(pages_router)
    app.include_router(components_router)
    app.include_router(incidents_router)
    app.include_router(metrics_router)
    app.include_router(metrics_display_router)
    app.include_router(audiences_router)
    app.include_router(audience_groups_router)
    app.include_router(embed_router)
    app.include_router(organizations_router)
    app.include_router(public_router)
    app.include_router(public_bare_router)
    app.include_router(audience_signin_router)
    app.include_router(embed_script_router)
    app.include_router(subscribers_router)
    app.include_router(deliveries_router)
    app.include_router(subscribers_public_router)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app
