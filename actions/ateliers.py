"""Sign up to an atelier, cancel, list one's ateliers. The citizen is the sender of the message (metadata set by
our bot); a registration id in a button is only used if it belongs to that citizen."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import ASK_QUESTION, FIND_PLACE, REQUEST_HUMAN
from actions.places import ATELIERS, LAST_LOCATION, LOOKING_FOR, ask_location
from actions.services import Sender
from knowledge.ateliers import messages as signup_messages
from knowledge.ateliers.signups import atelier_ics, cancel, match_request, my_signups, register
from knowledge.citizens.conversations import citizen_id
from knowledge.models import Atelier
from knowledge.places import messages as say
from knowledge.places.catalogue import active_places
from knowledge.places.search import ateliers_near

log = logging.getLogger(__name__)

NO_SENDER_TEXT = "Je ne peux pas faire d'inscription depuis cette conversation. Contactez le lieu de l'atelier."
TROUBLE_TEXT = "Désolé, un problème technique m'empêche de gérer les inscriptions. Réessayez dans un instant."
MY_ATELIERS = {"title": "Mes ateliers", "payload": "/my_ateliers"}
SIGN_UP_TEXTS = {
    "already_confirmed": "Vous êtes déjà inscrit(e) à cet atelier.",
    "already_waiting": "Vous êtes déjà sur la liste d'attente de cet atelier. Je vous préviens si une place se libère.",
    "past": "Cet atelier a déjà commencé ou est passé. Voulez-vous en chercher un autre ?",
    "cancelled": "Cet atelier est annulé par l'organisateur. Voulez-vous en chercher un autre ?",
    "unknown": "Je ne trouve plus cet atelier. Voulez-vous en chercher un autre ?",
}
WHICH_ATELIER = "Quel atelier vous intéresse ?"
ASK_WHERE_FOR_ATELIER = (
    "Pour trouver l'atelier, dites-moi où vous êtes : envoyez votre position avec le bouton ci-dessous, "
    "ou écrivez votre code postal ou votre commune."
)
NO_ATELIER_FOUND = "Je ne trouve pas cet atelier près de {label}. Voici les prochains ateliers :"
NO_SIGNUP_TO_CANCEL = "Vous n'êtes inscrit(e) à aucun atelier à venir. Il n'y a rien à annuler."
WHICH_TO_CANCEL = "Quelle inscription voulez-vous annuler ?"
CANCELLED_TEXT = "C'est annulé. Merci d'avoir libéré votre place."
ALREADY_CANCELLED_TEXT = "Cette inscription est déjà annulée."
NOT_YOURS_TEXT = "Je ne trouve pas cette inscription parmi les vôtres."


def _citizen_id(sender: Sender) -> int | None:
    with services.database().session() as session:
        return citizen_id(session, sender.channel, sender.user_id)


class CitizenAction(Action, ABC):
    """An action on the citizen's own sign-ups: it runs only for a sender our bot described and we know."""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        sender = services.sender(tracker)
        try:
            citizen_id = _citizen_id(sender) if sender else None
            if sender is None or citizen_id is None:
                dispatcher.utter_message(text=NO_SENDER_TEXT, buttons=[FIND_PLACE, ASK_QUESTION])
                return []
            return self.act(dispatcher, tracker, sender, citizen_id) or []
        except SQLAlchemyError:
            log.exception("%s failed", self.name())
            dispatcher.utter_message(text=TROUBLE_TEXT, buttons=[REQUEST_HUMAN])
        return []

    @abstractmethod
    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, sender: Sender, citizen_id: int
    ) -> list[EventType] | None:
        """Do the action for this citizen; maybe return events."""


class ActionAtelierRegister(CitizenAction):
    def name(self) -> str:
        return "action_atelier_register"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, sender: Sender, citizen_id: int
    ) -> list[EventType] | None:
        atelier_id = services.entity(tracker, "atelier")
        if atelier_id is None:
            last = tracker.get_slot(LAST_LOCATION)
            if not isinstance(last, dict) or "lat" not in last:
                ask_location(dispatcher, ASK_WHERE_FOR_ATELIER)
                return [SlotSet(LOOKING_FOR, ATELIERS)]  # the place, once given, is answered with its ateliers
            atelier_id = _choose(dispatcher, tracker, last)
        if atelier_id is not None:
            _sign_up(dispatcher, int(atelier_id), citizen_id, sender)
        return None


def _choose(dispatcher: CollectingDispatcher, tracker: Tracker, last: dict[str, Any]) -> int | None:
    """A sign-up typed in words: the atelier near the last place searched that fits the weekday and title, or a
    choice of buttons (None)."""
    now = datetime.now(UTC)
    label = str(last.get("label") or "chez vous")
    index = services.place_index().get()
    with services.database().session() as session:
        nearby = ateliers_near(session, index, float(last["lat"]), float(last["lon"]), now, limit=12)
    if not nearby:
        dispatcher.utter_message(text=say.NO_ATELIER_NEAR.format(label=label), buttons=[FIND_PLACE])
        return None
    by_id = {item.view.atelier.id: item for item in nearby}
    text = (tracker.latest_message or {}).get("text") or ""
    chosen = match_request([item.view.atelier for item in nearby], text)
    if len(chosen) == 1 and len(nearby) > 1:  # "l'atelier smartphone de jeudi": exactly one fits
        return chosen[0].id
    if not chosen:
        header, chosen = NO_ATELIER_FOUND.format(label=label), [item.view.atelier for item in nearby]
    elif len(chosen) == len(nearby):
        header = say.ATELIERS_HEADER.format(label=label)
    else:
        header = WHICH_ATELIER
    lines = [header] + [say.atelier_nearby_line(by_id[a.id], now) for a in chosen[:6]]
    keyboard = [[say.register_button(by_id[a.id].view)] for a in chosen[:6]]
    dispatcher.utter_message(json_message={"text": "\n".join(lines), "keyboard": keyboard})
    return None


def _sign_up(dispatcher: CollectingDispatcher, atelier_id: int, citizen_id: int, sender: Sender) -> None:
    now = datetime.now(UTC)
    settings = services.settings()
    result = register(
        services.database(),
        atelier_id,
        citizen_id,
        sender.chat_id,
        sender.first_name,
        now,
        reminder_hour=settings.atelier_reminder_hour,
    )
    if result.status in SIGN_UP_TEXTS:
        dispatcher.utter_message(text=SIGN_UP_TEXTS[result.status], buttons=[FIND_PLACE, MY_ATELIERS])
        return
    with services.database().session() as session:
        atelier = session.get(Atelier, atelier_id)
        place = active_places(session, [atelier.place_source_id or ""]).get(atelier.place_source_id or "")
        keyboard = [[signup_messages.cancel_button(result.registration_id or 0)], [MY_ATELIERS]]
        if result.status == "waiting":
            text = signup_messages.waiting_text(atelier, place, result.position)
            dispatcher.utter_message(json_message={"text": text, "keyboard": keyboard})
            return
        ics = atelier_ics(atelier, place).decode("utf-8")
        text = signup_messages.confirmed_text(atelier, place, sender.first_name)
    document = {"filename": "atelier.ics", "content": ics}
    dispatcher.utter_message(json_message={"text": text, "keyboard": keyboard, "document": document})


class ActionAtelierCancel(CitizenAction):
    def name(self) -> str:
        return "action_atelier_cancel"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, sender: Sender, citizen_id: int
    ) -> list[EventType] | None:
        registration_id = services.entity(tracker, "registration")
        if registration_id is None:
            registration_id = _pick_to_cancel(dispatcher, tracker, citizen_id)
            if registration_id is None:
                return
        result = cancel(services.database(), int(registration_id), citizen_id, datetime.now(UTC))
        if result.status == "cancelled":
            if result.promoted_registration_id:
                log.info("Seat of atelier %s passed to the waiting list", result.atelier_id)
            dispatcher.utter_message(text=CANCELLED_TEXT, buttons=[MY_ATELIERS, ASK_QUESTION])
        elif result.status == "already_cancelled":
            dispatcher.utter_message(text=ALREADY_CANCELLED_TEXT, buttons=[MY_ATELIERS])
        else:
            dispatcher.utter_message(text=NOT_YOURS_TEXT, buttons=[MY_ATELIERS])


def _pick_to_cancel(dispatcher: CollectingDispatcher, tracker: Tracker, citizen_id: int) -> int | None:
    """« J'annule l'atelier de mardi »: the one sign-up meant, or a choice of buttons."""
    with services.database().session() as session:
        signups = my_signups(session, citizen_id, datetime.now(UTC))
        if not signups:
            dispatcher.utter_message(text=NO_SIGNUP_TO_CANCEL, buttons=[FIND_PLACE, ASK_QUESTION])
            return None
        text = (tracker.latest_message or {}).get("text") or ""
        chosen = match_request([item.atelier for item in signups], text) if not text.startswith("/") else []
        if len(chosen) == 1 and (len(signups) == 1 or len(chosen) < len(signups)):
            return next(item.registration.id for item in signups if item.atelier.id == chosen[0].id)
        dispatcher.utter_message(
            json_message={"text": WHICH_TO_CANCEL, "keyboard": signup_messages.my_signups_keyboard(signups)}
        )
        return None


class ActionMyAteliers(CitizenAction):
    def name(self) -> str:
        return "action_my_ateliers"

    def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, sender: Sender, citizen_id: int
    ) -> list[EventType] | None:
        with services.database().session() as session:
            signups = my_signups(session, citizen_id, datetime.now(UTC))
            text, keyboard = signup_messages.my_signups_text(signups), signup_messages.my_signups_keyboard(signups)
        keyboard.append([FIND_PLACE])
        dispatcher.utter_message(json_message={"text": text, "keyboard": keyboard})
        return None
