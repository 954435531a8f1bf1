"""Uptime from the status history (Statuspage's ComponentUptime), and per-day rollups for uptime bars.

Days are the page's time zone's days. Time under maintenance is left out of the total; a major outage
counts fully as downtime and a partial outage at 30% (Statuspage's weighting); degraded performance
counts as up.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.rollup import SEVERITY
from app.components.schemas import (
    ComponentGroupUptime,
    ComponentUptime,
    DailyStatus,
    GroupRelatedEvents,
    RelatedEvent,
)
from app.core.errors import Unprocessable
from app.models import Component, ComponentStatusChange

PARTIAL_OUTAGE_WEIGHT = 0.3
DEFAULT_DAYS = 90
MAX_MONTHS = 6
EARLIEST = date(1970, 1, 1)
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_partial_date(value: str, *, name: str, is_end: bool) -> date:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`; a year or month means its first day, or for `end` its last."""
    match = _PARTIAL_DATE.match(value.strip())
    if not match:
        raise Unprocessable(f"{name}: expected YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            parsed = date(year, 12, 31) if is_end else date(year, 1, 1)
        elif day is None:
            first = date(year, month, 1)
            parsed = (_add_months(first, 1) - timedelta(days=1)) if is_end else first
        else:
            parsed = date(year, month, day)
    except ValueError as exc:
        raise Unprocessable(f"{name}: {value!r} is not a date") from exc
    if parsed < EARLIEST:
        raise Unprocessable(f"{name}: the earliest supported date is 1970-01-01")
    return parsed


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    return date(month_index // 12, month_index % 12 + 1, 1)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


@dataclass
class Tally:
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    worst: str | None = None
    incidents: list[str] = field(default_factory=list)

    @property
    def major(self) -> int:
        return round(self.seconds["major_outage"])

    @property
    def partial(self) -> int:
        return round(self.seconds["partial_outage"])

    def exact_percentage(self) -> float:
        measured = sum(self.seconds.values()) - self.seconds["under_maintenance"]
        if measured <= 0:
            return 100.0
        down = self.seconds["major_outage"] + PARTIAL_OUTAGE_WEIGHT * self.seconds["partial_outage"]
        return 100.0 * (measured - down) / measured

    def percentage(self) -> float:
        return round(self.exact_percentage(), 2)


@dataclass
class Timeline:
    """A component's statuses over time, from its history rows."""

    life_start: datetime
    changes: Sequence[ComponentStatusChange]

    def tally(self, start: datetime, end: datetime) -> Tally:
        result = Tally()
        start = max(start, self.life_start)
        if end <= start or not self.changes:
            return result
        # The first row is the status at creation; it also covers a backdated start_date.
        points = [(self.life_start if i == 0 else c.at, c) for i, c in enumerate(self.changes)]
        for index, (at, change) in enumerate(points):
            until = points[index + 1][0] if index + 1 < len(points) else end
            lo, hi = max(at, start), min(until, end)
            if hi > lo:
                result.seconds[change.new_status] += (hi - lo).total_seconds()
                if result.worst is None or SEVERITY[change.new_status] > SEVERITY[result.worst]:
                    result.worst = change.new_status
            if (
                start <= at < end
                and change.incident_id
                and change.incident_id not in result.incidents
            ):
                result.incidents.append(change.incident_id)
        return result


async def timelines(
    session: AsyncSession, components: Sequence[Component], zone: ZoneInfo
) -> dict[str, Timeline]:
    ids = [c.id for c in components]
    rows = await session.scalars(
        select(ComponentStatusChange)
        .where(ComponentStatusChange.component_id.in_(ids))
        .order_by(
            ComponentStatusChange.component_id, ComponentStatusChange.at, ComponentStatusChange.id
        )
    )
    grouped: dict[str, list[ComponentStatusChange]] = defaultdict(list)
    for row in rows:
        grouped[row.component_id].append(row)
    return {c.id: Timeline(life_start(c, zone), grouped[c.id]) for c in components}


def life_start(component: Component, zone: ZoneInfo) -> datetime:
    """When the component began to count: its start_date (if earlier) or its creation."""
    if component.start_date is not None:
        return min(component.created_at, _local_midnight(component.start_date, zone))
    return component.created_at


@dataclass
class UptimeRange:
    start: date
    end: date
    window_start: datetime
    window_end: datetime
    warnings: list[str]


def resolve_range(
    start_param: str | None,
    end_param: str | None,
    earliest_life: datetime,
    zone: ZoneInfo,
    now: datetime,
) -> UptimeRange:
    today = now.astimezone(zone).date()
    born = earliest_life.astimezone(zone).date()
    warnings: list[str] = []
    end = parse_partial_date(end_param, name="end", is_end=True) if end_param else today
    if end > today:
        warnings.append("End date was adjusted to today.")
        end = today
    if start_param:
        start = parse_partial_date(start_param, name="start", is_end=False)
    else:
        start = max(born, today - timedelta(days=DEFAULT_DAYS))
    if start > end:
        raise Unprocessable("start: the start date is after the end date")
    if start < _months_before(end, MAX_MONTHS):
        raise Unprocessable("start: the maximum supported range is six calendar months")
    if start < born:
        if end < born:
            warnings.append(
                f"The component did not exist in this range (it starts on {born.isoformat()}); "
                "there is no uptime data to report."
            )
        else:
            warnings.append(
                f"Start date was adjusted to {born.isoformat()}, when the component started."
            )
            start = born
    window_start = _local_midnight(start, zone)
    window_end = min(_local_midnight(end + timedelta(days=1), zone), now)
    return UptimeRange(start, end, window_start, window_end, warnings)


def _months_before(day: date, months: int) -> date:
    first = _add_months(date(day.year, day.month, 1), -months)
    last_day = (_add_months(first, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last_day))


def daily(timeline: Timeline, zone: ZoneInfo, now: datetime, days: int) -> list[tuple[date, Tally]]:
    today = now.astimezone(zone).date()
    result = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        start = _local_midnight(day, zone)
        end = min(_local_midnight(day + timedelta(days=1), zone), now)
        if end <= timeline.life_start:
            continue
        result.append((day, timeline.tally(start, end)))
    return result


async def component_uptime(
    session: AsyncSession,
    component: Component,
    time_zone: str,
    start: str | None,
    end: str | None,
    now: datetime,
) -> ComponentUptime:
    if not component.showcase:
        raise Unprocessable("Uptime is only kept for components with showcase enabled")
    zone = ZoneInfo(time_zone)
    timeline = (await timelines(session, [component], zone))[component.id]
    span = resolve_range(start, end, timeline.life_start, zone, now)
    tally = timeline.tally(span.window_start, span.window_end)
    return ComponentUptime(
        id=component.id,
        name=component.name,
        range_start=span.start,
        range_end=span.end,
        uptime_percentage=tally.percentage(),
        major_outage=tally.major,
        partial_outage=tally.partial,
        warnings=span.warnings,
        related_events=[RelatedEvent(id=i) for i in tally.incidents],
    )


async def group_uptime(
    session: AsyncSession,
    group: Component,
    members: Sequence[Component],
    time_zone: str,
    start: str | None,
    end: str | None,
    now: datetime,
) -> ComponentGroupUptime:
    """The showcased members' uptime averaged; outage seconds summed over them."""
    showcased = [m for m in members if m.showcase]
    if not showcased:
        raise Unprocessable(
            "Uptime needs at least one component with showcase enabled in the group"
        )
    zone = ZoneInfo(time_zone)
    lines = await timelines(session, showcased, zone)
    earliest = min(line.life_start for line in lines.values())
    span = resolve_range(start, end, earliest, zone, now)
    tallies = {cid: line.tally(span.window_start, span.window_end) for cid, line in lines.items()}
    return ComponentGroupUptime(
        id=group.id,
        name=group.name,
        range_start=span.start,
        range_end=span.end,
        uptime_percentage=round(
            sum(t.exact_percentage() for t in tallies.values()) / len(tallies), 2
        ),
        major_outage=sum(t.major for t in tallies.values()),
        partial_outage=sum(t.partial for t in tallies.values()),
        warnings=span.warnings,
        related_events=[
            GroupRelatedEvents(
                component_id=cid, incidents=[RelatedEvent(id=i) for i in t.incidents]
            )
            for cid, t in tallies.items()
            if t.incidents
        ],
    )


async def daily_statuses(
    session: AsyncSession, component: Component, time_zone: str, now: datetime, days: int
) -> list[DailyStatus]:
    zone = ZoneInfo(time_zone)
    timeline = (await timelines(session, [component], zone))[component.id]
    return [
        DailyStatus(
            date=day,
            status=tally.worst or "operational",
            major_outage=tally.major,
            partial_outage=tally.partial,
            degraded_performance=round(tally.seconds["degraded_performance"]),
            under_maintenance=round(tally.seconds["under_maintenance"]),
            related_events=[RelatedEvent(id=i) for i in tally.incidents],
        )
        for day, tally in daily(timeline, zone, now, days)
    ]
