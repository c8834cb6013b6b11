"""The daily purge of conversations past their retention period, scheduled in the bot process."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import ContextTypes, JobQueue

from bot.settings import Settings
from knowledge.ateliers.signups import purge_registrations
from knowledge.citizens.conversations import purge_expired, sensitive_senders
from knowledge.citizens.tracker_events import purge_tracker_events
from knowledge.db import Database
from knowledge.handoffs.tickets import purge_handoffs
from knowledge.notifications import purge_notifications

log = logging.getLogger(__name__)
PURGE_JOB = "retention-purge"


def schedule_retention_purge(job_queue: JobQueue | None, database: Database, settings: Settings) -> None:
    """Purge every night at 03:30 (Paris time), and once now to catch up after downtime."""
    if job_queue is None:
        log.warning("No job queue: retention purge not scheduled")
        return
    data = {"database": database, "settings": settings}
    job_kwargs = {"misfire_grace_time": 6 * 3600, "coalesce": True, "replace_existing": True, "id": PURGE_JOB}
    job_queue.run_daily(_purge, time(3, 30), name=PURGE_JOB, data=data, job_kwargs=job_kwargs)
    job_queue.run_once(_purge, 5, name=f"{PURGE_JOB}-startup", data=data)


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    data = context.job.data
    database: Database = data["database"]
    settings: Settings = data["settings"]
    now = datetime.now(UTC)
    try:
        with database.session() as session:
            signups = purge_registrations(session, now, timedelta(days=settings.retention_days))
            handoffs = purge_handoffs(session, now)
            messages = purge_notifications(session, now, timedelta(days=settings.retention_days))
            senders = sensitive_senders(session)
            conversations = purge_expired(session, now)
        events = purge_tracker_events(
            settings.tracker_store_url, now, settings.retention_days, senders, settings.sensitive_retention_days
        )
    except SQLAlchemyError:
        log.exception("Retention purge failed; it will run again tomorrow")
        return
    log.info(
        "Retention purge: %d conversation(s), %d atelier sign-up(s), %d handoff(s), %d sent notification(s) and "
        "%d Rasa event(s) deleted",
        conversations,
        signups,
        handoffs,
        messages,
        events,
    )
