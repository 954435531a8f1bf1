"""One Settings class for the whole service (environment variables prefixed STATUSPAGE_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STATUSPAGE_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset means the embedded server under data_dir.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL; unset means the embedded server under data_dir."
    )
    data_dir: Path = Path(".statuspage")
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_json: bool = True

    rate_limit_per_minute: int = Field(default=60, ge=0)
    rate_limit_status: Literal[420, 429] = 420
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)

    api_key_cache_seconds: float = Field(default=5.0, ge=0)
    db_pool_size: int = Field(default=20, gt=0)
    db_max_overflow: int = Field(default=10, ge=0)
    outbox_sweep_seconds: int = Field(default=30, gt=0)
    metrics_raw_retention_days: int = Field(default=30, ge=1)

    # The public read path (feeds, RSS/Atom, SSE stream, HTML page).
    public_base_domain: str | None = Field(
        default=None,
        description="Pages answer at <subdomain>.<this domain> (and at their own `domain`).",
    )
    public_cache_control: str = "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400"
    public_revalidate_seconds: float = Field(default=0.5, gt=0)
    public_host_cache_seconds: float = Field(default=5.0, ge=0)
    public_snapshot_redis_seconds: int = Field(default=3600, gt=0)
    # Metric points do not bump the page revision: an HTML page showing charts is redrawn this often.
    public_chart_refresh_seconds: float = Field(default=60.0, gt=0)
    public_stream_heartbeat_seconds: float = Field(default=10.0, gt=0, le=15)
    public_subscribe_per_ip_per_hour: int = Field(
        default=10, ge=0, description="Self-service subscriptions per client IP and hour (0: off)"
    )
    # Viewers of audience-specific pages (app/audiences/signin.py).
    viewer_signin_token_seconds: int = Field(
        default=15 * 60, gt=0, description="How long a one-time sign-in link works"
    )
    viewer_session_seconds: int = Field(
        default=7 * 24 * 3600, gt=0, description="How long a viewer's sign-in lasts"
    )
    viewer_signin_per_ip_per_hour: int = Field(
        default=20, ge=0, description="Sign-in requests per client IP and hour (0: off)"
    )

    # Notification delivery (app/notifications).
    outbound_allow_private: bool = Field(
        default=False,
        description="Allow webhook/Slack/Teams URLs on loopback or private networks (tests, labs).",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset under `serve` means the local mail sink."
    )
    smtp_port: int = Field(default=25, gt=0)
    smtp_tls: Literal["auto", "starttls", "tls", "off"] = Field(
        default="auto",
        description="auto: STARTTLS when offered; starttls: required; tls: implicit (port 465).",
    )
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Status page <status@localhost>"
    smtp_connections: int = Field(default=4, gt=0, description="SMTP connections per batch")
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    delivery_batch_size: int = Field(default=200, gt=0)
    delivery_concurrency: int = Field(default=32, gt=0, description="Requests in flight/worker")
    delivery_jobs: int = Field(default=3, gt=0, description="Drain jobs started per wake-up")
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_sweep_seconds: int = Field(default=10, gt=0)
    webhook_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @property
    def uses_embedded(self) -> bool:
        return self.database_url is None or self.redis_url is None


def normalize_database_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+asyncpg:// and answer the asyncpg form."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
