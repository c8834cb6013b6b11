"""« /oubli »: everything kept about a citizen goes at once, on each backend; their seat goes to the waiting list."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from knowledge.ateliers.signups import PROMOTED, import_ateliers, register
from knowledge.ateliers.sources import AtelierRecord
from knowledge.citizens.conversations import Contact, record_message
from knowledge.citizens.erasure import erase_citizen
from knowledge.db import Database
from knowledge.handoffs.messages import UNCLAIMED_HANDOFF
from knowledge.handoffs.tickets import request_handoff
from knowledge.models import Atelier, Citizen, Conversation, Handoff, Notification, Registration
from knowledge.notifications import add_notification, purge_notifications
from knowledge.places.catalogue import DEMO_PLACES, import_places_from

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_erasure_removes_everything_and_frees_the_seat(database: Database, tmp_path: Path) -> None:
    import_places_from(database, str(DEMO_PLACES), NOW)
    start = NOW + timedelta(days=5)
    record = AtelierRecord("a@t", start, start + timedelta(hours=2), "Atelier", "demo-50502-1", capacity=1)
    ana, bob = Contact("telegram", "11", "11", 11), Contact("telegram", "12", "12", 12)
    with database.session() as session:
        import_ateliers(session, [record], "t", NOW)
        atelier_id = session.scalars(select(Atelier.id)).one()
        ana_id = record_message(session, ana, NOW, timedelta(days=90)).citizen_id
        bob_id = record_message(session, bob, NOW, timedelta(days=90)).citizen_id
    register(database, atelier_id, ana_id, 11, "Ana", NOW, reminder_hour=18)
    with database.session() as session:  # Ana also asked for a person: a handoff and its timer
        handoff, _ = request_handoff(session, ana_id, 11, NOW, timedelta(days=90))
        add_notification(session, UNCLAIMED_HANDOFF, handoff.id, 11, NOW + timedelta(hours=1), NOW)
    waiting = register(database, atelier_id, bob_id, 12, "Bob", NOW, reminder_hour=18)
    tracker = tmp_path / "tracker.db"
    with sqlite3.connect(tracker) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL, data TEXT)")
        connection.executemany(
            "INSERT INTO events (sender_id, timestamp, data) VALUES (?, ?, ?)",
            [("11", 1.0, "ana 1"), ("11", 2.0, "ana 2"), ("12", 3.0, "bob")],
        )

    erased = erase_citizen(database, f"sqlite:///{tracker}", "telegram", "11", "11", NOW)

    assert (erased.conversations, erased.signups, erased.tracker_events) == (1, 1, 2)
    with database.session() as session:
        assert session.scalars(select(Citizen.external_id)).all() == ["12"]
        assert session.scalars(select(Conversation.sender_id)).all() == ["12"]
        assert session.scalars(select(Registration.citizen_id)).all() == [bob_id]
        assert session.get(Registration, waiting.registration_id).status == "confirmed"
        kinds = session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all()
        assert dict(kinds) == {"atelier_reminder": 1, PROMOTED: 1}  # Bob's reminder and his promotion
        assert session.scalars(select(Handoff)).all() == []
    with sqlite3.connect(tracker) as connection:
        assert connection.execute("SELECT sender_id FROM events").fetchall() == [("12",)]


def test_erasing_someone_unknown_is_harmless(database: Database, tmp_path: Path) -> None:
    erased = erase_citizen(database, f"sqlite:///{tmp_path / 'none.db'}", "telegram", "99", "99", NOW)
    assert (erased.conversations, erased.signups, erased.tracker_events) == (0, 0, 0)


def test_sent_notifications_are_purged_after_the_retention(database: Database) -> None:
    with database.session() as session:
        for ref, sent in ((1, NOW - timedelta(days=91)), (2, NOW - timedelta(days=10)), (3, None)):
            add_notification(session, "atelier_reminder", ref, 100 + ref, NOW, NOW)
            row = session.scalars(select(Notification).where(Notification.ref_id == ref)).one()
            row.sent_at = sent
    with database.session() as session:
        assert purge_notifications(session, NOW, timedelta(days=90)) == 1
    with database.session() as session:
        assert sorted(session.scalars(select(Notification.ref_id))) == [2, 3]  # recent, and still to send
