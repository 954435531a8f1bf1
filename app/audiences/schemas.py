"""Page access users and groups: the Manage API's shapes (API.md 2.12) and request bodies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from app.core.routing import EXTENSION
from app.core.timefmt import Timestamp
from app.pages.schemas import Email, Name, ShortText

MAX_IDS = 1000


def _ids(value: Any) -> Any:
    """Form bodies can only say "none" as `component_ids[]=`: blank entries are dropped."""
    if isinstance(value, list):
        return [v for v in value if not (isinstance(v, str) and v.strip() == "")]
    return value


def _unique(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


Ids = Annotated[
    list[Annotated[str, Field(max_length=12)]],
    BeforeValidator(_ids),
    AfterValidator(_unique),
    Field(max_length=MAX_IDS),
]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


ViewerEmail = Annotated[Email, BeforeValidator(_strip), AfterValidator(_lower)]


class PageAccessUser(BaseModel):
    id: str = Field(description="Page Access User Identifier", examples=["j8l065dx1jhl"])
    page_id: str
    email: str
    external_login: str | None = Field(description='IDP login user id. Key is typically "uid".')
    page_access_group_id: str | None = Field(description="The first of page_access_group_ids")
    page_access_group_ids: list[str]
    component_ids: list[str] = Field(
        description="Components granted to this user directly", json_schema_extra=EXTENSION
    )
    metric_ids: list[str] = Field(
        description="Metrics granted to this user directly", json_schema_extra=EXTENSION
    )
    created_at: Timestamp
    updated_at: Timestamp


class PageAccessUserFields(BaseModel):
    email: ViewerEmail = None
    external_login: ShortText = None
    page_access_group_ids: Ids | None = None

    @model_validator(mode="after")
    def _email_not_null(self) -> PageAccessUserFields:
        if "email" in self.model_fields_set and self.email is None:
            raise ValueError("page_access_user.email may not be null")
        return self


class PageAccessUserCreateFields(PageAccessUserFields):
    email: ViewerEmail
    subscribe_to_components: bool = False


class PageAccessUserCreateRequest(BaseModel):
    page_access_user: PageAccessUserCreateFields


class PageAccessUserUpdateRequest(BaseModel):
    page_access_user: PageAccessUserFields = Field(default_factory=PageAccessUserFields)


class PageAccessGroup(BaseModel):
    id: str = Field(description="Page Access Group Identifier", examples=["2z66jqcchrs9"])
    page_id: str
    name: str
    page_access_user_ids: list[str]
    external_identifier: str | None = Field(description="Associates group with external group.")
    metric_ids: list[str]
    component_ids: list[str]
    created_at: Timestamp
    updated_at: Timestamp


class PageAccessGroupFields(BaseModel):
    name: Name | None = None
    external_identifier: ShortText = None
    component_ids: Ids | None = None
    metric_ids: Ids | None = None
    page_access_user_ids: Ids | None = None

    @model_validator(mode="after")
    def _name_not_null(self) -> PageAccessGroupFields:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("page_access_group.name may not be null")
        return self


class PageAccessGroupCreateFields(PageAccessGroupFields):
    name: Name


class PageAccessGroupCreateRequest(BaseModel):
    page_access_group: PageAccessGroupCreateFields


class PageAccessGroupUpdateRequest(BaseModel):
    page_access_group: PageAccessGroupFields = Field(default_factory=PageAccessGroupFields)


class ComponentIdsRequest(BaseModel):
    component_ids: Ids


class ComponentIdsRemoveRequest(BaseModel):
    component_ids: Ids | None = Field(
        default=None, description="Components to remove; all of them when omitted."
    )


class MetricIdsRequest(BaseModel):
    metric_ids: Ids


class MetricIdsRemoveRequest(BaseModel):
    metric_ids: Ids | None = Field(
        default=None, description="Metrics to remove; all of them when omitted."
    )


class PageAccessUserIdsRequest(BaseModel):
    page_access_user_ids: Ids


class PageAccessUserIdsRemoveRequest(BaseModel):
    page_access_user_ids: Ids | None = Field(
        default=None, description="Page access users to remove; all of them when omitted."
    )


class PageAccessGroupIdsRequest(BaseModel):
    page_access_group_ids: Ids


class PageAccessGroupIdsRemoveRequest(BaseModel):
    page_access_group_ids: Ids | None = Field(
        default=None, description="Page access groups to remove; all of them when omitted."
    )
