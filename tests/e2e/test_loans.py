"""A médiateur borrows a kit through Telegram, the lender's coordinateur decides, checks it out and in item by item,
the médiateur gets their reminders and gives the bilan; a refusal proposes a free period; a citizen is told kindly
that loans are for the network's médiateurs; an overdue loan is reminded once a day, restarts included."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from sqlalchemy import select, update

from bot.services.supervisor import Supervisor
from bot.settings import Settings
from knowledge.db import Database
from knowledge.french import MONTHS, PARIS
from knowledge.models import Booking, Kit, Notification
from knowledge.staff import COORDINATEUR, MEDIATEUR
from tests.e2e.conftest import join_team, kill_service, start_bot
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

MEDIA, MEDIA2, COORD = 9401, 9402, 9403
CITIZEN = 9411


def _team(settings: Settings, telegram: FakeTelegram) -> None:
    join_team(
        settings,
        telegram,
        [
            (MEDIA, "Malik", MEDIATEUR, "EPN de démonstration"),
            (MEDIA2, "Nora", MEDIATEUR, "EPN de démonstration"),
            (COORD, "Odile", COORDINATEUR, "Réseau de démonstration, coordination"),
        ],
    )


def _working_days(weeks_ahead: int) -> tuple[date, date]:
    """A Monday and the Wednesday after, `weeks_ahead` weeks from now, with no public holiday in between."""
    today = datetime.now(PARIS).date()
    french = holidays.France(years=range(today.year, today.year + 2))
    monday = today + timedelta(days=7 * weeks_ahead - today.weekday())
    while any(monday + timedelta(days=d) in french for d in range(3)):
        monday += timedelta(days=7)
    return monday, monday + timedelta(days=2)


def _words(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _button(message: dict, start: str) -> str:
    return next(title for title in button_titles(message) if title.startswith(start))


def _reply(telegram: FakeTelegram, chat: int, question: dict, text: str) -> list[dict]:
    mark = telegram.mark()
    telegram.user_sends_text(chat, text, reply_to=question["message_id"])
    return telegram.wait_until_quiet(chat, since=mark)


def _request(telegram: FakeTelegram, chat: int, first: date, last: date, kit: str = "les drones") -> dict:
    """The médiateur asks in French and walks through the slots; returns the last answer. (Each test borrows its
    own kit: the services, and the database, are shared by the whole test session.)"""
    (slots,) = say(telegram, chat, f"Bonjour, je voudrais réserver {kit} du {_words(first)} au {_words(last)}")
    assert slots["text"].startswith("Retrait le lundi"), slots["text"]
    (back,) = press(telegram, chat, slots, "9 h")
    assert back["text"].startswith("Retour le mercredi")
    (answer,) = press(telegram, chat, back, "16 h")
    return answer


def test_a_loan_from_request_to_bilan(bot: Settings, telegram: FakeTelegram) -> None:
    _team(bot, telegram)
    telegram.register_chat(CITIZEN, first_name="Paul")
    (refused,) = say(telegram, CITIZEN, "je voudrais réserver un drone")
    assert refused["text"].startswith("Le prêt de matériel est réservé aux médiateurs")

    first, last = _working_days(3)
    nature = _request(telegram, MEDIA, first, last)
    assert nature["text"] == "Pour quel type d'action ?"
    (public,) = press(telegram, MEDIA, nature, "Atelier")
    (count,) = press(telegram, MEDIA, public, "Seniors")
    assert count["text"].startswith("Combien de participants")
    (readback,) = say(telegram, MEDIA, "12 personnes")
    assert readback["text"].startswith("Voici votre demande :\nKit drones d'initiation, du lundi")
    assert "Participants attendus : 12" in readback["text"]
    mark = telegram.mark()
    (sent,) = press(telegram, MEDIA, readback, "Envoyer la demande")
    assert sent["text"].startswith("Demande envoyée.")
    (request,) = telegram.wait_for_messages(COORD, since=mark, timeout=30)
    assert (
        request["text"].startswith("Nouvelle demande de prêt n° ")
        and "de Malik (EPN de démonstration)" in request["text"]
    )
    assert button_titles(request) == ["Approuver", "Refuser"]

    mark = telegram.mark()
    (approved,) = press(telegram, COORD, request, "Approuver")
    assert approved["text"].startswith("Demande n° ") and approved["text"].endswith(
        "acceptée. La personne est prévenue."
    )
    (told,) = telegram.wait_for_messages(MEDIA, since=mark, timeout=30)
    assert told["text"].startswith("Votre demande de prêt est acceptée")

    database = Database(bot.database_url)
    with database.session() as session:  # two days before the pickup: brought to now
        session.execute(update(Notification).where(Notification.kind == "loan_pickup").values(due_at=datetime.now(UTC)))
    (reminder,) = telegram.wait_for_messages(MEDIA, since=mark, count=2, timeout=30)[1:]
    assert reminder["text"].startswith("Rappel : vous retirez le matériel")

    (loan,) = say(telegram, COORD, "/prets")
    (item,) = press(telegram, COORD, loan, "Remise du matériel")
    mark = telegram.mark()
    for _ in range(5):
        assert item["text"].startswith("Remise du prêt n° ")
        (item,) = press(telegram, COORD, item, "✅ Présent")
    assert item["text"].startswith("État des lieux de sortie : Kit drones d'initiation")
    (record,) = telegram.wait_for_messages(MEDIA, since=mark, timeout=20)
    assert record["text"] == item["text"]

    (loan,) = say(telegram, COORD, "/prets")
    (item,) = press(telegram, COORD, loan, "Retour du matériel")
    (question,) = press(telegram, COORD, item, "❌ Manquant")
    assert question["text"].startswith("« 4 drones » : manquant.")
    (item,) = _reply(telegram, COORD, question, "un drone resté à l'EPN")
    mark = telegram.mark()
    for _ in range(4):
        (item,) = press(telegram, COORD, item, "✅ Présent")
    assert "❌ 4 drones : manquant (un drone resté à l'EPN)" in item["text"]
    messages = telegram.wait_for_messages(MEDIA, since=mark, count=2, timeout=30)
    assert any("❌ 4 drones : manquant" in m["text"] for m in messages)
    bilan = next(m for m in messages if "bilan" in m["text"])
    with database.session() as session:
        booking = session.scalars(
            select(Booking).join(Kit).where(Kit.code == "drones", Booking.kind == "loan").order_by(Booking.id.desc())
        ).first()
        assert booking.status == "returned" and booking.flagged

    (question,) = press(telegram, MEDIA, bilan, "Faire le bilan")
    (publics,) = _reply(telegram, MEDIA, question, "14")
    (rating,) = press(telegram, MEDIA, publics, "Seniors")
    (comment,) = press(telegram, MEDIA, rating, "5")
    (thanks,) = _reply(telegram, MEDIA, comment, "Très bon atelier")
    assert thanks["text"].startswith("Merci pour ce bilan.")
    with database.session() as session:
        booking = session.get(Booking, booking.id)
        assert (booking.reached, booking.reached_public, booking.rating, booking.comment) == (
            14,
            "seniors",
            5,
            "Très bon atelier",
        )
    database.dispose()


def test_taken_dates_are_refused_with_a_free_period_and_a_loan_is_cancelled(
    bot: Settings, telegram: FakeTelegram
) -> None:
    _team(bot, telegram)
    first, last = _working_days(6)
    nature = _request(telegram, MEDIA, first, last, "les casques VR")
    (public,) = press(telegram, MEDIA, nature, "Formation")
    (count,) = press(telegram, MEDIA, public, "Tout public")
    (readback,) = press(telegram, MEDIA, count, "10")
    press(telegram, MEDIA, readback, "Envoyer la demande")

    refusal = _request(telegram, MEDIA2, first, last, "les casques VR")
    assert refusal["text"].startswith("Ce matériel est déjà prêté à ces dates. Il est libre du ")
    (nature,) = press(telegram, MEDIA2, refusal, "Oui, ces dates")
    assert nature["text"] == "Pour quel type d'action ?"
    (dropped,) = press(telegram, MEDIA2, nature, "Abandonner")
    assert dropped["text"] == "D'accord, j'abandonne cette demande."

    (loans,) = say(telegram, MEDIA, "/mes_prets")
    assert loans["text"].startswith("Vos prêts :") and "demandé, en attente" in loans["text"]
    (cancelled,) = press(telegram, MEDIA, loans, _button(loans, "Annuler"))
    assert cancelled["text"] == "C'est annulé. Le matériel est libéré."


def test_an_overdue_loan_is_reminded_once_a_day_across_restarts(
    bot: Settings, telegram: FakeTelegram, supervisor: Supervisor
) -> None:
    _team(bot, telegram)
    first, last = _working_days(9)
    nature = _request(telegram, MEDIA, first, last, "le kit radio")
    (public,) = press(telegram, MEDIA, nature, "Atelier")
    (count,) = press(telegram, MEDIA, public, "Jeunes")
    (readback,) = press(telegram, MEDIA, count, "5")
    press(telegram, MEDIA, readback, "Envoyer la demande")
    database = Database(bot.database_url)
    now = datetime.now(UTC)
    with database.session() as session:  # the kit went out and should have come back two days ago
        loan = session.scalars(
            select(Booking)
            .join(Kit)
            .where(Kit.code == "radio-mobile", Booking.status == "requested")
            .order_by(Booking.id.desc())
        ).first()
        loan.status, loan.checked_out_at = "checked_out", now - timedelta(days=5)
        loan_id = loan.id
        loan.starts_at, loan.ends_at, loan.holds_until = (
            now - timedelta(days=5),
            now - timedelta(days=2),
            now - timedelta(days=1),
        )
    database.dispose()
    mark = telegram.mark()
    kill_service(supervisor, "bot")
    start_bot(supervisor, bot, telegram)  # the sweep runs 10 s after the start
    _bring_forward_overdue_reminder(bot, loan_id)  # armed for 10:00 Paris: before that hour, make it due now
    (overdue,) = telegram.wait_for_messages(MEDIA, since=mark, timeout=60)
    assert "jours de retard" in overdue["text"] and overdue["text"].startswith("Le matériel « Kit radio mobile")
    mark = telegram.mark()
    kill_service(supervisor, "bot")
    start_bot(supervisor, bot, telegram)
    telegram.user_sends_text(MEDIA, "/mes_prets")
    # Quiet for longer than the sweep at start and several outbox polls: only the answer to that command came.
    messages = telegram.wait_until_quiet(MEDIA, since=mark, quiet=20.0, timeout=60)
    texts = [m["text"][:80] for m in messages]
    assert len(texts) == 1, texts
    (answer,) = messages
    assert answer["text"].startswith("Vos prêts :") and "en cours" in answer["text"]

    # While the kit is out, a breakdown is reported (never repaired by the borrower); the lender puts it right.
    (question,) = press(telegram, MEDIA, answer, _button(answer, "Signaler une panne"))
    mark = telegram.mark()
    (thanks,) = _reply(telegram, MEDIA, question, "Un micro ne marche plus.")
    assert thanks["text"] == "Merci, le prêteur est prévenu. Il vous dira quoi faire."
    (alert,) = telegram.wait_for_messages(COORD, since=mark, timeout=20)
    assert alert["text"] == f"Panne signalée sur « Kit radio mobile » (prêt n° {loan_id}) :\nUn micro ne marche plus."
    (radio,) = [m for m in say(telegram, COORD, "/kits") if m["text"].startswith("Kit radio mobile")]
    assert radio["text"] == "Kit radio mobile : à vérifier"
    (done,) = press(telegram, COORD, radio, "→ Disponible")
    assert done["text"] == "C'est noté."


def test_the_lender_blocks_dates_and_refuses_with_its_own_reason(bot: Settings, telegram: FakeTelegram) -> None:
    _team(bot, telegram)
    first, last = _working_days(15)
    (kits,) = [m for m in say(telegram, COORD, "/kits") if m["text"].startswith("Kit casques")]
    (question,) = press(telegram, COORD, kits, "Bloquer des dates")
    assert question["text"].startswith("Pour quelles dates bloquer « Kit casques de réalité virtuelle »")
    (blocked,) = _reply(telegram, COORD, question, f"du {_words(first)} au {_words(last)}, salon du numérique")
    assert blocked["text"].startswith("« Kit casques de réalité virtuelle » est bloqué du ")

    refusal = _request(telegram, MEDIA, first, last, "les casques VR")
    assert refusal["text"].startswith(
        "Le prêteur a réservé ce matériel à ces dates (salon du numérique). Il est prioritaire. Il est libre du "
    )
    (nature,) = press(telegram, MEDIA, refusal, "Oui, ces dates")
    (public,) = press(telegram, MEDIA, nature, "Événement")
    (count,) = press(telegram, MEDIA, public, "Familles")
    (readback,) = press(telegram, MEDIA, count, "30")
    mark = telegram.mark()
    press(telegram, MEDIA, readback, "Envoyer la demande")
    request = telegram.wait_for_messages(COORD, since=mark, timeout=30)[-1]
    assert request["text"].startswith("Nouvelle demande de prêt n° ")

    (why,) = press(telegram, COORD, request, "Refuser")
    (question,) = press(telegram, COORD, why, "Autre motif (l'écrire)")
    mark = telegram.mark()
    (done,) = _reply(telegram, COORD, question, "Les casques partent en révision ce mois-là.")
    assert done["text"].endswith("refusée. La personne est prévenue, avec le motif.")
    (told,) = telegram.wait_for_messages(MEDIA, since=mark, timeout=30)
    assert told["text"].startswith("Votre demande de prêt n'est pas acceptée")
    assert told["text"].endswith("Motif : Les casques partent en révision ce mois-là.")


def _bring_forward_overdue_reminder(bot: Settings, loan_id: int, timeout: float = 60) -> None:
    """Wait for the sweep to arm today's overdue reminder, then make it due now if it waits for 10:00."""
    database = Database(bot.database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with database.session() as session:
                row = session.scalars(
                    select(Notification).where(
                        Notification.ref_id == loan_id, Notification.kind.startswith("loan_overdue:")
                    )
                ).first()
                if row is not None:
                    row.due_at = datetime.now(UTC) - timedelta(seconds=1)
                    return
            time.sleep(0.5)
        raise AssertionError("the overdue sweep armed no reminder")
    finally:
        database.dispose()
