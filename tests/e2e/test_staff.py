"""Staff accounts in Telegram: the first coordinator from an invitation, the team they invite and remove; a
citizen typing a staff command is told kindly it is for the team. Fake Bot API server, real bot process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.settings import Settings
from bot.staff.accounts import AVAILABLE_TEXT, FOR_TEAM_TEXT, REFUSED_TEXT
from knowledge.db import Database
from knowledge.staff import COORDINATEUR, create_invitation, structure_named
from tests.e2e.test_telegram import button_titles, press
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

ANA, BOB, CITIZEN = 9101, 9102, 9103


def write(telegram: FakeTelegram, user: int, text: str, name: str) -> list[dict]:
    mark = telegram.mark()
    telegram.user_sends_text(user, text, first_name=name, user_id=user)
    return telegram.wait_until_quiet(user, since=mark)


def test_invitation_team_and_removal(bot: Settings, telegram: FakeTelegram) -> None:
    database = Database(bot.database_url)
    with database.session() as session:
        structure = structure_named(session, "EPN de Saint-Lô (e2e)", datetime.now(UTC))
        first_code = create_invitation(session, structure, COORDINATEUR, datetime.now(UTC))
    database.dispose()

    (welcome,) = write(telegram, ANA, f"/start {first_code}", "Ana")
    assert welcome["text"].startswith("Bienvenue, Ana. Vous faites partie de l'équipe « EPN de Saint-Lô (e2e) »")
    assert "/inviter" in welcome["text"]
    menu = telegram.commands(scope={"type": "chat", "chat_id": ANA})
    assert [c["command"] for c in menu] == [
        "start",
        "dispo",
        "indispo",
        "equipe",
        "mes_ateliers",
        "inviter",
        "attribuer",
        "demandes",
        "prets",
        "kits",
        "bilan",
    ]

    (question,) = write(telegram, ANA, "/inviter", "Ana")
    assert button_titles(question) == ["Conseiller numérique", "Médiateur", "Coordinateur"]
    (link,) = press(telegram, ANA, question, "Conseiller numérique")
    assert "https://t.me/passerelle_test_bot?start=" in link["text"]
    code = link["text"].split("?start=")[1].split()[0]

    (joined,) = write(telegram, BOB, f"/start {code}", "Bob")
    assert joined["text"].startswith("Bienvenue, Bob.") and "conseiller numérique" in joined["text"]
    (reused,) = write(telegram, CITIZEN, f"/start {code}", "Camille")
    assert reused["text"] == REFUSED_TEXT

    (available,) = write(telegram, BOB, "/dispo", "Bob")
    assert available["text"] == AVAILABLE_TEXT
    (listing,) = write(telegram, ANA, "/equipe", "Ana")
    assert listing["text"].splitlines()[1:] == ["• Ana — coordinateur", "• Bob — conseiller numérique"]
    (gone,) = press(telegram, ANA, listing, "Retirer Bob")
    assert gone["text"] == "Bob ne fait plus partie de l'équipe."
    (for_team,) = write(telegram, BOB, "/equipe", "Bob")
    assert for_team["text"] == FOR_TEAM_TEXT
    (for_team,) = write(telegram, BOB, "/dispo", "Bob")
    assert for_team["text"] == FOR_TEAM_TEXT


def test_a_citizen_typing_a_staff_command_is_told_kindly(bot: Settings, telegram: FakeTelegram) -> None:
    (answer,) = write(telegram, CITIZEN, "/inviter", "Camille")
    assert answer["text"] == FOR_TEAM_TEXT
    (menu,) = write(telegram, CITIZEN, "/start", "Camille")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")
