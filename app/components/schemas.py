"""Component and component group: the Manage API's shapes (API.md 2.2, 2.3) and request bodies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from app.core.timefmt import Timestamp
from app.models import component as models
from app.pages.schemas import Name

ComponentStatus = Literal[
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
]


def _null_words(value: Any) -> Any:
    """Statuspage: 'If group_id is "null" then the component will be removed from a group'."""
    if isinstance(value, str) and value.strip().lower() in ("", "null", "nil"):
        return None
    return value


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


Description = Annotated[str, Field(max_length=10_000)] | None
GroupId = Annotated[Annotated[str, Field(max_length=12)] | None, BeforeValidator(_null_words)]
StartDate = Annotated[date | None, BeforeValidator(_blank)]
Position = Annotated[int, Field(ge=1, description="Extension: 1-based order among siblings.")]


class Component(BaseModel):
    id: str
    page_id: str
    group_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    group: bool
    name: str
    description: str | None
    position: int
    status: ComponentStatus
    showcase: bool
    only_show_if_degraded: bool
    automation_email: str | None
    start_date: date | None

    @classmethod
    def of(cls, row: models.Component) -> Component:
        return cls(
            id=row.id,
            page_id=row.page_id,
            group_id=row.group_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            group=row.is_group,
            name=row.name,
            description=row.description,
            position=row.position,
            status=row.status,
            showcase=row.showcase,
            only_show_if_degraded=row.only_show_if_degraded,
            automation_email=row.automation_email,
            start_date=row.start_date,
        )


class ComponentFields(BaseModel):
    name: Name | None = None
    description: Description = None
    status: Annotated[ComponentStatus | None, BeforeValidator(_blank)] = None
    group_id: GroupId = None
    showcase: bool | None = None
    only_show_if_degraded: bool | None = None
    start_date: StartDate = None
    position: Position | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> ComponentFields:
        for name in ("name", "showcase", "only_show_if_degraded", "position"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"component.{name} may not be null")
        return self


class ComponentCreateFields(ComponentFields):
    name: Name


class ComponentCreateRequest(BaseModel):
    component: ComponentCreateFields


class ComponentUpdateRequest(BaseModel):
    component: ComponentFields


class BulkStatusRequest(BaseModel):
    """Extension: many statuses in one transaction."""

    components: dict[str, ComponentStatus] = Field(min_length=1, max_length=1000)


class ComponentGroup(BaseModel):
    id: str
    page_id: str
    name: str
    description: str | None
    components: list[str]
    position: int
    created_at: Timestamp
    updated_at: Timestamp


class GroupFields(BaseModel):
    name: Name | None = None
    description: Description = None
    components: list[str] | None = Field(default=None, max_length=1000)
    position: Position | None = None


class GroupCreateFields(GroupFields):
    name: Name
    components: list[str] = Field(max_length=1000)


class GroupCreateRequest(BaseModel):
    # The spec puts `description` beside the envelope; Terraform sends it inside. Both work.
    description: Description = None
    component_group: GroupCreateFields


class GroupUpdateRequest(BaseModel):
    description: Description = None
    component_group: GroupFields = Field(default_factory=GroupFields)


class RelatedEvent(BaseModel):
    id: str


class ComponentUptime(BaseModel):
    id: str
    name: str
    range_start: date
    range_end: date
    uptime_percentage: float
    major_outage: int = Field(description="Seconds of major outage")
    partial_outage: int = Field(description="Seconds of partial outage")
    warnings: list[str]
    related_events: list[RelatedEvent]


class GroupRelatedEvents(BaseModel):
    component_id: str
    incidents: list[RelatedEvent]


class ComponentGroupUptime(BaseModel):
    id: str
    name: str
    range_start: date
    range_end: date
    uptime_percentage: float
    major_outage: int
    partial_outage: int
    warnings: list[str]
    related_events: list[GroupRelatedEvents]


class DailyStatus(BaseModel):
    """Extension: one day of one component, in the page's time zone (the public uptime bars)."""

    date: date
    status: ComponentStatus = Field(description="The worst status seen that day")
    major_outage: int
    partial_outage: int
    degraded_performance: int
    under_maintenance: int
    related_events: list[RelatedEvent]
