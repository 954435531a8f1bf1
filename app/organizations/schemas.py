"""Organization users and their permissions (API.md 2.13), and user API keys (extension)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from app.core.routing import EXTENSION
from app.core.timefmt import Timestamp
from app.pages.schemas import Email, ShortText


class User(BaseModel):
    id: str = Field(description="User identifier")
    organization_id: str = Field(description="Organization identifier")
    email: str = Field(description="Email address for the team member")
    first_name: str | None
    last_name: str | None
    created_at: Timestamp
    updated_at: Timestamp


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


class UserCreateFields(BaseModel):
    email: Annotated[Email, BeforeValidator(_strip), AfterValidator(_lower)] = Field(
        description="Email address for the team member"
    )
    password: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None,
        description="Accepted for compatibility and discarded: users act through API keys.",
    )
    first_name: ShortText = None
    last_name: ShortText = None

    @model_validator(mode="after")
    def _email_not_null(self) -> UserCreateFields:
        if self.email is None:
            raise ValueError("user.email may not be blank")
        return self


class UserCreateRequest(BaseModel):
    user: UserCreateFields


def _empty_hash(value: Any) -> Any:
    """`{"<page_id>": {}}` (a page without roles) may arrive from a form as a blank string."""
    return {} if value is None or (isinstance(value, str) and value.strip() == "") else value


class PageRoles(BaseModel):
    page_configuration: bool = False
    incident_manager: bool = False
    maintenance_manager: bool = False


class PermissionsRequest(BaseModel):
    pages: dict[
        Annotated[str, Field(max_length=12)], Annotated[PageRoles, BeforeValidator(_empty_hash)]
    ] = Field(
        max_length=1000,
        description="Every page the user keeps, with its roles ({} for none: read only); "
        "pages left out lose the user's access.",
    )


class PagePermissions(BaseModel):
    page_id: str = Field(description="Page identifier")
    page_configuration: bool
    incident_manager: bool
    maintenance_manager: bool


class PermissionsData(BaseModel):
    user_id: str = Field(description="User identifier")
    pages: list[PagePermissions] = Field(description="Pages accessible by the user.")


class Permissions(PermissionsData):
    """Statuspage's examples answer `{"user_id", "pages"}`, its schema wraps the same in `data`:
    both are sent, so that clients written either way read it."""

    data: PermissionsData


class ApiKeyFields(BaseModel):
    name: ShortText = None
    role: Literal["write", "read"] = "write"


class ApiKeyCreateRequest(BaseModel):
    api_key: ApiKeyFields = Field(default_factory=ApiKeyFields)


class ApiKeyCreated(BaseModel):
    model_config = {"json_schema_extra": EXTENSION}

    id: str
    organization_id: str
    user_id: str | None
    name: str | None
    role: Literal["write", "read"]
    key: str = Field(description="The secret: shown this once, never stored")
    created_at: Timestamp
