"""`passerelle run` keeps the service up: each process killed with SIGKILL is restarted by the supervisor while
the bot keeps answering, `passerelle status` tells what runs, and SIGTERM stops everything cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.dialogue import RASA_DOWN_TEXT
from bot.services.supervisor import free_port
from knowledge.settings import PROJECT_ROOT
from tests.e2e.test_telegram import say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

CHAT = 9901


class Stack:
    """`passerelle run` in a subprocess, as `make run` starts it, against its own fake Telegram server."""

    def __init__(self, root: Path, telegram: FakeTelegram) -> None:
        self.root = root
        self.telegram = telegram
        self.status_file = root / "services.json"
        self.env = {
            **os.environ,
            "TELEGRAM_TOKEN": telegram.token,
            "TELEGRAM_BASE_URL": telegram.base_url,
            "TELEGRAM_BASE_FILE_URL": telegram.base_file_url,
            "DATABASE_URL": f"sqlite:///{root / 'passerelle.db'}",
            "RASA_TRACKER_STORE_URL": f"sqlite:///{root / 'rasa-tracker.db'}",
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}/webhook",
            "STATUS_FILE": str(self.status_file),
            "RASA_TIMEOUT": "10",
            "RASA_WORKERS": "2",  # as deployed on 2 cores, with Redis as Rasa's lock store
            "REDIS_PORT": str(free_port()),
        }
        self.log = open(root / "run.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=self.env, cwd=PROJECT_ROOT, stdout=self.log, stderr=self.log
        )

    def status(self) -> tuple[int, str, dict]:
        command = [sys.executable, "-m", "bot", "status"]
        text = subprocess.run(command, env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
        state = subprocess.run(
            [*command, "--json"], env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
        )
        return text.returncode, text.stdout, json.loads(state.stdout)

    def service(self, name: str) -> dict:
        state = json.loads(self.status_file.read_text())
        return next(s for s in state["services"] if s["name"] == name)

    def wait_running(self, name: str, restarts: int, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"passerelle run exited: {self.tail()}"
            if self.status_file.exists():
                service = self.service(name)
                if service["state"] == "running" and service["restarts"] >= restarts:
                    return service
            time.sleep(0.5)
        raise AssertionError(f"{name} not running again after {timeout} s: {self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join((self.root / "run.log").read_text(errors="replace").splitlines()[-40:])


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with FakeTelegram(token="424242:supervision-test") as telegram:
        stack = Stack(tmp_path, telegram)
        try:
            for name in ("actions", "redis", "rasa", "bot"):
                stack.wait_running(name, restarts=0)
            telegram.wait_for_polling(timeout=60)
            yield stack
        finally:
            if stack.process.poll() is None:
                stack.process.send_signal(signal.SIGTERM)
                stack.process.wait(60)
            stack.log.close()


def test_each_process_killed_is_restarted_and_the_bot_keeps_answering(stack: Stack) -> None:
    telegram = stack.telegram
    (menu,) = say(telegram, CHAT, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")
    code, text, _state = stack.status()
    assert code == 0, text
    assert [line.split()[:2] for line in text.splitlines()[2:]] == [
        ["actions", "running"],
        ["redis", "running"],
        ["rasa", "running"],
        ["bot", "running"],
    ]

    # Rasa dies (its two workers with it): the citizen is told in French at once, the supervisor brings Rasa back,
    # answers come back.
    rasa = stack.service("rasa")
    os.killpg(rasa["pid"], signal.SIGKILL)
    (down,) = say(telegram, CHAT, "bonjour")
    assert down["text"] == RASA_DOWN_TEXT
    back = stack.wait_running("rasa", restarts=1)
    assert back["pid"] != rasa["pid"] and back["last_exit"] == -signal.SIGKILL
    (menu,) = say(telegram, CHAT, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")

    # Redis, the action server, then the bot itself.
    for name in ("redis", "actions", "bot"):
        before = stack.service(name)
        polls = telegram.polls
        os.kill(before["pid"], signal.SIGKILL)
        after = stack.wait_running(name, restarts=1)
        assert after["pid"] != before["pid"]
        if name == "bot":
            telegram.wait_for_polling(timeout=60, after=polls)
        # A Rasa worker whose connection to Redis died fails once (the French error text), then reconnects.
        tries = [
            say(telegram, CHAT, "comment créer une adresse mail")[0]["text"] for _ in range(3 if name == "redis" else 1)
        ]
        assert any(text != RASA_DOWN_TEXT for text in tries), tries

    code, text, state = stack.status()
    assert code == 0, text
    restarts = {s["name"]: s["restarts"] for s in state["services"]}
    assert restarts == {"actions": 1, "redis": 1, "rasa": 1, "bot": 1}
    assert "was killed by SIGKILL" in text

    # SIGTERM: everything stops, `make run` exits 0, status says so.
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(60) == 0
    code, text, state = stack.status()
    assert code == 3 and text.startswith("Passerelle: not running")
    for service in json.loads(stack.status_file.read_text())["services"]:
        assert service["state"] == "stopped"
