"""A citizen reaches a person: the request is posted in the staff group, two conseillers press « Prendre en
charge » at once and one gets it, messages go both ways through the bot (never through Rasa), the conseiller
closes with an outcome, the citizen rates the exchange and talks to the assistant again."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement, select, update

from bot.services.processes import action_server
from bot.services.supervisor import Supervisor
from bot.settings import Settings
from bot.telegram.front import ERROR_TEXT
from knowledge.db import Database
from knowledge.handoffs.messages import (
    CLAIMED_TEXT,
    REMIND_HANDOFF,
    REQUEUED_NOTE,
    STILL_WAITING_TEXT,
    THANKS_TEXT,
    UNCLAIMED_HANDOFF,
    UNCLAIMED_TEXT,
    out_of_hours_text,
    refusal_text,
)
from knowledge.handoffs.tickets import claimed_by, open_handoff
from knowledge.models import HandoffMessage, Notification
from knowledge.staff import CONSEILLER, COORDINATEUR, create_invitation, redeem, structure_named
from tests.e2e.conftest import STAFF_GROUP, kill_service, start_bot
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

BOB, CLEO, DAN, EVE = 9201, 9202, 9203, 9204


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

    kill_service(supervisor, "bot")
    start_bot(supervisor, bot, telegram)

    mark = telegram.mark()
    telegram.user_sends_text(chat_id, "toujours là ?")
    (relayed,) = telegram.wait_for_messages(BOB, since=mark, timeout=30)
    assert relayed["text"].endswith(": toujours là ?")
    say(telegram, chat_id, "/bot")


def _open_handoff_id(settings: Settings, citizen: int) -> int:
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            handoff = open_handoff(session, citizen)
            assert handoff is not None, f"no open handoff for chat {citizen}"
            return handoff.id
    finally:
        database.dispose()


def _stored_texts(settings: Settings, handoff_id: int) -> list[str]:
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            query = select(HandoffMessage.text).where(HandoffMessage.handoff_id == handoff_id)
            return list(session.scalars(query.order_by(HandoffMessage.id)))
    finally:
        database.dispose()


def _sent_to(telegram: FakeTelegram, chat: int, since: int) -> list[dict]:
    return [r for r in telegram.requests(since=since) if r["chat_id"] == chat and r["method"] != "sendChatAction"]


def test_in_a_handoff_captions_are_masked_contacts_refused_forwards_and_corrections_marked(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    _bob_takes(telegram, chat_id)
    handoff_id = _open_handoff_id(bot, chat_id)

    mark = telegram.mark()
    telegram.user_sends_document(
        chat_id, "capture.pdf", b"%PDF-1.4 capture", "application/pdf", caption="mon mot de passe est Soleil2024"
    )
    (copy,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert copy["document"]["file_name"] == "capture.pdf"
    assert copy["caption"] == "mon mot de passe est [mot de passe masqué]"

    mark = telegram.mark()
    (refused,) = say_with(telegram, chat_id, lambda: telegram.user_sends_contact(chat_id, "06 12 34 56 78", "Paul"))
    assert refused["text"] == refusal_text("contact")
    (refused,) = say_with(telegram, chat_id, lambda: telegram.user_sends_location(chat_id, 49.1157, -1.0906))
    assert refused["text"] == refusal_text("location")
    dice = {"dice": {"emoji": "🎲", "value": 4}}
    (refused,) = say_with(telegram, chat_id, lambda: telegram.user_sends(chat_id, dice))
    assert refused["text"] == refusal_text("dice")
    assert _sent_to(telegram, BOB, mark) == []  # nothing relayed

    mark = telegram.mark()
    telegram.user_sends_sticker(chat_id, "🙏")
    (sticker,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert sticker["sticker"]["emoji"] == "🙏"

    mark = telegram.mark()
    telegram.user_forwards_text(chat_id, "Votre colis est bloqué. Réglez 1,99 € sur colis-suivi.fr", "Numéro inconnu")
    (forwarded,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert forwarded["text"] == (
        f"Demande n° {handoff_id} (message transféré) : Votre colis est bloqué. Réglez 1,99 € sur colis-suivi.fr"
    )
    assert "forward_origin" not in forwarded and "Numéro inconnu" not in forwarded["text"]

    mark = telegram.mark()
    asked = telegram.user_sends_text(chat_id, "je peux passer à 14h")["message"]
    telegram.wait_for_messages(BOB, since=mark, timeout=20)
    mark = telegram.mark()
    telegram.user_edits_text(chat_id, asked["message_id"], "je peux passer à 15h, mon mot de passe est Soleil2024")
    (corrected,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert corrected["text"] == (
        f"Demande n° {handoff_id} (message corrigé) : je peux passer à 15h, mon mot de passe est [mot de passe masqué]"
    )

    mark = telegram.mark()
    said = telegram.user_sends_text(BOB, "Je vous attends à 14 h.", first_name="Bob", user_id=BOB)["message"]
    telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    mark = telegram.mark()
    telegram.user_edits_text(BOB, said["message_id"], "Je vous attends à 15 h.")
    (fixed,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    assert fixed["text"] == "Bob (message corrigé) : Je vous attends à 15 h."

    mark = telegram.mark()
    telegram.user_sends_text(BOB, "C'est noté.", first_name="Bob", user_id=BOB, reply_to=corrected["message_id"])
    (answer,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    assert answer["text"] == "Bob : C'est noté."

    stored = _stored_texts(bot, handoff_id)
    assert not [text for text in stored if "Soleil2024" in text]
    assert "mon mot de passe est [mot de passe masqué]" in stored  # the caption, masked once
    assert "(message corrigé) je peux passer à 15h, mon mot de passe est [mot de passe masqué]" in stored
    assert "(message corrigé) Je vous attends à 15 h." in stored
    say(telegram, chat_id, "/bot")


def say_with(telegram: FakeTelegram, chat_id: int, send: Callable[[], object]) -> list[dict]:
    """The user sends something (not text); returns what the bot answered."""
    mark = telegram.mark()
    send()
    return telegram.wait_until_quiet(chat_id, since=mark)


def test_an_edit_from_a_conseiller_without_a_handoff_goes_to_the_assistant(
    bot: Settings, telegram: FakeTelegram
) -> None:
    _team_ready(bot, telegram)
    telegram.register_chat(CLEO, first_name="Cléo")
    database = Database(bot.database_url)
    with database.session() as session:
        assert claimed_by(session, CLEO) == []
    database.dispose()
    mark = telegram.mark()
    written = telegram.user_sends_text(CLEO, "bonjour", first_name="Cléo", user_id=CLEO)["message"]
    assert telegram.wait_until_quiet(CLEO, since=mark)
    mark = telegram.mark()
    telegram.user_edits_text(CLEO, written["message_id"], "bonjour !")
    answers = telegram.wait_until_quiet(CLEO, since=mark)
    assert answers and all(m["text"] != ERROR_TEXT for m in answers)
    assert answers[0]["text"].startswith("Bonjour, je suis Passerelle.")


def test_a_conseiller_who_leaves_the_group_is_kicked_or_removed_hands_the_request_back(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    telegram.register_chat(CLEO, first_name="Cléo")
    _bob_takes(telegram, chat_id)
    handoff_id = _open_handoff_id(bot, chat_id)

    def handed_back(mark: int) -> dict:
        """The citizen is told; the staff group gets the request again, with « Prendre en charge »."""
        (told,) = telegram.wait_for_messages(chat_id, since=mark, timeout=30)
        assert told["text"].startswith(
            "Votre conseiller n'est plus disponible. Votre demande revient dans la file : vous êtes "
        )
        telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
        (notice,) = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if "Nouvelle demande" in m["text"]]
        assert notice["text"].startswith(f"Nouvelle demande n° {handoff_id}\n{REQUEUED_NOTE}")
        assert button_titles(notice) == ["Prendre en charge"]
        return notice

    mark = telegram.mark()
    telegram.user_leaves_group(STAFF_GROUP, BOB, "Bob")
    notice = handed_back(mark)
    assert _sent_to(telegram, BOB, mark) == []

    mark = telegram.mark()
    telegram.user_sends_text(BOB, "vous êtes toujours là ?", first_name="Bob", user_id=BOB)
    telegram.wait_until_quiet(BOB, since=mark)
    assert _sent_to(telegram, chat_id, mark) == []  # Bob no longer has the request: nothing reaches the citizen

    mark = telegram.mark()
    telegram.user_presses_button(STAFF_GROUP, notice, "Prendre en charge", "Cléo", user_id=CLEO)
    (claimed,) = telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    assert claimed["text"] == CLAIMED_TEXT.format(name="Cléo")
    telegram.wait_until_quiet(STAFF_GROUP, since=mark)

    mark = telegram.mark()
    telegram.chat_member_changes(STAFF_GROUP, CLEO, "kicked", "Cléo", by=BOB)
    notice = handed_back(mark)

    _invite(bot, DAN, "Dan", CONSEILLER)
    _invite(bot, EVE, "Eve", COORDINATEUR)
    telegram.register_chat(DAN, first_name="Dan")
    telegram.register_chat(EVE, first_name="Eve")
    mark = telegram.mark()
    telegram.user_presses_button(STAFF_GROUP, notice, "Prendre en charge", "Dan", user_id=DAN)
    telegram.wait_for_messages(chat_id, since=mark, timeout=20)
    telegram.wait_until_quiet(STAFF_GROUP, since=mark)
    mark = telegram.mark()
    telegram.user_sends_text(EVE, "/equipe", first_name="Eve", user_id=EVE)
    (listing,) = telegram.wait_for_messages(EVE, since=mark, timeout=20)
    mark = telegram.mark()
    telegram.user_presses_button(EVE, listing, "Retirer Dan")
    (removed,) = telegram.wait_for_messages(EVE, since=mark, timeout=20)
    assert removed["text"] == "Dan ne fait plus partie de l'équipe. Sa demande en cours revient dans la file."
    handed_back(mark)
    assert _sent_to(telegram, DAN, mark) == []
    say(telegram, chat_id, "/bot")


def _invite(settings: Settings, user_id: int, name: str, role: str) -> None:
    database = Database(settings.database_url)
    with database.session() as session:
        code = create_invitation(
            session, structure_named(session, "EPN (handoff)", datetime.now(UTC)), role, datetime.now(UTC)
        )
    redeem(database, code, user_id, name, datetime.now(UTC))
    database.dispose()


def _closed_hours(now: datetime) -> str:
    """An hour of opening that starts three hours (or more) from now, Paris time, and ends before midnight."""
    paris = now.astimezone(ZoneInfo("Europe/Paris"))
    minutes = paris.hour * 60 + paris.minute
    start = next(s for s in ((minutes + offset) % 1440 for offset in (180, 240)) if s + 60 < 1440)
    end = start + 60
    return f"Mo-Su {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _restart_actions(supervisor: Supervisor, settings: Settings) -> None:
    old = next(s for s in supervisor.services if s.name == "actions" and s.process and s.process.poll() is None)
    old.process.terminate()
    try:
        old.process.wait(20)
    except subprocess.TimeoutExpired:
        old.process.kill()
        old.process.wait(20)
    supervisor.services.remove(old)
    supervisor.start(action_server(settings))  # on the same port; returns once it answers /health


@pytest.fixture
def closed_team(supervisor: Supervisor, services: Settings) -> Iterator[str]:
    """The action server runs with team hours closed right now, for one test; then as before."""
    hours = _closed_hours(datetime.now(UTC))
    _restart_actions(supervisor, services.model_copy(update={"staff_hours": hours}))
    try:
        yield hours
    finally:
        _restart_actions(supervisor, services)


def test_out_of_hours_the_citizen_learns_when_the_team_is_back_and_danger_numbers_come_first(
    bot: Settings, telegram: FakeTelegram, closed_team: str, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    mark = telegram.mark()
    (answer,) = say(telegram, chat_id, "/conseiller")
    assert answer["text"].startswith("Je transmets votre demande à un conseiller.")
    expected = out_of_hours_text(closed_team, datetime.now(UTC))
    assert expected is not None and "ouvre" in expected
    assert answer["text"].endswith(f"\n\n{expected}")
    assert button_titles(answer) == ["Trouver de l'aide près de chez moi"]
    telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    notices = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if "Nouvelle demande" in m["text"]]
    assert [m["text"].split("\n")[0] for m in notices] == [f"Nouvelle demande n° {_open_handoff_id(bot, chat_id)}"]
    say(telegram, chat_id, "/bot")

    in_danger = chat_id + 4000
    (numbers,) = say(telegram, in_danger, "je veux mourir")
    assert "3114" in numbers["text"]
    mark = telegram.mark()
    (answer,) = press(telegram, in_danger, numbers, "Parler à un conseiller")
    # The numbers first, again: nobody answers before the team is back. Then the queue, then when it opens.
    again, queued = numbers["text"], "Je transmets votre demande à un conseiller. Vous êtes 1er dans la file."
    assert answer["text"].startswith(f"{again}\n\n{queued}")
    assert answer["text"].endswith(f"\n\n{expected}")
    telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    notices = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if "Nouvelle demande" in m["text"]]
    assert [m["text"].split("\n")[0] for m in notices] == [
        f"🚨 URGENT — Nouvelle demande n° {_open_handoff_id(bot, in_danger)}"
    ]
    say(telegram, in_danger, "/bot")


def test_escalation_timers_due_while_the_bot_was_down_are_sent_once(
    bot: Settings, telegram: FakeTelegram, supervisor: Supervisor, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    mark = telegram.mark()
    say(telegram, chat_id, "/conseiller")
    telegram.wait_for_messages(STAFF_GROUP, since=mark, timeout=30)
    telegram.wait_until_quiet(STAFF_GROUP, since=mark)
    handoff_id = _open_handoff_id(bot, chat_id)
    reminder = f"Rappel : Nouvelle demande n° {handoff_id}\n"

    kill_service(supervisor, "bot")
    database = Database(bot.database_url)
    timers = (Notification.ref_id == handoff_id, Notification.kind.in_([REMIND_HANDOFF, UNCLAIMED_HANDOFF]))
    with database.session() as session:  # they came due while the bot was down
        moved = session.execute(
            update(Notification).where(*timers).values(due_at=datetime.now(UTC) - timedelta(minutes=1))
        ).rowcount
    assert moved == 2
    mark = telegram.mark()
    start_bot(supervisor, bot, telegram)

    (unclaimed,) = telegram.wait_for_messages(chat_id, since=mark, timeout=30)
    assert unclaimed["text"] == UNCLAIMED_TEXT
    assert "aucun conseiller n'a encore pu prendre votre demande" in unclaimed["text"]
    telegram.wait_for_request(
        "sendMessage", since=mark, timeout=30, predicate=lambda r: r["params"]["text"].startswith(reminder)
    )
    reminders = [m for m in telegram.wait_until_quiet(STAFF_GROUP, since=mark) if m["text"].startswith(reminder)]
    assert len(reminders) == 1 and button_titles(reminders[0]) == ["Prendre en charge"]
    assert len(telegram.wait_until_quiet(chat_id, since=mark)) == 1
    _wait_sent(database, timers)

    mark = telegram.mark()
    kill_service(supervisor, "bot")
    start_bot(supervisor, bot, telegram)
    telegram.user_sends_text(chat_id, "toujours personne ?")
    # Quiet for longer than an outbox poll: only the answer to that message came, and nothing to the staff group.
    (waiting,) = telegram.wait_until_quiet(chat_id, since=mark, quiet=7.0, timeout=30)
    assert waiting["text"] == STILL_WAITING_TEXT
    assert _sent_to(telegram, STAFF_GROUP, mark) == []
    database.dispose()
    say(telegram, chat_id, "/bot")


def _wait_sent(database: Database, where: tuple[ColumnElement[bool], ...], timeout: float = 10.0) -> None:
    """The sent mark follows the message by a few milliseconds."""
    deadline = time.monotonic() + timeout
    while True:
        with database.session() as session:
            outcomes = list(session.scalars(select(Notification.outcome).where(*where)))
        if outcomes == ["sent", "sent"] or time.monotonic() > deadline:
            assert outcomes == ["sent", "sent"]
            return
        time.sleep(0.1)
