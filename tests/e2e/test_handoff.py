"""A citizen reaches a person: the request is posted in the staff group, two conseillers press « Prendre en
charge » at once and one gets it, messages go both ways through the bot (never through Rasa), the conseiller
closes with an outcome, the citizen rates the exchange and talks to the assistant again."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from bot.services.processes import bot_process
from bot.services.supervisor import Supervisor
from bot.settings import Settings
from knowledge.db import Database
from knowledge.handoff_messages import CLAIMED_TEXT, STILL_WAITING_TEXT, THANKS_TEXT
from knowledge.staff import CONSEILLER, create_invitation, redeem, structure_named
from tests.e2e.conftest import STAFF_GROUP
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

BOB, CLEO = 9201, 9202


def _conseillers(settings: Settings) -> None:
    database = Database(settings.database_url)
    for user_id, name in ((BOB, "Bob"), (CLEO, "Cléo")):
        with database.session() as session:
            code = create_invitation(
                session, structure_named(session, "EPN (handoff)", datetime.now(UTC)), CONSEILLER, datetime.now(UTC)
            )
        redeem(database, code, user_id, name, datetime.now(UTC))
    database.dispose()


def test_request_claim_race_relay_close_and_rating(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    _conseillers(bot)
    telegram.register_chat(STAFF_GROUP, chat_type="supergroup", title="Équipe")
    for user_id, name in ((BOB, "Bob"), (CLEO, "Cléo")):
        telegram.register_chat(user_id, first_name=name)

    say(telegram, chat_id, "je ne reçois plus mes mails sur jean.dupont@gmail.com")
    mark = telegram.mark()
    (queued,) = say(telegram, chat_id, "je voudrais parler à un conseiller")
    assert queued["text"].startswith("Je transmets votre demande à un conseiller. Vous êtes 1er dans la file.")
    (notice,) = telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    assert notice["text"].startswith("Nouvelle demande n° ")
    assert "« je ne reçois plus mes mails sur j***@gmail.com »" in notice["text"]
    assert "jean.dupont" not in notice["text"]
    assert button_titles(notice) == ["Prendre en charge"]

    (waiting,) = say(telegram, chat_id, "c'est pour mon compte ameli")
    assert waiting["text"] == STILL_WAITING_TEXT

    mark = telegram.mark()
    presses = [
        threading.Thread(
            target=telegram.user_presses_button,
            args=(STAFF_GROUP, notice, "Prendre en charge", name),
            kwargs={"user_id": uid},
        )
        for uid, name in ((BOB, "Bob"), (CLEO, "Cléo"))
    ]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join()
    (told,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    winner = "Bob" if told["text"] == CLAIMED_TEXT.format(name="Bob") else "Cléo"
    assert told["text"] == CLAIMED_TEXT.format(name=winner)
    winner_id, loser_id = (BOB, CLEO) if winner == "Bob" else (CLEO, BOB)
    (instructions,) = telegram.wait_for_messages(winner_id, since=mark, timeout=20)
    assert instructions["text"].startswith("Vous avez pris la demande n° ")
    assert "Clore : résolu" in button_titles(instructions)
    (taken,) = telegram.wait_for_messages(loser_id, since=mark, timeout=20)
    assert taken["text"] == f"{winner} a déjà pris cette demande."
    (posted,) = telegram.wait_until_quiet(STAFF_GROUP, since=mark)
    assert posted["text"].endswith(f"prise par {winner}.")

    mark = telegram.mark()
    telegram.user_sends_text(chat_id, "mon mot de passe est Soleil2024 et ça ne marche pas")
    (relayed,) = telegram.wait_for_messages(winner_id, since=mark, timeout=20)
    assert relayed["text"].startswith("Demande n° ") and "Soleil2024" not in relayed["text"]

    mark = telegram.mark()
    telegram.user_sends_text(
        winner_id, "/note compte ameli bloqué, rappeler jeudi", first_name=winner, user_id=winner_id
    )
    (kept,) = telegram.wait_for_messages(winner_id, since=mark, timeout=20)
    assert kept["text"].startswith("Note gardée sur la demande n° ")
    assert not [r for r in telegram.requests("sendMessage", since=mark) if r["chat_id"] == chat_id]

    mark = telegram.mark()
    telegram.user_sends_document(chat_id, "capture.pdf", b"%PDF-1.4 capture", "application/pdf")
    (copy,) = telegram.wait_for_messages(winner_id, since=mark, timeout=20)
    assert copy["document"]["file_name"] == "capture.pdf" and "forward_origin" not in copy

    mark = telegram.mark()
    telegram.user_sends_text(winner_id, "Bonjour, je regarde cela avec vous.", first_name=winner, user_id=winner_id)
    (answer,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    assert answer["text"] == f"{winner} : Bonjour, je regarde cela avec vous."

    mark = telegram.mark()
    telegram.user_presses_button(winner_id, instructions, "Clore : résolu")
    (closed,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    assert closed["text"].startswith(f"La conversation avec {winner} est terminée.")
    (thanks,) = press(telegram, chat_id, closed, "5")
    assert thanks["text"] == THANKS_TEXT

    (menu,) = say(telegram, chat_id, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")


def test_the_queue_command_and_leaving_before_anyone_answers(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    (queued,) = say(telegram, chat_id, "/conseiller")
    assert queued["text"].startswith("Je transmets votre demande à un conseiller.")
    mark = telegram.mark()
    telegram.user_sends_text(BOB, "/file", first_name="Bob", user_id=BOB)
    listed = telegram.wait_until_quiet(BOB, since=mark)
    assert any("Prendre en charge" in button_titles(m) for m in listed)
    (for_team,) = say(telegram, chat_id + 5000, "/file")
    assert for_team["text"].startswith("Cette commande est réservée à l'équipe")
    (back,) = say(telegram, chat_id, "/bot")
    assert back["text"] == "D'accord, vous parlez de nouveau à l'assistant. Que puis-je faire pour vous ?"
    (menu,) = say(telegram, chat_id, "bonjour")
    assert menu["text"].startswith("Bonjour, je suis Passerelle.")


def _bob_takes(telegram: FakeTelegram, citizen: int) -> None:
    """The citizen asks for a person; Bob takes the request from the staff group."""
    mark = telegram.mark()
    say(telegram, citizen, "/conseiller")
    telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    (notice,) = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if "Nouvelle demande" in m["text"]]
    telegram.user_presses_button(STAFF_GROUP, notice, "Prendre en charge", "Bob", user_id=BOB)
    telegram.wait_for_messages(citizen, since=mark, count=2, timeout=20)
    telegram.wait_until_quiet(STAFF_GROUP, since=mark)


def _team_ready(settings: Settings, telegram: FakeTelegram) -> None:
    _conseillers(settings)
    telegram.register_chat(STAFF_GROUP, chat_type="supergroup", title="Équipe")
    telegram.register_chat(BOB, first_name="Bob")


def test_with_two_citizens_a_reply_goes_to_the_right_one(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    _team_ready(bot, telegram)
    first, second = chat_id, chat_id + 4000
    for citizen in (first, second):
        _bob_takes(telegram, citizen)
    mark = telegram.mark()
    telegram.user_sends_text(first, "question du premier")
    (relayed,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)

    mark = telegram.mark()
    telegram.user_sends_text(BOB, "à qui ?", first_name="Bob", user_id=BOB)
    (which,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert which["text"].startswith("Vous avez plusieurs demandes ouvertes")

    mark = telegram.mark()
    telegram.user_sends_text(BOB, "réponse au premier", first_name="Bob", user_id=BOB, reply_to=relayed["message_id"])
    (answer,) = telegram.wait_for_messages(first, since=mark, timeout=20)
    assert answer["text"] == "Bob : réponse au premier"
    assert not [r for r in telegram.requests("sendMessage", since=mark) if r["chat_id"] == second]
    for citizen in (first, second):
        say(telegram, citizen, "/bot")


def test_a_handoff_survives_a_killed_bot(
    bot: Settings, telegram: FakeTelegram, supervisor: Supervisor, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    _bob_takes(telegram, chat_id)

    old = next(s for s in supervisor.services if s.name == "bot" and s.process and s.process.poll() is None)
    old.process.kill()  # no goodbye: SIGKILL
    old.process.wait(20)
    supervisor.services.remove(old)
    polls = telegram.polls
    supervisor.start(bot_process(bot))
    telegram.wait_for_polling(timeout=60, after=polls)

    mark = telegram.mark()
    telegram.user_sends_text(chat_id, "toujours là ?")
    (relayed,) = telegram.wait_for_messages(BOB, since=mark, timeout=30)
    assert relayed["text"].endswith(": toujours là ?")
    say(telegram, chat_id, "/bot")
