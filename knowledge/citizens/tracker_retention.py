"""Retention of Rasa's SQL tracker store: events older than the retention period are deleted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, inspect, text

from knowledge.db import make_engine


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
            result = connection.execute(text("DELETE FROM events WHERE timestamp < :cutoff"), {"cutoff": cutoff})
            deleted += result.rowcount or 0
            if sensitive_senders and sensitive_retention_days is not None:
                short_cutoff = (now - timedelta(days=sensitive_retention_days)).timestamp()
                statement = text("DELETE FROM events WHERE timestamp < :cutoff AND sender_id IN :senders").bindparams(
                    bindparam("senders", expanding=True)
                )
                result = connection.execute(statement, {"cutoff": short_cutoff, "senders": list(sensitive_senders)})
                deleted += result.rowcount or 0
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
            result = connection.execute(text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender_id})
            return result.rowcount or 0
    finally:
        engine.dispose()
