"""A médiateur writes a loan request step by step: what the first message says is taken, the rest is asked, each
answer is checked against the step waiting for it, and the read-back is confirmed before anything is sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from knowledge.db import Database
from knowledge.loans.bookings import approve
from knowledge.loans.drafts import answer, awaits_text, kits_named, send, start
from knowledge.models import Booking, LoanDraft
from tests.loan_network import CONSEIL, COORD, MEDIA, NOW, ask


def _titles(step) -> list[str]:  # type: ignore[no-untyped-def]
    return [b["title"] for row in step.buttons for b in row]


def test_a_request_in_one_sentence_then_buttons_then_the_read_back(network: Database) -> None:
    step = start(network, MEDIA, "Je voudrais emprunter les drones du 7 au 11 décembre", NOW)
    assert step.text.startswith("Retrait le lundi 7 décembre, au Site de démonstration")
    assert _titles(step)[:3] == ["9 h", "9 h 30", "10 h"] and "12 h" not in _titles(step)
    step = answer(network, MEDIA, "pickup", "0900", NOW)
    assert step.text.startswith("Retour le vendredi 11 décembre")
    step = answer(network, MEDIA, "return", "1600", NOW)
    assert step.text == "Pour quel type d'action ?" and "Atelier" in _titles(step)
    step = answer(network, MEDIA, "nature", "atelier", NOW)
    assert step.text == "Pour quel public ?"
    step = answer(network, MEDIA, "public", "scolaires", NOW)
    assert awaits_text(network, MEDIA, NOW) == "participants"
    step = answer(network, MEDIA, "participants", "une douzaine, disons 12", NOW)
    assert step.text.startswith("Voici votre demande :\nKit drones d'initiation, du lundi 7 décembre à 9 h au")
    assert "Pour : atelier, public scolaires" in step.text and "Participants attendus : 12" in step.text
    assert _titles(step) == ["Envoyer la demande", "Changer les dates", "Abandonner"]
    sent = send(network, MEDIA, NOW)
    assert sent.text.startswith("Demande envoyée.")
    with network.session() as session:
        booking = session.scalars(select(Booking)).one()
        assert (booking.status, booking.participants, booking.public) == ("requested", 12, "scolaires")
        assert session.scalars(select(LoanDraft)).first() is None
    assert send(network, MEDIA, NOW).text.startswith("Ce bouton n'est plus valable")  # a double press


def test_what_is_missing_is_asked_and_bad_dates_are_explained(network: Database) -> None:
    step = start(network, MEDIA, "je voudrais réserver du matériel", NOW)
    assert step.text == "Quel matériel voulez-vous emprunter ?"
    assert _titles(step)[:3] == ["Kit casques de réalité virtuelle", "Kit drones d'initiation", "Kit radio mobile"]
    kit = step.buttons[2][0]["payload"].split("|")[2]
    step = answer(network, MEDIA, "kit", kit, NOW)
    assert step.text.startswith("Kit radio mobile. Pour quelles dates ?")
    assert awaits_text(network, MEDIA, NOW) == "period"
    assert answer(network, MEDIA, "period", "bientôt", NOW).text.startswith("Je n'ai pas compris ces dates.")
    assert answer(network, MEDIA, "period", "du 10 au 3 décembre", NOW).text.startswith("La date de fin est avant")
    step = answer(network, MEDIA, "period", "samedi", NOW)
    assert step.text.startswith("Le site de retrait est fermé le samedi 5 décembre.")
    step = answer(network, MEDIA, "period", "la semaine prochaine", NOW)
    assert step.text.startswith("Retrait le lundi 7 décembre")


def test_a_stale_or_forged_answer_changes_nothing(network: Database) -> None:
    start(network, MEDIA, "les casques vr", NOW)  # waits for the dates
    assert answer(network, MEDIA, "pickup", "0900", NOW).text.startswith("Ce bouton n'est plus valable")
    assert answer(network, MEDIA, "kit", "999", NOW).text.startswith("Ce bouton n'est plus valable")
    assert answer(network, CONSEIL, "period", "lundi", NOW) is None  # no draft, not a médiateur
    with network.session() as session:
        draft = session.scalars(select(LoanDraft)).one()
        assert (draft.awaiting, draft.first_day) == ("period", None)
    assert answer(network, MEDIA, "drop", "", NOW).text == "D'accord, j'abandonne cette demande."
    assert awaits_text(network, MEDIA, NOW) is None


def test_someone_who_is_not_a_mediator_is_told_kindly(network: Database) -> None:
    for user in (CONSEIL, COORD, 4242):
        step = start(network, user, "réserver un drone", NOW)
        assert step.text.startswith("Le prêt de matériel est réservé aux médiateurs")
        assert _titles(step) == ["Trouver un atelier"]


def test_taken_dates_get_the_nearest_free_period_in_one_press(network: Database) -> None:
    approve(network, COORD, ask(network, kit="drones").booking_id, NOW)  # Monday 9:00 → Friday 16:00
    start(network, MEDIA, "les drones du 8 au 10 décembre", NOW)
    answer(network, MEDIA, "pickup", "0900", NOW)
    step = answer(network, MEDIA, "return", "1000", NOW)
    assert step.text.startswith("Ce matériel est déjà prêté à ces dates. Il est libre du ")
    assert _titles(step) == ["Oui, ces dates", "Autres dates", "Abandonner"]
    step = answer(network, MEDIA, "proposal", "yes", NOW)
    assert step.text == "Pour quel type d'action ?"
    with network.session() as session:
        draft = session.scalars(select(LoanDraft)).one()
        assert draft.pickup is not None and draft.pickup > NOW + timedelta(days=5)


def test_kits_are_named_by_their_words() -> None:
    from knowledge.models import Kit

    kits = [
        Kit(code="casques-vr", aliases=["casque", "vr", "réalité virtuelle"], name="Casques"),
        Kit(code="drones", aliases=["drone"], name="Drones"),
    ]
    assert [k.code for k in kits_named(kits, "un CASQUE VR svp")] == ["casques-vr"]
    assert [k.code for k in kits_named(kits, "la réalite virtuelle et un drone")] == ["casques-vr", "drones"]
    assert kits_named(kits, "un vrai souci") == []  # « vr » is not inside « vrai »
