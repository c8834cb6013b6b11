"""An invalid configuration stops the program at start-up with a clear English error, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.settings import Settings


def start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "RASA_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *(args or ("bot",))],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TELEGRAM_WEBHOOK_PORT": "huit"}, "TELEGRAM_WEBHOOK_PORT: Input should be a valid integer"),
        ({"RASA_URL": "localhost:5005"}, "RASA_URL: must be an http:// or https:// URL"),
        ({"DATABASE_URL": "mysql://db/passerelle"}, "DATABASE_URL: unsupported database 'mysql'"),
        ({"DATABASE_URL": "pas une url"}, "DATABASE_URL: not a database URL"),
        ({"TELEGRAM_TOKEN": "oops"}, "TELEGRAM_TOKEN: does not look like a bot token"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS: Input should be greater than or equal to 1"),
        (
            {"TELEGRAM_TOKEN": "123456:abcdefghijkl", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg"},
            "TELEGRAM_WEBHOOK_SECRET is required when TELEGRAM_WEBHOOK_URL is set",
        ),
        (
            {
                "TELEGRAM_TOKEN": "123456:abcdefghijkl",
                "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/tg",
                "TELEGRAM_WEBHOOK_SECRET": "s3cret",
            },
            "TELEGRAM_WEBHOOK_URL: Telegram only delivers webhooks to https:// URLs",
        ),
    ],
)
def test_invalid_setting_is_named_at_startup(env: dict[str, str], expected: str) -> None:
    result = start(env)
    assert result.returncode == 2
    assert "Invalid configuration" in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_every_setting_has_a_default_or_is_optional() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_token is None
    assert settings.database_url.startswith("sqlite:///")
    assert settings.tracker_store_url.endswith("rasa-tracker.db")


def test_postgres_urls_use_psycopg_3_and_share_the_tracker_store() -> None:
    settings = Settings(database_url="postgresql://u:p@db:5432/passerelle")  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/passerelle"
    assert settings.tracker_store_url == settings.database_url


def test_settings_reach_child_processes_as_environment() -> None:
    settings = Settings(rasa_url="http://127.0.0.1:6005", retention_days=30)  # type: ignore[call-arg]
    env = settings.as_env()
    assert env["RASA_URL"] == "http://127.0.0.1:6005"
    assert env["RETENTION_DAYS"] == "30"
    assert "TELEGRAM_TOKEN" not in env
