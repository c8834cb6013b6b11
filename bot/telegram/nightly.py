"""The nightly re-import of places (PLACES_SOURCE, --full) and ateliers (ATELIERS_SOURCES, or the demo feed),
scheduled in the bot process. A source that fails keeps the current data."""

from __future__ import annotations

import asyncio
from datetime import time

from telegram.ext import ContextTypes, JobQueue

from bot.settings import Settings
from bot.tools.data_commands import nightly_imports
from knowledge.db import Database

NIGHTLY_JOB = "nightly-imports"


def schedule_nightly_imports(job_queue: JobQueue | None, database: Database, settings: Settings) -> None:
    if job_queue is None:
        return
    data = {"database": database, "settings": settings}
    job_kwargs = {"misfire_grace_time": 6 * 3600, "coalesce": True, "replace_existing": True, "id": NIGHTLY_JOB}
    job_queue.run_daily(_run, time(4, 15), name=NIGHTLY_JOB, data=data, job_kwargs=job_kwargs)


async def _run(context: ContextTypes.DEFAULT_TYPE) -> None:
    await asyncio.to_thread(nightly_imports, context.job.data["settings"], context.job.data["database"])
