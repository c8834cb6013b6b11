"""Crash safety across every timed feature (issue 11). Each test plays a short scripted day through the real bot
(citizens and staff talking to the fake Telegram server); at step boundaries chosen by a seeded random generator it
SIGKILLs the bot, the action server or Rasa, restarts it and goes on. Its timer comes due while the bot is down (its
due time moved into the past, as the hours would have done) or on its own; then each expected message was sent
exactly once, the database is complete and consistent, and one more restart sends nothing.

A kill only ever happens when everything is settled: no update left unread, no timed message due or being sent. The
outbox is at-least-once by design (a kill between Telegram's answer and the sent mark may send a message again), and
these tests must give the same result on every run."""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import ColumnElement, func, select, update

from bot.services.processes import action_server, rasa_server
from bot.services.supervisor import Supervisor
from bot.settings import Settings
from knowledge.ateliers.signups import PROMOTED, REMINDER, import_ateliers
from knowledge.ateliers.sources import AtelierRecord
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.handoffs.messages import (
    CLAIMED_TEXT,
    IDLE_CLOSED_FOR_STAFF_TEXT,
    IDLE_CLOSED_TEXT,
    NEW_HANDOFF,
    REMIND_HANDOFF,
    STILL_WAITING_TEXT,
    THANKS_TEXT,
    UNCLAIMED_HANDOFF,
    UNCLAIMED_TEXT,
)
from knowledge.loans.reminders import BILAN, DECIDED, OVERDUE, PICKUP, REQUEST, RETURN
from knowledge.models import Atelier, Booking, Handoff, Notification, Registration, StaffMember
from knowledge.staff import CONSEILLER, COORDINATEUR, MEDIATEUR
from tests.e2e.conftest import STAFF_GROUP, kill_service_group, start_bot
from tests.e2e.test_handoff import _invite
from tests.e2e.test_loans import _words, _working_days
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram
from tests.loan_network import join

pytestmark = pytest.mark.e2e

GRANVILLE = "demo-50218-1"
"""No demo atelier within 30 km of Granville: the ateliers near it are this file's own."""
STAFF_NAME = "Inès"
INES = 9611
"""A conseiller of the team, for the handoffs."""
MEDIA, COORD = 9621, 9622
"""A médiateur of the lender's member EPN and a coordinateur of the lender, for the loans."""
ALINE, BASTIEN, CHLOE, DENIS, EMMA = 9601, 9602, 9603, 9604, 9605
"""Citizens."""
NAMES = {ALINE: "Aline", BASTIEN: "Bastien", CHLOE: "Chloé", DENIS: "Denis", EMMA: "Emma", INES: STAFF_NAME}
NAMES |= {MEDIA: "Malo", COORD: "Zoé"}
PROBE = "crash_probe"
SWEEP_LINE = "overdue: today's reminders armed"
_probes = itertools.count(-1, -1)
"""Probe rows refer to nothing (negative ids): they never collide with a real row's notifications."""
MESSAGE_METHODS = ("sendMessage", "sendDocument", "sendPhoto", "sendVenue", "sendLocation", "copyMessage")


# --- The day and its crashes ------------------------------------------------------------------------------------


def plan_kills(seed: int, boundaries: Sequence[str], kills: int, rasa: bool) -> dict[str, str]:
    """Which process dies at which boundary: `kills` boundaries drawn with the seed, and for each the bot, the action
    server or (when `rasa`, once at most: Rasa is the slowest to restart) Rasa."""
    rng = random.Random(seed)
    chosen = set(rng.sample(list(boundaries), kills))
    plan: dict[str, str] = {}
    for where in boundaries:
        if where in chosen:
            victims = ["bot", "actions"] + (["rasa"] if rasa and "rasa" not in plan.values() else [])
            plan[where] = rng.choice(victims)
    return plan


@dataclass
class Day:
    """The processes of one scripted day, the kills its seed planned, and the database to look into."""

    supervisor: Supervisor
    bot: Settings
    services: Settings
    telegram: FakeTelegram
    endpoints: Path
    boundaries: tuple[str, ...]
    plan: dict[str, str]
    database: Database
    passed: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    sweeps_before_start: int = 0
    """Sweeps in the bot's log when it was last killed."""
    start: int = 0
    """The fake Telegram server's log position when the day began."""

    def boundary(self, where: str) -> None:
        """A step boundary of the script: the process the plan names for it (if any) is killed and restarted."""
        assert where in self.boundaries and where not in self.passed, where
        self.passed.append(where)
        victim = self.plan.get(where)
        if victim is not None:
            self.settle()
            began = time.monotonic()
            self.kill(victim)
            self.launch(victim)
            self.crashes.append(f"{victim} killed after « {where} » ({time.monotonic() - began:.1f} s)")

    def kill(self, name: str) -> None:
        """SIGKILL a service, children included, and wait until its port is free."""
        port = {"actions": self.services.action_server_port, "rasa": self.services.rasa_port}.get(name)
        kill_service_group(self.supervisor, name, port)

    def launch(self, name: str) -> None:
        """Start a service and wait until it is ready (the bot: polling again)."""
        if name == "bot":
            start_bot(self.supervisor, self.bot, self.telegram)
        elif name == "actions":
            self.supervisor.start(action_server(self.services))
        else:
            self.supervisor.start(rasa_server(self.services, endpoints_path=self.endpoints))

    @contextmanager
    def bot_down(self, *, sweep: bool = False) -> Iterator[Database]:
        """SIGKILL the bot once everything is settled, let the test change the database meanwhile, restart it.
        `sweep`: count the sweeps of overdue loans so far, for `wait_for_sweep`."""
        self.settle()
        self.kill("bot")
        if sweep:
            time.sleep(0.3)  # the dead bot's last log lines reach the file
            self.sweeps_before_start = self.sweeps()
        try:
            yield self.database
        finally:
            start_bot(self.supervisor, self.bot, self.telegram)

    def settle(self, timeout: float = 40.0) -> None:
        """Wait until nothing is in flight: every update read, no timed message due (none claimed and not marked
        sent), and the bot silent towards Telegram for a moment."""
        deadline = time.monotonic() + timeout
        while True:
            mark = self.telegram.mark()
            time.sleep(0.5)
            busy = [r["method"] for r in self.telegram.requests(since=mark) if r["method"] != "getUpdates"]
            due = _due_unsent(self.database)
            if not busy and not due and not self.telegram.pending_updates:
                return
            assert time.monotonic() < deadline, f"never settled: requests {busy}, due notifications {due}"

    def outbox_pass(self, timeout: float = 30.0) -> None:
        """Wait for a whole pass of the outbox over what is due now: a probe row of a kind no renderer knows, due
        now, is marked skipped once every row due before it has been handled (the outbox takes them in order)."""
        now = datetime.now(UTC)
        with self.database.session() as session:
            probe = Notification(kind=PROBE, ref_id=next(_probes), chat_id=None, due_at=now, attempts=0, created_at=now)
            session.add(probe)
            session.flush()
            probe_id = probe.id
        deadline = time.monotonic() + timeout
        while True:
            with self.database.session() as session:
                if session.get(Notification, probe_id).sent_at is not None:
                    return
            assert time.monotonic() < deadline, "the outbox did not run"
            time.sleep(0.1)

    def sweeps(self) -> int:
        """How many sweeps of overdue loans found some, according to the bot's log (all its runs)."""
        log = Path(self.supervisor.log_dir or ".") / "bot.log"
        return log.read_text(errors="replace").count(SWEEP_LINE) if log.exists() else 0

    def wait_for_sweep(self, timeout: float = 40.0) -> None:
        """The bot started last (`bot_down(sweep=True)`) has swept the overdue loans (10 s after its start)."""
        deadline = time.monotonic() + timeout
        while self.sweeps() <= self.sweeps_before_start:
            assert time.monotonic() < deadline, "no sweep of overdue loans"
            time.sleep(0.2)

    def restart_sends_nothing(
        self,
        chats: Sequence[int],
        *,
        sweep: bool = False,
        meanwhile: Callable[[Database], object] | None = None,
    ) -> None:
        """One more SIGKILL and restart of the bot (`meanwhile`: what changes in the database while it is down):
        once the outbox (and, with `sweep`, the sweep of overdue loans) has run, nothing was sent again to any of
        these chats."""
        with self.bot_down(sweep=sweep) as database:
            mark = self.telegram.mark()
            if meanwhile is not None:
                meanwhile(database)
        if sweep:
            self.wait_for_sweep()
        self.outbox_pass()  # a message is recorded by Telegram before the outbox marks it sent
        again = [(r["chat_id"], _text(r)[:60]) for r in _messages(self.telegram, mark) if r["chat_id"] in chats]
        assert again == [], f"sent again after a restart: {again}"

    def texts(self, chat: int) -> list[str]:
        """What the bot sent to a chat since the day began."""
        return [_text(r) for r in _messages(self.telegram, self.start) if r["chat_id"] == chat]

    def ensure_running(self) -> None:
        """Every process up, whatever happened (the following tests of the session need them)."""
        for name in ("actions", "rasa", "bot"):
            if not any(s.name == name and s.process and s.process.poll() is None for s in self.supervisor.services):
                self.launch(name)

    def finish(self) -> None:
        """The script went through every boundary it declared (so that the kills planned did happen)."""
        assert self.passed == list(self.boundaries), f"planned {self.plan}, passed {self.passed}"
        print("; ".join(self.crashes))  # shown with -rP


@pytest.fixture
def crash_day(
    supervisor: Supervisor, bot: Settings, services: Settings, telegram: FakeTelegram, e2e_dir: Path
) -> Iterator[Callable[..., Day]]:
    """make(seed, boundaries, kills=2, rasa=False): a scripted day whose kills the seed chooses. Every process is
    running again after the test, passed or failed."""
    days: list[Day] = []

    def make(seed: int, boundaries: Sequence[str], kills: int = 2, rasa: bool = False) -> Day:
        day = Day(
            supervisor,
            bot,
            services,
            telegram,
            e2e_dir / "endpoints.yml",
            tuple(boundaries),
            plan_kills(seed, boundaries, kills, rasa),
            Database(bot.database_url),
            start=telegram.mark(),
        )
        days.append(day)
        return day

    yield make
    for day in days:
        day.ensure_running()
        day.database.dispose()


def _messages(telegram: FakeTelegram, since: int) -> list[dict]:
    return [r for r in telegram.requests(since=since) if r["method"] in MESSAGE_METHODS and r["response"].get("ok")]


def _text(request: dict) -> str:
    return str(request["params"].get("text") or request["params"].get("caption") or "")


def _count(texts: list[str], start: str) -> int:
    return sum(1 for text in texts if text.startswith(start))


def _expect(telegram: FakeTelegram, chat: int, since: int, start: str, timeout: float = 30.0) -> dict:
    """The first message to the chat since `since` that starts so, once it came."""
    deadline = time.monotonic() + timeout
    count = 1
    while True:
        messages = telegram.wait_for_messages(
            chat, since=since, count=count, timeout=max(0.1, deadline - time.monotonic())
        )
        found = [m for m in messages if str(m.get("text") or "").startswith(start)]
        if found:
            return found[0]
        count = len(messages) + 1


def _due_unsent(database: Database) -> int:
    with database.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.sent_at.is_(None), Notification.due_at <= datetime.now(UTC))
        )


def _timers(database: Database, *where: ColumnElement[bool]) -> dict[str, tuple[str | None, int]]:
    """The notifications that match, by kind: (outcome, attempts). None of them may be unsent and due."""
    with database.session() as session:
        rows = session.scalars(select(Notification).where(*where)).all()
        now = datetime.now(UTC)
        late = [row.kind for row in rows if row.sent_at is None and row.due_at <= now]
        assert late == [], f"due and never sent: {late}"
        return {row.kind: (row.outcome, row.attempts) for row in rows}


def _move_timers(database: Database, *where: ColumnElement[bool]) -> int:
    """They came due while the bot was down."""
    with database.session() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        return session.execute(update(Notification).where(*where).values(due_at=past)).rowcount


def _tap(telegram: FakeTelegram, chat: int, message: dict, button: str) -> dict:
    """A press answered with one message: returned as soon as it comes (no waiting for the chat to be quiet)."""
    mark = telegram.mark()
    telegram.user_presses_button(chat, message, button)
    return telegram.wait_for_messages(chat, since=mark, timeout=20)[0]


def _write(telegram: FakeTelegram, chat: int, text: str, reply_to: dict | None = None) -> dict:
    """A message (maybe a reply) answered with one message, returned as soon as it comes."""
    mark = telegram.mark()
    reply = reply_to["message_id"] if reply_to else None
    telegram.user_sends_text(chat, text, NAMES.get(chat, "Camille"), user_id=chat, reply_to=reply)
    return telegram.wait_for_messages(chat, since=mark, timeout=20)[0]


SENT_ONCE = ("sent", 1)
SKIPPED = ("skipped", 1)


# --- Ateliers ---------------------------------------------------------------------------------------------------


def _atelier(settings: Settings, uid: str, title: str, days_ahead: int, capacity: int) -> int:
    """An atelier at Granville, at 14 h `days_ahead` days from today (Paris): its reminder (the day before at
    18 h) is still to come."""
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    start = datetime(day.year, day.month, day.day, 14, tzinfo=PARIS)
    record = AtelierRecord(
        uid=uid, start=start, end=start + timedelta(hours=2), title=title, place_id=GRANVILLE, capacity=capacity
    )
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            import_ateliers(session, [record], "e2e-crash", datetime.now(UTC))
        with database.session() as session:
            return session.scalars(select(Atelier.id).where(Atelier.uid == uid)).one()
    finally:
        database.dispose()


def _ateliers(telegram: FakeTelegram, chat: int, title: str) -> tuple[dict, str]:
    """The citizen asks for the ateliers near Granville: the answer, and the « S'inscrire » button of that one."""
    ateliers = _write(telegram, chat, "il y a des ateliers à Granville ?")
    assert ateliers["text"].startswith("Les prochains ateliers près de Granville"), ateliers["text"]
    return ateliers, next(b for b in button_titles(ateliers) if b.startswith(f"S'inscrire : {title}"))


def _sign_up(telegram: FakeTelegram, chat: int, ateliers: dict, button: str) -> dict:
    """The citizen presses « S'inscrire »: the answer (the confirmation comes with a calendar file)."""
    mark = telegram.mark()
    telegram.user_presses_button(chat, ateliers, button)
    answer = telegram.wait_for_messages(chat, since=mark, timeout=20)[0]
    if answer["text"].startswith("C'est noté"):
        (document,) = telegram.wait_for_messages(chat, since=mark, count=2, timeout=20)[1:]
        assert document["document"]["file_name"] == "atelier.ics"
    return answer


def _registration(database: Database, atelier_id: int, chat: int) -> tuple[int, str]:
    with database.session() as session:
        registration = session.scalars(
            select(Registration).where(Registration.atelier_id == atelier_id, Registration.chat_id == chat)
        ).one()
        return registration.id, registration.status


def test_an_atelier_reminder_due_during_crashes_is_sent_once(
    bot: Settings, telegram: FakeTelegram, crash_day: Callable[..., Day]
) -> None:
    """Aline signs up to an atelier through the bot while processes die around her; the reminder of the day before
    comes due while the bot is down: she gets it once, and once only after another restart."""
    aline = ALINE
    telegram.register_chat(aline, first_name=NAMES[aline])
    atelier_id = _atelier(bot, "crash-reminder@e2e", "Atelier rappel crash", 3, 5)
    day = crash_day(3, ("ateliers listed", "signed up", "own ateliers listed", "reminder sent"), rasa=True)

    ateliers, button = _ateliers(telegram, aline, "Atelier rappel crash")
    day.boundary("ateliers listed")
    confirmation = _sign_up(telegram, aline, ateliers, button)
    assert confirmation["text"].startswith("C'est noté, Aline. Vous êtes inscrit(e)")
    day.boundary("signed up")
    mine = _write(telegram, aline, "mes ateliers")
    assert mine["text"].startswith("Vos ateliers :\n1. Atelier rappel crash"), mine["text"]
    day.boundary("own ateliers listed")

    registration_id, _ = _registration(day.database, atelier_id, aline)
    mine_only = (Notification.kind == REMINDER, Notification.ref_id == registration_id)
    mark = telegram.mark()
    with day.bot_down() as database:
        assert _move_timers(database, *mine_only) == 1
    (reminder,) = telegram.wait_for_messages(aline, since=mark, timeout=30)
    assert reminder["text"].startswith("Rappel : votre atelier a lieu") and "Atelier rappel crash" in reminder["text"]
    assert button_titles(reminder) == ["Annuler mon inscription"]
    day.boundary("reminder sent")
    day.restart_sends_nothing([aline])

    assert _count(day.texts(aline), "Rappel : votre atelier") == 1
    assert _count(day.texts(aline), "C'est noté, Aline. Vous êtes inscrit(e)") == 1
    assert _registration(day.database, atelier_id, aline)[1] == "confirmed"
    assert _timers(day.database, *mine_only) == {REMINDER: SENT_ONCE}
    day.finish()


def test_a_seat_freed_goes_to_the_waiting_list_once_across_crashes(
    bot: Settings, telegram: FakeTelegram, crash_day: Callable[..., Day]
) -> None:
    """Bastien takes the only seat, Chloé goes on the waiting list; Bastien cancels and Chloé is promoted, while
    processes die between the steps. Chloé is told once, then gets the reminder once; Bastien gets none."""
    bastien, chloe = BASTIEN, CHLOE
    telegram.register_chat(bastien, first_name=NAMES[bastien])
    telegram.register_chat(chloe, first_name=NAMES[chloe])
    atelier_id = _atelier(bot, "crash-waiting@e2e", "Atelier file crash", 4, 1)
    day = crash_day(1, ("seat taken", "on the waiting list", "seat passed on", "promotion checked"))

    confirmation = _sign_up(telegram, bastien, *_ateliers(telegram, bastien, "Atelier file crash"))
    assert confirmation["text"].startswith("C'est noté, Bastien. Vous êtes inscrit(e)")
    day.boundary("seat taken")
    waiting = _sign_up(telegram, chloe, *_ateliers(telegram, chloe, "Atelier file crash"))
    assert waiting["text"].startswith(
        "Cet atelier est complet. Je vous ai mis(e) sur la liste d'attente. Vous êtes 1er"
    )
    day.boundary("on the waiting list")
    mark = telegram.mark()
    done = _tap(telegram, bastien, confirmation, "Annuler mon inscription")
    assert done["text"] == "C'est annulé. Merci d'avoir libéré votre place."
    (promoted,) = telegram.wait_for_messages(chloe, since=mark, timeout=30)
    assert promoted["text"].startswith("Bonne nouvelle : une place s'est libérée.")
    day.boundary("seat passed on")
    mine = _write(telegram, chloe, "mes ateliers")
    assert mine["text"].startswith("Vos ateliers :\n1. Atelier file crash") and "liste d'attente" not in mine["text"]
    day.boundary("promotion checked")

    seat, seat_status = _registration(day.database, atelier_id, bastien)
    wait, wait_status = _registration(day.database, atelier_id, chloe)
    assert (seat_status, wait_status) == ("cancelled", "confirmed")
    reminders = (Notification.kind == REMINDER, Notification.ref_id.in_([seat, wait]))
    mark = telegram.mark()
    with day.bot_down() as database:  # the day before the atelier
        assert _move_timers(database, *reminders) == 2
    (reminder,) = telegram.wait_for_messages(chloe, since=mark, timeout=30)
    assert reminder["text"].startswith("Rappel : votre atelier a lieu")
    day.restart_sends_nothing([bastien, chloe])

    assert _count(day.texts(chloe), "Bonne nouvelle : une place s'est libérée.") == 1
    assert _count(day.texts(chloe), "Rappel : votre atelier") == 1
    assert _count(day.texts(bastien), "Bonne nouvelle") == 0 and _count(day.texts(bastien), "Rappel") == 0
    with day.database.session() as session:
        assert session.get(Registration, seat).status == "cancelled"
        assert session.get(Registration, wait).status == "confirmed"
    assert _timers(day.database, Notification.ref_id == wait, Notification.kind.like("atelier_%")) == {
        PROMOTED: SENT_ONCE,
        REMINDER: SENT_ONCE,
    }
    assert _timers(day.database, Notification.ref_id == seat, Notification.kind.like("atelier_%")) == {
        REMINDER: SKIPPED
    }
    day.finish()


# --- Handoffs ---------------------------------------------------------------------------------------------------


def _staff_ready(settings: Settings, telegram: FakeTelegram) -> None:
    _invite(settings, INES, STAFF_NAME, CONSEILLER)
    telegram.register_chat(STAFF_GROUP, chat_type="supergroup", title="Équipe")
    telegram.register_chat(INES, first_name=STAFF_NAME)


def _ask_for_a_person(telegram: FakeTelegram, citizen: int) -> tuple[int, dict]:
    """The citizen asks for a person; returns the handoff's number and its notice in the staff group."""
    mark = telegram.mark()
    (queued,) = say(telegram, citizen, "/conseiller")
    assert queued["text"].startswith("Je transmets votre demande à un conseiller. Vous êtes 1er dans la file.")
    telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    (notice,) = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if "Nouvelle demande" in m["text"]]
    found = re.match(r"Nouvelle demande n° (\d+)\n", notice["text"])
    assert found, notice["text"]
    return int(found[1]), notice


def _take(telegram: FakeTelegram, citizen: int, message: dict) -> None:
    """Inès presses « Prendre en charge » in the staff group; the citizen is told."""
    mark = telegram.mark()
    telegram.user_presses_button(STAFF_GROUP, message, "Prendre en charge", STAFF_NAME, user_id=INES)
    (told,) = telegram.wait_for_messages(citizen, since=mark, timeout=20)
    assert told["text"] == CLAIMED_TEXT.format(name=STAFF_NAME)
    telegram.wait_for_messages(INES, since=mark, timeout=20)
    telegram.wait_until_quiet(STAFF_GROUP, since=mark)


def _relay(telegram: FakeTelegram, sender: int, receiver: int, text: str) -> str:
    """A message crosses the relay; returns what the other side read."""
    mark = telegram.mark()
    telegram.user_sends_text(sender, text, first_name=NAMES.get(sender, "Camille"), user_id=sender)
    (relayed,) = telegram.wait_for_messages(receiver, since=mark, timeout=20)
    return str(relayed["text"])


Row = TypeVar("Row", Handoff, Booking)


def _detached(database: Database, model: type[Row], row_id: int) -> Row:
    """A row read in its own session, usable after it (its columns loaded)."""
    with database.session() as session:
        row = session.get(model, row_id)
        assert row is not None
        session.expunge(row)
        return row


def test_an_unclaimed_handoff_is_recalled_and_the_citizen_told_once_across_crashes(
    bot: Settings, telegram: FakeTelegram, crash_day: Callable[..., Day]
) -> None:
    """A citizen asks for a person and nobody takes the request; the reminder to the staff group and the give-up
    message to the citizen come due while the bot is down. Each is sent once; Inès takes the request from the
    reminder, and a restart sends nothing more."""
    citizen = DENIS
    telegram.register_chat(citizen, first_name=NAMES[citizen])
    _staff_ready(bot, telegram)
    boundaries = ("question asked", "request queued", "citizen waiting", "timers sent", "request taken")
    day = crash_day(42, boundaries)
    try:
        say(telegram, citizen, "je n'arrive pas à déclarer mes impôts en ligne")
        day.boundary("question asked")
        handoff_id, _notice = _ask_for_a_person(telegram, citizen)
        day.boundary("request queued")
        (waiting,) = say(telegram, citizen, "vous êtes là ?")
        assert waiting["text"] == STILL_WAITING_TEXT
        day.boundary("citizen waiting")

        timers = (Notification.ref_id == handoff_id, Notification.kind.in_([REMIND_HANDOFF, UNCLAIMED_HANDOFF]))
        mark = telegram.mark()
        with day.bot_down() as database:
            assert _move_timers(database, *timers) == 2
        (unclaimed,) = telegram.wait_for_messages(citizen, since=mark, timeout=30)
        assert unclaimed["text"] == UNCLAIMED_TEXT
        recall = f"Rappel : Nouvelle demande n° {handoff_id}\n"
        telegram.wait_for_request(
            "sendMessage", since=mark, timeout=30, predicate=lambda r: _text(r).startswith(recall)
        )
        (reminder,) = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if m["text"].startswith(recall)]
        day.boundary("timers sent")
        _take(telegram, citizen, reminder)
        day.boundary("request taken")
        assert _relay(telegram, INES, citizen, "Bonjour, je regarde vos impôts avec vous.") == (
            f"{STAFF_NAME} : Bonjour, je regarde vos impôts avec vous."
        )
        day.restart_sends_nothing([citizen, STAFF_GROUP, INES])

        assert _count(day.texts(citizen), UNCLAIMED_TEXT) == 1
        assert _count(day.texts(citizen), CLAIMED_TEXT.format(name=STAFF_NAME)) == 1
        assert _count(day.texts(STAFF_GROUP), f"Nouvelle demande n° {handoff_id}\n") == 1
        assert _count(day.texts(STAFF_GROUP), recall) == 1
        handoff = _detached(day.database, Handoff, handoff_id)
        assert (handoff.status, handoff.conseiller_name) == ("claimed", STAFF_NAME)
        kinds = _timers(day.database, Notification.ref_id == handoff_id, Notification.kind.like("handoff_%"))
        assert {kind: kinds[kind] for kind in (NEW_HANDOFF, REMIND_HANDOFF, UNCLAIMED_HANDOFF)} == {
            NEW_HANDOFF: SENT_ONCE,
            REMIND_HANDOFF: SENT_ONCE,
            UNCLAIMED_HANDOFF: SENT_ONCE,
        }
        day.finish()
    finally:
        day.ensure_running()
        say(telegram, citizen, "/bot")  # the request is closed, whatever happened


def test_a_silent_handoff_is_closed_once_across_crashes(
    bot: Settings, telegram: FakeTelegram, crash_day: Callable[..., Day]
) -> None:
    """Inès takes a request and the two talk while processes die; then nobody writes for longer than the idle
    limit, the bot being down meanwhile. After the restart both are told once that it is closed, the citizen
    rates it and talks to the assistant again, and another restart closes nothing twice."""
    citizen = EMMA
    telegram.register_chat(citizen, first_name=NAMES[citizen])
    _staff_ready(bot, telegram)
    day = crash_day(1, ("request taken", "citizen relayed", "conseiller answered", "closed for silence"))
    try:
        handoff_id, notice = _ask_for_a_person(telegram, citizen)
        _take(telegram, citizen, notice)
        day.boundary("request taken")
        assert _relay(telegram, citizen, INES, "mon compte caf est bloqué").endswith(": mon compte caf est bloqué")
        day.boundary("citizen relayed")
        assert _relay(telegram, INES, citizen, "Je vous rappelle demain.") == f"{STAFF_NAME} : Je vous rappelle demain."
        day.boundary("conseiller answered")

        silent = timedelta(hours=bot.handoff_idle_hours, minutes=5)
        mark = telegram.mark()
        with day.bot_down() as database, database.session() as session:
            session.execute(
                update(Handoff).where(Handoff.id == handoff_id).values(last_activity_at=datetime.now(UTC) - silent)
            )
        (closed,) = telegram.wait_for_messages(citizen, since=mark, timeout=60)  # the idle job runs 30 s after start
        assert closed["text"] == IDLE_CLOSED_TEXT.format(name=STAFF_NAME)
        (told,) = telegram.wait_for_messages(INES, since=mark, timeout=20)
        assert told["text"] == IDLE_CLOSED_FOR_STAFF_TEXT.format(id=handoff_id, hours=bot.handoff_idle_hours)
        day.boundary("closed for silence")

        with day.bot_down():
            pass  # nothing changes meanwhile
        restarted = time.monotonic()  # the bot polls: its idle job runs 30 s from now
        (thanks,) = press(telegram, citizen, closed, "4")
        assert thanks["text"] == THANKS_TEXT
        (menu,) = say(telegram, citizen, "bonjour")
        assert menu["text"].startswith("Bonjour, je suis Passerelle.")
        time.sleep(max(0.0, restarted + 31 - time.monotonic()))  # the idle job has run again since the restart

        assert _count(day.texts(citizen), IDLE_CLOSED_TEXT.format(name=STAFF_NAME)) == 1
        assert _count(day.texts(INES), f"Demande n° {handoff_id} close") == 1
        handoff = _detached(day.database, Handoff, handoff_id)
        assert (handoff.status, handoff.outcome, handoff.satisfaction) == ("closed", "sans_suite", 4)
        timers = _timers(day.database, Notification.ref_id == handoff_id, Notification.kind.like("handoff_%"))
        assert timers[NEW_HANDOFF] == SENT_ONCE
        day.finish()
    finally:
        day.ensure_running()
        say(telegram, citizen, "/bot")  # whatever happened, no request of this test stays in the queue


# --- Loans ------------------------------------------------------------------------------------------------------


@pytest.fixture
def lending_team(bot: Settings, telegram: FakeTelegram) -> Iterator[int]:
    """Malo, médiateur of the lender's member EPN, and Zoé, coordinateur of the lender; yields Zoé's account id.
    Afterwards none of Malo's loans is left open, even if the test failed (the lender's lists in the other loan
    tests of the session would show it)."""
    database = Database(bot.database_url)
    join(database, MEDIA, MEDIATEUR, "EPN de démonstration")
    join(database, COORD, COORDINATEUR, "Réseau de démonstration, coordination")
    telegram.register_chat(MEDIA, first_name=NAMES[MEDIA])
    telegram.register_chat(COORD, first_name=NAMES[COORD])
    with database.session() as session:
        members = dict(session.execute(select(StaffMember.telegram_user_id, StaffMember.id)).all())
    try:
        yield members[COORD]
    finally:
        with database.session() as session:
            session.execute(
                update(Booking)
                .where(
                    Booking.borrower_id == members[MEDIA], Booking.status.in_(("requested", "approved", "checked_out"))
                )
                .values(status="cancelled")
            )
        database.dispose()


def _ask_loan(
    telegram: FakeTelegram, kit: str, weeks_ahead: int, halfway: Callable[[], None] | None = None
) -> tuple[int, dict]:
    """Malo asks for the kit in words, answers the questions (`halfway` runs once the dates are chosen) and sends
    the request; returns its number and the message Zoé got."""
    first, last = _working_days(weeks_ahead)
    slots = _write(telegram, MEDIA, f"Bonjour, je voudrais réserver {kit} du {_words(first)} au {_words(last)}")
    assert slots["text"].startswith("Retrait le lundi"), slots["text"]
    back = _tap(telegram, MEDIA, slots, "9 h")
    nature = _tap(telegram, MEDIA, back, "16 h")
    assert nature["text"] == "Pour quel type d'action ?", nature["text"]
    if halfway is not None:
        halfway()
    public = _tap(telegram, MEDIA, nature, "Atelier")
    count = _tap(telegram, MEDIA, public, "Seniors")
    readback = _tap(telegram, MEDIA, count, "10")
    mark = telegram.mark()
    sent = _tap(telegram, MEDIA, readback, "Envoyer la demande")
    assert sent["text"].startswith("Demande envoyée.")
    (request,) = telegram.wait_for_messages(COORD, since=mark, timeout=30)
    found = re.match(r"Nouvelle demande de prêt n° (\d+),", request["text"])
    assert found, request["text"]
    return int(found[1]), request


def _approve(telegram: FakeTelegram, request: dict) -> None:
    mark = telegram.mark()
    approved = _tap(telegram, COORD, request, "Approuver")
    assert approved["text"].endswith("acceptée. La personne est prévenue.")
    (told,) = telegram.wait_for_messages(MEDIA, since=mark, timeout=30)
    assert told["text"].startswith("Votre demande de prêt est acceptée")


def _inspect(telegram: FakeTelegram, loan_id: int, title: str, items: int | None = None) -> dict:
    """Zoé opens the loan in /prets and walks through « Remise du matériel » (check-out) or « Retour du matériel »
    (check-in), every item present; `items`: stop after that many. Returns the last message she got."""
    (loan,) = [m for m in say(telegram, COORD, "/prets") if f"Prêt n° {loan_id} " in m["text"]]
    return _go_on(telegram, _tap(telegram, COORD, loan, title), items)


def _go_on(telegram: FakeTelegram, item: dict, items: int | None = None) -> dict:
    """Zoé goes on from the item the bot last showed her."""
    pressed = 0
    while item["text"].startswith(("Remise du prêt", "Retour du prêt")) and pressed != items:
        item = _tap(telegram, COORD, item, "✅ Présent")
        pressed += 1
    return item


def _loan_timers(database: Database, loan_id: int, coordinator: int) -> dict[str, tuple[str | None, int]]:
    """The loan's timers, the request's only for Zoé (any other coordinateur of the lender gets one too)."""
    timers = _timers(database, Notification.ref_id == loan_id, Notification.kind.like("loan_%"))
    return {k: v for k, v in timers.items() if not k.startswith(f"{REQUEST}:") or k == f"{REQUEST}:{coordinator}"}


def test_a_loan_pickup_reminder_is_sent_once_across_crashes(
    telegram: FakeTelegram, crash_day: Callable[..., Day], lending_team: int
) -> None:
    """Malo asks for the drones (his draft survives a crash halfway) and Zoé approves while processes die; the
    pickup reminder comes due while the bot is down and is sent once. Malo cancels from it; the return reminder,
    due later, is then never sent."""
    coordinator = lending_team
    boundaries = ("request half filled", "request sent", "loan approved", "pickup reminded", "loan cancelled")
    day = crash_day(23, boundaries, rasa=True)

    loan_id, request = _ask_loan(telegram, "les drones", 20, halfway=lambda: day.boundary("request half filled"))
    day.boundary("request sent")
    _approve(telegram, request)
    day.boundary("loan approved")
    mark = telegram.mark()
    with day.bot_down() as database:  # two days before the pickup
        assert _move_timers(database, Notification.kind == PICKUP, Notification.ref_id == loan_id) == 1
    reminder = _expect(telegram, MEDIA, mark, "Rappel : vous retirez le matériel")
    day.boundary("pickup reminded")
    cancelled = _tap(telegram, MEDIA, reminder, "Annuler ce prêt")  # this loan, not a list of them all
    assert cancelled["text"] == "C'est annulé. Le matériel est libéré."
    day.boundary("loan cancelled")
    day.restart_sends_nothing(  # the day before the return comes while the bot is down: nothing to bring back
        [MEDIA, COORD],
        meanwhile=lambda database: _move_timers(database, Notification.kind == RETURN, Notification.ref_id == loan_id),
    )

    assert _count(day.texts(MEDIA), "Votre demande de prêt est acceptée") == 1
    assert _count(day.texts(MEDIA), "Rappel : vous retirez le matériel") == 1
    assert _count(day.texts(MEDIA), "Rappel : le matériel est à rapporter") == 0
    assert _count(day.texts(COORD), f"Nouvelle demande de prêt n° {loan_id},") == 1
    assert _detached(day.database, Booking, loan_id).status == "cancelled"
    assert _loan_timers(day.database, loan_id, coordinator) == {
        f"{REQUEST}:{coordinator}": SENT_ONCE,
        DECIDED: SENT_ONCE,
        PICKUP: SENT_ONCE,
        RETURN: SKIPPED,
    }
    day.finish()


def test_a_loan_return_reminder_is_sent_once_across_crashes(
    telegram: FakeTelegram, crash_day: Callable[..., Day], lending_team: int
) -> None:
    """The VR headsets go out to Malo while processes die; the pickup and return reminders both come due while the
    bot is down: only the return one is sent (the kit is already out), once. Zoé takes the kit back."""
    coordinator = lending_team
    day = crash_day(1, ("loan approved", "half checked out", "kit out", "return reminded"))

    loan_id, request = _ask_loan(telegram, "les casques VR", 22)
    _approve(telegram, request)
    day.boundary("loan approved")
    item = _inspect(telegram, loan_id, "Remise du matériel", items=2)
    day.boundary("half checked out")  # the items recorded so far are in the database
    mark = telegram.mark()
    record = _go_on(telegram, item)
    assert record["text"].startswith("État des lieux de sortie : Kit casques de réalité virtuelle")
    assert _expect(telegram, MEDIA, mark, "État des lieux de sortie")["text"] == record["text"]
    day.boundary("kit out")
    mark = telegram.mark()
    with day.bot_down() as database:
        assert _move_timers(database, Notification.kind.in_([PICKUP, RETURN]), Notification.ref_id == loan_id) == 2
    _expect(telegram, MEDIA, mark, "Rappel : le matériel est à rapporter")
    day.boundary("return reminded")
    mark = telegram.mark()
    record = _inspect(telegram, loan_id, "Retour du matériel")
    assert record["text"].startswith("État des lieux de retour : Kit casques de réalité virtuelle")
    _expect(telegram, MEDIA, mark, "Merci d'avoir rapporté")  # the bilan asked
    day.restart_sends_nothing([MEDIA, COORD])

    assert _count(day.texts(MEDIA), "Rappel : le matériel est à rapporter") == 1
    assert _count(day.texts(MEDIA), "Rappel : vous retirez le matériel") == 0
    assert _count(day.texts(MEDIA), "État des lieux de sortie") == 1
    assert _count(day.texts(MEDIA), "Merci d'avoir rapporté") == 1
    booking = _detached(day.database, Booking, loan_id)
    assert (booking.status, booking.flagged) == ("returned", False)
    assert _loan_timers(day.database, loan_id, coordinator) == {
        f"{REQUEST}:{coordinator}": SENT_ONCE,
        DECIDED: SENT_ONCE,
        PICKUP: SKIPPED,
        RETURN: SENT_ONCE,
        BILAN: SENT_ONCE,
    }
    day.finish()


def test_an_overdue_loan_is_reminded_once_across_crashes(
    telegram: FakeTelegram, crash_day: Callable[..., Day], lending_team: int
) -> None:
    """The radio kit goes out to Malo and is not brought back in time, the bot being down when it fell due; the
    hourly sweep at start arms today's reminder, sent once; a restart (and its sweep) sends nothing more."""
    coordinator = lending_team
    day = crash_day(1, ("loan approved", "kit out", "overdue reminded", "lateness seen"))

    loan_id, request = _ask_loan(telegram, "le kit radio", 24)
    _approve(telegram, request)
    day.boundary("loan approved")
    _inspect(telegram, loan_id, "Remise du matériel")
    day.boundary("kit out")
    mark = telegram.mark()
    with day.bot_down(sweep=True) as database, database.session() as session:
        # It went out twelve days ago and was due back nine days ago (test_loans.py uses the last five days).
        now = datetime.now(UTC)
        loan = session.get(Booking, loan_id)
        loan.starts_at = loan.checked_out_at = now - timedelta(days=12)
        loan.ends_at, loan.holds_until = now - timedelta(days=9), now - timedelta(days=8)
    day.wait_for_sweep()
    overdue = (Notification.kind.like(f"{OVERDUE}:%"), Notification.ref_id == loan_id)
    with day.database.session() as session:
        (due_at,) = session.scalars(select(Notification.due_at).where(*overdue)).all()
    if due_at > datetime.now(UTC):  # before 10 h (Paris), today's reminder waits for 10 h
        with day.bot_down() as database:
            assert _move_timers(database, *overdue) == 1
    reminder = _expect(telegram, MEDIA, mark, "Le matériel « Kit radio mobile » devait être rapporté le ")
    assert "de retard" in reminder["text"]
    day.boundary("overdue reminded")
    (listing,) = [m for m in say(telegram, COORD, "/prets") if f"Prêt n° {loan_id} " in m["text"]]
    assert listing["text"].startswith(f"EN RETARD — Prêt n° {loan_id} (en cours)")
    day.boundary("lateness seen")
    day.restart_sends_nothing([MEDIA], sweep=True)
    mark = telegram.mark()
    record = _inspect(telegram, loan_id, "Retour du matériel")  # the kit is back: no reminder any more
    assert record["text"].startswith("État des lieux de retour : Kit radio mobile")
    _expect(telegram, MEDIA, mark, "Merci d'avoir rapporté")  # the bilan asked
    day.settle()

    sent = [kind for kind, state in _loan_timers(day.database, loan_id, coordinator).items() if state == SENT_ONCE]
    overdue_sent = [kind for kind in sent if kind.startswith(f"{OVERDUE}:")]
    assert overdue_sent, "no overdue reminder marked sent"
    assert _count(day.texts(MEDIA), "Le matériel « Kit radio mobile » devait être rapporté") == len(overdue_sent)
    assert _detached(day.database, Booking, loan_id).status == "returned"
    day.finish()


def test_a_bilan_is_asked_once_after_the_check_in_across_crashes(
    telegram: FakeTelegram, crash_day: Callable[..., Day], lending_team: int
) -> None:
    """Zoé checks the VR headsets back in while processes die, even halfway through; Malo is asked for the bilan
    once and gives it over a crash; every answer is kept, and a restart asks nothing again."""
    coordinator = lending_team
    boundaries = ("kit out", "half checked in", "bilan asked", "bilan half given", "bilan given")
    day = crash_day(24, boundaries)

    loan_id, request = _ask_loan(telegram, "les casques VR", 26)
    _approve(telegram, request)
    _inspect(telegram, loan_id, "Remise du matériel")
    day.boundary("kit out")
    item = _inspect(telegram, loan_id, "Retour du matériel", items=2)
    day.boundary("half checked in")
    mark = telegram.mark()
    record = _go_on(telegram, item)
    assert record["text"].startswith("État des lieux de retour : Kit casques de réalité virtuelle")
    bilan = _expect(telegram, MEDIA, mark, "Merci d'avoir rapporté « Kit casques de réalité virtuelle ».")
    day.boundary("bilan asked")
    question = _tap(telegram, MEDIA, bilan, "Faire le bilan")
    publics = _write(telegram, MEDIA, "9", reply_to=question)
    day.boundary("bilan half given")
    rating = _tap(telegram, MEDIA, publics, "Seniors")
    comment = _tap(telegram, MEDIA, rating, "4")
    thanks = _write(telegram, MEDIA, "Bien passé", reply_to=comment)
    assert thanks["text"].startswith("Merci pour ce bilan.")
    day.boundary("bilan given")
    day.restart_sends_nothing([MEDIA, COORD])

    assert _count(day.texts(MEDIA), "Merci d'avoir rapporté") == 1
    assert _count(day.texts(MEDIA), "État des lieux de retour") == 1
    booking = _detached(day.database, Booking, loan_id)
    assert (booking.status, booking.reached, booking.reached_public, booking.rating, booking.comment) == (
        "returned",
        9,
        "seniors",
        4,
        "Bien passé",
    )
    assert booking.bilan_at is not None
    assert _loan_timers(day.database, loan_id, coordinator)[BILAN] == SENT_ONCE
    day.finish()
