"""The team's side of ateliers: who runs which atelier, who registered, attendance, a cancellation by the team,
a coordinator entrusting the ateliers of their structure; every permission from the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from knowledge.ateliers.animation import (
    assign,
    cancel_atelier,
    mark_attendance,
    my_ateliers,
    structure_ateliers,
)
from knowledge.ateliers.signups import CANCELLED, import_ateliers, my_signups, register
from knowledge.ateliers.sources import AtelierRecord
from knowledge.ateliers.team_messages import attendance_buttons, run_atelier_buttons, run_atelier_text
from knowledge.citizens.conversations import Contact, record_message
from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.models import Atelier, Notification, Registration, StaffMember
from knowledge.places.catalogue import DEMO_PLACES, import_places_from
from knowledge.staff import CONSEILLER, COORDINATEUR, create_invitation, redeem, structure_named

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 8, 14, 0, tzinfo=PARIS)
PLACE = "demo-50502-1"
MAYA, BOB, ZOE, OTHER_COORDINATOR = 8101, 8102, 8103, 8104
"""Maya coordinates the EPN (at PLACE), Bob is its conseiller, Zoé a conseillère of another structure."""


def _record(uid: str = "serie@test", start: datetime = START, **changes: object) -> AtelierRecord:
    values = {
        "uid": uid,
        "start": start,
        "end": start + timedelta(hours=2),
        "title": "Atelier smartphone",
        "place_id": PLACE,
        "capacity": 2,
    }
    values.update(changes)
    return AtelierRecord(**values)  # type: ignore[arg-type]


def _join(database: Database, user_id: int, name: str, role: str, structure: str, place: str | None) -> None:
    with database.session() as session:
        code = create_invitation(session, structure_named(session, structure, NOW, place_id=place), role, NOW)
    assert redeem(database, code, user_id, name, NOW).status == "joined"


@pytest.fixture
def team(database: Database) -> Database:
    import_places_from(database, str(DEMO_PLACES), NOW)
    _join(database, MAYA, "Maya", COORDINATEUR, "EPN de Saint-Lô", PLACE)
    _join(database, BOB, "Bob", CONSEILLER, "EPN de Saint-Lô", None)
    _join(database, ZOE, "Zoé", CONSEILLER, "Médiathèque", None)
    _join(database, OTHER_COORDINATOR, "Olga", COORDINATEUR, "Médiathèque", None)
    with database.session() as session:  # a series of three weekly dates at the EPN's place
        records = [_record(start=START + timedelta(weeks=week)) for week in range(3)]
        import_ateliers(session, records, "test", NOW)
    return database


def _ids(database: Database) -> list[int]:
    with database.session() as session:
        return list(session.scalars(select(Atelier.id).order_by(Atelier.start)))


def _member_id(database: Database, user_id: int) -> int:
    with database.session() as session:
        return session.scalars(select(StaffMember.id).where(StaffMember.telegram_user_id == user_id)).one()


def _sign_up(database: Database, atelier_id: int, names: list[str]) -> list[int]:
    ids = []
    for number, name in enumerate(names):
        with database.session() as session:
            contact = Contact("telegram", str(6000 + number), str(6000 + number), 6000 + number)
            citizen = record_message(session, contact, NOW, timedelta(days=90)).citizen_id
        result = register(database, atelier_id, citizen, 6000 + number, name, NOW, reminder_hour=18)
        ids.append(result.registration_id)
    return ids


def test_a_coordinator_entrusts_a_whole_series_to_a_conseiller_of_the_structure(team: Database) -> None:
    first, second, third = _ids(team)
    bob = _member_id(team, BOB)
    with team.session() as session:
        listed = structure_ateliers(session, MAYA, NOW)
        assert [a.id for a in listed or []] == [first, second, third]
        result = assign(session, MAYA, second, bob, NOW)
        assert (result.status, result.dates) == ("assigned", 2)  # the second and third dates, not the first
    with team.session() as session:
        runners = dict(session.execute(select(Atelier.id, Atelier.staff_member_id)).all())
    assert runners == {first: None, second: bob, third: bob}


def test_nobody_entrusts_an_atelier_outside_their_own_structure(team: Database) -> None:
    first = _ids(team)[0]
    with team.session() as session:
        assert structure_ateliers(session, BOB, NOW) is None  # a conseiller is not a coordinator
        assert structure_ateliers(session, OTHER_COORDINATOR, NOW) == []  # not their place
        assert assign(session, BOB, first, _member_id(team, BOB), NOW).status == "not_allowed"
        assert assign(session, OTHER_COORDINATOR, first, _member_id(team, ZOE), NOW).status == "not_allowed"
        assert assign(session, MAYA, first, _member_id(team, ZOE), NOW).status == "unknown"  # Zoé is not hers
        assert assign(session, 999, first, _member_id(team, BOB), NOW).status == "not_allowed"
        assert session.get(Atelier, first).staff_member_id is None


def test_the_runner_sees_first_names_only_and_marks_attendance_once_it_starts(team: Database) -> None:
    first = _ids(team)[0]
    with team.session() as session:
        assign(session, MAYA, first, _member_id(team, BOB), NOW)
    alice, bruno, carla = _sign_up(team, first, ["Alice", "Bruno", "Carla"])  # two seats: Carla waits
    with team.session() as session:
        assert my_ateliers(session, 4242, NOW) is None  # not staff
        view = (my_ateliers(session, BOB, NOW) or [])[0]
        text = run_atelier_text(view, NOW)
        assert "Inscrits : 2 / 2 — Alice, Bruno" in text and "Liste d'attente : 1" in text
        assert "6000" not in text and "Présences" not in text
        assert [b["title"] for row in run_atelier_buttons(view, NOW) for b in row] == ["Annuler l'atelier"]
        assert mark_attendance(session, BOB, alice, True, NOW).status == "too_early"
        assert mark_attendance(session, ZOE, alice, True, START).status == "not_allowed"
        assert mark_attendance(session, BOB, carla, True, START).status == "unknown"  # on the waiting list
        assert mark_attendance(session, BOB, alice, True, START).status == "marked"
        result = mark_attendance(session, BOB, bruno, False, START)
        assert result.status == "marked" and result.view is not None
        assert [b["title"] for row in attendance_buttons(result.view.confirmed) for b in row] == [
            "✅ Alice",
            "❌ Bruno",
        ]
        assert "Présences : 1 présent, 1 absent" in run_atelier_text(result.view, START)
    with team.session() as session:  # a coordinator of the structure may mark too
        assert mark_attendance(session, MAYA, bruno, True, START).status == "marked"
    with team.session() as session:
        marks = dict(session.execute(select(Registration.first_name, Registration.attended)).all())
    assert marks == {"Alice": True, "Bruno": True, "Carla": None}


def test_a_cancellation_by_the_team_tells_everyone_and_survives_a_reimport(team: Database) -> None:
    first = _ids(team)[0]
    with team.session() as session:
        assign(session, MAYA, first, _member_id(team, BOB), NOW)
    registrations = _sign_up(team, first, ["Alice", "Bruno", "Carla"])
    assert cancel_atelier(team, ZOE, first, NOW).status == "not_allowed"
    result = cancel_atelier(team, BOB, first, NOW)
    assert (result.status, result.told) == ("cancelled", 3)
    assert cancel_atelier(team, BOB, first, NOW).status == "already_cancelled"
    with team.session() as session:
        told = session.scalars(select(Notification.ref_id).where(Notification.kind == CANCELLED)).all()
        assert sorted(told) == sorted(registrations)
        alice = session.get(Registration, registrations[0])
        assert my_signups(session, alice.citizen_id, NOW) == []  # no longer in « Vos ateliers »
    with team.session() as session:  # the source changes the title: the atelier stays cancelled
        import_ateliers(session, [_record(title="Atelier smartphone (nouveau)")], "test", NOW)
    with team.session() as session:
        atelier = session.get(Atelier, first)
        assert atelier.cancelled and atelier.title == "Atelier smartphone (nouveau)"
    assert cancel_atelier(team, OTHER_COORDINATOR, _ids(team)[1], NOW).status == "not_allowed"


def test_an_atelier_that_has_started_cannot_be_cancelled(team: Database) -> None:
    first = _ids(team)[0]
    with team.session() as session:
        assign(session, MAYA, first, _member_id(team, BOB), NOW)
    assert cancel_atelier(team, BOB, first, START + timedelta(minutes=5)).status == "past"
    assert cancel_atelier(team, MAYA, first, START + timedelta(minutes=5)).status == "past"


def test_the_import_names_the_account_and_new_dates_of_a_series_keep_it(team: Database) -> None:
    bob = _member_id(team, BOB)
    with team.session() as session:
        import_ateliers(session, [_record(uid="other@test")], "test", NOW, staff_member_id=bob)
        assign(session, MAYA, _ids(team)[0], bob, NOW)
    with team.session() as session:  # a fourth date of the series appears in the source
        import_ateliers(session, [_record(start=START + timedelta(weeks=3))], "test", NOW)
        runner = session.scalars(
            select(Atelier.staff_member_id).where(Atelier.start == START + timedelta(weeks=3))
        ).one()
        assert runner == bob
        assert session.scalars(select(Atelier.staff_member_id).where(Atelier.uid == "other@test")).one() == bob


def test_cli_import_with_an_unknown_account_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    url = f"sqlite:///{tmp_path / 'a.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["places", "import", str(DEMO_PLACES)]) == 0
    source = tmp_path / "ateliers.yml"
    source.write_text(
        "- id: cli@test\n  lieu: demo-50502-1\n  titre: Atelier mail\n"
        "  debut: 2027-01-12T10:00:00+01:00\n  fin: 2027-01-12T12:00:00+01:00\n",
        encoding="utf-8",
    )
    assert main(["ateliers", "import", str(source), "--conseiller", "12345"]) == 1
    err = capsys.readouterr().err
    assert "no staff account for Telegram user id 12345" in err and "nothing was imported" in err
    database = Database(url)
    with database.session() as session:
        assert session.scalars(select(Atelier)).first() is None
    database.dispose()
