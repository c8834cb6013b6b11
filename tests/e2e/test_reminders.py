"""Reminders are rows in the database: one that came due while the bot was stopped is sent when it starts, once;
a restart sends nothing twice; a cancelled sign-up gets no reminder."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.services.processes import bot_process
from bot.services.supervisor import Supervisor
from bot.settings import Settings
from knowledge.ateliers.signups import cancel, import_ateliers, register
from knowledge.ateliers.sources import AtelierRecord
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.models import Atelier, Notification
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e


def _restart_bot(supervisor: Supervisor, settings: Settings, telegram: FakeTelegram, stop_only: bool = False) -> None:
    old = next(s for s in supervisor.services if s.name == "bot" and s.process and s.process.poll() is None)
    old.process.terminate()
    old.process.wait(20)
    supervisor.services.remove(old)
    if not stop_only:
        _start_bot(supervisor, settings, telegram)


def _start_bot(supervisor: Supervisor, settings: Settings, telegram: FakeTelegram) -> None:
    after = telegram.polls
    supervisor.start(bot_process(settings))
    telegram.wait_for_polling(timeout=60, after=after)


def _outcomes_when_settled(database: Database, timeout: float = 10.0) -> dict[int, str | None]:
    """The notifications' outcomes once none is pending (the sent mark follows the message by a few ms)."""
    deadline = time.monotonic() + timeout
    while True:
        with database.session() as session:
            outcomes = dict(session.execute(select(Notification.ref_id, Notification.outcome)).all())
        if None not in outcomes.values() or time.monotonic() > deadline:
            return outcomes
        time.sleep(0.1)


def test_reminder_due_while_stopped_is_sent_once_after_restarts(
    bot: Settings, telegram: FakeTelegram, supervisor: Supervisor
) -> None:
    kept_chat, dropped_chat = 8101, 8102
    for chat in (kept_chat, dropped_chat):
        telegram.register_chat(chat)
    database = Database(bot.database_url)
    now = datetime.now(UTC)
    start = now + timedelta(days=2)
    with database.session() as session:
        record = AtelierRecord(
            uid="reminder-test@e2e",
            start=start,
            end=start + timedelta(hours=2),
            title="Atelier rappel",
            place_id="demo-50502-1",
            capacity=5,
        )
        import_ateliers(session, [record], "e2e", now)
        atelier_id = session.scalars(select(Atelier.id).where(Atelier.uid == "reminder-test@e2e")).one()
        citizens = [
            record_message(session, Contact("telegram", str(chat), str(chat), chat), now, timedelta(days=90)).citizen_id
            for chat in (kept_chat, dropped_chat)
        ]
    hour = 12  # the day before at noon: in the future, made due below
    kept = register(database, atelier_id, citizens[0], kept_chat, "Ana", now, reminder_hour=hour)
    dropped = register(database, atelier_id, citizens[1], dropped_chat, "Bob", now, reminder_hour=hour)
    cancel(database, dropped.registration_id or 0, citizens[1], now)

    _restart_bot(supervisor, bot, telegram, stop_only=True)
    with database.session() as session:  # they came due while the bot was stopped
        session.execute(update(Notification).values(due_at=now - timedelta(minutes=1)))
    mark = telegram.mark()
    _start_bot(supervisor, bot, telegram)

    (reminder,) = telegram.wait_for_messages(kept_chat, since=mark, timeout=30)
    assert reminder["text"].startswith("Rappel : votre atelier a lieu")
    assert "Atelier rappel" in reminder["text"]
    outcomes = _outcomes_when_settled(database)
    assert outcomes[kept.registration_id] == "sent" and outcomes[dropped.registration_id] == "skipped"

    mark = telegram.mark()
    _restart_bot(supervisor, bot, telegram)
    time.sleep(7)  # more than one outbox poll
    sent_to = [call["chat_id"] for call in telegram.requests("sendMessage", since=mark)]
    assert kept_chat not in sent_to
    assert dropped_chat not in [call["chat_id"] for call in telegram.requests("sendMessage")]
    database.dispose()
