"""Citizens' questions get the right fiche; doubt, out-of-scope messages and repeated failures are handled."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from actions.fallback import (
    FALLBACK_TEXT,
    GUESS_TEXT,
    NO_WORDS_TEXT,
    NUMBER_TEXT,
    OTHER_LANGUAGE_TEXT,
    REPEATED_TEXT,
)
from actions.feedback import FAILED_TEXT
from bot.rasa.client import RasaClient
from bot.settings import Settings
from bot.tools.evaluation import evaluate_at
from knowledge.fiches import get_fiche
from knowledge.settings import PROJECT_ROOT
from tests.e2e.test_telegram import MENU, button_titles, press, say
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

# Written for this test: none of them is a training example (checked below).
QUESTIONS = {
    "ameli": "je voudrais télécharger mon attestation de droits sur le site de la sécu",
    "impots": "je dois declarer mes revenus en ligne mais je trouve pas mon numero fiscal",
    "caf": "comment je fais ma declaration trimestrielle du rsa sur le site de la caf",
    "france_travail": "je dois m'actualiser sur france travail ce mois ci, comment on fait ?",
    "ants": "je veux faire une pré-demande de passeport sur internet",
    "franceconnect": "c'est quoi ce bouton franceconnect, je dois choisir quel compte pour me connecter ?",
    "arnaques": "j'ai reçu un sms qui dit que mon colis est bloqué et qu'il faut payer 2 euros",
    "mot_de_passe": "comment on invente un mot de passe solide qu'on retient facilement ?",
    "smartphone": "comment agrandir l'écriture sur mon téléphone, je n'arrive plus à lire",
    "scanner": "comment scanner une feuille avec mon portable et l'envoyer en pdf",
    "retraite": "je voudrais faire ma demande de retraite en ligne, par où commencer",
    "photos": "comment mettre les photos de mon téléphone sur mon ordinateur",
}
OUT_OF_SCOPE_TEXT_START = "Je ne peux pas vous aider sur ce sujet."


@pytest.mark.parametrize(("topic", "question"), list(QUESTIONS.items()), ids=list(QUESTIONS))
def test_a_question_gets_its_fiche(
    bot: Settings, telegram: FakeTelegram, chat_id: int, topic: str, question: str
) -> None:
    fiche = get_fiche(topic)
    assert fiche is not None
    assert question.lower() not in {q.lower() for q in fiche.questions}

    (answer,) = say(telegram, chat_id, question)

    # A received scam gets the warning first (tests/e2e/test_telegram.py), then the fiche, in the same message.
    if topic == "arnaques":
        assert answer["text"].startswith("Ce message ressemble à une arnaque")
        assert answer["text"].endswith(f"\n\n{fiche.title}\n\n{fiche.short_answer}")
    else:
        assert answer["text"] == f"{fiche.title}\n\n{fiche.short_answer}"
    assert button_titles(answer) == ["Voir les étapes", "Lien officiel", "Ça a marché ?"]


def test_out_of_scope_gets_the_scope_answer(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, "quel temps va-t-il faire demain à Marseille ?")
    assert answer["text"].startswith(OUT_OF_SCOPE_TEXT_START)


def test_two_misunderstandings_in_a_row_offer_a_human(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (first,) = say(telegram, chat_id, "xqzw plokm vbnrt")
    assert first["text"] == FALLBACK_TEXT
    assert button_titles(first) == MENU
    (second,) = say(telegram, chat_id, "bzzzt krrrk")
    assert second["text"] == REPEATED_TEXT
    assert button_titles(second)[0] == "Parler à un conseiller"


def test_low_confidence_offers_two_guesses_and_a_human(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, LOW_CONFIDENCE_MESSAGE)
    assert answer["text"] == GUESS_TEXT
    titles = button_titles(answer)
    assert len(titles) == 3
    assert titles[-1] == "Parler à un conseiller"


def test_a_fiche_that_did_not_help_leads_to_people(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, QUESTIONS["caf"])
    (question,) = press(telegram, chat_id, answer, "Ça a marché ?")
    assert question["text"] == "Est-ce que cela a marché ?"
    (offer,) = press(telegram, chat_id, question, "Non")
    assert offer["text"] == FAILED_TEXT
    assert button_titles(offer)[:2] == ["Trouver de l'aide près de chez moi", "Parler à un conseiller"]


# Floors well under what the model measures (nlu/eval/report.md: 95.4 % in scope, 94.9 % out-of-scope recall,
# 1.6 % of in-scope questions rejected): the model is deterministic, so these fail only when a change to the
# data or the pipeline costs several points. The real measure is `make eval`.
FLOOR_IN_SCOPE_ACCURACY = 0.92
FLOOR_OOS_RECALL = 0.90
CEILING_IN_SCOPE_REJECTED = 0.04


def test_the_held_out_split_stays_well_above_the_floors(services: Settings) -> None:
    report = asyncio.run(evaluate_at(services.rasa_url, timeout=30))
    assert report.in_scope_accuracy >= FLOOR_IN_SCOPE_ACCURACY, report.render_details()
    assert report.oos_recall >= FLOOR_OOS_RECALL, report.render_details()
    assert report.in_scope_rejected <= CEILING_IN_SCOPE_REJECTED, report.render_details()


# Input the classifier was not made for, as found through Telegram (issue 6): the NLU says why it falls back.
UNUSUAL = {
    "😭😭😭🙏": "no_words",
    "?????": "no_words",
    "...": "no_words",
    "99999999999999999999999999": "number",
    "06 12 34 56 78": "number",
    "مرحبا، لا أستطيع الدخول إلى حسابي": "other_language",
    "我的账户无法登录": "other_language",
    "Здравствуйте, я не могу войти в свой аккаунт": "other_language",
    "Hello, I can't log in to my account, can you help me?": "other_language",
    "necesito ayuda con mi cuenta de la caf": "other_language",
    "ligne ligne ligne ligne": "vague",
    "connexion": "vague",
    "azeaze qsdqsd": "unknown_words",
}


def parse(settings: Settings, text: str) -> dict:
    async def run() -> dict:
        rasa = RasaClient(settings.rasa_url, timeout=30)
        try:
            return await rasa.parse(text)
        finally:
            await rasa.close()

    return asyncio.run(run())


@pytest.mark.parametrize(("text", "reason"), list(UNUSUAL.items()), ids=list(UNUSUAL.values()))
def test_unusual_input_falls_back_with_its_reason(services: Settings, text: str, reason: str) -> None:
    intent = parse(services, text)["intent"]
    assert (intent["name"], intent.get("reason")) == ("nlu_fallback", reason)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("please help mon compte ameli bloqué", "faq_ameli"),
        ("wallah j'arrive pas a ouvrir mon compte caf", "faq_caf"),
        ("ameli", "faq_ameli"),
        ("près de 50000", "inform_place"),  # a place alone, answered by action_find_place too
    ],
)
def test_french_mixed_with_other_words_or_very_short_is_still_understood(
    services: Settings, text: str, intent: str
) -> None:
    assert parse(services, text)["intent"]["name"] == intent


@pytest.mark.parametrize(
    "text", ["imprimante wifi installation", "attestation droits ameli", "carte vitale perdue", "scanner document pdf"]
)
def test_french_in_few_words_is_not_taken_for_another_language(services: Settings, text: str) -> None:
    assert parse(services, text)["intent"].get("reason") != "other_language"


def test_a_postcode_is_extracted_by_a_regex_not_a_neural_tagger(services: Settings) -> None:
    entities = parse(services, "50000")["entities"]
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("code_postal", "50000", "RegexEntityExtractor")
    ]


def test_emojis_alone_get_a_gentle_prompt_then_a_person(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (first,) = say(telegram, chat_id, "😭😭😭🙏")
    assert first["text"] == NO_WORDS_TEXT
    assert button_titles(first) == MENU
    (second,) = say(telegram, chat_id, "?????")
    assert second["text"] == REPEATED_TEXT
    assert button_titles(second)[0] == "Parler à un conseiller"


@pytest.mark.parametrize(
    "text", ["مرحبا، أحتاج مساعدة في حسابي", "我需要帮助，我的账户无法登录"], ids=["arabic", "chinese"]
)
def test_another_language_gets_a_french_and_english_answer_with_a_person(
    bot: Settings, telegram: FakeTelegram, chat_id: int, text: str
) -> None:
    (answer,) = say(telegram, chat_id, text)
    assert answer["text"] == OTHER_LANGUAGE_TEXT
    assert button_titles(answer)[0] == "Parler à un conseiller"


def test_a_bare_number_is_not_a_topic(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, "99999999999999999999999999")
    assert answer["text"] == NUMBER_TEXT
    assert button_titles(answer) == MENU


@pytest.mark.parametrize("text", ["50000", "st lo", "j'habite cherbourg", "Saint-Pierre", "99999"])
def test_a_place_typed_alone_is_understood_as_a_place(services: Settings, text: str) -> None:
    assert parse(services, text)["intent"]["name"] == "inform_place"


@pytest.mark.parametrize("text", ["bonjour", "merci", "oui", "mon mot de passe", "je veux m'inscrire à l'atelier"])
def test_everyday_words_are_not_places(services: Settings, text: str) -> None:
    assert parse(services, text)["intent"]["name"] != "inform_place"


def test_a_vague_word_repeated_gets_guesses_not_a_fiche(bot: Settings, telegram: FakeTelegram, chat_id: int) -> None:
    (answer,) = say(telegram, chat_id, "ligne ligne ligne ligne")
    assert answer["text"] == GUESS_TEXT
    assert button_titles(answer)[-1] == "Parler à un conseiller"


# Measured with the committed data: no intent above the fallback threshold, two FAQ topics as best guesses.
LOW_CONFIDENCE_MESSAGE = "la connexion"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_danger_message_of_the_set_is_danger_through_the_nlu_whatever_its_confidence(services: Settings) -> None:
    items = _jsonl(PROJECT_ROOT / "tests" / "data" / "danger_messages.jsonl")
    danger = [item["text"] for item in items if item["danger"]]
    missed = [text for text in danger if parse(services, text)["intent"]["name"] != "danger"]
    assert missed == []


IDIOMS = ["je meurs de rire", "ce site me tue", "mon téléphone est mort", "tuer une application"]


@pytest.mark.parametrize("text", IDIOMS)
def test_idioms_are_not_danger_for_the_nlu(services: Settings, text: str) -> None:
    assert parse(services, text)["intent"]["name"] != "danger"


SCAM_SMS = "jai recu un sms de lassurance maladie pour ma carte vitale il faut payer 2 euros"


def test_a_scam_is_answered_with_the_arnaques_fiche_and_keeps_the_fiche_it_named(services: Settings) -> None:
    intent = parse(services, SCAM_SMS)["intent"]
    assert (intent["name"], intent["scam"]) == ("faq_arnaques", "suspicious")
    assert intent["about"] == "faq_ameli"
