"""Rasa's SQL tracker store, as Passerelle uses it: its `events` table, the retention sweep (events older than the
retention period are deleted), a citizen's erasure, and what the indicators read (knowledge/indicators/)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, inspect

from knowledge.db import make_engine

TRACKER = MetaData()
EVENTS = Table(
    "events",
    TRACKER,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
"""Rasa 3.6's SQLTrackerStore.SQLEvent (rasa/core/tracker_store.py); Rasa creates it. `action_name` is the event's
"name": the action's, or the slot's for a slot event; `data` is the whole event as JSON."""


def purge_tracker_events(
    tracker_store_url: str,
    now: datetime,
    retention_days: int,
    sensitive_senders: Sequence[str] = (),
    sensitive_retention_days: int | None = None,
) -> int:
    """Delete events of Rasa's `events` table older than `retention_days`, and those of `sensitive_senders` older
    than `sensitive_retention_days`; 0 when the table does not exist yet."""
    engine = make_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        cutoff = (now - timedelta(days=retention_days)).timestamp()
        deleted = 0
        with engine.begin() as connection:
            deleted += connection.execute(delete(EVENTS).where(EVENTS.c.timestamp < cutoff)).rowcount or 0
            if sensitive_senders and sensitive_retention_days is not None:
                short_cutoff = (now - timedelta(days=sensitive_retention_days)).timestamp()
                statement = delete(EVENTS).where(
                    EVENTS.c.timestamp < short_cutoff, EVENTS.c.sender_id.in_(list(sensitive_senders))
                )
                deleted += connection.execute(statement).rowcount or 0
        return deleted
    finally:
        engine.dispose()


def erase_tracker_events(tracker_store_url: str, sender_id: str) -> int:
    """Delete every Rasa event of one sender (a citizen's erasure request); 0 when the table does not exist yet."""
    engine = make_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.begin() as connection:
            return connection.execute(delete(EVENTS).where(EVENTS.c.sender_id == sender_id)).rowcount or 0
    finally:
        engine.dispose()
