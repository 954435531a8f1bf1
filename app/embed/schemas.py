"""Status embed config (API.md 2.13): where the embed sits and its colours."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from app.pages.schemas import Color

Position = Literal["bottom-left", "bottom-right", "top-left", "top-right"]


def _position(value: object) -> object:
    """Accept `bottom left`, `Bottom_Left` and the like."""
    if isinstance(value, str):
        return "-".join(value.strip().lower().replace("_", " ").replace("-", " ").split())
    return value


class StatusEmbedConfig(BaseModel):
    page_id: str = Field(description="Page identifier")
    position: Position = Field(description="Corner where status embed iframe will appear on page")
    incident_background_color: str = Field(description="Hex colour without #")
    incident_text_color: str
    maintenance_background_color: str
    maintenance_text_color: str


class StatusEmbedConfigFields(BaseModel):
    position: Annotated[Position | None, BeforeValidator(_position)] = None
    incident_background_color: Color | None = None
    incident_text_color: Color | None = None
    maintenance_background_color: Color | None = None
    maintenance_text_color: Color | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> StatusEmbedConfigFields:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"status_embed_config.{name} may not be null")
        return self


class StatusEmbedConfigRequest(BaseModel):
    status_embed_config: StatusEmbedConfigFields = Field(default_factory=StatusEmbedConfigFields)
