"""Configuration of the bot and of the processes it starts, from the environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator

from knowledge.settings import PROJECT_ROOT, VAR_DIR, DataSettings, normalise_database_url

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{8,}$")


class ConfigurationError(Exception):
    """A setting is missing or malformed. The message names the variable and says what is expected."""


class Settings(DataSettings):
    """Every setting of Passerelle. Each field is read from the environment variable of the same name."""

    telegram_token: str | None = Field(
        default=None,
        description="Bot token from @BotFather. Without it, the bot opens a chat in the terminal.",
    )
    telegram_base_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API endpoint (the token is appended)."
    )
    telegram_base_file_url: str = Field(
        default="https://api.telegram.org/file/bot", description="Bot API file endpoint."
    )
    telegram_bot_username: str | None = Field(
        default=None,
        description="The bot's @username, for invitation links printed by `passerelle staff invite` "
        "(asked from Telegram with the token when unset).",
    )
    telegram_webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL for webhook mode; long polling when unset."
    )
    telegram_webhook_secret: str | None = Field(
        default=None,
        description="Secret token Telegram sends with each webhook request (required in webhook mode).",
    )
    telegram_webhook_listen: str = Field(default="0.0.0.0", description="Address the webhook server listens on.")
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535, description="Port of the webhook server.")
    rasa_url: str = Field(default="http://localhost:5005", description="Rasa server (REST channel and HTTP API).")
    rasa_timeout: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds a citizen may wait for Rasa's reply before the French error text (never retried).",
    )
    action_server_url: str = Field(
        default="http://localhost:5055/webhook", description="Action server endpoint Rasa calls."
    )
    rasa_tracker_store_url: str | None = Field(
        default=None,
        description="Database of Rasa's conversation tracker: var/rasa-tracker.db with SQLite, "
        "DATABASE_URL's database with PostgreSQL.",
    )
    rasa_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Rasa server processes (Sanic workers). More than one needs Redis as Rasa's lock store, so that "
        "each conversation is handled by one worker at a time: `passerelle run` then starts redis-server (Debian "
        "package redis-server) on REDIS_PORT. One per core is the measured best (bench/throughput.py).",
    )
    redis_port: int = Field(
        default=6380,
        ge=1,
        le=65535,
        description="Port of the redis-server `passerelle run` starts when RASA_WORKERS > 1 (loopback only, "
        "nothing written to disk: it holds only Rasa's conversation locks).",
    )
    redis_bin: str = Field(default="redis-server", description="The redis-server command (Debian's redis-server).")
    status_file: Path = Field(
        default=VAR_DIR / "run" / "services.json",
        description="Where `passerelle run` writes the state of its services, which `passerelle status` reads.",
    )
    rasa_bin: str = Field(
        default=str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"),
        description="The rasa command (Python 3.10 env).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @field_validator("telegram_token")
    @classmethod
    def _check_token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not _BOT_TOKEN.match(value.strip()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value.strip()

    @field_validator("telegram_base_url", "telegram_base_file_url", "rasa_url", "action_server_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("telegram_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = _http_url(value)
        if not value.startswith("https://"):
            raise ValueError("Telegram only delivers webhooks to https:// URLs")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not _SECRET_TOKEN.match(value):
            raise ValueError("must be 1 to 256 characters among A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("rasa_tracker_store_url")
    @classmethod
    def _check_tracker_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Self:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set "
                "(Telegram sends it with each request so that forged updates are rejected)"
            )
        if self.telegram_webhook_url and not self.telegram_token:
            raise ValueError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_TOKEN is not")
        return self

    @property
    def tracker_store_url(self) -> str:
        """Rasa's tracker store: its own SQLite file next to ours, or our PostgreSQL database."""
        if self.rasa_tracker_store_url:
            return self.rasa_tracker_store_url
        if self.database_url.startswith("sqlite"):
            return f"sqlite:///{VAR_DIR / 'rasa-tracker.db'}"
        return self.database_url

    def as_env(self) -> dict[str, str]:
        """These settings as environment variables, for the processes Passerelle starts."""
        values = self.model_dump(exclude_none=True)
        return {name.upper(): str(value) for name, value in values.items()}

    @property
    def rasa_port(self) -> int:
        return urlsplit(self.rasa_url).port or 5005

    @property
    def action_server_port(self) -> int:
        return urlsplit(self.action_server_url).port or 5055


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one readable ConfigurationError."""
    try:
        return Settings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = "_".join(str(part) for part in item["loc"]).upper() or "configuration"
            message = item["msg"].removeprefix("Value error, ")
            given = item.get("input")
            shown = "" if isinstance(given, dict) or given is None else f" (got {str(given)[:60]!r})"
            problems.append(f"  {name}: {message}{shown}")
        raise ConfigurationError("Invalid configuration:\n" + "\n".join(problems)) from None


def _http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise ValueError(f"malformed port in URL: {error}") from error
    return value.rstrip("/") if not value.endswith("/bot") else value
