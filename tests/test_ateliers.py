"""Ateliers: import (idempotent by UID and start), sign-up under races, waiting list, cancellation, reminders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from knowledge.ateliers.messages import renderers
from knowledge.ateliers.signups import (
    CANCELLED,
    PROMOTED,
    REMINDER,
    atelier_ics,
    cancel,
    import_ateliers,
    import_ateliers_from,
    my_signups,
    register,
    reminder_due,
    upcoming,
)
from knowledge.ateliers.sources import AtelierRecord
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.models import Atelier, Citizen, Notification, Registration
from knowledge.notifications import claim, due_ids, mark_sent, prepare
from knowledge.places.catalogue import DEMO_ATELIERS, DEMO_PLACES, import_places_from

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 8, 14, 0, tzinfo=PARIS)
HOUR = 18


@pytest.fixture
def places(database: Database) -> Database:
    import_places_from(database, str(DEMO_PLACES), NOW)
    return database


def _record(uid: str = "a1@test", start: datetime = START, **changes: object) -> AtelierRecord:
    values = {
        "uid": uid,
        "start": start,
        "end": start + timedelta(hours=2),
        "title": "Atelier smartphone",
        "place_id": "demo-50502-1",
        "capacity": 1,
    }
    values.update(changes)
    return AtelierRecord(**values)  # type: ignore[arg-type]


def _atelier(database: Database, **changes: object) -> int:
    with database.session() as session:
        import_ateliers(session, [_record(**changes)], "test", NOW)
        return session.scalars(select(Atelier.id)).one()


def _citizens(database: Database, count: int) -> list[int]:
    ids = []
    with database.session() as session:
        for number in range(count):
            contact = Contact("telegram", str(5000 + number), str(5000 + number), 5000 + number)
            ids.append(record_message(session, contact, NOW, timedelta(days=90)).citizen_id)
    return ids


def test_demo_feed_imports_once_and_attaches_to_places(places: Database) -> None:
    first = import_ateliers_from(places, str(DEMO_ATELIERS), NOW)
    assert first.added > 20 and not first.rejected
    second = import_ateliers_from(places, str(DEMO_ATELIERS), NOW)
    assert (second.added, second.updated, second.cancelled) == (0, 0, 0)
    assert second.unchanged == first.added
    with places.session() as session:
        next_ones = upcoming(session, ["demo-50502-1"], NOW, per_place=2)["demo-50502-1"]
    assert [view.atelier.start.astimezone(PARIS).weekday() for view in next_ones] in ([1, 3], [3, 1])


def test_unknown_place_is_rejected_with_its_reason(places: Database) -> None:
    with places.session() as session:
        report = import_ateliers(session, [_record(place_id="nowhere"), _record(uid="b", place_id=None)], "t", NOW)
    assert [r.reason for r in report.rejected] == [
        "unknown place id 'nowhere'",
        "no place id (X-PASSERELLE-LIEU, lieu or --place)",
    ]


def test_last_seat_raced_by_ten_people_goes_to_exactly_one(places: Database) -> None:
    atelier_id = _atelier(places, capacity=3)
    citizens = _citizens(places, 12)
    for citizen_id in citizens[:2]:
        assert register(places, atelier_id, citizen_id, None, "A", NOW, reminder_hour=HOUR).status == "confirmed"
    barrier = threading.Barrier(10)
    results: list[str] = []

    def sign_up(citizen_id: int) -> None:
        barrier.wait()
        results.append(register(places, atelier_id, citizen_id, None, "B", NOW, reminder_hour=HOUR).status)

    threads = [threading.Thread(target=sign_up, args=(c,)) for c in citizens[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["confirmed"] + ["waiting"] * 9
    with places.session() as session:
        confirmed = session.scalar(
            select(func.count()).select_from(Registration).where(Registration.status == "confirmed")
        )
    assert confirmed == 3


def test_cancellation_promotes_the_first_waiting_who_is_told(places: Database) -> None:
    atelier_id = _atelier(places)
    first, second, third = _citizens(places, 3)
    taken = register(places, atelier_id, first, 5000, "Ana", NOW, reminder_hour=HOUR)
    waiting = register(places, atelier_id, second, 5001, "Bob", NOW + timedelta(minutes=1), reminder_hour=HOUR)
    later = register(places, atelier_id, third, 5002, "Cy", NOW + timedelta(minutes=2), reminder_hour=HOUR)
    assert (taken.status, waiting.status, waiting.position, later.position) == ("confirmed", "waiting", 1, 2)
    assert cancel(places, taken.registration_id or 0, second, NOW).status == "not_found"  # not Bob's
    result = cancel(places, taken.registration_id or 0, first, NOW + timedelta(hours=1))
    assert result.promoted_registration_id == waiting.registration_id
    with places.session() as session:
        assert my_signups(session, third, NOW)[0].position == 1
        notice = session.scalars(select(Notification).where(Notification.kind == PROMOTED)).one()
        assert (notice.chat_id, notice.ref_id) == (5001, waiting.registration_id)
    outgoing = prepare(places, notice.id, NOW + timedelta(hours=1), renderers())
    assert outgoing is not None and "une place s'est libérée" in outgoing.text
    assert cancel(places, taken.registration_id or 0, first, NOW).status == "already_cancelled"


def test_signing_up_twice_or_too_late(places: Database) -> None:
    atelier_id = _atelier(places, capacity=5)
    (citizen,) = _citizens(places, 1)
    assert register(places, atelier_id, citizen, 1, "A", NOW, reminder_hour=HOUR).status == "confirmed"
    assert register(places, atelier_id, citizen, 1, "A", NOW, reminder_hour=HOUR).status == "already_confirmed"
    assert register(places, atelier_id, citizen, 1, "A", START, reminder_hour=HOUR).status == "past"
    assert register(places, 999_999, citizen, 1, "A", NOW, reminder_hour=HOUR).status == "unknown"


def test_reminder_is_due_the_day_before_and_skipped_after_a_cancellation(places: Database) -> None:
    atelier_id = _atelier(places, capacity=5)
    ana, bob = _citizens(places, 2)
    kept = register(places, atelier_id, ana, 5000, "Ana", NOW, reminder_hour=HOUR)
    dropped = register(places, atelier_id, bob, 5001, "Bob", NOW, reminder_hour=HOUR)
    cancel(places, dropped.registration_id or 0, bob, NOW)
    due_at = reminder_due(START, HOUR)
    assert due_at == datetime(2026, 12, 7, 18, 0, tzinfo=PARIS)
    with places.session() as session:
        assert due_ids(session, due_at - timedelta(seconds=1)) == []
        ids = due_ids(session, due_at)
    assert len(ids) == 2
    texts = []
    for notification_id in ids:
        assert claim(places, notification_id, due_at)
        assert not claim(places, notification_id, due_at)  # one claim only
        outgoing = prepare(places, notification_id, due_at, renderers())
        if outgoing is not None:
            texts.append((outgoing.chat_id, outgoing.text))
            mark_sent(places, notification_id, due_at)
    assert len(texts) == 1 and texts[0][0] == 5000 and texts[0][1].startswith("Rappel : votre atelier a lieu demain")
    with places.session() as session:
        outcomes = dict(session.execute(select(Notification.ref_id, Notification.outcome)).all())
        assert due_ids(session, due_at + timedelta(days=1)) == []
    assert outcomes == {kept.registration_id: "sent", dropped.registration_id: "skipped"}


def test_a_reimport_that_drops_an_atelier_cancels_it_and_tells_everyone(places: Database) -> None:
    window = (NOW, NOW + timedelta(days=30))
    with places.session() as session:
        import_ateliers(session, [_record(), _record(uid="other")], "feed", NOW, window=window)
        atelier_id = session.scalars(select(Atelier.id).where(Atelier.uid == "a1@test")).one()
    ana, bob = _citizens(places, 2)
    register(places, atelier_id, ana, 5000, "Ana", NOW, reminder_hour=HOUR)
    register(places, atelier_id, bob, 5001, "Bob", NOW, reminder_hour=HOUR)
    with places.session() as session:
        report = import_ateliers(session, [_record(uid="other")], "feed", NOW, window=window)
    assert report.cancelled == 1
    with places.session() as session:
        notices = session.scalars(select(Notification).where(Notification.kind == CANCELLED)).all()
        assert sorted(n.chat_id for n in notices) == [5000, 5001]
        assert session.get(Atelier, atelier_id).cancelled
    outgoing = prepare(places, notices[0].id, NOW, renderers())
    assert outgoing is not None and "est annulé" in outgoing.text
    reminder = prepare(places, _reminder_id(places), NOW, renderers())
    assert reminder is None  # no reminder for a cancelled atelier


def _reminder_id(database: Database) -> int:
    with database.session() as session:
        return session.scalars(select(Notification.id).where(Notification.kind == REMINDER)).first() or 0


def test_calendar_file_has_the_atelier(places: Database) -> None:
    atelier_id = _atelier(places)
    with places.session() as session:
        atelier = session.get(Atelier, atelier_id)
        from knowledge.places.catalogue import active_places

        place = active_places(session, ["demo-50502-1"])["demo-50502-1"]
        data = atelier_ics(atelier, place)
    event = next(iter(Calendar.from_ical(data).walk("VEVENT")))
    assert event.decoded("dtstart") == START
    assert str(event["summary"]) == "Atelier smartphone"
    assert "Saint-Lô" in str(event["location"])


def test_signups_list_only_what_is_to_come(places: Database, tmp_path: Path) -> None:
    atelier_id = _atelier(places, capacity=5)
    (citizen,) = _citizens(places, 1)
    register(places, atelier_id, citizen, 1, "A", NOW, reminder_hour=HOUR)
    with places.session() as session:
        assert [s.atelier.id for s in my_signups(session, citizen, NOW)] == [atelier_id]
        assert my_signups(session, citizen, START + timedelta(hours=3)) == []
        assert session.scalar(select(func.count()).select_from(Citizen)) == 1


def test_signups_are_purged_after_the_retention_and_keep_the_citizen_until_then(places: Database) -> None:
    from knowledge.ateliers.signups import purge_registrations
    from knowledge.citizens.conversations import purge_expired

    atelier_id = _atelier(places, capacity=5)
    (citizen,) = _citizens(places, 1)
    register(places, atelier_id, citizen, 1, "Ana", NOW, reminder_hour=HOUR)
    retention = timedelta(days=90)
    with places.session() as session:
        purge_expired(session, NOW + retention + timedelta(days=1))  # the conversation is gone, not the sign-up
        assert session.get(Citizen, citizen) is not None
        assert purge_registrations(session, START + timedelta(days=89), retention) == 0
        assert purge_registrations(session, START + timedelta(days=91), retention) == 1
        purge_expired(session, START + timedelta(days=91))
        assert session.get(Citizen, citizen) is None
        assert session.scalars(select(Registration)).first() is None


LATIN1_CSV = "id,lieu,titre,debut,fin\na,demo-50502-1,Atelier é,2026-12-08T14:00,2026-12-08T16:00\n".encode("cp1252")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("feed.ics", b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage", "passerelle: "),
        (
            "ateliers.csv",
            "id,lieu,titre,debut,fin\na,demo-50502-1,Atelier é,2026-12-08T14:00,2026-12-08T16:00\n".encode("cp1252"),
            "UTF-8",
        ),
        ("http://127.0.0.1:9/feed.ics", None, "cannot download"),
    ],
    ids=["malformed-ics", "wrong-encoding", "unreachable"],
)
def test_cli_refuses_an_unusable_source_and_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, name: str, content: bytes | None, message: str
) -> None:
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["places", "import", str(DEMO_PLACES)]) == 0
    location = name
    if content is not None:
        location = str(tmp_path / name)
        Path(location).write_bytes(content)
    assert main(["ateliers", "import", location]) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was imported" in err and "Traceback" not in err
    database = Database(url)
    with database.session() as session:
        assert session.scalars(select(Atelier)).first() is None
    database.dispose()


def test_nightly_imports_refresh_the_ateliers_and_survive_a_broken_source(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.settings import Settings
    from bot.tools.data_commands import ensure_places, nightly_imports

    settings = Settings(database_url=database.url)  # type: ignore[call-arg]
    ensure_places(settings)  # an empty database gets the demo places and ateliers
    with database.session() as session:
        first = session.scalar(select(func.count()).select_from(Atelier))
    assert first and first > 20
    broken = settings.model_copy(update={"ateliers_sources": f"{tmp_path / 'missing.ics'} {DEMO_ATELIERS}"})
    nightly_imports(broken, database)
    assert "Ateliers import from" in caplog.text and "missing.ics" in caplog.text
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Atelier)) == first


def test_a_failed_send_is_retried_later_then_given_up(places: Database) -> None:
    from knowledge.notifications import MAX_ATTEMPTS, release

    atelier_id = _atelier(places, capacity=5)
    (citizen,) = _citizens(places, 1)
    register(places, atelier_id, citizen, 5000, "Ana", NOW, reminder_hour=HOUR)
    due_at = reminder_due(START, HOUR)
    (notification_id,) = _due(places, due_at)
    moment = due_at
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert claim(places, notification_id, moment), f"attempt {attempt}"
        release(places, notification_id, moment, timedelta(minutes=2))
        assert _due(places, moment + timedelta(minutes=1)) == []  # not before the retry time
        moment += timedelta(minutes=2)
    with places.session() as session:
        notification = session.get(Notification, notification_id)
        assert (notification.outcome, notification.attempts) == ("failed", MAX_ATTEMPTS)
    assert _due(places, moment + timedelta(days=1)) == []


def _due(database: Database, now: datetime) -> list[int]:
    with database.session() as session:
        return due_ids(session, now)
