"""Staff accounts by invitation: a coordinator (or the operator, for the first one) creates a single-use code; the
person opens `https://t.me/<bot>?start=<code>` and joins the structure with the role. Codes are random, expire, and
only their SHA-256 is stored. Every permission is read here, from the sender's Telegram user id."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.models import Invitation, StaffMember, Structure

log = logging.getLogger(__name__)

CONSEILLER, MEDIATEUR, COORDINATEUR = "conseiller", "mediateur", "coordinateur"
ROLES = (CONSEILLER, MEDIATEUR, COORDINATEUR)
ROLE_LABELS = {CONSEILLER: "conseiller numérique", MEDIATEUR: "médiateur", COORDINATEUR: "coordinateur"}
DEFAULT_VALIDITY = timedelta(days=7)
CONSOLE_USER_ID = 0
"""The account of the person at the terminal (`make run` without a Telegram token): Telegram ids start at 1."""
CODE_BYTES = 24
"""A Telegram start parameter holds 64 characters of A-Z a-z 0-9 _ -: 24 random bytes are 32 of them."""


class StaffError(ValueError):
    """Bad input from an operator (unknown role, empty structure name): a clear English message."""


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def structure_named(
    session: Session, name: str, now: datetime, commune: str = "", place_id: str | None = None
) -> Structure:
    """The structure with this name, created if needed; `place_id` (its national place id) is set when given."""
    name = " ".join(name.split())
    if not name:
        raise StaffError("a structure needs a name")
    structure = session.scalars(select(Structure).where(Structure.name == name)).first()
    if structure is None:
        structure = Structure(name=name[:255], commune=commune[:255], created_at=now)
        session.add(structure)
    if place_id:
        structure.place_source_id = place_id.strip()[:255]
    session.flush()
    return structure


def create_invitation(
    session: Session,
    structure: Structure,
    role: str,
    now: datetime,
    *,
    validity: timedelta = DEFAULT_VALIDITY,
    created_by: StaffMember | None = None,
) -> str:
    """A new single-use code for `role` in `structure`; returns the code (never stored in clear)."""
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    code = secrets.token_urlsafe(CODE_BYTES)
    session.add(
        Invitation(
            code_hash=code_hash(code),
            role=role,
            structure_id=structure.id,
            created_by_id=created_by.id if created_by else None,
            created_at=now,
            expires_at=now + validity,
        )
    )
    session.flush()
    return code


@dataclass(frozen=True)
class Redemption:
    status: Literal["joined", "refused"]
    role: str | None = None
    structure: str | None = None
    reason: str = ""
    """Why a code was refused, for the operator's log only (the person gets one neutral answer)."""


def redeem(database: Database, code: str, user_id: int, first_name: str, now: datetime) -> Redemption:
    """Use a code: one atomic UPDATE takes it, so two people (or two taps) never both join with one code."""
    with database.session() as session:
        hashed = code_hash(code)
        taken = session.execute(
            update(Invitation)
            .where(Invitation.code_hash == hashed, Invitation.used_at.is_(None), Invitation.expires_at > now)
            .values(used_at=now, used_by_user_id=user_id)
        ).rowcount
        invitation = session.scalars(select(Invitation).where(Invitation.code_hash == hashed)).first()
        if taken != 1 or invitation is None:
            reason = "unknown code" if invitation is None else "code already used" if invitation.used_at else "expired"
            log.warning("Invitation refused for Telegram user %s: %s", user_id, reason)
            return Redemption("refused", reason=reason)
        member = session.scalars(select(StaffMember).where(StaffMember.telegram_user_id == user_id)).first()
        if member is None:
            member = StaffMember(telegram_user_id=user_id, joined_at=now)
            session.add(member)
        member.first_name, member.role, member.structure_id = first_name[:64], invitation.role, invitation.structure_id
        member.removed_at, member.joined_at = None, now
        session.flush()
        structure = session.get(Structure, invitation.structure_id)
        log.info("Telegram user %s joined structure %s as %s", user_id, invitation.structure_id, invitation.role)
        return Redemption("joined", invitation.role, structure.name if structure else None)


def member_of(session: Session, user_id: int) -> StaffMember | None:
    """The active staff account of a Telegram user, if any: the only source of a role."""
    return session.scalars(
        select(StaffMember).where(StaffMember.telegram_user_id == user_id, StaffMember.removed_at.is_(None))
    ).first()


def team(session: Session, structure_id: int) -> list[StaffMember]:
    """The active members of a structure: coordinators first, then by first name."""
    members = session.scalars(
        select(StaffMember).where(StaffMember.structure_id == structure_id, StaffMember.removed_at.is_(None))
    )
    return sorted(members, key=lambda m: (m.role != COORDINATEUR, m.first_name.lower(), m.id))


def accounts_of(structure_id: int) -> Select[tuple[int]]:
    """The ids of a structure's accounts, removed ones included (what they did while members counts)."""
    return select(StaffMember.id).where(StaffMember.structure_id == structure_id)


Removal = Literal["removed", "not_allowed", "not_found", "self"]


def remove_member(session: Session, coordinator_user_id: int, member_id: int, now: datetime) -> Removal:
    """A coordinator removes someone of their own structure (not themselves: a structure keeps its coordinator)."""
    coordinator = member_of(session, coordinator_user_id)
    if coordinator is None or coordinator.role != COORDINATEUR:
        return "not_allowed"
    member = session.get(StaffMember, member_id)
    if member is None or member.removed_at is not None or member.structure_id != coordinator.structure_id:
        return "not_found"
    if member.id == coordinator.id:
        return "self"
    member.removed_at, member.available = now, False
    log.info("Staff member %s removed by coordinator %s", member.id, coordinator.id)
    return "removed"


def set_available(session: Session, user_id: int, available: bool) -> StaffMember | None:
    """A staff member says they can (or cannot) take handoffs now; None for someone who is not staff."""
    member = member_of(session, user_id)
    if member is not None:
        member.available = available
    return member
