"""Settings of the data layer, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'passerelle.db'}"


class DataSettings(BaseSettings):
    """What the data layer needs: where the database is and how long conversations are kept."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the application database (SQLite file by default).",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a conversation is kept after its last message, then purged.",
    )
    sensitive_retention_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description="Days a sensitive conversation (a person in danger) is kept after its last message: the shortest.",
    )

    atelier_reminder_hour: int = Field(
        default=18,
        ge=0,
        le=23,
        description="Hour (Paris time) of the reminder sent the day before an atelier.",
    )
    places_source: str | None = Field(
        default=None,
        description="File path or URL of the national places export, re-imported every night (--full).",
    )

    ateliers_sources: str = Field(
        default="",
        description="File paths or URLs (YAML, CSV, iCalendar) of ateliers, space-separated, re-imported every night.",
    )

    kits_source: str | None = Field(
        default=None,
        description="File path or URL of the lender's inventory (YAML), loaded at start when no kit is known yet; "
        "without it, a database with no kit gets the demo inventory.",
    )

    staff_chat_id: int | None = Field(
        default=None,
        description="Telegram chat id of the staff group where requests for a conseiller are posted; "
        "unset: no handoff, the citizen is directed to places of help.",
    )

    staff_hours: str | None = Field(
        default=None,
        description="When conseillers answer, in OpenStreetMap opening_hours syntax (public holidays closed), "
        "e.g. 'Mo-Fr 09:00-12:00,14:00-17:00'; unset: no hours announced.",
    )

    handoff_remind_minutes: int = Field(
        default=10, ge=1, le=1440, description="Minutes before an unclaimed request is recalled in the staff group."
    )
    handoff_give_up_minutes: int = Field(
        default=60,
        ge=1,
        le=10080,
        description="Minutes before the citizen of an unclaimed request is told and offered other help.",
    )
    handoff_idle_hours: int = Field(
        default=24, ge=1, le=720, description="Hours of silence after which a claimed handoff is closed."
    )

    @property
    def atelier_source_list(self) -> list[str]:
        return self.ateliers_sources.split()

    @model_validator(mode="after")
    def _sensitive_is_shortest(self) -> DataSettings:
        if self.sensitive_retention_days > self.retention_days:
            raise ValueError(
                f"SENSITIVE_RETENTION_DAYS ({self.sensitive_retention_days}) must not exceed RETENTION_DAYS "
                f"({self.retention_days}): sensitive conversations are kept the shortest"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return normalise_database_url(value)


def normalise_database_url(value: str) -> str:
    """Validate a database URL and pick the psycopg 3 driver for PostgreSQL."""
    value = value.strip()
    try:
        url = make_url(value)
    except ArgumentError as error:
        raise ValueError(f"not a database URL: {value!r} (expected e.g. sqlite:///path.db)") from error
    if url.drivername == "postgres":
        url = url.set(drivername="postgresql")
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ValueError(f"unsupported database {url.get_backend_name()!r}: use sqlite or postgresql")
    if url.drivername in {"postgresql", "postgres", "postgresql+psycopg2"}:
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)
