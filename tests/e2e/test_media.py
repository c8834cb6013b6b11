"""A citizen sends a photo, a PDF or a voice message outside a handoff: the bot says what it can do instead and
offers a person; during a handoff, the same photo goes to the conseiller and gets no such answer."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.telegram.media import DOCUMENT_TEXT, IMAGE_TEXT, RECORDING_TEXT
from knowledge.handoffs.messages import BACK_TO_BOT_TEXT, STILL_WAITING_TEXT
from knowledge.places.messages import ASK_LOCATION
from tests.e2e.test_handoff import BOB, _bob_takes, _team_ready
from tests.e2e.test_telegram import button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

PERSON_OR_PLACE = ["Parler à un conseiller", "Trouver de l'aide près de chez moi"]
QUEUED = "Je transmets votre demande à un conseiller."


def test_a_photo_gets_the_scam_advice_and_a_person_is_one_press_away(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    mark = telegram.mark()
    telegram.user_sends_photo(chat_id, caption="c'est une arnaque ?")
    (answer,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert answer["text"] == IMAGE_TEXT
    assert button_titles(answer) == PERSON_OR_PLACE
    assert not telegram.requests("getFile", since=mark), "the photo is never downloaded"

    queued, *_ = press(telegram, chat_id, answer, "Parler à un conseiller")
    assert queued["text"].startswith(QUEUED)
    (back,) = say(telegram, chat_id, "/bot")
    assert back["text"] == BACK_TO_BOT_TEXT


def test_the_sms_typed_as_the_photo_answer_says_gets_the_scam_warning(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    sms = "J'ai reçu ce SMS : Assurance Maladie : votre carte Vitale expire, payez 2,99 EUR sur ameli-renouvellement.fr"
    assert "« J'ai reçu ce SMS : »" in IMAGE_TEXT
    messages = say(telegram, chat_id, sms)
    assert messages[0]["text"].startswith("Ce message ressemble à une arnaque")


def test_a_pdf_gets_describe_your_problem_and_the_places_of_help(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    mark = telegram.mark()
    telegram.user_sends_document(chat_id, "avis_imposition.pdf", b"%PDF-1.4 avis", "application/pdf")
    (answer,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert answer["text"] == DOCUMENT_TEXT
    assert button_titles(answer) == PERSON_OR_PLACE
    assert not telegram.requests("getFile", since=mark), "the file is never downloaded"

    (where,) = press(telegram, chat_id, answer, "Trouver de l'aide près de chez moi")
    assert where["text"] == ASK_LOCATION


def test_a_voice_message_gets_the_dictation_tip_and_the_menu(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    mark = telegram.mark()
    telegram.user_sends_voice(chat_id)
    (answer,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert answer["text"] == RECORDING_TEXT
    assert button_titles(answer) == ["Parler à un conseiller", "Ce que je sais faire"]
    assert not telegram.requests("getFile", since=mark), "the voice message is never downloaded"

    (menu,) = press(telegram, chat_id, answer, "Ce que je sais faire")
    assert menu["text"].startswith("Je réponds aux questions de tous les jours sur le numérique")


def test_during_a_handoff_a_photo_goes_to_the_conseiller_not_to_the_assistant(
    bot: Settings, telegram: FakeTelegram, chat_id: int
) -> None:
    _team_ready(bot, telegram)
    mark = telegram.mark()
    telegram.user_sends_voice(chat_id)
    (before,) = telegram.wait_until_quiet(chat_id, since=mark)
    queued, *_ = press(telegram, chat_id, before, "Parler à un conseiller")
    assert queued["text"].startswith(QUEUED)

    mark = telegram.mark()
    telegram.user_sends_photo(chat_id)
    (waiting,) = telegram.wait_until_quiet(chat_id, since=mark)
    assert waiting["text"] == STILL_WAITING_TEXT, "nobody has taken the request yet"
    (back,) = say(telegram, chat_id, "/bot")
    assert back["text"] == BACK_TO_BOT_TEXT

    _bob_takes(telegram, chat_id)
    mark = telegram.mark()
    telegram.user_sends_photo(chat_id, caption="voici l'écran")
    (copy,) = telegram.wait_for_messages(BOB, since=mark, timeout=20)
    assert copy["photo"] and "forward_origin" not in copy

    telegram.user_sends_text(chat_id, "/bot")  # answered after the photo: the updates of a chat come in order
    first, *_ = telegram.wait_until_quiet(chat_id, since=mark)
    assert first["text"] == BACK_TO_BOT_TEXT, "the photo itself got no answer from the assistant"
