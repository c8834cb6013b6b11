"""Deliver the outbox (reminders, waiting-list promotions, cancellations).

Timers live in the database (knowledge/notifications.py): the job armed here at start polls what is due, so a
restart loses nothing, and the claim in the database means two bot processes never send a row twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes, JobQueue

from bot.replies import Reply, buttons_from
from knowledge.ateliers.messages import renderers as atelier_renderers
from knowledge.db import Database
from knowledge.handoffs.messages import renderers as handoff_renderers
from knowledge.loans.reminders import renderers as loan_renderers
from knowledge.notifications import claim, due_ids, mark_sent, prepare, release

log = logging.getLogger(__name__)
OUTBOX_JOB = "outbox"
POLL_SECONDS = 5.0
RETRY_IN = timedelta(minutes=2)


RENDERERS = {**atelier_renderers(), **handoff_renderers(), **loan_renderers()}


class Front(Protocol):
    async def send(self, bot: Bot, chat_id: int, reply: Reply) -> None: ...

    def markup(self, reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None: ...


def schedule_outbox(job_queue: JobQueue | None, database: Database, front: Front) -> None:
    if job_queue is None:
        log.warning("No job queue: reminders and notifications will not be sent")
        return
    data = {"database": database, "front": front}
    job_kwargs = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
    job_queue.run_repeating(_deliver, POLL_SECONDS, first=1, name=OUTBOX_JOB, data=data, job_kwargs=job_kwargs)


async def _deliver(context: ContextTypes.DEFAULT_TYPE) -> None:
    database: Database = context.job.data["database"]
    front: Front = context.job.data["front"]
    now = datetime.now(UTC)
    try:
        ids = await asyncio.to_thread(_due, database, now)
    except SQLAlchemyError:
        log.exception("Outbox: cannot read due notifications; will retry")
        return
    for notification_id in ids:
        await deliver_one(context.bot, database, front, notification_id)


def _due(database: Database, now: datetime) -> list[int]:
    with database.session() as session:
        return due_ids(session, now)


async def deliver_one(bot: Bot, database: Database, front: Front, notification_id: int) -> None:
    now = datetime.now(UTC)
    if not await asyncio.to_thread(claim, database, notification_id, now):
        return
    outgoing = await asyncio.to_thread(prepare, database, notification_id, now, RENDERERS)
    if outgoing is None:
        log.info("Outbox: notification %s skipped (no longer relevant)", notification_id)
        return
    try:
        await front.send(bot, outgoing.chat_id, Reply(outgoing.text, buttons_from(outgoing.buttons)))
    except Forbidden:
        log.info("Outbox: chat %s blocked the bot; notification %s dropped", outgoing.chat_id, notification_id)
        await asyncio.to_thread(mark_sent, database, notification_id, datetime.now(UTC))
        return
    except TelegramError as error:
        log.warning("Outbox: notification %s not sent (%s); will retry", notification_id, error)
        await asyncio.to_thread(release, database, notification_id, datetime.now(UTC), RETRY_IN)
        return
    await asyncio.to_thread(mark_sent, database, notification_id, datetime.now(UTC))
    log.info("Outbox: notification %s sent", notification_id)
