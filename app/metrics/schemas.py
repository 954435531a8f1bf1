"""Metrics providers, metrics and data points: the Manage API's shapes (API.md 2.10, 2.11), their
request bodies, and the public metrics-display document (API.md 5.5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from app.core.timefmt import Timestamp
from app.models import metric as models
from app.pages.schemas import Email, HttpUrl, Name, OptionalText, ShortText

ProviderType = Literal["Pingdom", "NewRelic", "Librato", "Datadog", "Self"]
Transform = Literal["average", "count", "max", "min", "sum"]
PeriodName = Literal["day", "week", "month"]


def _blank(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() == "" else value


Secret = Annotated[Annotated[str, Field(max_length=255)] | None, BeforeValidator(_blank)]
AxisBound = Annotated[float | None, BeforeValidator(_blank)]
DecimalPlaces = Annotated[int, Field(ge=0, le=10)]


class MetricsProvider(BaseModel):
    id: str = Field(description="Identifier for Metrics Provider")
    type: ProviderType
    disabled: bool
    metric_base_uri: str | None
    last_revalidated_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    page_id: str = Field(description="A string (Statuspage's spec says integer, wrongly).")

    @classmethod
    def of(cls, row: models.MetricsProvider) -> MetricsProvider:
        return cls(
            id=row.id,
            type=row.type,
            disabled=row.disabled,
            metric_base_uri=row.metric_base_uri,
            last_revalidated_at=row.last_revalidated_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            page_id=row.page_id,
        )


class ProviderFields(BaseModel):
    """Create and update take the same fields (Terraform sends the credentials on update too).
    Credentials are stored for a fetcher and never returned."""

    type: Annotated[ProviderType | None, BeforeValidator(_blank)] = Field(
        default=None, description='One of "Pingdom", "NewRelic", "Librato", "Datadog", or "Self"'
    )
    metric_base_uri: HttpUrl = Field(
        default=None, description="Required by the Datadog and NewRelic type metrics providers."
    )
    email: Email = Field(default=None, description="Required by the Librato metrics provider.")
    password: Secret = None
    api_key: Secret = Field(
        default=None, description="Required by the Datadog and NewRelic type metrics providers."
    )
    api_token: Secret = Field(
        default=None, description="Required by the Librato, Datadog and Pingdom type providers."
    )
    application_key: Secret = Field(
        default=None, description="Required by the Pingdom-type metrics provider."
    )


class ProviderCreateFields(ProviderFields):
    type: ProviderType = Field(description='One of "Pingdom", "NewRelic", "Librato", "Datadog", or "Self"')  # fmt: skip


class ProviderCreateRequest(BaseModel):
    metrics_provider: ProviderCreateFields


class ProviderUpdateRequest(BaseModel):
    metrics_provider: ProviderFields = Field(default_factory=ProviderFields)


class Metric(BaseModel):
    id: str = Field(description="Metric identifier")
    metrics_provider_id: str
    metric_identifier: str | None
    name: str
    display: bool
    tooltip_description: str | None
    backfilled: bool
    y_axis_min: float | None
    y_axis_max: float | None
    y_axis_hidden: bool
    suffix: str | None
    decimal_places: int
    most_recent_data_at: Timestamp | None = Field(description="The newest data point's slot")
    created_at: Timestamp
    updated_at: Timestamp
    last_fetched_at: Timestamp | None = Field(description="When data last arrived")
    backfill_percentage: int
    reference_name: str | None

    @classmethod
    def of(cls, row: models.Metric) -> Metric:
        return cls(
            id=row.id,
            metrics_provider_id=row.metrics_provider_id,
            metric_identifier=row.metric_identifier,
            name=row.name,
            display=row.display,
            tooltip_description=row.tooltip_description,
            backfilled=row.backfilled,
            y_axis_min=row.y_axis_min,
            y_axis_max=row.y_axis_max,
            y_axis_hidden=row.y_axis_hidden,
            suffix=row.suffix,
            decimal_places=row.decimal_places,
            most_recent_data_at=row.most_recent_data_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_fetched_at=row.last_fetched_at,
            backfill_percentage=row.backfill_percentage,
            reference_name=row.reference_name,
        )


class MetricFields(BaseModel):
    """Every writable field; update applies what was sent (Statuspage documents only name and
    metric_identifier for update; clients such as Terraform send the rest too)."""

    name: Name | None = Field(default=None, description="Name of metric")
    metric_identifier: ShortText = Field(
        default=None, description="The identifier used to look up the metric data from the provider"
    )
    transform: Annotated[Transform | None, BeforeValidator(_blank)] = Field(
        default=None, description="The transform to apply to the metric before pulling it in"
    )
    application_id: ShortText = Field(
        default=None, description="The NewRelic application (required for NewRelic only)"
    )
    suffix: ShortText = Field(default=None, description="Suffix to describe the units on the graph")
    y_axis_min: AxisBound = Field(default=None, description="The lower bound of the y axis")
    y_axis_max: AxisBound = Field(default=None, description="The upper bound of the y axis")
    y_axis_hidden: bool | None = None
    display: bool | None = Field(default=None, description="Should the metric be displayed")
    decimal_places: DecimalPlaces | None = None
    tooltip_description: OptionalText = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> MetricFields:
        for name in ("name", "y_axis_hidden", "display", "decimal_places"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"metric.{name} may not be null")
        return self


class MetricCreateFields(MetricFields):
    name: Name = Field(description="Name of metric")


class MetricCreateRequest(BaseModel):
    metric: MetricCreateFields


class MetricUpdateRequest(BaseModel):
    metric: MetricFields = Field(default_factory=MetricFields)


# Data points: loosely typed on the way in, so that every point is checked by the same rules and
# a bad one is named as `data.<metric_id>[<index>].<field>` (form bodies send numbers as text).


class DataPointIn(BaseModel):
    timestamp: Any = Field(
        default=None,
        json_schema_extra={"type": "integer", "format": "int64"},
        description="Unix seconds; cast to the nearest 30-second slot. At most 28 days old.",
    )
    value: Any = Field(
        default=None, json_schema_extra={"type": "number"}, description="A finite number"
    )


class SingleDataRequest(BaseModel):
    data: DataPointIn


class BulkDataRequest(BaseModel):
    data: dict[str, list[DataPointIn]] = Field(
        min_length=1,
        description="Metric identifier -> its data points. One bad point rejects the request.",
    )


class DataPoint(BaseModel):
    timestamp: int = Field(description="The casted timestamp: the 30-second slot stored")
    value: float


class SingleMetricAddResponse(BaseModel):
    data: DataPoint


# The public metrics-display document (API.md 5.5).


class DisplayPeriod(BaseModel):
    count: int = Field(description="How many buckets the view spans")
    interval: int = Field(description="Seconds per bucket")
    identifier: PeriodName


class DisplayedMetric(BaseModel):
    name: str
    metric_identifier: str | None
    created_at: Timestamp
    updated_at: Timestamp
    id: str
    metrics_provider_id: str
    metrics_display_id: str = Field(description="Here, the metric's own identifier")
    most_recent_data_at: Timestamp | None
    backfilled: bool
    last_fetched_at: Timestamp | None
    backfill_percentage: float


class DisplayPoint(BaseModel):
    timestamp: int = Field(description="The bucket's first Unix second")
    value: float | int = Field(description="The mean of the bucket, to the metric's decimal places")


class MetricSummary(BaseModel):
    sum: float = Field(description="The sum of the bucket means in the view")
    mean: float | None = Field(description="Their mean (null without data)")


class DisplayedMetricData(BaseModel):
    metric: DisplayedMetric
    summary: MetricSummary
    data: list[DisplayPoint] = Field(description="Buckets with data, oldest first")


class DisplaySummary(MetricSummary):
    last: float | int | None = Field(description="The newest point's value (null without data)")


class MetricsDisplay(BaseModel):
    period: DisplayPeriod
    metrics: list[DisplayedMetricData]
    summary: DisplaySummary
