"""Places of help near the citizen: from a shared location, a postcode, a commune name, or a place in the question."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import ASK_QUESTION, REQUEST_HUMAN
from knowledge.french import fold
from knowledge.places import messages as say
from knowledge.places.catalogue import services_catalogue
from knowledge.places.communes import Resolution, communes
from knowledge.places.search import MAX_DISTANCE_KM, ateliers_near, cards, service_for_text

log = logging.getLogger(__name__)

PAGE = 3
LAST_LOCATION = "last_location"
LOOKING_FOR = "looking_for"
ATELIERS = "ateliers"
"""`looking_for`: the citizen asked for an atelier before saying where they are."""
TROUBLE_TEXT = (
    "Désolé, je n'arrive pas à chercher les lieux pour le moment. Réessayez dans un instant, s'il vous plaît."
)


def ask_location(dispatcher: CollectingDispatcher, text: str = say.ASK_LOCATION) -> None:
    dispatcher.utter_message(json_message={"text": text, "request_location": True})


def _resolve(tracker: Tracker, intent: str | None, text: str) -> Resolution | None:
    index = communes()
    latitude, longitude = services.entity(tracker, "latitude"), services.entity(tracker, "longitude")
    if latitude is not None and longitude is not None:
        try:
            return index.locate(float(latitude), float(longitude))
        except (TypeError, ValueError):
            return Resolution(status="invalid", reason="outside_france")
    if (insee := services.entity(tracker, "insee")) is not None:
        return index.choose(str(insee))
    if text.startswith("/"):
        return None
    found = index.find_in_sentence(text)
    if found is None and intent == "inform_place":
        return index.resolve(text)
    return found


class ActionFindPlace(Action):
    def name(self) -> str:
        return "action_find_place"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        text = message.get("text") or ""
        resolution = _resolve(tracker, intent, text)
        if resolution is None:
            ask_location(dispatcher)
            return []
        if resolution.status == "ambiguous":
            dispatcher.utter_message(
                json_message={"text": say.WHICH_COMMUNE, "keyboard": say.commune_buttons(resolution.candidates)}
            )
            return []
        if resolution.status != "found" or resolution.place is None:
            ask_location(dispatcher, _problem(resolution, text))
            return []
        place = resolution.place
        latitude = _float(services.entity(tracker, "latitude"), place.lat)
        longitude = _float(services.entity(tracker, "longitude"), place.lon)
        offset = max(0, int(_float(services.entity(tracker, "offset"), 0)))
        service = _service(tracker, text)
        wants_ateliers = tracker.get_slot(LOOKING_FOR) == ATELIERS or (
            "atelier" in fold(text) and not text.startswith("/")
        )
        try:
            _answer(dispatcher, latitude, longitude, place.label, offset, service, wants_ateliers)
        except SQLAlchemyError:
            log.exception("Place search failed")
            dispatcher.utter_message(text=TROUBLE_TEXT, buttons=[REQUEST_HUMAN, ASK_QUESTION])
            return []
        return [
            SlotSet(LAST_LOCATION, {"lat": latitude, "lon": longitude, "label": place.label}),
            SlotSet(LOOKING_FOR, None),
        ]


def _float(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _service(tracker: Tracker, text: str) -> str | None:
    code = services.entity(tracker, "service")
    if code is not None:
        catalogue = services_catalogue()
        number = int(_float(code, -1))
        return catalogue[number] if 0 <= number < len(catalogue) else None
    return None if text.startswith("/") else service_for_text(text)


def _problem(resolution: Resolution, text: str) -> str:
    if resolution.reason == "unknown_postcode":
        code = "".join(c for c in text if c.isdigit())[:5]
        return say.UNKNOWN_POSTCODE.format(code=code or "donné")
    return {
        "empty": say.EMPTY,
        "too_long": say.TOO_LONG,
        "outside_france": say.OUTSIDE_FRANCE,
    }.get(resolution.reason, say.NO_MATCH)


def _answer(
    dispatcher: CollectingDispatcher,
    latitude: float,
    longitude: float,
    label: str,
    offset: int,
    service: str | None,
    wants_ateliers: bool,
) -> None:
    now = datetime.now(UTC)
    index = services.place_index().get()
    with services.database().session() as session:
        if wants_ateliers and offset == 0:
            ateliers = ateliers_near(session, index, latitude, longitude, now)
            if ateliers:
                lines = [say.ATELIERS_HEADER.format(label=label)]
                lines += [
                    f"• {say.atelier_line(a.view, now)}\n  {a.place.nom} ({say.distance(a.distance_km)})"
                    for a in ateliers
                ]
                keyboard = [[say.register_button(a.view)] for a in ateliers[:5]]
                dispatcher.utter_message(json_message={"text": "\n".join(lines), "keyboard": keyboard})
                return
            dispatcher.utter_message(text=say.NO_ATELIER_NEAR.format(label=label))
        found = index.nearest(latitude, longitude, limit=PAGE, offset=offset, service=service, max_km=MAX_DISTANCE_KM)
        header = say.HEADER_SERVICE.format(label=label, service=service) if service else say.HEADER.format(label=label)
        if offset:
            header = say.HEADER_MORE.format(label=label)
        if not found and service and offset == 0:
            found = index.nearest(latitude, longitude, limit=PAGE, max_km=MAX_DISTANCE_KM)
            header, service = say.NO_SERVICE_NEAR.format(service=service), None
        if not found:
            if offset:
                dispatcher.utter_message(
                    text=say.NO_MORE_PLACES.format(km=f"{say.MAX_DISTANCE_KM:.0f}", label=label),
                    buttons=[REQUEST_HUMAN, ASK_QUESTION],
                )
            else:
                dispatcher.utter_message(
                    json_message={"text": say.no_place_text(label), "keyboard": say.no_place_keyboard()}
                )
            return
        shown = cards(session, found, now)
    text = "\n\n".join([header, *(say.place_text(offset + i, card, now) for i, card in enumerate(shown, start=1))])
    keyboard = [[say.register_button(view)] for card in shown for view in card.ateliers][:4]
    keyboard.append(say.map_buttons(offset + 1, shown))
    if len(found) == PAGE:
        service_code = services_catalogue().index(service) if service else None
        keyboard.append([say.more_button(latitude, longitude, offset + PAGE, service_code)])
    message: dict[str, Any] = {"text": text, "keyboard": keyboard}
    if offset == 0 and shown:  # sent by the front only where it also clears the location keyboard (front.py)
        message["venue"] = say.venue(shown[0].place)
    dispatcher.utter_message(json_message=message)
