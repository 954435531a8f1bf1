"""The fast path of POST /v1/pages/{page_id}/metrics/data, the request monitoring tools send in bulk
all day (app/core/lanes.py says what a lane is: it answers exactly as the route would, or hands the
request to the route before it has changed anything).

Ahead of FastAPI's routing, body parsing and dependency resolution, which cost several times the
database work here: one orjson parse and the same point
rules (app/metrics/points.py), the API key from the process's key cache, the rate limit, then one
autocommitted statement on a pooled asyncpg connection that checks the page and its metrics and
stores every point or none (app/metrics/store.py). What it does not handle goes to the route: a body
that is not JSON, or has a bad point; a key sent in the query string, not in the key cache, tied to
a user or read-only; an idempotency key; a database error. An unknown or non-Self metric is answered
here, with the route's message: the rate limit has counted the request by then.
"""

from __future__ import annotations

import time

import asyncpg
import orjson
from asyncpg import Connection
from starlette.responses import Response

from app.core.errors import APIError, NotFound, error_response
from app.core.lanes import (
    DATABASE_ERRORS,
    LaneRequest,
    LaneRoute,
    RouteLane,
    caller_of,
    rate_limit,
)
from app.metrics import store
from app.metrics.points import Batch, read_bulk_json
from app.metrics.service import refuse_missing


class BulkDataLane(RouteLane):
    route = LaneRoute("/v1/pages/{page_id}/metrics/data")
    methods = frozenset({"POST"})

    async def answer(self, request: LaneRequest) -> Response | None:
        writer = caller_of(request.scope)
        if writer is None or writer.form:
            return None
        checked = read_bulk_json(request.body, time.time())
        if checked is None:
            return None
        headers, refused = await rate_limit(writer)
        if refused is not None:
            return refused
        page_id = request.params["page_id"]
        organization_id = writer.principal.organization_id
        batch = Batch.of(checked)
        async with writer.infra.db.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pg: Connection = raw.driver_connection
            try:
                found = await store.ingest_autocommit(pg, page_id, organization_id, batch)
                if not found and not await store.page_of_organization(pg, page_id, organization_id):
                    return error_response(404, NotFound().message, headers)
            except asyncpg.PostgresError:
                # The statement failed whole: the route meets the same trouble and explains it
                # (the rate limit counts the request twice then).
                return None
            except DATABASE_ERRORS:
                # Stored or not, the route's statement stores the same points again (idempotent).
                await connection.invalidate()
                return None
        try:
            refuse_missing(checked, found)
        except APIError as refused_metric:
            extra = {**headers, **refused_metric.headers}
            return error_response(refused_metric.status_code, refused_metric.message, extra)
        echo = {
            metric_id: [{"timestamp": slot, "value": value} for slot, value in points]
            for metric_id, points in checked.items()
        }
        return Response(orjson.dumps(echo), 202, headers, media_type="application/json")
