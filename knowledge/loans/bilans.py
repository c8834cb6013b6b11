"""The borrower's short bilan after a return, for the lender's indicators: participants reached, the public, an
appréciation from 1 to 5 and a comment. Asked one question at a time; only the borrower (or a member of the
borrowing structure) answers, once the kit is back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from knowledge.db import Database
from knowledge.loans.terms import PUBLICS
from knowledge.models import Booking
from knowledge.staff import member_of

QUESTIONS = ("reached", "reached_public", "rating", "comment")
MAX_COMMENT = 2000


@dataclass(frozen=True)
class BilanStep:
    status: Literal["ask", "done", "not_allowed", "invalid"]
    question: str | None = None
    """The next question: reached, reached_public, rating or comment."""


def _next(booking: Booking) -> str | None:
    if booking.reached is None:
        return "reached"
    if not booking.reached_public:
        return "reached_public"
    if booking.rating is None:
        return "rating"
    if booking.bilan_at is None:
        return "comment"
    return None


def bilan_answer(
    database: Database, user_id: int, booking_id: int, question: str | None, value: str, now: datetime
) -> BilanStep:
    """Record one answer (`question` None just asks where the bilan stands) and say what to ask next."""
    with database.session() as session:
        booking = session.get(Booking, booking_id)
        member = member_of(session, user_id)
        if booking is None or member is None or booking.kind != "loan" or booking.status != "returned":
            return BilanStep("not_allowed")
        if booking.borrower_id != member.id and booking.structure_id != member.structure_id:
            return BilanStep("not_allowed")
        expected = _next(booking)
        if question is not None:
            if question != expected:
                return BilanStep("invalid", expected)
            value = value.strip()
            if question == "reached":
                digits = "".join(c for c in value if c.isdigit())
                if not digits or not 0 <= int(digits) <= 100_000:
                    return BilanStep("invalid", question)
                booking.reached = int(digits)
            elif question == "reached_public":
                if value not in PUBLICS:
                    return BilanStep("invalid", question)
                booking.reached_public = value
            elif question == "rating":
                if value not in {"1", "2", "3", "4", "5"}:
                    return BilanStep("invalid", question)
                booking.rating = int(value)
            else:
                booking.comment = "" if value == "-" else value[:MAX_COMMENT]
                booking.bilan_at = now
            expected = _next(booking)
        return BilanStep("done", None) if expected is None else BilanStep("ask", expected)
