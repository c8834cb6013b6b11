"""A chat in the terminal through the same pipeline as Telegram: used when no Telegram token is set."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.dialogue import Dialogue
from bot.rasa.client import RasaClient
from bot.replies import Button, Reply, buttons_from
from bot.services.supervisor import LOG_DIR
from bot.settings import Settings
from bot.staff.accounts import JOINED_TEXT, REFUSED_TEXT
from knowledge.citizens.conversations import Contact
from knowledge.db import Database
from knowledge.loans import drafts
from knowledge.loans import messages as texts
from knowledge.loans.bookings import cancel_loan
from knowledge.settings import VAR_DIR
from knowledge.staff import CONSOLE_USER_ID, ROLE_LABELS, redeem

log = logging.getLogger(__name__)
QUIT_WORDS = {"quitter", "/quitter", "/quit", "exit", "quit"}


class Console:
    def __init__(
        self,
        dialogue: Dialogue,
        contact: Contact,
        out: TextIO = sys.stdout,
        files_dir: Path = VAR_DIR / "fichiers",
        team: ConsoleTeam | None = None,
    ) -> None:
        self.dialogue = dialogue
        self.contact = contact
        self.team = team
        self.out = out
        self.files_dir = files_dir
        self.choices: list[Button] = []

    async def run(self) -> None:
        self.say(
            "Bienvenue. Tapez votre message puis Entrée. Tapez le numéro d'un choix pour le sélectionner. "
            "Pour quitter : « quitter » ou Ctrl-C."
        )
        await self.exchange(payload="/greet")
        lines = _stdin_lines()
        while True:
            print("\nVous > ", end="", file=self.out, flush=True)
            line = await lines.get()
            if line is None:
                break
            line = line.strip()
            if line.lower() in QUIT_WORDS:
                break
            if not line:
                continue
            choice = self._choice(line)
            if choice is not None and choice.url:
                self.say(f"Ouvrez ce lien dans votre navigateur : {choice.url}")
            elif choice is not None and choice.payload:
                self.say(f"(choix : {choice.title})")
                await self.exchange(payload=choice.payload)
            elif line.startswith("/start ") and self.team is not None:
                self.show([Reply(await asyncio.to_thread(self.team.join, line.split(maxsplit=1)[1]))])
            else:
                await self.exchange(text=line)
        self.say("Au revoir.")

    async def exchange(self, *, text: str | None = None, payload: str | None = None) -> None:
        answered = await asyncio.to_thread(self.team.answer, text, payload) if self.team is not None else None
        if answered is not None:  # a loan step: answered here, as the Telegram bot does, not by Rasa
            self.show([answered])
            return
        if payload is not None:
            replies = await self.dialogue.handle_payload(self.contact, payload)
        else:
            replies = await self.dialogue.handle_text(self.contact, text or "")
        self.show(replies)

    def show(self, replies: list[Reply]) -> None:
        self.choices = []
        for reply in replies:
            if reply.venue is not None:
                venue = reply.venue
                self.say(f"\n📍 {venue.title} — {venue.address} ({venue.latitude:.5f}, {venue.longitude:.5f})")
            if reply.text:
                self.say(f"\nPasserelle > {reply.text}")
            for row in reply.buttons:
                for button in row:
                    self.choices.append(button)
                    self.say(f"   [{len(self.choices)}] {button.title}")
            if reply.request_location:
                self.say("   (Écrivez votre code postal ou le nom de votre commune.)")
            if reply.document is not None:
                path = self.files_dir / reply.document.filename
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(reply.document.content)
                self.say(f"   Fichier enregistré : {path}")

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _choice(self, line: str) -> Button | None:
        """A number among the choices shown picks that choice; any other number (a postcode) is text."""
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            return self.choices[int(line) - 1]
        return None


class ConsoleTeam:
    """The person at the terminal as a staff member (account CONSOLE_USER_ID): `/start <code>` redeems an
    invitation printed by `passerelle staff invite`, and a loan request's steps are answered here over the same
    draft as in Telegram (bot/staff/loans.py), so that a loan can be tried without Telegram."""

    def __init__(self, database: Database, first_name: str) -> None:
        self.database = database
        self.first_name = first_name

    def join(self, code: str) -> str:
        result = redeem(self.database, code.strip()[:64], CONSOLE_USER_ID, self.first_name, datetime.now(UTC))
        if result.status != "joined":
            return REFUSED_TEXT
        role = ROLE_LABELS.get(result.role or "", result.role or "")
        return JOINED_TEXT.format(name=self.first_name, structure=result.structure, role=role)

    def answer(self, text: str | None, payload: str | None) -> Reply | None:
        """A loan step (a `loan|…` choice, or the dates or number the draft waits for); None for the dialogue."""
        now = datetime.now(UTC)
        if payload is not None and payload.startswith("loan|"):
            parts = payload.split("|")[1:]
            if parts[0] == "send":
                step = drafts.send(self.database, CONSOLE_USER_ID, now)
            elif parts[0] == "cancel" and len(parts) > 1 and parts[1].isdigit():
                decision = cancel_loan(self.database, CONSOLE_USER_ID, int(parts[1]), now)
                return Reply(texts.CANCELLED_TEXT if decision.status == "cancelled" else texts.STALE_TEXT)
            elif parts[0] in drafts.BUTTON_STEPS:
                answered = drafts.answer(
                    self.database, CONSOLE_USER_ID, parts[0], parts[1] if len(parts) > 1 else "", now
                )
                step = answered or drafts.Step(texts.STALE_TEXT)
            else:
                return Reply(TELEGRAM_ONLY_TEXT)
            return Reply(step.text, buttons_from(step.buttons))
        if text is not None and (waiting := drafts.awaits_text(self.database, CONSOLE_USER_ID, now)) is not None:
            step = drafts.answer(self.database, CONSOLE_USER_ID, waiting, text, now) or drafts.Step(texts.STALE_TEXT)
            return Reply(step.text, buttons_from(step.buttons))
        return None


TELEGRAM_ONLY_TEXT = "Dans le terminal, je gère la demande de prêt. Le reste se fait dans Telegram."


def _log_to_file(path: Path) -> None:
    """Keep the terminal for the chat: the bot's own logs go to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)


def _stdin_lines() -> asyncio.Queue[str | None]:
    """Lines typed in the terminal, read by a daemon thread so that Ctrl-C never waits for Enter."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return queue


async def run_console(settings: Settings) -> None:
    rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    database = Database(settings.database_url)
    dialogue = Dialogue(
        rasa,
        database,
        timedelta(days=settings.retention_days),
        timedelta(days=settings.sensitive_retention_days),
    )
    _log_to_file(LOG_DIR / "console.log")
    user = getpass.getuser()
    contact = Contact(channel="console", external_id=user, sender_id=f"console-{user}")
    try:
        if not await rasa.is_ready():
            log.warning("Rasa at %s is not ready; the first answers may fail", settings.rasa_url)
        await Console(dialogue, contact, team=ConsoleTeam(database, user.capitalize())).run()
    finally:
        await rasa.close()
        database.dispose()
