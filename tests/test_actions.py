"""Custom actions, run as the action server runs them: a Tracker in, exact events and messages out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.fallback import (
    FALLBACK_TEXT,
    GUESS_TEXT,
    NO_WORDS_TEXT,
    NUMBER_TEXT,
    OTHER_LANGUAGE_TEXT,
    REPEATED_TEXT,
    ActionFallback,
)
from actions.faq import NO_FICHE_TEXT, ActionAnswerFaq, ActionFicheLinks, ActionFicheSteps
from actions.feedback import FAILED_TEXT, WORKED_TEXT, ActionFicheFailed, ActionFicheWorked
from actions.menu import FIND_PLACE, MAIN_MENU, REQUEST_HUMAN
from actions.safety import ActionDanger
from knowledge.citizens.conversations import Contact, current_conversation, record_message
from knowledge.citizens.feedback import FeedbackCount, feedback_by_topic
from knowledge.db import Database
from knowledge.fiches import get_fiche
from knowledge.safety import scam_text


def tracker(
    intent: str,
    text: str = "",
    slots: dict[str, Any] | None = None,
    sender: str = "4242",
    entities: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    **parse: Any,
) -> Tracker:
    """A tracker whose latest message has `intent`; `parse`: more fields the NLU put on the intent; `entities` as
    our buttons' payloads carry them; `metadata` as our bot sets it."""
    latest = {
        "intent": {"name": intent, "confidence": 0.93, **parse},
        "entities": [{"entity": name, "value": value} for name, value in (entities or {}).items()],
        "text": text,
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender,
        slots=slots or {},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def action_database(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The actions' database (normally from DATABASE_URL), on each backend."""
    monkeypatch.setattr(services, "database", lambda: database)
    yield database


def run(action: Any, tracker_: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker_, {})
    return events, dispatcher.messages


def test_a_question_gets_its_fiche_with_buttons_and_the_topic_is_kept(action_database: Database) -> None:
    with action_database.session() as session:
        record_message(session, Contact("telegram", "4242", "4242", 4242), datetime.now(UTC), timedelta(days=1))
    email = get_fiche("email")
    assert email is not None

    events, messages = run(ActionAnswerFaq(), tracker("faq_email", "comment creer une adresse mail"))

    assert events == [SlotSet("topic", "email")]
    assert len(messages) == 1
    assert messages[0]["text"] == f"{email.title}\n\n{email.short_answer}"
    assert [b["title"] for b in messages[0]["buttons"]] == ["Voir les étapes", "Lien officiel", "Ça a marché ?"]
    assert messages[0]["buttons"][0]["payload"] == '/fiche_steps{"topic":"email"}'
    with action_database.session() as session:
        assert current_conversation(session, "4242").last_topic == "email"


def test_a_fiche_is_still_answered_when_the_database_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "database", lambda: Database("sqlite:////nonexistent/dir/x.db"))
    events, messages = run(ActionAnswerFaq(), tracker("faq_ameli"))
    assert events == [SlotSet("topic", "ameli")]
    assert messages[0]["text"].startswith(get_fiche("ameli").title)  # type: ignore[union-attr]


def test_an_unknown_topic_asks_to_rephrase() -> None:
    events, messages = run(ActionAnswerFaq(), tracker("faq_inconnu"))
    assert events == []
    assert messages[0]["text"] == NO_FICHE_TEXT
    assert messages[0]["buttons"] == MAIN_MENU


def test_steps_of_the_fiche_named_by_the_button() -> None:
    fiche = get_fiche("mot_de_passe")
    assert fiche is not None
    events, messages = run(ActionFicheSteps(), tracker("fiche_steps", slots={"topic": "mot_de_passe"}))
    assert events == []
    text = messages[0]["text"]
    assert text.startswith("Les étapes :\n1. " + fiche.steps[0])
    assert "À préparer :" in text and "Pièges à éviter :" in text
    assert [b["title"] for b in messages[0]["buttons"]] == ["Lien officiel", "Ça a marché ?"]


def test_links_of_the_fiche() -> None:
    fiche = get_fiche("arnaques")
    assert fiche is not None
    _, messages = run(ActionFicheLinks(), tracker("fiche_links", slots={"topic": "arnaques"}))
    custom = messages[0]["custom"]
    for link in fiche.links:
        assert link.url in custom["text"]
    assert custom["keyboard"] == [[{"title": link.label, "url": link.url}] for link in fiche.links]


def test_steps_without_a_fiche_in_context_ask_for_the_question() -> None:
    events, messages = run(ActionFicheSteps(), tracker("fiche_steps"))
    assert events == []
    assert "Écrivez votre question" in messages[0]["text"]
    assert messages[0]["buttons"] == MAIN_MENU


def fallback_tracker(
    ranking: list[tuple[str, float]],
    events: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    entities: list[dict[str, Any]] | None = None,
) -> Tracker:
    intent: dict[str, Any] = {"name": "nlu_fallback", "confidence": 0.45}
    if reason:
        intent["reason"] = reason
    latest = {
        "intent": intent,
        "text": "…",
        "entities": entities or [],
        "intent_ranking": [intent] + [{"name": n, "confidence": c} for n, c in ranking],
    }
    user = {"event": "user", "text": "…", "parse_data": latest}
    return Tracker("4242", {}, latest, [*(events or []), user], False, None, {}, "action_listen")


def test_low_confidence_offers_the_two_best_guesses_and_a_human() -> None:
    tracker_ = fallback_tracker([("faq_arnaques", 0.41), ("greet", 0.3), ("faq_ameli", 0.2), ("faq_email", 0.1)])
    events, messages = run(ActionFallback(), tracker_)
    assert events == []
    assert messages[0]["text"] == GUESS_TEXT
    assert messages[0]["buttons"] == [
        {"title": get_fiche("arnaques").title, "payload": "/faq_arnaques"},  # type: ignore[union-attr]
        {"title": get_fiche("ameli").title, "payload": "/faq_ameli"},  # type: ignore[union-attr]
        REQUEST_HUMAN,
    ]


def test_conversation_intents_can_be_guesses_too() -> None:
    _, messages = run(ActionFallback(), fallback_tracker([("find_place", 0.4), ("thanks", 0.3), ("kit_book", 0.2)]))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/find_place", "/kit_book", "/request_human"]


def test_words_the_assistant_never_saw_get_a_request_to_rephrase() -> None:
    tracker_ = fallback_tracker([("faq_arnaques", 0.9)], reason="unknown_words")
    events, messages = run(ActionFallback(), tracker_)
    assert events == []
    assert messages[0]["text"] == FALLBACK_TEXT
    assert messages[0]["buttons"] == MAIN_MENU


def test_emojis_or_punctuation_alone_get_a_gentle_prompt_and_no_guess() -> None:
    _, messages = run(ActionFallback(), fallback_tracker([("goodbye", 0.9)], reason="no_words"))
    assert messages == [{**messages[0], "text": NO_WORDS_TEXT, "buttons": MAIN_MENU}]


def test_a_bare_number_is_not_a_topic() -> None:
    _, messages = run(ActionFallback(), fallback_tracker([("faq_arnaques", 0.9)], reason="number"))
    assert messages[0]["text"] == NUMBER_TEXT
    assert messages[0]["buttons"] == MAIN_MENU


def test_another_language_gets_french_and_simple_english_and_a_person_every_time() -> None:
    earlier = [
        {"event": "user", "text": "hello"},
        {"event": "action", "name": "action_fallback"},
        {"event": "action", "name": "action_listen"},
    ]
    for events in ([], earlier):
        _, messages = run(ActionFallback(), fallback_tracker([("greet", 0.9)], events=events, reason="other_language"))
        assert messages[0]["text"] == OTHER_LANGUAGE_TEXT
        assert "Sorry, I only understand French." in messages[0]["text"]
        assert messages[0]["buttons"][0] == REQUEST_HUMAN


def test_emojis_twice_in_a_row_offer_a_human() -> None:
    earlier = [
        {"event": "user", "text": "😭😭"},
        {"event": "action", "name": "action_fallback"},
        {"event": "bot", "text": NO_WORDS_TEXT},
        {"event": "action", "name": "action_listen"},
    ]
    _, messages = run(ActionFallback(), fallback_tracker([("goodbye", 0.9)], events=earlier, reason="no_words"))
    assert messages[0]["text"] == REPEATED_TEXT
    assert messages[0]["buttons"][0] == REQUEST_HUMAN


def test_two_misunderstandings_in_a_row_offer_a_human() -> None:
    earlier = [
        {"event": "user", "text": "blabla"},
        {"event": "action", "name": "action_fallback"},
        {"event": "bot", "text": GUESS_TEXT},
        {"event": "action", "name": "action_listen"},
    ]
    _, messages = run(ActionFallback(), fallback_tracker([("faq_arnaques", 0.41)], events=earlier))
    assert messages[0]["text"] == REPEATED_TEXT
    assert messages[0]["buttons"][0] == REQUEST_HUMAN


def test_a_fallback_after_an_understood_message_is_not_repeated() -> None:
    earlier = [
        {"event": "user", "text": "bof"},
        {"event": "action", "name": "action_fallback"},
        {"event": "user", "text": "ameli"},
        {"event": "action", "name": "action_answer_faq"},
        {"event": "action", "name": "action_listen"},
    ]
    _, messages = run(ActionFallback(), fallback_tracker([("faq_arnaques", 0.41)], events=earlier))
    assert messages[0]["text"] == GUESS_TEXT


def test_feedback_is_recorded_and_a_no_leads_to_people(action_database: Database) -> None:
    _, worked = run(ActionFicheWorked(), tracker("affirm", slots={"topic": "email"}))
    _, failed = run(ActionFicheFailed(), tracker("deny", slots={"topic": "email"}))
    assert worked[0]["text"] == WORKED_TEXT
    assert failed[0]["text"] == FAILED_TEXT
    assert [b["payload"] for b in failed[0]["buttons"]] == ["/find_place", "/request_human", "/ask_question"]
    with action_database.session() as session:
        assert feedback_by_topic(session) == [FeedbackCount("email", worked=1, failed=1)]


def test_a_person_in_danger_gets_the_numbers_and_a_person_never_a_fiche(action_database: Database) -> None:
    with action_database.session() as session:
        record_message(session, Contact("telegram", "4243", "4243", 4243), datetime.now(UTC), timedelta(days=90))

    events, messages = run(ActionDanger(), tracker("danger", sender="4243", situations=["suicide"]))

    assert events == [SlotSet("topic", None)]
    assert len(messages) == 1
    assert "3114" in messages[0]["text"] and "114" in messages[0]["text"]
    assert messages[0]["buttons"] == [REQUEST_HUMAN, FIND_PLACE]
    with action_database.session() as session:
        conversation = current_conversation(session, "4243")
        assert conversation.sensitive
        assert conversation.expires_at - conversation.last_activity_at == timedelta(days=7)


def test_danger_recognised_by_the_classifier_alone_gets_every_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "database", lambda: Database("sqlite:////nonexistent/dir/x.db"))
    _events, messages = run(ActionDanger(), tracker("danger", situations=[]))
    assert all(number in messages[0]["text"] for number in ("3114", "17", "112", "114"))


def test_a_suspicious_message_gets_the_warning_then_the_arnaques_fiche_and_its_topic(action_database: Database) -> None:
    arnaques, ameli = get_fiche("arnaques"), get_fiche("ameli")
    assert arnaques is not None and ameli is not None

    events, messages = run(ActionAnswerFaq(), tracker("faq_arnaques", scam="suspicious", about="faq_ameli"))

    assert events == [SlotSet("topic", "arnaques")]
    assert messages[0]["text"] == scam_text("suspicious")
    assert messages[1]["text"].startswith(arnaques.title)
    assert messages[1]["buttons"][-1] == {"title": ameli.title, "payload": "/faq_ameli"}


def test_money_already_given_gets_the_immediate_steps_first(action_database: Database) -> None:
    _events, messages = run(ActionAnswerFaq(), tracker("faq_arnaques", scam="already_paid", about=None))
    assert messages[0]["text"] == scam_text("already_paid")
    assert messages[0]["text"].index("banque") < messages[0]["text"].index("Perceval")
    assert messages[0]["buttons"] == [REQUEST_HUMAN]
    assert [b["title"] for b in messages[1]["buttons"]] == ["Voir les étapes", "Lien officiel", "Ça a marché ?"]
