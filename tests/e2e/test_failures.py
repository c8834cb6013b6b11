"""When Rasa is down the citizen is told so in French, and the bot recovers by itself when it is back."""

from __future__ import annotations

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
