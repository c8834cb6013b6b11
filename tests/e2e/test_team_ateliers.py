"""The team's ateliers through Telegram: a coordinator entrusts an atelier to a conseiller, who sees who registered
(first names only), marks attendance, and cancels another atelier: everyone registered is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.settings import Settings
from knowledge.ateliers.signups import import_ateliers, register
from knowledge.ateliers.sources import AtelierRecord
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.models import Atelier
from knowledge.staff import CONSEILLER, COORDINATEUR
from tests.e2e.conftest import join_team
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

MAYA, LUC = 9301, 9302
ALICE, BRUNO = 9311, 9312
PLACE = "demo-50502-1"
STRUCTURE = "EPN (ateliers e2e)"


def _setting_up(settings: Settings, telegram: FakeTelegram) -> tuple[int, int]:
    """Maya coordinates the EPN at PLACE, Luc is its conseiller; two ateliers of the EPN, Alice and Bruno
    registered to both. Returns (the atelier starting in 20 minutes, the one next week)."""
    now = datetime.now(UTC)
    join_team(settings, telegram, [(MAYA, "Maya", COORDINATEUR, STRUCTURE), (LUC, "Luc", CONSEILLER, STRUCTURE)], PLACE)
    database = Database(settings.database_url)
    soon, later = now + timedelta(minutes=20), now + timedelta(days=7)
    records = [
        AtelierRecord(uid=f"e2e-{n}@team", start=s, end=s + timedelta(hours=2), title=t, place_id=PLACE, capacity=5)
        for n, s, t in ((1, soon, "Atelier e2e présences"), (2, later, "Atelier e2e annulé"))
    ]
    with database.session() as session:
        import_ateliers(session, records, "e2e-team", now)
    with database.session() as session:
        ids = [session.scalars(select(Atelier.id).where(Atelier.uid == r.uid)).one() for r in records]
    for chat, name in ((ALICE, "Alice"), (BRUNO, "Bruno")):
        telegram.register_chat(chat, first_name=name)
        with database.session() as session:
            citizen = record_message(session, Contact("telegram", str(chat), str(chat), chat), now, timedelta(days=30))
        for atelier_id in ids:
            assert register(database, atelier_id, citizen.citizen_id, chat, name, now, reminder_hour=18).registration_id
    database.dispose()
    return ids[0], ids[1]


def _entrust(telegram: FakeTelegram, title: str) -> None:
    (listing,) = say(telegram, MAYA, "/attribuer")
    button = next(b for b in button_titles(listing) if title in b)
    (who,) = press(telegram, MAYA, listing, button)
    assert who["text"].startswith(f"À qui confier « {title} »")
    mark = telegram.mark()
    (done,) = press(telegram, MAYA, who, "Luc")
    assert done["text"].startswith(f"« {title} » est confié à Luc")
    (told,) = telegram.wait_for_messages(LUC, since=mark, timeout=20)
    assert told["text"].startswith(f"Maya vous a confié l'atelier « {title} »")


def _mark(telegram: FakeTelegram, sheet: dict, button: str) -> list[str]:
    """Luc presses a name on the attendance sheet; the sheet's buttons after the bot edits it."""
    mark = telegram.mark()
    telegram.user_presses_button(LUC, telegram.message(LUC, sheet["message_id"]), button)
    telegram.wait_for_request("editMessageReplyMarkup", since=mark, timeout=20)
    return button_titles(telegram.message(LUC, sheet["message_id"]))


def test_entrust_attend_and_cancel(bot: Settings, telegram: FakeTelegram) -> None:
    _setting_up(bot, telegram)
    (refused,) = say(telegram, LUC, "/attribuer")
    assert refused["text"] == "Seul un coordinateur de votre structure peut faire cela."
    _entrust(telegram, "Atelier e2e présences")
    _entrust(telegram, "Atelier e2e annulé")

    first, second = say(telegram, LUC, "/mes_ateliers")
    assert first["text"].startswith("« Atelier e2e présences »")
    assert "Inscrits : 2 / 5 — Alice, Bruno" in first["text"]
    assert str(ALICE) not in first["text"]
    assert button_titles(first) == ["Noter les présences", "Annuler l'atelier"]

    (sheet,) = press(telegram, LUC, first, "Noter les présences")
    assert button_titles(sheet) == ["⬜ Alice", "⬜ Bruno"]
    assert _mark(telegram, sheet, "⬜ Alice") == ["✅ Alice", "⬜ Bruno"]
    assert _mark(telegram, sheet, "✅ Alice") == ["❌ Alice", "⬜ Bruno"]
    assert _mark(telegram, sheet, "⬜ Bruno") == ["❌ Alice", "✅ Bruno"]

    (confirm,) = press(telegram, LUC, second, "Annuler l'atelier")
    assert "2 personnes inscrites seront prévenues" in confirm["text"]
    mark = telegram.mark()
    (cancelled,) = press(telegram, LUC, confirm, "Oui, annuler l'atelier")
    assert cancelled["text"] == "Atelier « Atelier e2e annulé » annulé. 2 personnes sont prévenues."
    for citizen in (ALICE, BRUNO):
        (news,) = telegram.wait_for_messages(citizen, since=mark, timeout=30)
        assert news["text"].startswith("Désolé : l'atelier « Atelier e2e annulé »")
    (again,) = press(telegram, LUC, confirm, "Oui, annuler l'atelier")
    assert again["text"] == "Cet atelier est déjà annulé."

    (theirs,) = say(telegram, ALICE, "/mes_ateliers")  # a citizen: their own sign-ups, not the team's command
    assert theirs["text"].startswith("Vos ateliers")
    assert "Atelier e2e présences" in theirs["text"] and "Atelier e2e annulé" not in theirs["text"]
