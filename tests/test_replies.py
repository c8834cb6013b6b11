"""Rasa's REST messages become replies that any front can show."""

from __future__ import annotations

from bot.dialogue import as_user_text, is_payload
from bot.replies import TELEGRAM_TEXT_LIMIT, Button, Reply, from_rasa
from bot.telegram.callbacks import CALLBACK_DATA_LIMIT, CallbackPayloads


def test_text_with_buttons_becomes_one_reply_with_a_button_per_row() -> None:
    replies = from_rasa(
        [
            {
                "recipient_id": "1",
                "text": "Bonjour",
                "buttons": [{"title": "A", "payload": "/a"}, {"title": "B", "payload": "/b"}],
            }
        ]
    )
    assert replies == [Reply("Bonjour", ((Button("A", "/a"),), (Button("B", "/b"),)))]


def test_custom_payload_gives_link_buttons_and_location_requests() -> None:
    custom = {
        "text": "Où êtes-vous ?",
        "request_location": True,
        "keyboard": [[{"title": "Site", "url": "https://www.service-public.fr/"}]],
    }
    (reply,) = from_rasa([{"recipient_id": "1", "custom": custom}])
    assert reply.request_location
    assert reply.buttons == ((Button("Site", url="https://www.service-public.fr/"),),)


def test_a_custom_payload_without_text_is_dropped() -> None:
    assert from_rasa([{"recipient_id": "1", "custom": {"keyboard": []}}]) == []


def test_long_text_is_split_under_telegram_limit_with_buttons_on_the_last_part() -> None:
    text = "\n".join(f"Ligne numéro {i} avec quelques mots." for i in range(400))
    replies = from_rasa([{"recipient_id": "1", "text": text, "buttons": [{"title": "OK", "payload": "/affirm"}]}])
    assert len(replies) > 1
    assert all(len(r.text) <= TELEGRAM_TEXT_LIMIT for r in replies)
    assert all(not r.buttons for r in replies[:-1]) and replies[-1].buttons
    assert "\n".join(r.text for r in replies).split() == text.split()


def test_typed_text_never_reaches_rasa_as_an_intent() -> None:
    assert as_user_text('/kit_book{"kit": "drone"}') == 'kit_book{"kit": "drone"}'
    assert as_user_text("  //restart ") == "restart"
    assert is_payload('/fiche_steps{"topic":"email"}')
    assert not is_payload("bonjour")


def test_long_payloads_travel_under_a_short_key() -> None:
    payloads = CallbackPayloads(capacity=2)
    short = '/fiche_steps{"topic":"email"}'
    long = '/fiche_steps{"topic":"' + "x" * 80 + '"}'
    assert payloads.encode(short) == short
    key = payloads.encode(long)
    assert len(key.encode()) <= CALLBACK_DATA_LIMIT
    assert payloads.decode(key) == long
    payloads.encode(long + "1")
    payloads.encode(long + "2")
    assert payloads.decode(key) is None  # forgotten: the bot then says the button expired


def test_a_long_reply_keeps_its_map_pin_first_and_its_file_and_buttons_last() -> None:
    from bot.replies import Document, Venue

    text = ("Un lieu. " * 300 + "\n\n") * 3
    custom = {
        "text": text,
        "keyboard": [[{"title": "Plus de lieux", "payload": "/more_places"}]],
        "venue": {"latitude": 49.1, "longitude": -1.1, "title": "Médiathèque", "address": "Saint-Lô"},
        "document": {"filename": "atelier.ics", "content": "BEGIN:VCALENDAR"},
    }
    replies = from_rasa([{"custom": custom}])
    assert len(replies) >= 2
    assert replies[0].venue == Venue(49.1, -1.1, "Médiathèque", "Saint-Lô")
    assert all(r.venue is None for r in replies[1:])
    assert replies[-1].document == Document("atelier.ics", b"BEGIN:VCALENDAR")
    assert all(r.document is None and not r.buttons for r in replies[:-1])
    assert replies[-1].buttons[0][0].title == "Plus de lieux"


def test_the_paragraphs_rasa_cut_apart_come_back_as_one_message_with_the_last_ones_buttons() -> None:
    """Rasa sends « a\n\nb » as two messages: the citizen gets one, its paragraphs kept, the buttons at the end."""
    replies = from_rasa(
        [
            {"recipient_id": "1", "text": "Ce message ressemble à une arnaque."},
            {"recipient_id": "1", "text": "Ne cliquez pas sur le lien."},
            {"recipient_id": "1", "text": "Arnaques et faux messages", "buttons": [{"title": "OK", "payload": "/ok"}]},
            {"recipient_id": "1", "text": "Autre chose ?"},
        ]
    )
    assert replies == [
        Reply(
            "Ce message ressemble à une arnaque.\n\nNe cliquez pas sur le lien.\n\nArnaques et faux messages",
            ((Button("OK", "/ok"),),),
        ),
        Reply("Autre chose ?"),
    ]


def test_texts_stay_apart_around_a_map_pin_a_file_or_a_location_request() -> None:
    pin = {"latitude": 49.1, "longitude": -1.1, "title": "EPN", "address": "1 rue Haute, 50000 Saint-Lô"}
    document = {"filename": "atelier.ics", "content": "BEGIN:VCALENDAR"}
    replies = from_rasa(
        [
            {"recipient_id": "1", "text": "Voici ce que j'ai trouvé."},
            {"recipient_id": "1", "custom": {"text": "1. EPN", "venue": pin}},  # the pin must come before its text
            {"recipient_id": "1", "text": "Bonne visite."},  # joins the text after its pin
            {"recipient_id": "1", "custom": {"text": "Votre rendez-vous", "document": document}},  # file after it
            {"recipient_id": "1", "text": "Où êtes-vous ?"},  # the file stays right after its text
        ]
    )
    assert [(r.text, r.venue is not None, r.document is not None) for r in replies] == [
        ("Voici ce que j'ai trouvé.", False, False),
        ("1. EPN\n\nBonne visite.\n\nVotre rendez-vous", True, True),
        ("Où êtes-vous ?", False, False),
    ]


def test_texts_too_long_together_stay_apart() -> None:
    long = "x" * (TELEGRAM_TEXT_LIMIT - 10)
    replies = from_rasa([{"recipient_id": "1", "text": long}, {"recipient_id": "1", "text": "encore un paragraphe"}])
    assert [r.text for r in replies] == [long, "encore un paragraphe"]
