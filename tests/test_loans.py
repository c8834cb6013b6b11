"""The lender's rules, each refusal with its reason; blocks over requests and approved loans; the inventory import;
and the invariant the database keeps: two active bookings of one kit never overlap, under races, on each backend."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.loans.bookings import (
    Proposal,
    approve,
    cancel_loan,
    kit_status,
    place_block,
    refuse,
    settle_conflict,
    slots,
)
from knowledge.loans.inventory import DEMO_KITS, import_inventory_from
from knowledge.models import Booking, Kit, Lender
from knowledge.sources import SourceError
from tests.loan_network import CONSEIL, COORD, FRIDAY, MEDIA, MONDAY, NOW, OUTSIDER, ask, kit_id


def test_a_member_mediator_requests_and_the_coordinator_approves(network: Database) -> None:
    outcome = ask(network)
    assert outcome.status == "requested" and not outcome.exceeds_limit
    assert outcome.coordinators == [COORD]
    assert approve(network, MEDIA, outcome.booking_id, NOW).status == "not_allowed"  # not the lender's
    decision = approve(network, COORD, outcome.booking_id, NOW)
    assert (decision.status, decision.borrower_chat) == ("approved", MEDIA)
    assert approve(network, COORD, outcome.booking_id, NOW).status == "already_decided"  # a double press
    with network.session() as session:
        booking = session.get(Booking, outcome.booking_id)
        assert booking.status == "approved"
        assert booking.ends_at == FRIDAY + timedelta(minutes=30)
        assert booking.holds_until == FRIDAY + timedelta(minutes=30, days=1)  # the buffer to check and charge


@pytest.mark.parametrize(
    ("user", "pickup", "back", "changes", "reason"),
    [
        (CONSEIL, MONDAY, FRIDAY, {}, "not_mediator"),
        (COORD, MONDAY, FRIDAY, {}, "not_mediator"),
        (4242, MONDAY, FRIDAY, {}, "not_mediator"),
        (OUTSIDER, MONDAY, FRIDAY, {}, "no_membership"),
        (MEDIA, FRIDAY, MONDAY, {}, "end_before_start"),
        (MEDIA, NOW - timedelta(days=1), FRIDAY, {}, "past"),
        (MEDIA, MONDAY.replace(hour=12, minute=30), FRIDAY, {}, "pickup_closed"),  # lunch break
        (MEDIA, MONDAY - timedelta(days=1), FRIDAY, {}, "pickup_closed"),  # a Sunday
        (MEDIA, MONDAY, FRIDAY.replace(hour=16, minute=45), {}, "return_closed"),  # the slot ends after 17:00
        (MEDIA, datetime(2026, 12, 21, 9, tzinfo=PARIS), datetime(2026, 12, 25, 9, tzinfo=PARIS), {}, "return_closed"),
        (MEDIA, MONDAY, FRIDAY, {"nature": "fete"}, "bad_details"),
        (MEDIA, MONDAY, FRIDAY, {"public": "martiens"}, "bad_details"),
        (MEDIA, MONDAY, FRIDAY, {"participants": 0}, "bad_details"),
    ],
)
def test_each_refusal_has_its_reason(
    network: Database, user: int, pickup: datetime, back: datetime, changes: dict, reason: str
) -> None:
    outcome = ask(network, pickup, back, user=user, **changes)
    assert (outcome.status, outcome.reason) == ("refused", reason)
    with network.session() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 0


def test_an_expired_membership_or_a_kit_under_repair_is_refused(network: Database) -> None:
    after_convention = datetime(2028, 1, 10, 9, 0, tzinfo=PARIS)
    outcome = ask(network, after_convention, after_convention + timedelta(days=2))
    assert outcome.reason == "no_membership"
    with network.session() as session:
        session.scalars(select(Kit).where(Kit.code == "drones")).one().condition = "en_panne"
    outcome = ask(network, kit="drones")
    assert (outcome.reason, outcome.detail) == ("kit_unavailable", "en_panne")
    with network.session() as session:
        kit = session.scalars(select(Kit).where(Kit.code == "drones")).one()
        assert kit_status(session, kit, NOW) == "en_panne"


def test_beyond_thirty_days_only_an_explicit_approval_lets_it_through(network: Database) -> None:
    outcome = ask(network, MONDAY, MONDAY + timedelta(days=31))  # 32 calendar days
    assert outcome.status == "requested" and outcome.exceeds_limit
    assert approve(network, COORD, outcome.booking_id, NOW).status == "needs_exception"
    assert approve(network, COORD, outcome.booking_id, NOW, exception=True).status == "approved"
    thirty = ask(network, MONDAY + timedelta(days=42), MONDAY + timedelta(days=71), kit="drones")
    assert thirty.status == "requested" and not thirty.exceeds_limit  # 30 days exactly


def test_an_overlap_is_refused_with_the_nearest_free_period_of_the_same_length(network: Database) -> None:
    assert ask(network).status == "requested"  # holds the kit Monday 9:00 → Saturday 16:30 (buffer included)
    wednesday, next_tuesday = MONDAY + timedelta(days=2), FRIDAY + timedelta(days=4)
    outcome = ask(network, wednesday, next_tuesday)
    assert (outcome.status, outcome.reason) == ("refused", "overlap")
    # Six days later both slots fall on open days and nothing overlaps (five days later ends on a Sunday).
    assert outcome.proposal == Proposal(wednesday + timedelta(days=6), next_tuesday + timedelta(days=6))
    assert ask(network, outcome.proposal.pickup, outcome.proposal.return_slot).status == "requested"


def test_the_buffer_keeps_a_day_between_two_loans(network: Database) -> None:
    wednesday = MONDAY.replace(day=9, hour=10)
    assert ask(network, MONDAY, wednesday).status == "requested"  # holds the kit until Thursday 10:30
    thursday = wednesday + timedelta(days=1)
    assert ask(network, thursday.replace(hour=9), thursday + timedelta(days=1)).reason == "overlap"
    assert ask(network, thursday.replace(hour=14), thursday + timedelta(days=1)).status == "requested"


def test_the_lender_has_priority(network: Database) -> None:
    requested = ask(network)
    approved = ask(network, MONDAY + timedelta(days=28), FRIDAY + timedelta(days=28))
    approve(network, COORD, approved.booking_id, NOW)
    assert place_block(network, MEDIA, kit_id(network), MONDAY, FRIDAY, "maintenance", NOW).status == "not_allowed"

    block = place_block(network, COORD, kit_id(network), MONDAY, FRIDAY, "salon du département", NOW)
    assert (block.status, block.refused, block.flagged) == ("blocked", [requested.booking_id], [])
    outcome = ask(network, MONDAY + timedelta(days=1), FRIDAY)
    assert (outcome.reason, outcome.detail) == ("blocked", "salon du département")

    over = place_block(
        network, COORD, kit_id(network), MONDAY + timedelta(days=28), FRIDAY + timedelta(days=28), "maintenance", NOW
    )
    assert (over.status, over.flagged) == ("conflict", [approved.booking_id])
    with network.session() as session:
        loan = session.get(Booking, approved.booking_id)
        assert loan.flagged and loan.status == "approved" and "maintenance" in loan.flag_note
    settled = settle_conflict(network, COORD, over.block_id, keep_loans=False, now=NOW)
    assert (settled.status, settled.loans) == ("block_active", [approved.booking_id])
    with network.session() as session:
        assert session.get(Booking, approved.booking_id).status == "cancelled"
        assert session.get(Booking, over.block_id).status == "active"


def test_keeping_the_loan_drops_the_block(network: Database) -> None:
    approved = ask(network)
    approve(network, COORD, approved.booking_id, NOW)
    over = place_block(network, COORD, kit_id(network), MONDAY, FRIDAY, "maintenance", NOW)
    assert settle_conflict(network, COORD, over.block_id, keep_loans=True, now=NOW).status == "block_dropped"
    with network.session() as session:
        loan = session.get(Booking, approved.booking_id)
        assert loan.status == "approved" and not loan.flagged


def test_refusal_reason_and_cancellation(network: Database) -> None:
    first = ask(network)
    assert refuse(network, COORD, first.booking_id, "Kit réservé pour une formation interne.", NOW).status == "refused"
    with network.session() as session:
        assert session.get(Booking, first.booking_id).reason == "Kit réservé pour une formation interne."
    second = ask(network)  # the refused request no longer holds the kit
    assert second.status == "requested"
    assert cancel_loan(network, OUTSIDER, second.booking_id, NOW).status == "not_allowed"
    assert cancel_loan(network, MEDIA, second.booking_id, NOW).status == "cancelled"
    assert cancel_loan(network, MEDIA, second.booking_id, NOW).status == "already_decided"


def test_slots_follow_the_opening_hours(network: Database) -> None:
    with network.session() as session:
        lender = session.scalars(select(Lender)).one()
        monday = [s.strftime("%H:%M") for s in slots(lender, MONDAY.date())]
        assert monday[:2] == ["09:00", "09:30"] and monday[-1] == "16:30" and "12:00" not in monday
        assert len(monday) == 12
        assert slots(lender, datetime(2026, 12, 25).date()) == []  # Christmas: closed
        assert slots(lender, datetime(2026, 12, 6).date()) == []  # a Sunday


# --- The database's guarantee ---------------------------------------------------------------------------------


def test_twenty_concurrent_overlapping_requests_store_exactly_one(network: Database) -> None:
    barrier = threading.Barrier(20)
    results: list[str] = []

    def request(offset: int) -> None:
        barrier.wait()
        outcome = ask(network, MONDAY + timedelta(hours=offset % 3), FRIDAY)
        results.append(outcome.reason or outcome.status)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["overlap"] * 19 + ["requested"]
    with network.session() as session:
        assert session.scalar(select(func.count()).select_from(Booking)) == 1


def test_a_block_racing_requests_never_overlaps_them(network: Database) -> None:
    barrier = threading.Barrier(11)
    results: list[str] = []

    def request() -> None:
        barrier.wait()
        results.append(ask(network).reason or "requested")

    def block() -> None:
        barrier.wait()
        results.append("block " + place_block(network, COORD, kit_id(network), MONDAY, FRIDAY, "salon", NOW).status)

    threads = [threading.Thread(target=request) for _ in range(10)] + [threading.Thread(target=block)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("block blocked") == 1 and results.count("requested") <= 1
    with network.session() as session:
        active = session.scalars(select(Booking).where(Booking.status.in_(("requested", "approved", "active")))).all()
        assert [b.kind for b in active] == ["block"]  # a request that won first was refused by the block


def test_the_database_itself_refuses_an_overlap(network: Database) -> None:
    kit = kit_id(network)

    def booking(start: datetime, status: str = "approved") -> Booking:
        end = start + timedelta(days=2)
        return Booking(
            kit_id=kit, kind="loan", status=status, starts_at=start, ends_at=end, holds_until=end,
            nature="atelier", public="seniors", reason="", flag_note="", reached_public="", comment="",
            created_at=NOW,
        )  # fmt: skip

    with network.session() as session:
        session.add(booking(MONDAY))
    with pytest.raises(IntegrityError), network.session() as session:  # written without any check in Python
        session.add(booking(MONDAY + timedelta(days=1)))
    with network.session() as session:  # a cancelled one holds nothing
        session.add(booking(MONDAY + timedelta(days=1), status="cancelled"))
    with pytest.raises(IntegrityError), network.session() as session:  # nor can an update revive it over another
        cancelled = session.scalars(select(Booking).where(Booking.status == "cancelled")).one()
        cancelled.status = "approved"


# --- Inventory ---------------------------------------------------------------------------------------------------


def test_inventory_import_is_idempotent_and_keeps_the_condition_set_by_chat(network: Database, tmp_path: Path) -> None:
    again = import_inventory_from(network, str(DEMO_KITS), NOW)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    with network.session() as session:
        session.scalars(select(Kit).where(Kit.code == "drones")).one().condition = "en_panne"
    changed = tmp_path / "kits.yml"
    changed.write_text(
        DEMO_KITS.read_text(encoding="utf-8").replace("Quatre petits drones", "Cinq petits drones"), encoding="utf-8"
    )
    report = import_inventory_from(network, str(changed), NOW)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    with network.session() as session:
        drones = session.scalars(select(Kit).where(Kit.code == "drones")).one()
        assert drones.description.startswith("Cinq") and drones.condition == "en_panne"


def test_inventory_rejects_bad_kits_and_refuses_a_bad_lender(database: Database, tmp_path: Path) -> None:
    source = tmp_path / "kits.yml"
    source.write_text(
        "lender:\n  name: Prêteur\n  site: 1 rue X\n  hours: 'Mo-Fr 09:00-17:00'\n"
        "kits:\n  - id: a\n    name: A\n    checklist: [x]\n  - id: b\n    name: B\n"
        "  - name: C\n    checklist: [y]\n  - id: a\n    name: A2\n    checklist: [z]\n"
        "  - id: d\n    name: D\n    checklist: [w]\n    condition: perdu\n",
        encoding="utf-8",
    )
    report = import_inventory_from(database, str(source), NOW)
    assert report.added == 1
    assert [(r.where, r.reason.split(" (")[0]) for r in report.rejected] == [
        ("kit 2", "no checklist"),
        ("kit 3", "no id"),
        ("kit 4", "duplicate id"),
        ("kit 5", "unknown condition 'perdu'"),
    ]
    source.write_text("lender:\n  name: Prêteur\n  site: 1 rue X\n  hours: 'lundi 9h'\nkits: []\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not valid OpenStreetMap"):
        import_inventory_from(database, str(source), NOW)


def test_cli_imports_the_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    assert main(["kits", "import", str(DEMO_KITS)]) == 0
    assert "3 kits added" in capsys.readouterr().out
    assert main(["kits", "import", str(tmp_path / "missing.yml")]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "Traceback" not in err


def test_a_loan_under_way_is_not_cancelled_by_a_block(network: Database) -> None:
    loan = ask(network)
    approve(network, COORD, loan.booking_id, NOW)
    with network.session() as session:
        session.get(Booking, loan.booking_id).status = "checked_out"
    over = place_block(network, COORD, kit_id(network), MONDAY, FRIDAY, "maintenance", NOW)
    assert over.status == "conflict"
    assert settle_conflict(network, COORD, over.block_id, keep_loans=False, now=NOW).status == "kit_out"
    with network.session() as session:
        assert session.get(Booking, loan.booking_id).status == "checked_out"
