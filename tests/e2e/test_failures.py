"""When Rasa is down the citizen is told so in French, and the bot recovers by itself when it is back."""

from __future__ import annotations

import time

import pytest

from bot.dialogue import RASA_DOWN_TEXT
from bot.services.supervisor import Supervisor
from bot.settings import Settings
from tests.e2e.test_telegram import say
from tests.fake_telegram import FakeTelegram
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e


def test_rasa_down_then_back(
    bot: Settings, telegram: FakeTelegram, rasa_proxy: TcpProxy, supervisor: Supervisor, chat_id: int
) -> None:
    rasa_proxy.cut()
    try:
        (message,) = say(telegram, chat_id, "bonjour")
        assert message["text"] == RASA_DOWN_TEXT
        (again,) = say(telegram, chat_id, "comment créer une adresse mail")
        assert again["text"] == RASA_DOWN_TEXT
    finally:
        rasa_proxy.resume()

    bot_service = next(s for s in supervisor.services if s.name == "bot")
    assert bot_service.process is not None and bot_service.process.poll() is None, "the bot kept running"
    (menu,) = say(telegram, chat_id, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")


def test_a_frozen_rasa_costs_the_citizen_one_timeout_and_no_retry(
    bot: Settings, telegram: FakeTelegram, rasa_proxy: TcpProxy, chat_id: int
) -> None:
    say(telegram, chat_id, "bonjour")  # a pooled connection exists; the frozen proxy only holds new ones
    time.sleep(2.5)  # pooled connections expire after 2 s: the next request opens a new one
    rasa_proxy.freeze()
    try:
        before = rasa_proxy.connections
        started = time.monotonic()
        mark = telegram.mark()
        telegram.user_sends_text(chat_id, "comment créer une adresse mail")
        (message,) = telegram.wait_for_messages(chat_id, since=mark, timeout=bot.rasa_timeout + 10)
        waited = time.monotonic() - started
        assert message["text"] == RASA_DOWN_TEXT
        assert rasa_proxy.connections - before == 1, "the message was sent to Rasa once, never again"
        assert bot.rasa_timeout <= waited < bot.rasa_timeout + 5
    finally:
        rasa_proxy.thaw()
    (menu,) = say(telegram, chat_id, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")
