"""Retention of Rasa's SQL tracker store: events older than the retention period are deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import inspect, text

from knowledge.db import make_engine


def purge_tracker_events(tracker_store_url: str, now: datetime, retention_days: int) -> int:
    """Delete events of Rasa's `events` table older than `retention_days`; 0 when the table does not exist yet."""
    engine = make_engine(tracker_store_url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        cutoff = (now - timedelta(days=retention_days)).timestamp()
        with engine.begin() as connection:
            result = connection.execute(text("DELETE FROM events WHERE timestamp < :cutoff"), {"cutoff": cutoff})
            return result.rowcount or 0
    finally:
        engine.dispose()
