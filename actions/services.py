"""What the actions share: the settings, the database and the places index, opened once per action-server process;
who the sender is."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from rasa_sdk import Tracker

from knowledge.db import Database
from knowledge.places.index import IndexCache
from knowledge.settings import DataSettings


@cache
def settings() -> DataSettings:
    return DataSettings()


@cache
def database() -> Database:
    return Database(settings().database_url)


@cache
def place_index() -> IndexCache:
    """The nearest-places index of this process, rebuilt when an import changes the places."""
    return IndexCache(database())


@dataclass(frozen=True)
class Sender:
    """Who wrote, from the metadata our bot sets on each message (never from the user's text or a slot)."""

    channel: str
    user_id: str
    chat_id: int | None
    first_name: str


def sender(tracker: Tracker) -> Sender | None:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel, user_id = metadata.get("channel"), metadata.get("user_id")
    if not channel or not user_id:
        return None
    chat_id = metadata.get("chat_id")
    return Sender(
        channel=str(channel),
        user_id=str(user_id),
        chat_id=int(chat_id) if isinstance(chat_id, int) else None,
        first_name=str(metadata.get("first_name") or "")[:64],
    )


def entity(tracker: Tracker, name: str) -> Any:
    """The first value of an entity in the latest message (our buttons' payloads carry them)."""
    return next(
        (e.get("value") for e in (tracker.latest_message or {}).get("entities") or () if e.get("entity") == name), None
    )
