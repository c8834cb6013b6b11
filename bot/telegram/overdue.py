"""Every hour (and at start), arm today's reminder for each loan not returned in time. The reminder itself is an
outbox row, one per loan and day: a restart, or two bot processes, never send it twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import ContextTypes, JobQueue

from knowledge.db import Database
from knowledge.loans.reminders import sweep_overdue

log = logging.getLogger(__name__)
OVERDUE_JOB = "overdue-loans"


def schedule_overdue_sweep(job_queue: JobQueue | None, database: Database) -> None:
    if job_queue is None:
        return
    job_kwargs = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    job_queue.run_repeating(_sweep, 3600, first=10, name=OVERDUE_JOB, data=database, job_kwargs=job_kwargs)


async def _sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    database: Database = context.job.data

    def run() -> int:
        with database.session() as session:
            return sweep_overdue(session, datetime.now(UTC))

    try:
        overdue = await asyncio.to_thread(run)
    except SQLAlchemyError:
        log.exception("Overdue loans sweep failed; it runs again within the hour")
        return
    if overdue:
        log.info("%d loan(s) overdue: today's reminders armed", overdue)
