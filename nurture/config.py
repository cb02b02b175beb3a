"""One typed settings object, read from the environment.

Defaults run the embedded mode (SQLite, in-process broker, console channels) so a
fresh clone works with no services and no keys; validators refuse what would be
unsafe or broken outside development.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate
from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nurture.hours import FrequencyCap, email_sending_hours, sms_sending_hours
from nurture.resources import bundled_templates

PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "dev-secret-key", "secret"}
DEV_SECRET = "dev-secret-key"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", alias="NURTURE_ENV"
    )
    # Empty: a SQLite file in the data folder (the embedded default).
    database_url: str = ""
    celery_broker_url: str = "memory://"
    # Relative to the directory the command runs in, made absolute once at start-up so
    # every part of the process agrees. Docker images set /var/lib/nurture.
    data_dir: Path = Field(Path("var"), alias="NURTURE_DATA_DIR")
    # A clinic's own copy of the templates folder (campaigns, articles, pages);
    # by default the one that ships inside the package.
    templates_dir: Path = Field(default_factory=bundled_templates, alias="NURTURE_TEMPLATES_DIR")

    email_channel: Literal["console", "sendgrid"] = "console"
    sms_channel: Literal["console", "twilio"] = "console"
    sendgrid_api_key: str = ""
    sendgrid_api_url: str = "https://api.sendgrid.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from_number: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    provider_timeout_seconds: float = 15.0
    # What each sender may send a second, held across every worker: a Twilio long code
    # about 1 (toll-free 3, short code 100, a Messaging Service 1 per number in its pool);
    # SendGrid's account limit depends on the plan. 0: no limit.
    sms_send_rate: float = Field(1.0, ge=0)
    email_send_rate: float = Field(0.0, ge=0)
    # Hand-offs one worker process has in flight at once (threads, pooled connections).
    handoff_concurrency: int = Field(8, alias="NURTURE_HANDOFF_CONCURRENCY", ge=1, le=64)
    # SendGrid's signed Event Webhook: the verification key exactly as SendGrid shows
    # it (base64 DER). Without it every event post is refused, never accepted unsigned.
    sendgrid_webhook_public_key: str = ""
    sendgrid_webhook_max_age_seconds: float = Field(600.0, gt=0)
    # "blocked" (soft) bounces in a row, with no delivery between, before an address
    # is suppressed; a hard bounce suppresses at once.
    soft_bounce_limit: int = Field(3, ge=1)
    # SendGrid Inbound Parse posts replies with HTTP Basic auth (the credentials sit in
    # the Parse URL); until both are set every inbound post is refused.
    sendgrid_inbound_user: str = ""
    sendgrid_inbound_password: str = ""
    # The Inbound Parse host: campaign emails then carry Reply-To
    # reply+<token>@<domain>, so a reply names its lead. Empty: replies go to EMAIL_FROM.
    inbound_email_domain: str = ""

    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(DEV_SECRET, alias="NURTURE_SECRET_KEY")

    clinic_name: str = "Riverside Physical Therapy"
    clinic_address: str = "120 Main Street, Suite 4, Springfield, IL 62701"
    clinic_phone: str = "+12175550142"
    clinic_timezone: str = "America/Chicago"
    email_from: str = "care@riverside-pt.example"
    # Where new, moved and cancelled screening bookings are announced; empty: no notice.
    front_desk_email: str = ""

    # Sending policy (see nurture/consent/policy.py). Florida and Oklahoma limit
    # telemarketing texts to 08:00-20:00 local; add states as counsel advises.
    # The hours messages may go out, in the lead's local time (the older names
    # SMS_QUIET_HOURS and EMAIL_QUIET_HOURS are still read).
    sms_sending_hours: str = Field(
        "08:00-21:00", validation_alias=AliasChoices("SMS_SENDING_HOURS", "SMS_QUIET_HOURS")
    )
    email_sending_hours: str = Field(
        "", validation_alias=AliasChoices("EMAIL_SENDING_HOURS", "EMAIL_QUIET_HOURS")
    )
    sms_state_hours: dict[str, str] = Field(
        default_factory=lambda: {"FL": "08:00-20:00", "OK": "08:00-20:00"}
    )
    sms_frequency_cap: str = "1/24h"
    email_frequency_cap: str = "2/24h"

    time_scale: float = Field(1.0, alias="NURTURE_TIME_SCALE", gt=0)
    dispatch_interval_seconds: float = Field(2.0, alias="NURTURE_DISPATCH_INTERVAL", gt=0)
    dispatch_batch_size: int = Field(500, alias="NURTURE_DISPATCH_BATCH", ge=1)
    delivery_batch_size: int = Field(100, alias="NURTURE_DELIVERY_BATCH", ge=1)
    # A hand-off still marked "sending" after this long had its worker die mid-call:
    # it must be longer than any provider timeout so a live worker is never overtaken.
    sending_lease_seconds: float = Field(300.0, alias="NURTURE_SENDING_LEASE", gt=0)
    # A queued message not picked up by a worker after this long had its task lost
    # (broker restart, worker killed before ack): the sweeper enqueues it again.
    requeue_after_seconds: float = Field(120.0, alias="NURTURE_REQUEUE_AFTER", gt=0)
    max_delivery_attempts: int = Field(5, alias="NURTURE_MAX_ATTEMPTS", ge=1)
    # How often beat runs the sweeper (lost tasks re-enqueued, dead hand-offs settled).
    sweep_interval_seconds: float = Field(30.0, alias="NURTURE_SWEEP_INTERVAL", gt=0)
    # Lead capture (the download form and POST /api/leads): posts per client IP, and per
    # API key for server-to-server callers; LEAD_API_REQUIRES_KEY refuses keyless API posts.
    capture_rate_limit: str = "10/minute"
    api_key_rate_limit: str = "600/minute"
    lead_api_requires_key: bool = False
    # Load shedding, per web process: requests running at once (about what the database
    # pool serves), and how long one may wait for a turn before it is answered 503.
    web_max_active: int = Field(15, alias="WEB_MAX_ACTIVE", ge=1)
    web_max_wait_seconds: float = Field(0.5, alias="WEB_MAX_WAIT", gt=0)
    # /metrics answers only with "Authorization: Bearer <this>"; empty: /metrics is off.
    metrics_token: str = ""
    # "json" (one object per line, for a log collector) or "text"; empty: json in production.
    log_format: Literal["", "json", "text"] = ""
    # How often beat recounts the Results rollup of active and paused campaigns: the
    # Results page shows the numbers as of the last count (nurture.analytics.rollup).
    results_refresh_seconds: float = Field(300.0, alias="RESULTS_REFRESH_SECONDS", gt=0)
    # Outbound webhooks (nurture.webhooks_out): how long an endpoint has to answer, how
    # often beat looks for deliveries due, and the retry schedule: the wait doubles from
    # the base up to the cap, and a delivery is given up after the last attempt.
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=30)
    webhook_interval_seconds: float = Field(5.0, gt=0)
    webhook_max_attempts: int = Field(10, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(30.0, gt=0)
    webhook_retry_cap_seconds: float = Field(3600.0, gt=0)

    @field_validator("data_dir", "templates_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _embedded_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'nurture.db'}"
        return self

    @field_validator("sms_sending_hours")
    @classmethod
    def _sms_hours_inside_the_law(cls, value: str) -> str:
        return sms_sending_hours(value)

    @field_validator("email_sending_hours")
    @classmethod
    def _hours_parse(cls, value: str) -> str:
        return email_sending_hours(value)

    @field_validator("sms_frequency_cap", "email_frequency_cap")
    @classmethod
    def _cap_parses(cls, value: str) -> str:
        if value:
            FrequencyCap.parse(value)
        return value

    @field_validator("capture_rate_limit", "api_key_rate_limit")
    @classmethod
    def _rate_parses(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate: use e.g. 10/minute or 100/hour") from exc
        return value

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _production_is_complete(self) -> Settings:
        if self.environment != "production":
            return self
        missing = []
        if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
            missing.append("NURTURE_SECRET_KEY (a real secret of 16+ characters)")
        if self.email_channel == "sendgrid" and not self.sendgrid_api_key:
            missing.append("SENDGRID_API_KEY")
        if self.sms_channel == "twilio":
            if not (self.twilio_account_sid and self.twilio_auth_token):
                missing.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        # The sample clinic's identity is a default for the demo, never for real mail:
        # CAN-SPAM wants the sender's real postal address in every email.
        for variable, field in (
            ("CLINIC_ADDRESS", "clinic_address"),
            ("CLINIC_NAME", "clinic_name"),
            ("EMAIL_FROM", "email_from"),
        ):
            if field not in self.model_fields_set or not str(getattr(self, field)).strip():
                missing.append(variable)
        if self.email_channel == "sendgrid" and not self.sendgrid_webhook_public_key:
            missing.append("SENDGRID_WEBHOOK_PUBLIC_KEY (bounces and complaints must be heard)")
        if self.public_base_url.startswith("http://"):
            missing.append("PUBLIC_BASE_URL over https (unsubscribe links must be https)")
        if missing:
            raise ValueError("production configuration is incomplete: " + ", ".join(missing))
        return self

    @property
    def logs_as_json(self) -> bool:
        return self.log_format == "json" or (
            not self.log_format and self.environment == "production"
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def sms_log_path(self) -> Path:
        return self.data_dir / "sms.log"

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests clear the cache to change them."""
    return Settings()
