"""Subscriber shapes (API.md 2.7, 2.8, Appendix B `Subscriber`) and request bodies."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from app.core.routing import EXTENSION
from app.core.timefmt import Timestamp

Mode = Literal["email", "sms", "webhook", "slack", "teams", "integration_partner"]
CreatableMode = Literal["email", "sms", "webhook", "slack", "teams"]
State = Literal["unconfirmed", "active", "quarantined", "unsubscribed"]
StateFilter = Literal["active", "unconfirmed", "quarantined", "all"]
SortField = Literal["primary", "created_at", "quarantined_at", "relevance"]
SortDirection = Literal["asc", "desc"]

MAX_BULK = 100
MAX_COMPONENTS = 1000
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")  # fmt: skip


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("is not a valid email address")
    return value


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if any(c.isspace() for c in value) or not re.match(r"^https?://[^/?#]+", value, re.I):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _component_ids(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    ids = [c.strip() for c in value if c.strip()]
    if not ids:
        raise ValueError("must have at least one component id when given (omit it for all)")
    return list(dict.fromkeys(ids))


Email = Annotated[str | None, BeforeValidator(_blank), AfterValidator(_email)]
# Length limits sit on the str inside the optional: blank strings become None first, and a
# constraint on the whole optional would then be applied to None.
Endpoint = Annotated[
    Annotated[str, Field(max_length=2048)] | None, BeforeValidator(_blank), AfterValidator(_url)
]
ComponentIds = Annotated[
    list[str] | None, Field(max_length=MAX_COMPONENTS), AfterValidator(_component_ids)
]
Text = Annotated[Annotated[str, Field(max_length=255)] | None, BeforeValidator(_blank)]
PhoneNumber = Annotated[Annotated[str, Field(max_length=40)] | None, BeforeValidator(_blank)]
Country = Annotated[Annotated[str, Field(max_length=2)] | None, BeforeValidator(_blank)]


def extension(description: str, **options: Any) -> Any:
    return Field(description=f"Extension: {description}", json_schema_extra=EXTENSION, **options)


class Subscriber(BaseModel):
    id: str
    skip_confirmation_notification: bool
    mode: Mode
    email: str | None
    endpoint: str | None
    phone_number: str | None
    phone_country: str | None
    display_phone_number: str | None
    obfuscated_channel_name: str | None
    workspace_name: str | None
    quarantined_at: Timestamp | None
    purge_at: Timestamp | None
    components: list[str] | None = Field(
        description="Component ids the subscriber follows; null means every component."
    )
    page_access_user_id: str | None
    created_at: Timestamp
    state: State = extension(
        "unconfirmed (awaiting double opt-in), active, quarantined or unsubscribed."
    )


class SubscriberCreated(Subscriber):
    secret: str | None = extension(
        default=None,
        description="a webhook subscriber's Standard Webhooks signing secret (whsec_...), shown only in "
        "the response that created it; absent for other modes.",
    )


class SubscriberFields(BaseModel):
    email: Email = Field(default=None, description="Email subscribers; a webhook's contact address")
    endpoint: Endpoint = Field(default=None, description="Webhook (or Slack/Teams) URL")
    phone_number: PhoneNumber = None
    phone_country: Country = Field(
        default=None, description="Two-letter country of phone_number (default US)"
    )
    skip_confirmation_notification: bool | None = None
    page_access_user: Text = None
    component_ids: ComponentIds = None
    mode: Annotated[CreatableMode | None, BeforeValidator(_blank)] = extension(
        default=None,
        description="normally inferred (email; webhook = endpoint + email; sms = phone_number); "
        "`slack` or `teams` with `endpoint` set to the incoming-webhook URL.",
    )
    workspace_name: Text = extension("Slack or Teams workspace name, for display.", default=None)
    channel_name: Text = extension("Slack or Teams channel, shown obfuscated.", default=None)


class SubscriberRequest(BaseModel):
    subscriber: SubscriberFields


class IncidentSubscriberFields(BaseModel):
    email: Email = None
    phone_number: PhoneNumber = None
    phone_country: Country = None
    skip_confirmation_notification: bool | None = None


class IncidentSubscriberRequest(BaseModel):
    subscriber: IncidentSubscriberFields

    @model_validator(mode="before")
    @classmethod
    def _bare_fields(cls, data: Any) -> Any:
        """Statuspage's own sample posts the fields bare (`email=...`, no `subscriber[...]`)."""
        if isinstance(data, dict) and "subscriber" not in data:
            bare = set(IncidentSubscriberFields.model_fields) & set(data)
            if bare:
                return {"subscriber": {name: data[name] for name in bare}}
        return data


class PublicSubscriberFields(BaseModel):
    """The legacy v2 form: a page, component or incident subscription by email, SMS or webhook."""

    email: Email = None
    endpoint: Endpoint = None
    phone_number: PhoneNumber = None
    phone_country: Country = None
    component_ids: ComponentIds = None
    incident: Text = Field(default=None, description="Subscribe to this unresolved incident only")


class PublicSubscriberRequest(BaseModel):
    subscriber: PublicSubscriberFields


class PublicSubscriberResponse(BaseModel):
    subscriber: Subscriber


class ComponentIdsRequest(BaseModel):
    component_ids: ComponentIds = Field(
        default=None, description="Omit (or null) to follow every component of the page"
    )


BulkIds = Annotated[list[str], Field(min_length=1, max_length=MAX_BULK)] | Literal["all"]


class BulkUnsubscribeRequest(BaseModel):
    subscribers: BulkIds = Field(
        description=f'At most {MAX_BULK} subscriber ids, or "all" (only when at most '
        f"{MAX_BULK} subscribers match)"
    )
    type: Mode | None = None
    state: StateFilter = "active"
    skip_unsubscription_notification: bool = False


class BulkReactivateRequest(BaseModel):
    subscribers: BulkIds = Field(description='Quarantined subscriber ids, or "all"')
    type: Mode | None = None


class BulkResendRequest(BaseModel):
    subscribers: BulkIds = Field(description='Unconfirmed subscriber ids, or "all"')


class SubscriberCountByType(BaseModel):
    email: int
    sms: int
    webhook: int
    integration_partner: int
    slack: int
    teams: int


class SubscriberCountByState(BaseModel):
    active: int
    unconfirmed: int
    quarantined: int
    total: int


class SubscriberCountByTypeAndState(BaseModel):
    email: SubscriberCountByState
    sms: SubscriberCountByState
    webhook: SubscriberCountByState
    integration_partner: SubscriberCountByState
    slack: SubscriberCountByState
    teams: SubscriberCountByState
