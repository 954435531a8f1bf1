"""Page: what the Manage API returns and accepts (API.md section 2.1)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from app.core.timefmt import Timestamp

_COLOR = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError("must be a hex colour such as 2fcc66")
    value = value.lstrip("#").lower()
    return value if len(value) == 6 else "".join(c * 2 for c in value)


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError(f"unknown IANA time zone {value!r}")
    return value


def _subdomain(value: str) -> str:
    value = value.lower()
    if not _SUBDOMAIN.match(value):
        raise ValueError("must be 1-63 letters, digits or hyphens, not starting or ending with one")
    return value


def _hostname(value: str) -> str:
    value = value.lower().rstrip(".")
    if not _HOSTNAME.match(value):
        raise ValueError("must be a host name such as status.example.com")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(str.strip)]
Color = Annotated[str, AfterValidator(_color), Field(description="CSS colour, hex without #")]
TimeZone = Annotated[str, AfterValidator(_time_zone), Field(examples=["UTC"])]
Subdomain = Annotated[str, AfterValidator(_subdomain)]
Hostname = Annotated[
    Annotated[str, AfterValidator(_hostname)] | None, BeforeValidator(_blank_to_none)
]
# Constraints sit on the inner `str` so that null skips them (pydantic would otherwise apply
# max_length to None after a BeforeValidator and raise a TypeError instead of a 422).
HttpUrl = Annotated[
    Annotated[str, Field(max_length=2048), AfterValidator(_http_url)] | None,
    BeforeValidator(_blank_to_none),
]
Email = Annotated[
    Annotated[str, Field(max_length=255), AfterValidator(_email)] | None,
    BeforeValidator(_blank_to_none),
]
OptionalText = Annotated[str, Field(max_length=10_000)] | None
ShortText = Annotated[Annotated[str, Field(max_length=255)] | None, BeforeValidator(_blank_to_none)]


class SimpleLogo(BaseModel):
    updated_at: str | None = None
    size: int | None = None
    url: str = ""


class ImageLogo(BaseModel):
    updated_at: str | None = None
    original_url: str = ""
    size: int | None = None
    normal_url: str = ""
    retina_url: str = ""


class Page(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="Page identifier", examples=["2vp47kp8vp10"])
    created_at: Timestamp
    updated_at: Timestamp
    name: str
    page_description: str | None
    headline: str | None
    branding: Literal["basic", "premium"]
    subdomain: str
    domain: str | None
    url: str | None
    support_url: str | None
    hidden_from_search: bool
    allow_page_subscribers: bool
    allow_incident_subscribers: bool
    allow_email_subscribers: bool
    allow_sms_subscribers: bool
    allow_rss_atom_feeds: bool
    allow_webhook_subscribers: bool
    notifications_from_email: str | None
    notifications_email_footer: str | None
    activity_score: float
    twitter_username: str | None
    viewers_must_be_team_members: bool
    ip_restrictions: str | None
    city: str | None
    state: str | None
    country: str | None
    time_zone: str
    css_body_background_color: str
    css_font_color: str
    css_light_font_color: str
    css_greens: str
    css_yellows: str
    css_oranges: str
    css_blues: str
    css_reds: str
    css_border_color: str
    css_graph_color: str
    css_link_color: str
    css_no_data: str
    favicon_logo: SimpleLogo = Field(default_factory=SimpleLogo)
    transactional_logo: ImageLogo = Field(default_factory=ImageLogo)
    hero_cover: ImageLogo = Field(default_factory=ImageLogo)
    email_logo: ImageLogo = Field(default_factory=ImageLogo)
    twitter_logo: SimpleLogo = Field(default_factory=SimpleLogo)


_NOT_NULLABLE = (
    "name",
    "branding",
    "subdomain",
    "time_zone",
    "hidden_from_search",
    "viewers_must_be_team_members",
    "allow_page_subscribers",
    "allow_incident_subscribers",
    "allow_email_subscribers",
    "allow_sms_subscribers",
    "allow_rss_atom_feeds",
    "allow_webhook_subscribers",
)


class PageFields(BaseModel):
    """Every writable field; all optional, applied with exclude_unset. Unknown keys are ignored."""

    name: Name | None = None
    domain: Hostname = None
    subdomain: Subdomain | None = None
    url: HttpUrl = None
    branding: Literal["basic", "premium"] | None = None
    css_body_background_color: Color | None = None
    css_font_color: Color | None = None
    css_light_font_color: Color | None = None
    css_greens: Color | None = None
    css_yellows: Color | None = None
    css_oranges: Color | None = None
    css_reds: Color | None = None
    css_blues: Color | None = None
    css_border_color: Color | None = None
    css_graph_color: Color | None = None
    css_link_color: Color | None = None
    css_no_data: Color | None = None
    hidden_from_search: bool | None = None
    viewers_must_be_team_members: bool | None = None
    allow_page_subscribers: bool | None = None
    allow_incident_subscribers: bool | None = None
    allow_email_subscribers: bool | None = None
    allow_sms_subscribers: bool | None = None
    allow_rss_atom_feeds: bool | None = None
    allow_webhook_subscribers: bool | None = None
    notifications_from_email: Email = None
    time_zone: TimeZone | None = None
    notifications_email_footer: OptionalText = None
    page_description: OptionalText = Field(default=None, description="Extension: settable here.")
    headline: ShortText = Field(default=None, description="Extension: settable here.")
    support_url: HttpUrl = Field(default=None, description="Extension: settable here.")

    @model_validator(mode="after")
    def _no_null_for_required(self) -> PageFields:
        for name in _NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"page.{name} may not be null")
        return self


class PageCreateFields(PageFields):
    name: Name


class PageUpdateRequest(BaseModel):
    page: PageFields


class PageCreateRequest(BaseModel):
    page: PageCreateFields
