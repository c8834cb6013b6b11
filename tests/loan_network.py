"""A lending network for the loan tests: the demo inventory (a lender, its member EPN, three kits), a médiateur of
the member EPN, a médiateur outside the network, the lender's coordinateur and a conseiller of the EPN; the
`network` fixture (tests/conftest.py) builds it on each backend."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.loans.bookings import LoanRequest, RequestOutcome, request_loan
from knowledge.loans.inventory import DEMO_KITS, import_inventory_from
from knowledge.models import Kit
from knowledge.staff import CONSEILLER, COORDINATEUR, MEDIATEUR, create_invitation, redeem, structure_named

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)
FRIDAY = datetime(2026, 12, 11, 16, 0, tzinfo=PARIS)
MEDIA, OUTSIDER, COORD, CONSEIL = 7101, 7102, 7103, 7104
"""A médiateur of the member EPN, a médiateur of a structure outside the network, the lender's coordinateur, a
conseiller of the member EPN."""


def join(database: Database, user_id: int, role: str, structure: str) -> None:
    with database.session() as session:
        code = create_invitation(session, structure_named(session, structure, NOW), role, NOW)
    assert redeem(database, code, user_id, f"P{user_id}", NOW).status == "joined"


def build_network(database: Database) -> Database:
    import_inventory_from(database, str(DEMO_KITS), NOW)
    join(database, MEDIA, MEDIATEUR, "EPN de démonstration")
    join(database, CONSEIL, CONSEILLER, "EPN de démonstration")
    join(database, OUTSIDER, MEDIATEUR, "Fablab hors réseau")
    join(database, COORD, COORDINATEUR, "Réseau de démonstration, coordination")
    return database


def kit_id(database: Database, code: str = "casques-vr") -> int:
    with database.session() as session:
        return session.scalars(select(Kit.id).where(Kit.code == code)).one()


def ask(
    database: Database,
    pickup: datetime = MONDAY,
    back: datetime = FRIDAY,
    *,
    user: int = MEDIA,
    kit: str = "casques-vr",
    **changes: object,
) -> RequestOutcome:
    values = {"nature": "atelier", "public": "seniors", "participants": 8} | changes
    request = LoanRequest(kit_id(database, kit), pickup, back, **values)  # type: ignore[arg-type]
    return request_loan(database, user, request, NOW)
