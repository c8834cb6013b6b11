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
from actions.fallback import FALLBACK_TEXT, ActionFallback
from actions.faq import NO_FICHE_TEXT, ActionAnswerFaq, ActionFicheLinks, ActionFicheSteps
from actions.menu import MAIN_MENU
from knowledge.conversations import Contact, current_conversation, record_message
from knowledge.db import Database
from knowledge.fiches import get_fiche


def tracker(intent: str, text: str = "", slots: dict[str, Any] | None = None, sender: str = "4242") -> Tracker:
    latest = {"intent": {"name": intent, "confidence": 0.93}, "entities": [], "text": text}
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
    assert [b["title"] for b in messages[0]["buttons"]] == ["Voir les étapes", "Lien officiel"]
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
    assert [b["title"] for b in messages[0]["buttons"]] == ["Lien officiel"]


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


def test_fallback_is_kind_and_offers_the_menu() -> None:
    events, messages = run(ActionFallback(), tracker("nlu_fallback", "qsdlkj qsd"))
    assert events == []
    assert messages == [
        {
            "text": FALLBACK_TEXT,
            "buttons": MAIN_MENU,
            "elements": [],
            "custom": {},
            "template": None,
            "response": None,
            "image": None,
            "attachment": None,
        }
    ]
