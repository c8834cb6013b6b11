"""The data layer on SQLite and PostgreSQL: migrations, citizens, conversations, retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from knowledge.citizens.conversations import (
    Contact,
    current_conversation,
    mark_sensitive,
    note_topic,
    purge_expired,
    record_message,
    sensitive_senders,
)
from knowledge.citizens.feedback import FeedbackCount, feedback_by_topic, record_feedback
from knowledge.citizens.tracker_events import purge_tracker_events
from knowledge.db import Database, make_engine
from knowledge.migrate import downgrade, upgrade
from knowledge.models import Base, Citizen, Conversation

RETENTION = timedelta(days=90)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CAMILLE = Contact(channel="telegram", external_id="1001", sender_id="1001", chat_id=1001)


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    upgrade(database_url)
    downgrade(database_url, "base")
    upgrade(database_url)
    db = Database(database_url)
    with db.session() as session:
        record_message(session, CAMILLE, T0, RETENTION)
    db.dispose()


def test_first_message_creates_citizen_and_conversation(database: Database) -> None:
    with database.session() as session:
        conversation = record_message(session, CAMILLE, T0, RETENTION)
        assert conversation.message_count == 1
        assert conversation.expires_at == T0 + RETENTION
    with database.session() as session:
        citizen = session.scalars(select(Citizen)).one()
        assert (citizen.channel, citizen.external_id) == ("telegram", "1001")
        assert citizen.first_seen_at == T0


def test_messages_close_together_share_a_conversation(database: Database) -> None:
    with database.session() as session:
        first = record_message(session, CAMILLE, T0, RETENTION)
        second = record_message(session, CAMILLE, T0 + timedelta(minutes=20), RETENTION)
        assert first.id == second.id
        assert second.message_count == 2
        assert second.expires_at == T0 + timedelta(minutes=20) + RETENTION


def test_a_long_silence_starts_a_new_conversation(database: Database) -> None:
    with database.session() as session:
        first = record_message(session, CAMILLE, T0, RETENTION)
        second = record_message(session, CAMILLE, T0 + timedelta(days=2), RETENTION)
        assert first.id != second.id
        assert first.status == "closed"
        assert current_conversation(session, "1001").id == second.id
        assert session.scalar(select(func.count()).select_from(Citizen)) == 1


def test_topic_is_noted_on_the_current_conversation(database: Database) -> None:
    with database.session() as session:
        assert note_topic(session, "1001", "email") is False
        record_message(session, CAMILLE, T0, RETENTION)
        assert note_topic(session, "1001", "email") is True
        assert current_conversation(session, "1001").last_topic == "email"


def test_purge_deletes_only_expired_conversations_and_orphan_citizens(database: Database) -> None:
    other = Contact(channel="telegram", external_id="2002", sender_id="2002", chat_id=2002)
    with database.session() as session:
        record_message(session, CAMILLE, T0, RETENTION)
        record_message(session, other, T0 + timedelta(days=30), RETENTION)
    with database.session() as session:
        assert purge_expired(session, T0 + RETENTION + timedelta(seconds=1)) == 1
    with database.session() as session:
        assert [c.external_id for c in session.scalars(select(Citizen))] == ["2002"]
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.session() as session:
        record_message(session, CAMILLE, datetime(2026, 11, 25, 9, 0), RETENTION)


def test_concurrent_first_messages_create_one_citizen(database_url: str) -> None:
    upgrade(database_url)
    databases = [Database(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    errors: list[BaseException] = []

    def write(db: Database) -> None:
        try:
            barrier.wait()
            with db.session() as session:
                record_message(session, CAMILLE, T0, RETENTION)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with databases[0].session() as session:
        assert session.scalar(select(func.count()).select_from(Citizen)) == 1
    for db in databases:
        db.dispose()


def test_feedback_is_counted_per_fiche_most_failures_first(database: Database) -> None:
    with database.session() as session:
        for topic, worked in [("email", True), ("ameli", False), ("ameli", False), ("ameli", True), ("caf", True)]:
            record_feedback(session, topic, worked, T0)
    with database.session() as session:
        counts = feedback_by_topic(session)
        assert counts[0] == FeedbackCount("ameli", worked=1, failed=2)
        assert {c.topic for c in counts} == {"email", "ameli", "caf"}
        assert feedback_by_topic(session, since=T0 + timedelta(seconds=1)) == []


def test_rasa_tracker_events_past_retention_are_purged(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), timestamp FLOAT)")
        )
        for number, age in enumerate([100, 91, 89, 1]):
            stamp = (T0 - timedelta(days=age)).timestamp()
            connection.execute(text("INSERT INTO events VALUES (:i, '1001', :t)"), {"i": number, "t": stamp})
    assert purge_tracker_events(database_url, T0, retention_days=90) == 2
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM events")) == 2
    engine.dispose()


def test_tracker_purge_waits_for_rasa_to_create_its_table(database_url: str) -> None:
    assert purge_tracker_events(database_url, T0, retention_days=90) == 0


def test_a_sensitive_conversation_is_kept_the_shortest_time(database: Database) -> None:
    short = timedelta(days=7)
    with database.session() as session:
        record_message(session, CAMILLE, T0, RETENTION, short)
        assert mark_sensitive(session, CAMILLE.sender_id, T0, short)
    with database.session() as session:
        conversation = current_conversation(session, CAMILLE.sender_id)
        assert conversation.sensitive and conversation.expires_at == T0 + short
        record_message(session, CAMILLE, T0 + timedelta(hours=1), RETENTION, short)
        assert conversation.expires_at == T0 + timedelta(hours=1) + short, "later messages keep the short period"
        assert sensitive_senders(session) == [CAMILLE.sender_id]
    with database.session() as session:
        assert purge_expired(session, T0 + timedelta(days=8)) == 1
        assert sensitive_senders(session) == []


def test_mark_sensitive_without_a_conversation_says_so(database: Database) -> None:
    with database.session() as session:
        assert not mark_sensitive(session, "nobody", T0, timedelta(days=7))


def test_tracker_events_of_sensitive_senders_are_purged_sooner(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), timestamp FLOAT)")
        )
        for number, (sender, age) in enumerate([("1001", 10), ("1001", 1), ("2002", 10), ("2002", 100)]):
            stamp = (T0 - timedelta(days=age)).timestamp()
            connection.execute(text("INSERT INTO events VALUES (:i, :s, :t)"), {"i": number, "s": sender, "t": stamp})
    deleted = purge_tracker_events(database_url, T0, 90, sensitive_senders=["1001"], sensitive_retention_days=7)
    assert deleted == 2  # 2002's 100-day-old event, and 1001's 10-day-old one
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, id FROM events ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [("1001", 1), ("2002", 2)]
    engine.dispose()
