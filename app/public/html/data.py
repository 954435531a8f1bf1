"""What the HTML status page shows, read in a few batched queries: components with their 90-day
uptime (from the status history), the indicator (the one function of API.md 5.3), incidents and
maintenances with their updates, and the displayed metrics' day view (from the rollups only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.components.service import PageStatuses, display_order, page_components
from app.components.uptime import Tally, Timeline, timelines
from app.incidents.schemas import Incident as IncidentView
from app.incidents.views import incident_view, incident_views
from app.metrics import store
from app.metrics.display import window
from app.metrics.points import PERIODS
from app.models import Component, Incident, Metric, Page
from app.public.feeds import audience_indicator
from app.public.snapshots import Visibility

UPTIME_DAYS = 90
HISTORY_DAYS = 14
_ACTIVE_MAINTENANCE = ("in_progress", "verifying")
# A day's cell is coloured by the worst status the component had that day.
DAY_CLASSES = {
    "operational": "o",
    "under_maintenance": "m",
    "degraded_performance": "d",
    "partial_outage": "p",
    "major_outage": "x",
}
NO_DATA = "n"


@dataclass(frozen=True, slots=True)
class Day:
    css: str
    # The tooltip's text after the date, only for days that were not simply up all day.
    detail: str | None = None


@dataclass
class ComponentRow:
    id: str
    name: str
    description: str | None
    status: str
    uptime: str | None  # the 90-day percentage, None when the component does not showcase uptime
    days: list[Day] = field(default_factory=list)
    outages: list[str] = field(default_factory=list)  # the bar's days with downtime, in words


@dataclass
class GroupRow:
    id: str
    name: str
    description: str | None
    status: str
    members: list[ComponentRow]


@dataclass
class MetricChart:
    id: str
    name: str
    suffix: str
    description: str | None
    points: str  # SVG polyline points in a 288 x 100 box
    last: str | None
    mean: str | None
    y_max: str
    y_min: str


@dataclass
class HistoryDay:
    day: date
    incidents: list[IncidentView]


@dataclass
class StatusPageData:
    page: Page
    zone: ZoneInfo
    indicator: str
    description: str
    rows: list[ComponentRow | GroupRow]
    days: list[date]  # the uptime bars' days, oldest first
    active_incidents: list[IncidentView]
    active_maintenances: list[IncidentView]
    upcoming_maintenances: list[IncidentView]
    history: list[HistoryDay]
    metrics: list[MetricChart]


@dataclass
class IncidentPageData:
    page: Page
    zone: ZoneInfo
    incident: IncidentView


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _duration(seconds: float) -> str | None:
    if seconds <= 0:
        return None
    return "<1 min" if seconds < 30 else f"{round(seconds / 60)} min"


def _percentage(value: float) -> str:
    return "100.0" if value >= 100 else f"{math.floor(value * 100) / 100:.2f}"


def _day_detail(tally: Tally) -> str | None:
    parts = []
    for status, label in (
        ("major_outage", "major outage"),
        ("partial_outage", "partial outage"),
        ("degraded_performance", "degraded performance"),
        ("under_maintenance", "under maintenance"),
    ):
        duration = _duration(tally.seconds[status])
        if duration:
            parts.append(f"{duration} {label}")
    if not parts:
        return None
    return " · ".join([f"{_percentage(tally.exact_percentage())}% uptime", *parts])


def _component_row(
    row: Component, timeline: Timeline | None, days: Sequence[date], zone: ZoneInfo, now: datetime
) -> ComponentRow:
    result = ComponentRow(row.id, row.name, row.description, row.status, uptime=None)
    if timeline is None:
        return result
    for day in days:
        start = _midnight(day, zone)
        end = min(_midnight(day + timedelta(days=1), zone), now)
        if end <= timeline.life_start:
            result.days.append(Day(NO_DATA))
            continue
        tally = timeline.tally(start, end)
        detail = _day_detail(tally)
        result.days.append(Day(DAY_CLASSES.get(tally.worst or "operational", "o"), detail))
        if detail and (tally.seconds["major_outage"] or tally.seconds["partial_outage"]):
            result.outages.append(f"{day:%b} {day.day}: {detail}")
    whole = timeline.tally(_midnight(days[0], zone), now)
    result.uptime = _percentage(whole.exact_percentage())
    return result


async def _component_rows(
    session: AsyncSession,
    page: Page,
    zone: ZoneInfo,
    days: Sequence[date],
    now: datetime,
    visible: Visibility | None = None,
) -> list[ComponentRow | GroupRow]:
    ordered = display_order(await page_components(session, page.id))
    if visible is not None:  # an audience sees what it was granted
        ordered = [c for c in ordered if c.id in visible.components]
    shown = [
        c
        for c in ordered
        if c.is_group or not (c.only_show_if_degraded and c.status == "operational")
    ]
    showcased = [c for c in shown if not c.is_group and c.showcase]
    lines = await timelines(session, showcased, zone) if showcased else {}
    groups = {
        c.id: GroupRow(c.id, c.name, c.description, c.status, []) for c in shown if c.is_group
    }
    rows: list[ComponentRow | GroupRow] = []
    for component in shown:
        if component.is_group:
            rows.append(groups[component.id])
            continue
        row = _component_row(component, lines.get(component.id), days, zone, now)
        group = groups.get(component.group_id or "")
        if group is not None:
            group.members.append(row)
        else:
            rows.append(row)
    return [r for r in rows if not isinstance(r, GroupRow) or r.members]


def _day_key(incident: IncidentView, zone: ZoneInfo, now: datetime) -> date:
    moment = incident.started_at
    if incident.scheduled_for is not None:
        moment = min(incident.scheduled_for, now)
    return moment.astimezone(zone).date()


def _format(value: float, places: int) -> str:
    return f"{value:.{places}f}"


async def _metric_charts(
    session: AsyncSession, page: Page, now: datetime, visible: Visibility | None = None
) -> list[MetricChart]:
    metrics = (
        await session.scalars(
            select(Metric)
            .where(Metric.page_id == page.id, Metric.display.is_(True))
            .order_by(Metric.created_at, Metric.id)
        )
    ).all()
    if visible is not None:
        metrics = [m for m in metrics if m.id in visible.metrics]
    period = PERIODS["day"]
    first, last = window(period, now.timestamp())
    charts = []
    for metric in metrics:
        buckets = await store.rollups(session, metric.id, period.interval, first, last)
        means = [(bucket, total / count) for bucket, total, count, _ in buckets if count]
        values = [v for _, v in means]
        low = metric.y_axis_min if metric.y_axis_min is not None else min(values, default=0.0)
        high = metric.y_axis_max if metric.y_axis_max is not None else max(values, default=1.0)
        if high <= low:
            high = low + 1
        points = " ".join(
            f"{(bucket - first) / period.interval:.0f},"
            f"{100 - 100 * (min(max(v, low), high) - low) / (high - low):.1f}"
            for bucket, v in means
        )
        places = metric.decimal_places
        charts.append(
            MetricChart(
                id=metric.id,
                name=metric.name,
                suffix=metric.suffix or "",
                description=metric.tooltip_description,
                points=points,
                last=_format(values[-1], places) if values else None,
                mean=_format(math.fsum(values) / len(values), places) if values else None,
                y_max=_format(high, places),
                y_min=_format(low, places),
            )
        )
    return charts


def _for_audience(views: list[IncidentView], visible: Visibility | None) -> list[IncidentView]:
    """The incidents an audience is shown (touching its components, or page-wide), each with only
    its components."""
    if visible is None:
        return views
    return [
        view.model_copy(
            update={"components": [c for c in view.components if c.id in visible.components]}
        )
        for view in views
        if visible.shows_incident([c.id for c in view.components])
    ]


async def load_status_page(
    session: AsyncSession,
    page: Page,
    *,
    base_url: str,
    now: datetime,
    visible: Visibility | None = None,
) -> StatusPageData:
    zone = ZoneInfo(page.time_zone)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=offset) for offset in range(UPTIME_DAYS - 1, -1, -1)]
    statuses = await PageStatuses.load(session, page.id)
    if visible is None:
        indicator, description = statuses.indicator()
    else:
        indicator, description = await audience_indicator(session, page.id, statuses, visible)
    rows = await _component_rows(session, page, zone, days, now, visible)

    history_start = _midnight(today - timedelta(days=HISTORY_DAYS - 1), zone)
    open_or_recent = (
        select(Incident)
        .where(
            Incident.page_id == page.id,
            or_(
                and_(
                    Incident.is_maintenance.is_(False),
                    or_(Incident.status != "resolved", Incident.started_at >= history_start),
                ),
                and_(
                    Incident.is_maintenance.is_(True),
                    or_(
                        Incident.status.in_(("scheduled", *_ACTIVE_MAINTENANCE)),
                        Incident.scheduled_for >= history_start,
                    ),
                ),
            ),
        )
        .order_by(Incident.created_at.desc(), Incident.id)
    )
    incidents = (await session.scalars(open_or_recent)).all()
    views = _for_audience(await incident_views(session, base_url, incidents), visible)

    active = [v for v in views if v.status in ("investigating", "identified", "monitoring")]
    in_progress = [v for v in views if v.status in _ACTIVE_MAINTENANCE]
    upcoming = sorted(
        (v for v in views if v.status == "scheduled"),
        key=lambda v: (v.scheduled_for or v.created_at, v.id),
    )
    by_day: dict[date, list[IncidentView]] = {}
    for view in views:
        if view.status == "scheduled":
            continue
        by_day.setdefault(_day_key(view, zone, now), []).append(view)
    history = [
        HistoryDay(day, by_day.get(day, []))
        for day in (today - timedelta(days=offset) for offset in range(HISTORY_DAYS))
    ]
    return StatusPageData(
        page=page,
        zone=zone,
        indicator=indicator,
        description=description,
        rows=rows,
        days=days,
        active_incidents=active,
        active_maintenances=in_progress,
        upcoming_maintenances=upcoming,
        history=history,
        metrics=await _metric_charts(session, page, now, visible),
    )


async def load_incident_page(
    session: AsyncSession,
    page: Page,
    incident_id: str,
    *,
    base_url: str,
    visible: Visibility | None = None,
) -> IncidentPageData | None:
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id, Incident.page_id == page.id)
    )
    if incident is None:
        return None
    shown = _for_audience([await incident_view(session, base_url, incident)], visible)
    if not shown:
        return None  # not this audience's: as if it did not exist
    view = shown[0]
    return IncidentPageData(page=page, zone=ZoneInfo(page.time_zone), incident=view)
