"""The Status API v2 shapes (API.md 5.2), for the OpenAPI document; the feeds are rendered
straight to bytes (app/public/feeds.py) and the tests check them against these models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LocalTime = str  # ISO 8601 in the page's time zone with milliseconds: 2026-11-27T10:01:02.123-05:00


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicPage(_Strict):
    id: str
    name: str
    url: str = Field(description="The status page's own URL")
    time_zone: str
    updated_at: LocalTime = Field(description="Last change of anything on the page")


class PublicStatus(_Strict):
    indicator: Literal["none", "minor", "major", "critical", "maintenance"]
    description: str = Field(examples=["All Systems Operational"])


class PublicComponent(_Strict):
    id: str
    name: str
    status: Literal[
        "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
    ]
    created_at: LocalTime
    updated_at: LocalTime
    position: int
    description: str | None
    showcase: bool
    start_date: str | None
    group_id: str | None
    page_id: str
    group: bool
    only_show_if_degraded: bool
    components: list[str] | None = Field(
        default=None, description="Only on group rows: the ids of the group's components"
    )


class PublicAffectedComponent(_Strict):
    code: str
    name: str | None
    old_status: str | None
    new_status: str | None


class PublicIncidentUpdate(_Strict):
    id: str
    status: str
    body: str
    incident_id: str
    created_at: LocalTime
    updated_at: LocalTime
    display_at: LocalTime
    affected_components: list[PublicAffectedComponent] | None
    deliver_notifications: bool
    custom_tweet: str | None
    tweet_id: str | None


class PublicIncident(_Strict):
    id: str
    name: str
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
    created_at: LocalTime
    updated_at: LocalTime
    monitoring_at: LocalTime | None
    resolved_at: LocalTime | None
    impact: Literal["none", "maintenance", "minor", "major", "critical"]
    shortlink: str
    started_at: LocalTime
    page_id: str
    incident_updates: list[PublicIncidentUpdate] = Field(description="Newest first")
    components: list[PublicComponent]
    reminder_intervals: str | None


class PublicScheduledMaintenance(_Strict):
    id: str
    name: str
    status: Literal["scheduled", "in_progress", "verifying", "completed"]
    created_at: LocalTime
    updated_at: LocalTime
    monitoring_at: LocalTime | None
    resolved_at: LocalTime | None
    impact: Literal["none", "maintenance", "minor", "major", "critical"]
    shortlink: str
    started_at: LocalTime
    page_id: str
    incident_updates: list[PublicIncidentUpdate] = Field(description="Newest first")
    components: list[PublicComponent]
    reminder_intervals: str | None
    scheduled_for: LocalTime | None
    scheduled_until: LocalTime | None


class PublicSummary(_Strict):
    page: PublicPage
    components: list[PublicComponent]
    incidents: list[PublicIncident] = Field(description="Unresolved incidents, newest first")
    scheduled_maintenances: list[PublicScheduledMaintenance] = Field(
        description="Upcoming and in-progress maintenances"
    )
    status: PublicStatus


class PublicStatusDocument(_Strict):
    page: PublicPage
    status: PublicStatus


class PublicComponents(_Strict):
    page: PublicPage
    components: list[PublicComponent]


class PublicIncidents(_Strict):
    page: PublicPage
    incidents: list[PublicIncident]


class PublicScheduledMaintenances(_Strict):
    page: PublicPage
    scheduled_maintenances: list[PublicScheduledMaintenance]
