"""`/oubli` in Telegram: after a confirmation, the citizen's conversations, sign-ups and Rasa events are gone."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from bot.settings import Settings
from bot.telegram.forget import CONFIRM_TEXT, DONE_TEXT, KEPT_TEXT
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e


def _events(settings: Settings, chat_id: int) -> int:
    with sqlite3.connect(str(make_url(settings.tracker_store_url).database)) as connection:
        return connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (str(chat_id),)).fetchone()[0]


def test_forget_erases_after_confirmation(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (ateliers,) = say(telegram, chat_id, "des ateliers à Saint-Lô ?")
    button = next(title for title in button_titles(ateliers) if title.startswith("S'inscrire"))
    press(telegram, chat_id, ateliers, button)
    assert _events(bot, chat_id) > 0

    (question,) = say(telegram, chat_id, "/oubli")
    assert question["text"] == CONFIRM_TEXT
    (kept,) = press(telegram, chat_id, question, "Non, garder")
    assert kept["text"] == KEPT_TEXT
    (question,) = say(telegram, chat_id, "/oubli")
    (done,) = press(telegram, chat_id, question, "Oui, tout effacer")
    assert done["text"] == DONE_TEXT
    assert _events(bot, chat_id) == 0

    (mine,) = say(telegram, chat_id, "mes ateliers")
    assert mine["text"] == "Vous n'êtes inscrit(e) à aucun atelier à venir."
