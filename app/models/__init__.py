"""Every model, imported so that Base.metadata knows them all (alembic and tests read it)."""

from app.models.audience import (
    PageAccessGroup,
    PageAccessGroupComponent,
    PageAccessGroupMember,
    PageAccessGroupMetric,
    PageAccessUser,
    PageAccessUserComponent,
    PageAccessUserMetric,
)
from app.models.base import Base
from app.models.component import Component, ComponentStatusChange
from app.models.embed import StatusEmbedConfig
from app.models.incident import Incident, IncidentComponent, IncidentTemplate, IncidentUpdate
from app.models.metric import Metric, MetricPoint, MetricRollup, MetricsProvider
from app.models.organization import ApiKey, Organization
from app.models.outbox import OutboxEvent
from app.models.page import Page
from app.models.subscriber import Delivery, DeliveryAttempt, Subscriber
from app.models.user import User, UserPageRole

__all__ = [
    "ApiKey",
    "Base",
    "Component",
    "ComponentStatusChange",
    "Delivery",
    "DeliveryAttempt",
    "Incident",
    "IncidentComponent",
    "IncidentTemplate",
    "IncidentUpdate",
    "Metric",
    "MetricPoint",
    "MetricRollup",
    "MetricsProvider",
    "Organization",
    "OutboxEvent",
    "Page",
    "PageAccessGroup",
    "PageAccessGroupComponent",
    "PageAccessGroupMember",
    "PageAccessGroupMetric",
    "PageAccessUser",
    "PageAccessUserComponent",
    "PageAccessUserMetric",
    "StatusEmbedConfig",
    "Subscriber",
    "User",
    "UserPageRole",
]
