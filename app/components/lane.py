"""The write lane for PATCH/PUT /v1/pages/{page_id}/components/{component_id} with a body that only
sets the status, the request monitoring tools send all day (app/core/lanes.py says what a lane is).

Two round trips on the asyncpg connection under the SQLAlchemy pool: one read (the component, its
page's organization, the other statuses that the page indicator and the group's status follow) and
one autocommitted statement that changes the status only if it is still the one read, writing the
history row, the outbox event, the group's derived status and the page revision together, in the
order the ORM path takes those locks (component, group, page), the page row last of all: the
whole page's writers queue on it until this commit is flushed. What the lane does not handle
(another body, a key not in the process's key cache, a user-tied or read-only key, an idempotency
key, a group, an unknown component, a status that keeps changing under it) goes to the route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from asyncpg import Connection, Record
from starlette.responses import Response

from app.components import service
from app.components.rollup import page_status, worst_status
from app.components.schemas import Component
from app.core.bodies import parse_urlencoded
from app.core.errors import BadRequest, error_response
from app.core.ids import new_id
from app.core.lanes import (
    DATABASE_ERRORS,
    LaneCaller,
    LaneRequest,
    LaneRoute,
    RouteLane,
    caller_of,
    rate_limit,
)
from app.core.timefmt import utcnow
from app.models import Component as ComponentRow
from app.models.component import COMPONENT_STATUSES

_STATUSES = frozenset(COMPONENT_STATUSES)
_ATTEMPTS = 3  # reads and writes before the route takes over a component changing under us

_READ = """
SELECT c.id, c.page_id, c.group_id, c.created_at, c.updated_at, c.is_group, c.name,
       c.description, c.position, c.status, c.showcase, c.only_show_if_degraded,
       c.automation_email, c.start_date,
       ARRAY(SELECT o.status FROM components o
             WHERE o.page_id = c.page_id AND NOT o.is_group AND o.id <> c.id) AS other_leaves,
       ARRAY(SELECT coalesce(i.impact_override, i.impact) FROM incidents i
             WHERE i.page_id = c.page_id AND NOT i.is_maintenance AND NOT i.backfilled
               AND i.status <> 'resolved') AS impacts,
       g.status AS group_status,
       ARRAY(SELECT s.status FROM components s
             WHERE s.group_id = c.group_id AND s.id <> c.id) AS siblings
FROM components c
JOIN pages p ON p.id = c.page_id
LEFT JOIN components g ON g.id = c.group_id
WHERE c.id = $1 AND p.id = $2 AND p.organization_id = $3
"""

# $1 new status, $2 now, $3 component, $4 status read, $5 history id, $6 page, $7 actor,
# $8 event kind, $9 payload, $10 group's new status (NULL: unchanged), $11 group.
_WRITE = """
WITH changed AS (
    UPDATE components SET status = $1, updated_at = $2
    WHERE id = $3 AND status = $4 RETURNING id
), history AS (
    INSERT INTO component_status_changes
        (id, component_id, page_id, old_status, new_status, at, source, actor, incident_id)
    SELECT $5, id, $6, $4, $1, $2, 'api', $7, NULL FROM changed
    RETURNING 1
), event AS (
    INSERT INTO outbox_events (page_id, kind, payload, created_at, attempts)
    SELECT $6, $8, $9::text::jsonb, $2, 0 FROM changed
    RETURNING 1
), grp AS (
    UPDATE components SET status = $10, updated_at = $2
    WHERE id = $11 AND $10::varchar IS NOT NULL AND status <> $10
      AND EXISTS (SELECT FROM changed)
    RETURNING id
), bump AS (
    UPDATE pages SET revision = revision + 1
    WHERE id = $6 AND EXISTS (SELECT FROM changed)
      AND (SELECT count(*) FROM history) + (SELECT count(*) FROM event)
          + (SELECT count(*) FROM grp) >= 0
    RETURNING revision
)
SELECT revision FROM bump
"""


def _status_only(body: bytes, form: bool) -> str | None:
    """The status of a body that is exactly {"component": {"status": <a status>}}: JSON, or
    `component[status]=<a status>` form-encoded (read as the route reads it: a form-typed body that
    looks like JSON is JSON, as curl sends it)."""
    data: Any
    if form and not body.lstrip().startswith((b"{", b"[")):
        try:
            data = parse_urlencoded(body)
        except BadRequest:
            return None
    else:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(data, dict) or len(data) != 1:
        return None
    fields = data.get("component")
    if not isinstance(fields, dict) or len(fields) != 1:
        return None
    status = fields.get("status")
    return status if isinstance(status, str) and status in _STATUSES else None


def _row(record: Record, status: str, updated_at: datetime) -> ComponentRow:
    """A transient ORM row (never added to a session) for the route's serializers."""
    return ComponentRow(
        id=record["id"],
        page_id=record["page_id"],
        group_id=record["group_id"],
        created_at=record["created_at"],
        updated_at=updated_at,
        is_group=record["is_group"],
        name=record["name"],
        description=record["description"],
        position=record["position"],
        status=status,
        showcase=record["showcase"],
        only_show_if_degraded=record["only_show_if_degraded"],
        automation_email=record["automation_email"],
        start_date=record["start_date"],
    )


class _WriteFailed(Exception):
    """The write statement failed: whether it committed is unknown to us."""


class ComponentStatusLane(RouteLane):
    route = LaneRoute("/v1/pages/{page_id}/components/{component_id}")
    methods = frozenset({"PATCH", "PUT"})

    async def answer(self, request: LaneRequest) -> Response | None:
        writer = caller_of(request.scope)
        if writer is None:
            return None
        status = _status_only(request.body, writer.form)
        if status is None:
            return None
        page_id, component_id = request.params["page_id"], request.params["component_id"]
        async with writer.infra.db.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pg: Connection = raw.driver_connection
            try:
                return await self._answer(writer, pg, page_id, component_id, status)
            except _WriteFailed:
                await connection.invalidate()
                return error_response(503, "The database is unavailable; nothing was changed")
            except DATABASE_ERRORS:
                # Nothing was changed yet: the route meets the same trouble and explains it.
                await connection.invalidate()
                return None

    async def _answer(
        self, writer: LaneCaller, pg: Connection, page_id: str, component_id: str, status: str
    ) -> Response | None:
        organization_id = writer.principal.organization_id
        record = await pg.fetchrow(_READ, component_id, page_id, organization_id)
        if record is None or record["is_group"]:
            return None  # the route explains (404, 422)
        headers, refused = await rate_limit(writer)
        if refused is not None:
            return refused
        for _ in range(_ATTEMPTS):
            row = await self._change(writer, pg, record, status)
            if row is not None:
                body = Component.of(row).model_dump_json().encode()
                return Response(body, media_type="application/json", headers=headers)
            record = await pg.fetchrow(_READ, component_id, page_id, organization_id)
            if record is None or record["is_group"]:
                break
        return None  # deleted, or changing under us all along: the route locks and decides

    async def _change(
        self, writer: LaneCaller, pg: Connection, record: Record, status: str
    ) -> ComponentRow | None:
        """The component after the change (None when its status moved since it was read)."""
        old_status: str = record["status"]
        if old_status == status:
            return _row(record, status, record["updated_at"])  # nothing to change or tell
        now = utcnow()
        row = _row(record, status, now)
        indicator, description = page_status([*record["other_leaves"], status], record["impacts"])
        group_status = None
        if record["group_id"] is not None and record["group_status"] is not None:
            derived = worst_status([*record["siblings"], status])
            group_status = derived if derived != record["group_status"] else None
        change_id = new_id()
        payload = service.component_update_payload(
            row, old_status, change_id, now, indicator, description
        )
        try:
            revision = await pg.fetchval(
                _WRITE,
                status,
                now,
                row.id,
                old_status,
                change_id,
                row.page_id,
                f"api_key:{writer.principal.api_key_id}",
                service.COMPONENT_UPDATE_EVENT,
                orjson.dumps(payload).decode(),
                group_status,
                record["group_id"],
            )
        except DATABASE_ERRORS as exc:
            raise _WriteFailed from exc
        if revision is None:
            return None
        writer.infra.notifier.page_changed(row.page_id, revision)
        writer.infra.notifier.outbox_pending()
        return row
