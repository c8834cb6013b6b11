"""What a médiateur or the lender looks up: which kits are free over a period, a kit's month, one's own loans, the
catalogue, and a kit's bookings as an iCalendar file."""

from __future__ import annotations

from datetime import date, timedelta

from icalendar import Calendar
from sqlalchemy import select

from knowledge.db import Database
from knowledge.loans.bookings import approve, place_block
from knowledge.loans.overview import availability, catalogue, kit_ics, month_view, my_loans
from knowledge.loans.periods import Period
from knowledge.models import Kit
from tests.loan_network import COORD, FRIDAY, MEDIA, MONDAY, NOW, OUTSIDER, ask, kit_id


def _titles(buttons: list[list[dict[str, str]]]) -> list[str]:
    return [b["title"] for row in buttons for b in row]


def test_availability_over_a_period_shows_what_is_taken_and_offers_the_free_kits(network: Database) -> None:
    approve(network, COORD, ask(network, kit="drones").booking_id, NOW)
    week = Period(date(2026, 12, 7), date(2026, 12, 11))
    with network.session() as session:
        text, buttons = availability(session, week, NOW)
    assert text.splitlines() == [
        "Matériel libre du lundi 7 décembre au vendredi 11 décembre :",
        "• Kit casques de réalité virtuelle : libre",
        "• Kit drones d'initiation : pris du lundi 7 décembre au vendredi 11 décembre",
        "• Kit radio mobile : libre",
    ]
    titles = _titles(buttons)
    assert (
        "Réserver : Kit casques de réalité virtuelle" in titles and "Réserver : Kit drones d'initiation" not in titles
    )
    assert titles[-1] == "Le contenu de chaque kit"


def test_a_kits_month_and_its_calendar_file(network: Database) -> None:
    approve(network, COORD, ask(network).booking_id, NOW)
    place_block(network, COORD, kit_id(network), MONDAY + timedelta(days=14), FRIDAY + timedelta(days=14), "salon", NOW)
    with network.session() as session:
        text = month_view(session, kit_id(network), date(2026, 12, 1))
        assert text.splitlines() == [
            "Kit casques de réalité virtuelle, décembre 2026 :",
            "• du lundi 7 décembre au vendredi 11 décembre : prêt accepté",
            "• du lundi 21 décembre au vendredi 25 décembre : réservé par le prêteur (salon)",
        ]
        assert month_view(session, kit_id(network, "drones"), date(2026, 12, 1)).endswith("Libre tout le mois.")
        events = Calendar.from_ical(kit_ics(session, kit_id(network))).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == [
        "Kit casques de réalité virtuelle — Prêt (accepté)",
        "Kit casques de réalité virtuelle — Bloqué : salon",
    ]


def test_my_loans_with_cancel_and_the_catalogue(network: Database) -> None:
    ask(network)
    with network.session() as session:
        session.scalars(select(Kit).where(Kit.code == "drones")).one().photo = "https://exemple.org/drones.jpg"
    with network.session() as session:
        text, buttons = my_loans(session, MEDIA, NOW)
        assert text.startswith("Vos prêts :\n1. Kit casques de réalité virtuelle, du lundi 7 décembre à 9 h")
        assert text.endswith(": demandé, en attente") and _titles(buttons) == ["Annuler le n° 1"]
        assert my_loans(session, OUTSIDER, NOW)[0] == "Vous n'avez aucun prêt en cours ni demandé."
        listing = catalogue(session, NOW)
    assert "• Kit drones d'initiation (disponible) : Quatre petits drones" in listing
    assert "Contenu : 4 drones, 4 télécommandes, 8 batteries" in listing
    assert "  Photo : https://exemple.org/drones.jpg" in listing
