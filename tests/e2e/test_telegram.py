"""A citizen talks to the bot in Telegram: fake Bot API server, real bot process, real Rasa and actions."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from bot.dialogue import EMPTY_MESSAGE_TEXT
from bot.settings import Settings
from bot.telegram.front import ONLY_TEXT_TEXT
from knowledge.fiches import get_fiche
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

MENU = ["Poser une question", "Trouver de l'aide près de chez moi", "Parler à un conseiller"]


def button_titles(message: dict) -> list[str]:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["text"] for row in keyboard for button in row]


def say(telegram: FakeTelegram, chat_id: int, text: str) -> list[dict]:
    """The user writes; returns what the bot answered."""
    mark = telegram.mark()
    telegram.user_sends_text(chat_id, text)
    return telegram.wait_until_quiet(chat_id, since=mark)


def press(telegram: FakeTelegram, chat_id: int, message: dict, button: str) -> list[dict]:
    """The user presses a button of a bot message; returns what the bot answered."""
    mark = telegram.mark()
    telegram.user_presses_button(chat_id, message, button)
    return telegram.wait_until_quiet(chat_id, since=mark)


def test_start_shows_the_menu(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (message,) = say(telegram, chat_id, "/start")
    assert message["text"].startswith("Bonjour, je suis Passerelle.")
    assert button_titles(message) == MENU


def test_a_question_about_creating_an_email_address_gets_the_email_fiche(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    email = get_fiche("email")
    assert email is not None
    question = "Bonjour je voudrais me faire une adresse email pour recevoir mes papiers, comment on fait ?"
    assert question.lower() not in {q.lower() for q in email.questions}

    (message,) = say(telegram, chat_id, question)

    assert message["text"] == f"{email.title}\n\n{email.short_answer}"
    assert button_titles(message) == ["Voir les étapes", "Lien officiel", "Ça a marché ?"]


def test_a_button_press_is_answered(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (menu,) = say(telegram, chat_id, "/start")
    mark = telegram.mark()

    telegram.user_presses_button(chat_id, menu, "Poser une question")

    (reply,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert reply["text"].startswith("Je vous écoute.")
    assert telegram.requests("answerCallbackQuery", since=mark), "the button press must be acknowledged"
    edited = telegram.message(chat_id, menu["message_id"])
    assert edited["text"].endswith("➜ Poser une question")
    assert not button_titles(edited), "the keyboard is removed once a choice is made"


def test_the_steps_button_of_a_fiche_shows_the_steps(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    fiche = get_fiche("mot_de_passe")
    assert fiche is not None
    (answer,) = say(telegram, chat_id, "j'ai oublié mon mot de passe et je n'arrive plus à me connecter nulle part")
    assert answer["text"].startswith(fiche.title)

    (steps,) = press(telegram, chat_id, answer, "Voir les étapes")

    assert steps["text"].startswith(f"Les étapes :\n1. {fiche.steps[0]}")
    assert button_titles(steps) == ["Lien officiel", "Ça a marché ?"]


def test_the_official_link_button_gives_link_buttons(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    fiche = get_fiche("ameli")
    assert fiche is not None
    (answer,) = say(telegram, chat_id, "jarrive pas a telecharger mon attestation de droits sur mon compte ameli")
    assert answer["text"].startswith(fiche.title)

    (links,) = press(telegram, chat_id, answer, "Lien officiel")

    keyboard = links["reply_markup"]["inline_keyboard"]
    assert [row[0]["url"] for row in keyboard] == [link.url for link in fiche.links]
    assert [row[0]["text"] for row in keyboard] == [link.label for link in fiche.links]


def test_gibberish_gets_a_kind_fallback_not_silence(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (message,) = say(telegram, chat_id, "xqzw plokm vbnrt qsdfgh")
    assert message["text"].startswith("Je n'ai pas bien compris votre message.")
    assert button_titles(message) == MENU


def test_sensitive_data_is_masked_before_rasa_stores_it(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    messages = say(telegram, chat_id, "bonjour mon numero de secu est 2 84 05 76 451 089 78")
    assert messages[0]["text"].startswith("Attention : votre message contenait une donnée sensible")
    assert len(messages) >= 2, "the message is still answered"
    tracker_db = make_url(bot.tracker_store_url).database
    with sqlite3.connect(str(tracker_db)) as connection:
        stored = " ".join(
            row[0] for row in connection.execute("SELECT data FROM events WHERE sender_id = ?", (str(chat_id),))
        )
    assert "[num\\u00e9ro de s\\u00e9curit\\u00e9 sociale masqu\\u00e9]" in stored
    assert "451 089" not in stored and "451089" not in stored


def test_a_message_that_is_not_text_gets_an_explanation(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    mark = telegram.mark()
    telegram.user_sends_sticker(chat_id)  # a photo, a file, a voice message: tests/e2e/test_media.py
    (message,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert message["text"] == ONLY_TEXT_TEXT


def test_a_lone_slash_gets_a_prompt_not_an_error(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (message,) = say(telegram, chat_id, "/")
    assert message["text"] == EMPTY_MESSAGE_TEXT


def test_messages_in_a_group_are_not_answered_by_the_dialogue(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    group = -100_000 - chat_id
    telegram.register_chat(group, chat_type="supergroup", title="Conseillers numériques")
    mark = telegram.mark()
    telegram.user_sends_text(group, "bonjour, quelqu'un a le lien pour l'atelier ?", user_id=chat_id)
    (reply,) = say(telegram, chat_id, "bonjour")  # the bot is up and answers in private meanwhile
    assert reply["text"].startswith("Bonjour, je suis Passerelle.")
    assert [r for r in telegram.requests(since=mark) if r.get("chat_id") == group] == []


def _stored_events(bot: Settings, chat_id: int) -> str:
    tracker_db = make_url(bot.tracker_store_url).database
    with sqlite3.connect(str(tracker_db)) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ?", (str(chat_id),))
        return " ".join(row[0] for row in rows)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mon IBAN FR76 3000 6000 0112 3456 7890 189 pour le remboursement caf", "3000 6000"),
        ("mon mot de passe ameli c'est Soleil2024! pourquoi ca marche pas", "Soleil2024"),
    ],
)
def test_a_secret_followed_by_words_is_masked_and_the_user_warned(
    bot: Settings, telegram: FakeTelegram, chat_id: int, text: str, secret: str
) -> None:
    messages = say(telegram, chat_id, text)
    assert messages[0]["text"].startswith("Attention : votre message contenait une donnée sensible")
    assert len(messages) >= 2, "the question is still answered"
    stored = _stored_events(bot, chat_id)
    assert "masqu" in stored
    assert secret not in stored and secret.replace(" ", "") not in stored


def test_a_person_in_danger_gets_the_numbers_first_and_the_conversation_is_sensitive(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    (message,) = say(telegram, chat_id, "je veux mourir")
    assert "3114" in message["text"] and "114" in message["text"]
    assert button_titles(message) == ["Parler à un conseiller", "Trouver de l'aide près de chez moi"]
    with sqlite3.connect(str(make_url(bot.database_url).database)) as connection:
        (sensitive,) = connection.execute(
            "SELECT sensitive FROM conversations WHERE sender_id = ? AND status = 'active'", (str(chat_id),)
        ).fetchone()
    assert sensitive == 1


def test_danger_comes_before_any_fiche_in_a_mixed_message(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    messages = say(telegram, chat_id, "mon compte ameli marche pas et de toute facon jen peux plus je veux en finir")
    assert len(messages) == 1
    assert "3114" in messages[0]["text"]
    ameli = get_fiche("ameli")
    assert ameli is not None and ameli.title not in messages[0]["text"]


def test_a_scam_sms_gets_the_warning_before_the_fiche_of_the_organisation_it_names(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    sms = "jai recu un sms de lassurance maladie pour ma carte vitale il faut payer 2 euros"
    (message,) = say(telegram, chat_id, sms)  # one message, one notification on the phone
    arnaques = get_fiche("arnaques")
    assert arnaques is not None
    assert message["text"].startswith("Ce message ressemble à une arnaque")
    assert f"\n\n{arnaques.title}\n\n" in message["text"]


def test_money_already_given_gets_the_immediate_steps_and_a_person(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    messages = say(telegram, chat_id, "j'ai donné mon code au monsieur de la banque au telephone")
    assert "Appelez votre banque" in messages[0]["text"]
    assert button_titles(messages[0]) == ["Parler à un conseiller"]
