"""Incident, incident update, postmortem and template: the Manage API's shapes (API.md 2.4-2.6, 2.9)
and request bodies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from app.components.schemas import Component, ComponentStatus
from app.core.timefmt import Timestamp
from app.pages.schemas import Name

RealtimeStatus = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
IncidentStatus = Literal[
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "scheduled",
    "in_progress",
    "verifying",
    "completed",
]
Impact = Literal["none", "maintenance", "minor", "major", "critical"]

MAX_BODY_BYTES = 64 * 1024


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


def _body_size(field: str) -> AfterValidator:
    # The field is named in the message: the error renderer drops a location part called "body".
    def check(value: str | None) -> str | None:
        if value is not None and len(value.encode()) > MAX_BODY_BYTES:
            raise ValueError(f"{field} is longer than {MAX_BODY_BYTES} bytes")
        return value

    return AfterValidator(check)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        for key, inner in value.items():
            if not isinstance(inner, dict):
                raise ValueError(f"top level values must be objects ({key!r} is not)")
    return value


def _reminder_intervals(value: str | None) -> str | None:
    """null (default), "[]" (off), "[1, 5, 7]" (strictly increasing, 1-24) or "4" (every 4 h)."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, int) and not isinstance(parsed, bool) and 1 <= parsed <= 24:
        return value
    if (
        isinstance(parsed, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 24 for n in parsed)
        and all(a < b for a, b in pairwise(parsed))
    ):
        return value
    raise ValueError('must be null, "[]", a strictly increasing list of hours 1-24, or "1".."24"')


def reminder_hours(value: str | None) -> list[int]:
    """The hours after the start of a realtime incident at which subscribers are reminded."""
    if value is None:
        return [3, 6, 12, 24]
    parsed = json.loads(value)
    if isinstance(parsed, int):
        return list(range(parsed, 25, parsed))
    return [int(n) for n in parsed]


Body = Annotated[str | None, _body_size("incident.body")]
Moment = Annotated[datetime | None, BeforeValidator(_blank), AfterValidator(_aware)]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_metadata)]
ReminderIntervals = Annotated[
    str | None, BeforeValidator(_blank), AfterValidator(_reminder_intervals)
]
ImpactField = Annotated[Impact | None, BeforeValidator(_blank)]


class AffectedComponent(BaseModel):
    code: str
    name: str
    old_status: ComponentStatus | None
    new_status: ComponentStatus


class IncidentUpdate(BaseModel):
    id: str
    incident_id: str
    status: IncidentStatus
    body: str
    created_at: Timestamp
    updated_at: Timestamp
    display_at: Timestamp
    affected_components: list[AffectedComponent] | None
    deliver_notifications: bool
    custom_tweet: str | None
    tweet_id: str | None
    twitter_updated_at: Timestamp | None
    wants_twitter_update: bool


class Incident(BaseModel):
    id: str
    page_id: str
    name: str
    status: IncidentStatus
    impact: Impact
    impact_override: Impact | None
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp
    monitoring_at: Timestamp | None
    resolved_at: Timestamp | None
    shortlink: str
    components: list[Component]
    incident_updates: list[IncidentUpdate] = Field(description="Newest first")
    metadata: dict[str, Any]
    backfilled: bool
    backfill_date: date | None
    postmortem_body: str | None
    postmortem_body_last_updated_at: Timestamp | None
    postmortem_ignored: bool
    postmortem_notified_subscribers: bool
    postmortem_notified_twitter: bool
    postmortem_published_at: Timestamp | None
    scheduled_for: Timestamp | None
    scheduled_until: Timestamp | None
    scheduled_remind_prior: bool
    scheduled_reminded_at: Timestamp | None
    scheduled_auto_in_progress: bool
    scheduled_auto_completed: bool
    scheduled_auto_transition: bool = Field(
        description="Legacy alias of scheduled_auto_in_progress"
    )
    auto_transition_to_maintenance_state: bool
    auto_transition_to_operational_state: bool
    auto_transition_deliver_notifications_at_start: bool
    auto_transition_deliver_notifications_at_end: bool
    auto_tweet_at_beginning: bool
    auto_tweet_on_completion: bool
    auto_tweet_on_creation: bool
    auto_tweet_one_hour_before: bool
    reminder_intervals: str | None


class IncidentFields(BaseModel):
    name: Name | None = None
    status: Annotated[IncidentStatus | None, BeforeValidator(_blank)] = None
    impact_override: ImpactField = None
    body: Body = None
    components: dict[str, ComponentStatus] | None = Field(default=None, max_length=1000)
    component_ids: list[str] | None = Field(default=None, max_length=1000)
    deliver_notifications: bool | None = None
    metadata: Metadata = None
    scheduled_for: Moment = None
    scheduled_until: Moment = None
    scheduled_remind_prior: bool | None = None
    scheduled_auto_in_progress: bool | None = None
    scheduled_auto_completed: bool | None = None
    scheduled_auto_transition: bool | None = None
    auto_transition_to_maintenance_state: bool | None = None
    auto_transition_to_operational_state: bool | None = None
    auto_transition_deliver_notifications_at_start: bool | None = None
    auto_transition_deliver_notifications_at_end: bool | None = None
    auto_tweet_at_beginning: bool | None = None
    auto_tweet_on_completion: bool | None = None
    auto_tweet_on_creation: bool | None = None
    auto_tweet_one_hour_before: bool | None = None
    reminder_intervals: ReminderIntervals = None
    backfilled: bool | None = None
    backfill_date: Annotated[date | None, BeforeValidator(_blank)] = None
    template_id: str | None = Field(
        default=None,
        description="Extension: prefill name, body, status and components from this template.",
    )

    @model_validator(mode="after")
    def _window(self) -> IncidentFields:
        if (
            self.scheduled_for is not None
            and self.scheduled_until is not None
            and self.scheduled_until < self.scheduled_for
        ):
            raise ValueError("incident.scheduled_until must not be before scheduled_for")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("incident.name may not be null")
        return self


class IncidentRequest(BaseModel):
    incident: IncidentFields


class IncidentUpdateFields(BaseModel):
    body: Annotated[str | None, _body_size("incident_update.body")] = None
    display_at: Moment = None
    deliver_notifications: bool | None = None
    wants_twitter_update: bool | None = None
    custom_tweet: Annotated[str, Field(max_length=280)] | None = None


class IncidentUpdateRequest(BaseModel):
    incident_update: IncidentUpdateFields


class Postmortem(BaseModel):
    preview_key: str | None
    body: str | None
    body_updated_at: Timestamp | None
    body_draft: str | None
    body_draft_updated_at: Timestamp | None
    published_at: Timestamp | None
    notify_subscribers: bool
    notify_twitter: bool
    custom_tweet: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None


class PostmortemDraft(BaseModel):
    body_draft: Annotated[str, _body_size("postmortem.body_draft")]


class PostmortemDraftRequest(BaseModel):
    postmortem: PostmortemDraft


class PostmortemPublish(BaseModel):
    notify_subscribers: bool = False
    notify_twitter: bool = False
    custom_tweet: Annotated[str, Field(max_length=280)] | None = None


class PostmortemPublishRequest(BaseModel):
    postmortem: PostmortemPublish = Field(default_factory=PostmortemPublish)


class IncidentTemplate(BaseModel):
    id: str
    components: list[Component]
    name: str
    title: str
    body: str
    group_id: str | None
    update_status: IncidentStatus | None
    should_tweet: bool
    should_send_notifications: bool


class TemplateFields(BaseModel):
    name: Name | None = None
    title: Name | None = None
    body: Annotated[str | None, _body_size("template.body")] = None
    group_id: Annotated[str | None, BeforeValidator(_blank)] = None
    update_status: Annotated[IncidentStatus | None, BeforeValidator(_blank)] = None
    should_tweet: bool | None = None
    should_send_notifications: bool | None = None
    component_ids: list[str] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> TemplateFields:
        for name in ("name", "title", "body"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"template.{name} may not be null")
        return self


class TemplateCreateFields(TemplateFields):
    name: Name
    title: Name
    body: Annotated[str, _body_size("template.body")]


class TemplateCreateRequest(BaseModel):
    template: TemplateCreateFields


class TemplateUpdateRequest(BaseModel):
    template: TemplateFields
