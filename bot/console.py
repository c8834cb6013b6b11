"""A chat in the terminal through the same pipeline as Telegram: used when no Telegram token is set."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from bot.dialogue import Dialogue
from bot.rasa.client import RasaClient
from bot.replies import Button, Reply
from bot.services.supervisor import LOG_DIR
from bot.settings import Settings
from knowledge.citizens.conversations import Contact
from knowledge.db import Database
from knowledge.settings import VAR_DIR

log = logging.getLogger(__name__)
QUIT_WORDS = {"quitter", "/quitter", "/quit", "exit", "quit"}


class Console:
    def __init__(
        self, dialogue: Dialogue, contact: Contact, out: TextIO = sys.stdout, files_dir: Path = VAR_DIR / "fichiers"
    ) -> None:
        self.dialogue = dialogue
        self.contact = contact
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
            else:
                await self.exchange(text=line)
        self.say("Au revoir.")

    async def exchange(self, *, text: str | None = None, payload: str | None = None) -> None:
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
        await Console(dialogue, contact).run()
    finally:
        await rasa.close()
        database.dispose()
