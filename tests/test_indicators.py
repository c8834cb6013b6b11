"""Indicators for the steering committee (knowledge/indicators/): exact figures from known rows, on both databases;
small counts hidden; an empty period gives an empty but valid result."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.indicators.figures import shown
from knowledge.indicators.handoffs import handoff_indicators
from knowledge.indicators.period import Period
from knowledge.models import Handoff

MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
RETENTION = timedelta(days=365)
TEAM_HOURS = "Mo-Fr 09:00-17:00"
MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))


def _handoff(database: Database, chat_id: int, created: datetime, **values: object) -> None:
    with database.session() as session:
        contact = Contact("telegram", str(chat_id), str(chat_id), chat_id)
        citizen_id = record_message(session, contact, created, RETENTION).citizen_id
        fields = {"status": "pending", "last_activity_at": created, "expires_at": created + RETENTION} | values
        session.add(Handoff(citizen_id=citizen_id, chat_id=chat_id, created_at=created, **fields))


def test_small_counts_are_hidden_and_zero_is_not() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 120)] == ["0", "< 5", "< 5", "5", "120"]


def test_a_period_is_whole_days_in_paris_time() -> None:
    assert MARCH.holds(datetime(2026, 3, 31, 23, 30, tzinfo=PARIS))
    assert not MARCH.holds(datetime(2026, 4, 1, 0, 0, tzinfo=PARIS))
    assert not MARCH.holds(datetime(2026, 2, 28, 23, 59, tzinfo=PARIS))
    with pytest.raises(ValueError, match="ends"):
        Period(date(2026, 3, 2), date(2026, 3, 1))


def test_handoff_figures_from_known_requests(database: Database) -> None:
    # Six taken after 2, 4, 6, 8, 10 and 30 minutes, rated 5, 5, 4, 4, 2 (one not rated); one taken and open; one
    # waiting, made on a Sunday (the team is away); one urgent; one in April (outside the period).
    taken_after = [(2, "resolu", 5), (4, "resolu", 5), (6, "oriente", 4), (8, "a_rappeler", 4), (10, "sans_suite", 2)]
    taken_after.append((30, "resolu", None))
    for n, (minutes, outcome, score) in enumerate(taken_after):
        created = MONDAY + timedelta(days=n)
        taken = created + timedelta(minutes=minutes)
        _handoff(
            database,
            100 + n,
            created,
            status="closed",
            claimed_at=taken,
            closed_at=taken,
            outcome=outcome,
            satisfaction=score,
            urgent=n == 0,
        )
    _handoff(database, 110, MONDAY, status="claimed", claimed_at=MONDAY + timedelta(minutes=1))
    _handoff(database, 111, datetime(2026, 3, 8, 11, 0, tzinfo=PARIS))
    _handoff(database, 112, datetime(2026, 4, 2, 10, 0, tzinfo=PARIS), status="closed", outcome="resolu")

    with database.session() as session:
        figures = handoff_indicators(session, MARCH, TEAM_HOURS)

    assert (figures.requests, figures.urgent, figures.claimed, figures.still_open) == (8, 1, 7, 2)
    assert figures.wait_median_minutes == 6.0  # 1, 2, 4, 6, 8, 10, 30
    assert figures.wait_p90_minutes == 18.0  # inclusive: 10 + 0.4 × (30 − 10)
    assert figures.outcomes == {"resolu": 3, "oriente": 1, "a_rappeler": 1, "sans_suite": 1}
    assert figures.ratings == {1: 0, 2: 1, 3: 0, 4: 2, 5: 2}
    assert figures.rating_mean == 4.0
    assert figures.outside_hours == 2  # the Sunday request, and the Saturday one (n = 5)
    assert figures.outside_hours_share is None  # 2 of 8: the share would tell the hidden count


def test_the_share_of_requests_made_while_the_team_was_away(database: Database) -> None:
    sunday = datetime(2026, 3, 8, 11, 0, tzinfo=PARIS)
    for n in range(6):
        _handoff(database, 140 + n, sunday + timedelta(minutes=n))
    for n in range(4):
        _handoff(database, 150 + n, MONDAY + timedelta(minutes=n))  # Monday 10:00, the team is there
    with database.session() as session:
        figures = handoff_indicators(session, MARCH, TEAM_HOURS)
        unknown = handoff_indicators(session, MARCH, None)
    assert (figures.outside_hours, figures.outside_hours_share) == (6, 0.6)
    assert unknown.outside_hours_share is None


def test_few_ratings_give_no_mean_and_no_hours_give_no_share(database: Database) -> None:
    _handoff(
        database, 120, MONDAY, status="closed", claimed_at=MONDAY, closed_at=MONDAY, outcome="resolu", satisfaction=1
    )
    with database.session() as session:
        figures = handoff_indicators(session, MARCH, None)
    assert (figures.ratings[1], figures.rating_mean) == (1, None)  # one person's answer, not a mean
    assert (figures.wait_median_minutes, figures.outside_hours) == (None, None)


def test_a_structure_counts_the_requests_its_conseillers_took(database: Database) -> None:
    from knowledge.models import StaffMember, Structure

    with database.session() as session:
        epn = Structure(name="EPN", created_at=MONDAY)
        session.add(epn)
        session.flush()
        accounts = [
            StaffMember(telegram_user_id=9100 + n, role="conseiller", structure_id=epn.id, joined_at=MONDAY)
            for n in range(2)
        ]
        accounts[1].removed_at = MONDAY  # left since: what they did still counts for the EPN
        session.add_all(accounts)
        session.flush()
        ids = [account.id for account in accounts]
    for n, taker in enumerate([ids[0], ids[1], None]):
        _handoff(database, 130 + n, MONDAY, status="claimed" if taker else "pending", claimed_by_id=taker)
    with database.session() as session:
        figures = handoff_indicators(session, MARCH, None, epn.id)
        network = handoff_indicators(session, MARCH, None)
    assert (figures.requests, network.requests) == (2, 3)


def test_an_empty_period_gives_zeros(database: Database) -> None:
    with database.session() as session:
        figures = handoff_indicators(session, Period(date(2025, 1, 1), date(2025, 1, 31)), TEAM_HOURS)
    assert (figures.requests, figures.claimed, figures.outside_hours, figures.rating_mean) == (0, 0, 0, None)
    assert set(figures.outcomes.values()) == {0} and set(figures.ratings.values()) == {0}


def test_conversations_and_messages_per_week_empty_weeks_included(database: Database) -> None:
    from knowledge.indicators.citizens import weeks

    with database.session() as session:
        for chat_id, started, messages in [(1, MONDAY, 3), (2, MONDAY + timedelta(days=6), 2), (3, MONDAY, 1)]:
            contact = Contact("telegram", str(chat_id), str(chat_id), chat_id)
            for _ in range(messages):
                record_message(session, contact, started, RETENTION)
        record_message(session, Contact("telegram", "9", "9", 9), datetime(2026, 4, 1, 9, tzinfo=PARIS), RETENTION)
    with database.session() as session:
        found = weeks(session, Period(date(2026, 3, 2), date(2026, 3, 22)))
    assert [(w.monday, w.conversations, w.messages) for w in found] == [
        (date(2026, 3, 2), 3, 6),  # Sunday the 8th is still the week of Monday the 2nd
        (date(2026, 3, 9), 0, 0),
        (date(2026, 3, 16), 0, 0),
    ]


def test_the_fiches_that_help_least_come_first(database: Database) -> None:
    from knowledge.indicators.citizens import fiche_scores
    from knowledge.models import FicheFeedback

    answers = {"ameli": (1, 5), "email": (5, 1), "caf": (3, 3), "impots": (1, 1)}
    with database.session() as session:
        for topic, (yes, no) in answers.items():
            for worked in [True] * yes + [False] * no:
                session.add(FicheFeedback(topic=topic, worked=worked, created_at=MONDAY))
        session.add(FicheFeedback(topic="ameli", worked=True, created_at=MONDAY - timedelta(days=30)))
    with database.session() as session:
        scores = fiche_scores(session, MARCH)
    assert [(s.topic, s.worked, s.did_not, s.success_rate) for s in scores] == [
        ("ameli", 1, 5, 0.17),
        ("caf", 3, 3, 0.5),
        ("email", 5, 1, 0.83),
        ("impots", 1, 1, None),  # two answers: no rate, at the end
    ]


def test_atelier_figures_from_known_sign_ups(database: Database) -> None:
    from knowledge.indicators.ateliers import atelier_indicators
    from knowledge.models import Atelier, Citizen, Registration, StaffMember, Structure

    def atelier(uid: str, start: datetime, theme: str, capacity: int, cancelled: bool = False) -> Atelier:
        return Atelier(
            uid=uid,
            start=start,
            end=start + timedelta(hours=2),
            title=uid,
            theme=theme,
            capacity=capacity,
            cancelled=cancelled,
            content_hash=uid,
            updated_at=start,
        )

    with database.session() as session:
        people = [
            Citizen(channel="telegram", external_id=str(n), first_seen_at=MONDAY, last_seen_at=MONDAY) for n in range(6)
        ]
        session.add_all(people)
        email = atelier("email", MONDAY, "Messagerie", 4)
        tablet = atelier("tablette", MONDAY + timedelta(days=7), "", 2)
        gone = atelier("annule", MONDAY + timedelta(days=1), "Messagerie", 8, cancelled=True)
        april = atelier("avril", datetime(2026, 4, 6, 10, tzinfo=PARIS), "Messagerie", 8)
        session.add_all([email, tablet, gone, april])
        # The e-mail atelier is run by an account of one EPN; the tablet one is held at another EPN's place.
        runs, hosts = Structure(name="EPN A", created_at=MONDAY), Structure(name="EPN B", created_at=MONDAY)
        hosts.place_source_id = tablet.place_source_id = "lieu-b"
        session.add_all([runs, hosts])
        session.flush()
        leader = StaffMember(telegram_user_id=9001, role="conseiller", structure_id=runs.id, joined_at=MONDAY)
        session.add(leader)
        session.flush()
        email.staff_member_id = leader.id
        signups = [
            (email, 0, "confirmed", True),
            (email, 1, "confirmed", True),
            (email, 2, "confirmed", False),
            (email, 3, "confirmed", None),
            (email, 4, "waiting", None),
            (email, 5, "cancelled", None),
            (tablet, 0, "confirmed", True),
            (gone, 1, "confirmed", None),
            (april, 2, "confirmed", None),
        ]
        for where, who, status, attended in signups:
            session.add(
                Registration(
                    atelier_id=where.id,
                    citizen_id=people[who].id,
                    status=status,
                    attended=attended,
                    created_at=MONDAY,
                    updated_at=MONDAY,
                )
            )
    with database.session() as session:
        figures = atelier_indicators(session, MARCH)
        run_by_a = atelier_indicators(session, MARCH, runs.id)
        held_at_b = atelier_indicators(session, MARCH, hosts.id)
    assert (run_by_a.held, run_by_a.seats, run_by_a.confirmed, run_by_a.waiting) == (1, 4, 4, 1)
    assert (held_at_b.held, held_at_b.seats, held_at_b.confirmed, held_at_b.present) == (1, 2, 1, 1)
    assert (figures.held, figures.cancelled, figures.seats, figures.fill_rate) == (2, 1, 6, 0.83)
    assert (figures.confirmed, figures.waiting, figures.cancelled_by_citizens) == (5, 1, 1)
    assert (figures.present, figures.absent, figures.unmarked) == (3, 1, 1)
    assert figures.by_theme == {"Messagerie": 1, "autre": 1}


def test_loan_figures_from_known_loans(database: Database) -> None:
    from knowledge.indicators.loans import loan_indicators
    from knowledge.models import Booking, Incident, Inspection, Kit, Lender, Structure

    day = timedelta(days=1)
    with database.session() as session:
        epn, lab = Structure(name="EPN", created_at=MONDAY), Structure(name="Fablab", created_at=MONDAY)
        session.add_all([epn, lab])
        session.flush()
        lender = Lender(name="Réseau", structure_id=lab.id, site="1 rue Haute", hours="Mo-Fr 09:00-17:00")
        session.add(lender)
        session.flush()
        vr, drone = (
            Kit(code=code, lender_id=lender.id, name=name, checklist=["casque"], content_hash=code, updated_at=MONDAY)
            for code, name in (("vr", "Casques VR"), ("drone", "Drones"))
        )
        session.add_all([vr, drone])
        session.flush()

        def booking(kit: Kit, start: datetime, days: int, status: str, **values: object) -> Booking:
            fields = {"kind": "loan", "structure_id": epn.id, "created_at": start - 7 * day} | values
            loan = Booking(
                kit_id=kit.id,
                status=status,
                starts_at=start,
                ends_at=start + days * day,
                holds_until=start + days * day,
                **fields,
            )
            session.add(loan)
            session.flush()
            return loan

        returned = booking(
            vr,
            MONDAY,
            5,
            "returned",
            nature="atelier",
            public="seniors",
            reached=12,
            reached_public="seniors",
            rating=4,
            bilan_at=MONDAY + 6 * day,
        )
        booking(vr, datetime(2026, 2, 26, 10, tzinfo=PARIS), 4, "returned", structure_id=lab.id)  # 2 days in March
        booking(drone, MONDAY + 14 * day, 3, "approved", nature="evenement")
        booking(drone, MONDAY + 2 * day, 2, "refused", reason="Matériel en réparation")
        booking(drone, MONDAY + 5 * day, 2, "refused", reason="Matériel en réparation")
        booking(vr, MONDAY + 20 * day, 2, "cancelled")
        for item, state in (("casque", "missing"), ("manette", "damaged"), ("câble", "present")):
            session.add(Inspection(booking_id=returned.id, phase="check_in", item=item, state=state, created_at=MONDAY))
        session.add(Incident(kit_id=drone.id, text="hélice cassée", created_at=MONDAY + 3 * day))

    with database.session() as session:
        figures = loan_indicators(session, MARCH)
        of_epn = loan_indicators(session, MARCH, epn.id)
    assert (of_epn.loans, of_epn.by_structure, of_epn.refusals) == (2, {"EPN": 2}, {"Matériel en réparation": 2})
    assert [(k.kit, k.loans, k.days_lent) for k in of_epn.kits] == [("Casques VR", 1, 6), ("Drones", 1, 4)]
    assert of_epn.breakdowns == 0  # reported by nobody of the EPN
    assert figures.loans == 3
    assert [(k.kit, k.loans, k.days_lent, k.occupancy) for k in figures.kits] == [
        ("Casques VR", 2, 7, 0.23),  # the 2nd to the 7th, and the 1st and 2nd: 7 days of 31
        ("Drones", 1, 4, 0.13),  # picked up the 16th, back the 19th: the kit is out 4 days
    ]
    assert figures.by_structure == {"EPN": 2, "Fablab": 1}
    assert figures.refusals == {"Matériel en réparation": 2}
    assert (figures.missing_items, figures.damaged_items, figures.breakdowns) == (1, 1, 1)
    assert (figures.bilans, figures.reached, figures.by_public, figures.rating_mean) == (1, 12, {"seniors": 1}, None)
    assert figures.by_nature == {"atelier": 1, "autre": 1, "evenement": 1}
