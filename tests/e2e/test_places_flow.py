"""A citizen finds help nearby and signs up to an atelier: fake Bot API server, real bot, real Rasa and actions,
the demo places and ateliers loaded as `make run` loads them."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from bot.settings import Settings
from bot.telegram.front import GROUP_LOCATION_TEXT
from knowledge.places.messages import ASK_LOCATION, WHICH_COMMUNE
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

SAINT_LO = (49.1157, -1.0903)


def share_location(telegram: FakeTelegram, chat_id: int, latitude: float, longitude: float) -> list[dict]:
    mark = telegram.mark()
    telegram.user_sends_location(chat_id, latitude, longitude)
    return telegram.wait_until_quiet(chat_id, since=mark)


def places_answer(messages: list[dict]) -> dict:
    """One message: the places, with « 📍 Plan 1 », « 📍 Plan 2 »… to see each on a map."""
    (text,) = messages
    assert "📍 Plan 1" in button_titles(text), messages
    return text


def places_after_the_location_keyboard(messages: list[dict]) -> tuple[dict, dict]:
    """After « Où êtes-vous ? » and its « 📍 Partager ma position » keyboard: the nearest place's pin, which takes
    the keyboard away, then the places."""
    pin, text = messages
    assert "venue" in pin and "📍 Plan 1" in button_titles(text), messages
    return pin, text


def test_sharing_a_location_gives_three_places_each_with_its_map_pin(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    (asked,) = say(telegram, chat_id, "/start")
    (question,) = press(telegram, chat_id, asked, "Trouver de l'aide près de chez moi")
    assert question["text"] == ASK_LOCATION
    keyboard = telegram.reply_keyboard(chat_id)
    assert keyboard is not None and keyboard["keyboard"][0][0]["request_location"] is True

    first, answer = places_after_the_location_keyboard(share_location(telegram, chat_id, *SAINT_LO))
    assert telegram.reply_keyboard(chat_id) is None

    assert answer["text"].startswith("Voici les lieux d'aide au numérique les plus proches de Saint-Lô (50)")
    for number in ("1. ", "2. ", "3. "):
        assert f"\n\n{number}" in answer["text"]
    assert "Ouvert maintenant" in answer["text"] or "Fermé" in answer["text"]
    assert "Plus de lieux" in button_titles(answer)
    assert answer["text"].split("\n\n")[1].startswith(f"1. {first['venue']['title']}")
    for number in (2, 3):  # the pin of the place asked for; the places and their buttons stay as they were
        (pin,) = press(telegram, chat_id, answer, f"📍 Plan {number}")
        assert "venue" in pin and "text" not in pin, pin
        block = answer["text"].split("\n\n")[number]
        assert block.startswith(f"{number}. {pin['venue']['title']}") and pin["venue"]["address"] in block
        assert abs(pin["venue"]["location"]["latitude"] - SAINT_LO[0]) < 0.5

    more = say_more(telegram, chat_id, answer)
    assert "\n\n4. " in more["text"] and "\n\n1. " not in more["text"]


def say_more(telegram: FakeTelegram, chat_id: int, answer: dict) -> dict:
    (more,) = press(telegram, chat_id, answer, "Plus de lieux")
    return more


def test_a_postcode_typed_after_the_question_gives_places(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    say(telegram, chat_id, "je cherche de l'aide près de chez moi")
    pin, answer = places_after_the_location_keyboard(say(telegram, chat_id, "50000"))
    assert "50000 Saint-Lô" in answer["text"]
    assert pin["venue"]["address"].endswith("Saint-Lô") and telegram.reply_keyboard(chat_id) is None


def test_a_commune_in_the_question_is_understood(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    answer = places_answer(say(telegram, chat_id, "je cherche un lieu pour mes impôts à cherbourg"))
    assert "Cherbourg-en-Cotentin (50)" in answer["text"]
    assert "Aide aux démarches administratives" in answer["text"]


def test_an_ambiguous_commune_asks_which_one(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (question,) = say(telegram, chat_id, "Saint-Pierre")
    assert question["text"] == WHICH_COMMUNE
    assert "Saint-Pierre (974)" in button_titles(question) and "Saint-Pierre (15)" in button_titles(question)
    (answer,) = press(telegram, chat_id, question, "Saint-Pierre (974)")
    assert "à moins de 30 km de Saint-Pierre (974)" in answer["text"]
    assert "Trouver une France services" in button_titles(answer)


def test_unknown_postcode_and_location_outside_france(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, "99999")
    assert answer["text"].startswith("Je ne connais pas le code postal 99999.")
    (answer,) = share_location(telegram, chat_id, 51.5072, -0.1276)
    assert "hors de France" in answer["text"]


def test_a_location_in_a_group_is_not_used(bot: Settings, telegram: FakeTelegram) -> None:
    telegram.register_chat(-100777, chat_type="group", title="Voisins")
    mark = telegram.mark()
    telegram.user_sends_location(-100777, *SAINT_LO)
    (answer,) = telegram.wait_until_quiet(-100777, since=mark)
    assert answer["text"] == GROUP_LOCATION_TEXT


def test_ateliers_sign_up_calendar_file_and_cancel(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (ateliers,) = say(telegram, chat_id, "il y a des ateliers à Saint-Lô ?")
    assert ateliers["text"].startswith("Les prochains ateliers près de Saint-Lô (50)")
    button = next(title for title in button_titles(ateliers) if title.startswith("S'inscrire"))

    confirmation, document = press(telegram, chat_id, ateliers, button)

    assert confirmation["text"].startswith("C'est noté, Camille. Vous êtes inscrit(e)")
    assert document["document"]["file_name"] == "atelier.ics"
    calendar = Calendar.from_ical(telegram.file(document["document"]["file_id"]).data)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["summary"]) in confirmation["text"]

    (mine,) = say(telegram, chat_id, "mes ateliers")
    assert mine["text"].startswith("Vos ateliers :\n1. ")
    (done,) = press(telegram, chat_id, confirmation, "Annuler mon inscription")
    assert done["text"] == "C'est annulé. Merci d'avoir libéré votre place."
    (mine,) = say(telegram, chat_id, "mes inscriptions")
    assert mine["text"] == "Vous n'êtes inscrit(e) à aucun atelier à venir."


def test_cancelling_by_saying_so(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (ateliers,) = say(telegram, chat_id, "des ateliers à Saint-Lô ?")
    button = next(title for title in button_titles(ateliers) if title.startswith("S'inscrire"))
    press(telegram, chat_id, ateliers, button)
    (done,) = say(telegram, chat_id, "je ne pourrai pas venir à l'atelier, annulez mon inscription")
    assert done["text"] == "C'est annulé. Merci d'avoir libéré votre place."


def test_commands_in_the_menu_lead_to_places_and_ateliers(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    assert [c["command"] for c in telegram.commands()] == ["start", "lieux", "ateliers", "conseiller", "aide", "oubli"]
    (asked,) = say(telegram, chat_id, "/lieux")
    assert asked["text"] == ASK_LOCATION
    (mine,) = say(telegram, chat_id, "/ateliers")
    assert mine["text"] == "Vous n'êtes inscrit(e) à aucun atelier à venir."
