"""Staff accounts by invitation: single use, expiry, wrong codes, races, and the coordinator's rights."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from knowledge.db import Database
from knowledge.models import Invitation
from knowledge.staff import (
    CONSEILLER,
    COORDINATEUR,
    StaffError,
    code_hash,
    create_invitation,
    member_of,
    redeem,
    remove_member,
    structure_named,
    team,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _invite(database: Database, role: str = COORDINATEUR, structure: str = "EPN de Saint-Lô") -> str:
    with database.session() as session:
        return create_invitation(session, structure_named(session, structure, NOW), role, NOW)


def test_an_invitation_is_single_use_and_stored_hashed(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    code = _invite(database)
    with database.session() as session:
        stored = session.scalars(select(Invitation)).one()
        assert stored.code_hash == code_hash(code) and code not in stored.code_hash
    joined = redeem(database, code, 1001, "Ana", NOW)
    assert (joined.status, joined.role, joined.structure) == ("joined", COORDINATEUR, "EPN de Saint-Lô")
    again = redeem(database, code, 1002, "Bob", NOW)
    assert again.status == "refused" and again.reason == "code already used"
    assert "Invitation refused for Telegram user 1002: code already used" in caplog.text
    with database.session() as session:
        assert member_of(session, 1001).role == COORDINATEUR
        assert member_of(session, 1002) is None


def test_expired_and_wrong_codes_are_refused(database: Database) -> None:
    code = _invite(database)
    assert redeem(database, code, 1001, "Ana", NOW + timedelta(days=7, seconds=1)).reason == "expired"
    assert redeem(database, "pas-un-code", 1001, "Ana", NOW).reason == "unknown code"
    assert redeem(database, "", 1001, "Ana", NOW).reason == "unknown code"


def test_one_code_raced_by_ten_people_makes_one_member(database: Database) -> None:
    code = _invite(database, CONSEILLER)
    barrier = threading.Barrier(10)
    results: list[str] = []

    def use(user_id: int) -> None:
        barrier.wait()
        results.append(redeem(database, code, user_id, "X", NOW).status)

    threads = [threading.Thread(target=use, args=(2000 + n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["joined"] + ["refused"] * 9
    with database.session() as session:
        assert len(team(session, structure_named(session, "EPN de Saint-Lô", NOW).id)) == 1


def test_only_a_coordinator_removes_and_only_in_their_structure(database: Database) -> None:
    redeem(database, _invite(database), 1001, "Ana", NOW)
    redeem(database, _invite(database, CONSEILLER), 1002, "Bob", NOW)
    redeem(database, _invite(database, COORDINATEUR, "Médiathèque de Coutances"), 1003, "Cléo", NOW)
    with database.session() as session:
        bob, ana = member_of(session, 1002), member_of(session, 1001)
        assert remove_member(session, 1002, ana.id, NOW) == "not_allowed"  # a conseiller
        assert remove_member(session, 9999, bob.id, NOW) == "not_allowed"  # a citizen
        assert remove_member(session, 1003, bob.id, NOW) == "not_found"  # another structure's coordinator
        assert remove_member(session, 1001, ana.id, NOW) == "self"
        assert remove_member(session, 1001, bob.id, NOW) == "removed"
        assert remove_member(session, 1001, bob.id, NOW) == "not_found"
    with database.session() as session:
        assert member_of(session, 1002) is None
    redeem(database, _invite(database, CONSEILLER), 1002, "Bob", NOW)  # invited again: back in the team
    with database.session() as session:
        assert member_of(session, 1002).role == CONSEILLER


def test_bad_operator_input(database: Database) -> None:
    with database.session() as session, pytest.raises(StaffError, match="unknown role 'chef'"):
        create_invitation(session, structure_named(session, "EPN", NOW), "chef", NOW)
    with database.session() as session, pytest.raises(StaffError, match="needs a name"):
        structure_named(session, "   ", NOW)


def test_cli_prints_a_deep_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@passerelle_bot")
    assert main(["staff", "invite", "--role", "coordinateur", "--structure", "EPN de Saint-Lô"]) == 0
    link = capsys.readouterr().out.splitlines()[-1]
    assert link.startswith("https://t.me/passerelle_bot?start=") and len(link.split("=")[1]) == 32
    assert main(["staff", "invite", "--role", "chef", "--structure", "EPN"]) == 2
    assert "unknown role 'chef'" in capsys.readouterr().err
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME")
    assert main(["staff", "invite", "--role", "conseiller", "--structure", "EPN"]) == 2
    assert "set TELEGRAM_BOT_USERNAME" in capsys.readouterr().err


def test_availability_is_for_staff_only_and_ends_with_removal(database: Database) -> None:
    from knowledge.staff import set_available

    redeem(database, _invite(database), 1001, "Ana", NOW)
    redeem(database, _invite(database, CONSEILLER), 1002, "Bob", NOW)
    with database.session() as session:
        assert set_available(session, 1002, True).available is True
        assert set_available(session, 9999, True) is None
        remove_member(session, 1001, member_of(session, 1002).id, NOW)
    with database.session() as session:
        assert set_available(session, 1002, True) is None
