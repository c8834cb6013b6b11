"""`passerelle staff invite`: the first coordinator of a structure (and any later invitation) from the terminal."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import httpx

from bot.settings import Settings
from knowledge.db import Database
from knowledge.migrate import upgrade
from knowledge.staff import StaffError, create_invitation, deep_link, structure_named


def bot_username(settings: Settings) -> str:
    """TELEGRAM_BOT_USERNAME, or the bot's own answer to getMe. Raises StaffError when neither is possible."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if not settings.telegram_token:
        raise StaffError("set TELEGRAM_BOT_USERNAME (or TELEGRAM_TOKEN) to print the invitation link")
    try:
        response = httpx.get(f"{settings.telegram_base_url}{settings.telegram_token}/getMe", timeout=10)
        return str(response.json()["result"]["username"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError) as error:
        raise StaffError(f"cannot ask Telegram for the bot's username ({error}); set TELEGRAM_BOT_USERNAME") from error


def invite(
    settings: Settings, role: str, structure_name: str, commune: str, days: int, place: str | None = None
) -> int:
    if not 1 <= days <= 90:
        print("passerelle: --days must be between 1 and 90", file=sys.stderr)
        return 2
    try:
        username = bot_username(settings)
        upgrade(settings.database_url)
        database = Database(settings.database_url)
        try:
            now = datetime.now(UTC)
            with database.session() as session:
                structure = structure_named(session, structure_name, now, commune, place)
                code = create_invitation(session, structure, role, now, validity=timedelta(days=days))
                name = structure.name
        finally:
            database.dispose()
    except StaffError as error:
        print(f"passerelle: {error}", file=sys.stderr)
        return 2
    print(f"Invitation for a {role} of « {name} », single use, valid {days} days:")
    print(deep_link(username, code))
    return 0
