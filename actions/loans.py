"""Loans of the network's equipment, asked in French: « réserver les drones du 3 au 10 mars », « qu'est-ce qui est
libre la semaine prochaine ? », « mes prêts », « annuler ma réservation ». The sender's role comes from our
database (their Telegram user id), never from a slot; the next steps (buttons, dates typed) are answered by the
bot (bot/staff/loans.py) over the same draft (knowledge/loans/drafts.py)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from knowledge.french import PARIS
from knowledge.loans import messages as texts
from knowledge.loans.drafts import Step, start
from knowledge.loans.overview import availability, my_loans
from knowledge.loans.periods import Period, explain_period
from knowledge.staff import CONSOLE_USER_ID, MEDIATEUR, member_of

log = logging.getLogger(__name__)

TROUBLE_TEXT = "Désolé, un problème technique m'empêche de gérer les prêts. Réessayez dans un instant."
NEXT_DAYS = 7


def _user_id(tracker: Tracker) -> int | None:
    """The sender's Telegram user id (from the metadata our bot sets), or the terminal's account."""
    sender = services.sender(tracker)
    if sender is not None and sender.channel == "console":
        return CONSOLE_USER_ID
    if sender is None or sender.channel != "telegram" or not sender.user_id.isdigit():
        return None
    return int(sender.user_id)


def _say(dispatcher: CollectingDispatcher, step: Step) -> None:
    dispatcher.utter_message(text=step.text, buttons=[b for row in step.buttons for b in row] or None)


class LoanAction(Action, ABC):
    """Runs `answer` for a sender our bot described on Telegram; anyone else is told kindly it is for médiateurs."""

    @abstractmethod
    def answer(self, user_id: int, text: str, now: datetime) -> Step: ...

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        user_id = _user_id(tracker)
        if user_id is None:
            _say(dispatcher, Step(texts.NOT_FOR_YOU_TEXT, texts.NOT_FOR_YOU_BUTTONS))
            return []
        text = str((tracker.latest_message or {}).get("text") or "")
        try:
            _say(dispatcher, self.answer(user_id, text, datetime.now(UTC)))
        except SQLAlchemyError:
            log.exception("Loan action %s failed", self.name())
            dispatcher.utter_message(text=TROUBLE_TEXT)
        return []


def _mediator(user_id: int) -> bool:
    with services.database().session() as session:
        member = member_of(session, user_id)
        return member is not None and member.role == MEDIATEUR


class ActionKitBook(LoanAction):
    def name(self) -> str:
        return "action_kit_book"

    def answer(self, user_id: int, text: str, now: datetime) -> Step:
        return start(services.database(), user_id, text, now)


class ActionKitAvailability(LoanAction):
    def name(self) -> str:
        return "action_kit_availability"

    def answer(self, user_id: int, text: str, now: datetime) -> Step:
        if not _mediator(user_id):
            return Step(texts.NOT_FOR_YOU_TEXT, texts.NOT_FOR_YOU_BUTTONS)
        today = now.astimezone(PARIS).date()
        period = explain_period(text, today)
        if not isinstance(period, Period):  # no dates said: the coming week
            period = Period(today, today + timedelta(days=NEXT_DAYS - 1))
        with services.database().session() as session:
            reply, buttons = availability(session, period, now)
        return Step(reply, buttons)


class ActionKitMyLoans(LoanAction):
    def name(self) -> str:
        return "action_kit_my_loans"

    def answer(self, user_id: int, text: str, now: datetime) -> Step:
        if not _mediator(user_id):
            return Step(texts.NOT_FOR_YOU_TEXT, texts.NOT_FOR_YOU_BUTTONS)
        with services.database().session() as session:
            reply, buttons = my_loans(session, user_id, now)
        return Step(reply, buttons)


class ActionKitCancel(ActionKitMyLoans):
    """« Annuler ma réservation »: the loans with their « Annuler » buttons."""

    def name(self) -> str:
        return "action_kit_cancel"
