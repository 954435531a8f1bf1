"""Every model, imported so that Base.metadata knows them all (alembic and tests read it)."""

from app.models.base import Base
from app.models.component import Component, ComponentStatusChange
from app.models.organization import ApiKey, Organization
from app.models.outbox import OutboxEvent
from app.models.page import Page

__all__ = [
    "ApiKey",
    "Base",
    "Component",
    "ComponentStatusChange",
    "Organization",
    "OutboxEvent",
    "Page",
]
