"""A photo, a file, a voice message… sent outside a handoff: each gets what the citizen can do instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from telegram import Message

from bot.replies import Reply
from bot.telegram.front import ONLY_TEXT_TEXT as FRONT_TEXT
from bot.telegram.media import (
    DOCUMENT_TEXT,
    IMAGE_TEXT,
    ONLY_TEXT_TEXT,
    RECORDING_TEXT,
    family_of,
    media_kind,
    media_reply,
)

FILE = {"file_id": "BQACAgQAAxkBAAI000001secret", "file_unique_id": "AgAD0001"}
PHOTO = [{**FILE, "width": 90, "height": 68}, {**FILE, "width": 1280, "height": 960}]
CONTENTS: dict[str, dict[str, Any]] = {
    "photo": {"photo": PHOTO},
    "photo with a caption": {"photo": PHOTO, "caption": "c'est une arnaque ?"},
    "image file": {"document": {**FILE, "file_name": "capture.png", "mime_type": "image/png"}},
    "image file without a type": {"document": {**FILE, "file_name": "IMG_2041.JPG"}},
    "pdf": {"document": {**FILE, "file_name": "avis.pdf", "mime_type": "application/pdf"}},
    "file without a name": {"document": FILE},
    "voice": {"voice": {**FILE, "duration": 4, "mime_type": "audio/ogg"}},
    "audio": {"audio": {**FILE, "duration": 180, "mime_type": "audio/mpeg"}},
    "video note": {"video_note": {**FILE, "length": 240, "duration": 6}},
    "video": {"video": {**FILE, "width": 640, "height": 360, "duration": 12}},
    "sticker": {
        "sticker": {**FILE, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    },
    "gif": {
        "animation": {**FILE, "width": 320, "height": 240, "duration": 2},
        "document": {**FILE, "file_name": "rire.gif.mp4", "mime_type": "video/mp4"},
    },
    "contact": {"contact": {"phone_number": "+33612345678", "first_name": "Léa"}},
    "dice": {"dice": {"emoji": "🎲", "value": 3}},
}


def message(content: dict[str, Any]) -> Message:
    return Message.de_json(
        {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 7001, "type": "private", "first_name": "Camille"},
            "from": {"id": 7001, "is_bot": False, "first_name": "Camille"},
            **content,
        },
        None,
    )


def titles(reply: Reply) -> list[str]:
    return [button.title for row in reply.buttons for button in row]


def payloads(reply: Reply) -> list[str | None]:
    return [button.payload for row in reply.buttons for button in row]


@pytest.mark.parametrize("name", ["photo", "photo with a caption", "image file", "image file without a type"], ids=str)
def test_a_picture_gets_the_scam_advice_the_privacy_warning_and_a_person(name: str) -> None:
    reply = media_reply(message(CONTENTS[name]))
    assert reply.text == IMAGE_TEXT
    assert "Je ne sais pas lire les photos" in reply.text
    assert "J'ai reçu ce SMS : " in reply.text and "arnaque" in reply.text
    assert "papiers d'identité" in reply.text and "carte bancaire" in reply.text and "avis d'impôt" in reply.text
    assert titles(reply) == ["Parler à un conseiller", "Trouver de l'aide près de chez moi"]
    assert payloads(reply) == ["/request_human", "/find_place"]


@pytest.mark.parametrize("name", ["pdf", "file without a name"], ids=str)
def test_a_file_gets_describe_your_problem_and_a_person(name: str) -> None:
    reply = media_reply(message(CONTENTS[name]))
    assert reply.text == DOCUMENT_TEXT
    assert reply.text.startswith("Je ne sais pas ouvrir les fichiers")
    assert "Décrivez votre problème en quelques mots" in reply.text
    assert "pièce d'identité" in reply.text and "avis d'imposition" in reply.text and "RIB" in reply.text
    assert titles(reply) == ["Parler à un conseiller", "Trouver de l'aide près de chez moi"]
    assert payloads(reply) == ["/request_human", "/find_place"]


@pytest.mark.parametrize("name", ["voice", "audio", "video note", "video"], ids=str)
def test_a_recording_gets_a_kind_answer_with_the_dictation_tip(name: str) -> None:
    reply = media_reply(message(CONTENTS[name]))
    assert reply.text == RECORDING_TEXT
    assert reply.text.startswith("Désolé, je ne peux pas écouter les messages vocaux")
    assert "Écrivez votre question en quelques mots" in reply.text
    assert "micro 🎤 du clavier" in reply.text
    assert titles(reply) == ["Parler à un conseiller", "Ce que je sais faire"]
    assert payloads(reply) == ["/request_human", "/help"]


@pytest.mark.parametrize("name", ["sticker", "gif", "contact", "dice"], ids=str)
def test_anything_else_gets_the_short_text_without_buttons(name: str) -> None:
    assert media_reply(message(CONTENTS[name])) == Reply(ONLY_TEXT_TEXT)


def test_the_front_still_exports_the_generic_text() -> None:
    assert FRONT_TEXT == ONLY_TEXT_TEXT == media_reply(message({})).text


@pytest.mark.parametrize(
    ("name", "kind", "family"),
    [
        ("photo", "photo", "image"),
        ("image file", "document", "image"),
        ("pdf", "document", "document"),
        ("voice", "voice", "recording"),
        ("video note", "video_note", "recording"),
        ("gif", "animation", "other"),
        ("sticker", "sticker", "other"),
    ],
)
def test_the_kind_for_the_logs_names_the_media_never_its_file(name: str, kind: str, family: str) -> None:
    received = message(CONTENTS[name])
    assert media_kind(received) == kind
    assert family_of(received) == family
    assert FILE["file_id"] not in media_kind(received)


def test_only_known_payloads_are_offered() -> None:
    """Every button goes through Rasa: its intent must be in the domain."""
    intents: set[str] = set()
    for path in Path(__file__).resolve().parents[1].joinpath("nlu", "domain").glob("*.yml"):
        intents.update(str(i) for i in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or ())
    offered = {p for name in ("photo", "pdf", "voice") for p in payloads(media_reply(message(CONTENTS[name])))}
    assert {str(p).removeprefix("/") for p in offered} <= intents
