"""The pipeline every front shares: mask, record, ask Rasa, turn its answer into replies."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.rasa.client import RasaClient, RasaUnavailable
from bot.replies import Reply, from_rasa, venue_from
from knowledge.citizens.conversations import Contact, record_message
from knowledge.citizens.privacy import mask_sensitive, warning_for
from knowledge.db import Database
from knowledge.places.messages import MAP_PAYLOAD, PLACE_GONE_TEXT, place_pin

log = logging.getLogger(__name__)

RASA_DOWN_TEXT = (
    "Je rencontre un problème technique et je ne peux pas vous répondre pour le moment. "
    "Réessayez dans quelques minutes, s'il vous plaît. Toutes nos excuses."
)
EMPTY_ANSWER_TEXT = "Je n'ai pas de réponse à cela. Pouvez-vous reformuler votre question ?"
EMPTY_MESSAGE_TEXT = "Votre message est vide. Écrivez votre question avec vos mots, s'il vous plaît."
_PAYLOAD = re.compile(r"^/[a-z_]+(\{.{0,200}\})?$", re.DOTALL)


def is_payload(value: str) -> bool:
    """Whether a string is one of our button payloads (`/intent` or `/intent{"slot": "value"}`)."""
    return bool(_PAYLOAD.match(value))


def as_user_text(text: str) -> str:
    """Text typed by a person never reaches Rasa as an intent: leading slashes are removed."""
    return text.strip().lstrip("/").strip()


def contact_metadata(contact: Contact) -> dict[str, object]:
    """What the actions may know about the sender, set by us (never by the user's text): who, and which chat."""
    return {
        "channel": contact.channel,
        "user_id": contact.external_id,
        "chat_id": contact.chat_id,
        "first_name": contact.first_name,
    }


class Dialogue:
    def __init__(
        self, rasa: RasaClient, database: Database, retention: timedelta, sensitive_retention: timedelta
    ) -> None:
        self.rasa = rasa
        self.database = database
        self.retention = retention
        self.sensitive_retention = sensitive_retention

    async def handle_text(self, contact: Contact, text: str) -> list[Reply]:
        """A message typed by the user: masked before it is forwarded or stored."""
        masked = mask_sensitive(as_user_text(text))
        if not masked.text:
            return [Reply(EMPTY_MESSAGE_TEXT)]
        replies = await self._exchange(contact, masked.text)
        if masked.changed:
            log.info("Masked sensitive data (%s) from sender %s", ",".join(sorted(masked.kinds)), contact.sender_id)
            replies.insert(0, Reply(warning_for(masked.kinds)))
        return replies

    async def handle_payload(self, contact: Contact, payload: str) -> list[Reply]:
        """A button the assistant offered (or a command mapped to an intent)."""
        if payload.startswith(MAP_PAYLOAD):
            return [await asyncio.to_thread(self._pin, payload)]
        if not is_payload(payload):
            log.warning("Rejected malformed payload %r from sender %s", payload[:80], contact.sender_id)
            return [Reply(EMPTY_ANSWER_TEXT)]
        return await self._exchange(contact, payload)

    async def _exchange(self, contact: Contact, message: str) -> list[Reply]:
        await asyncio.to_thread(self._record, contact)
        try:
            messages = await self.rasa.send(contact.sender_id, message, contact_metadata(contact))
        except RasaUnavailable as error:
            log.error("No answer for sender %s: %s", contact.sender_id, error)
            return [Reply(RASA_DOWN_TEXT)]
        replies = from_rasa(messages)
        if not replies:
            log.warning("Rasa returned no message for sender %s", contact.sender_id)
            return [Reply(EMPTY_ANSWER_TEXT)]
        return replies

    def _pin(self, payload: str) -> Reply:
        """« 📍 Plan 2 »: the place's pin on a map, from the database (no need for Rasa)."""
        try:
            with self.database.session() as session:
                pin = place_pin(session, payload)
        except SQLAlchemyError:
            log.exception("Could not read the place of %r", payload[:80])
            return Reply(EMPTY_ANSWER_TEXT)
        return Reply("", venue=venue_from(pin)) if pin else Reply(PLACE_GONE_TEXT)

    def _record(self, contact: Contact) -> None:
        try:
            with self.database.session() as session:
                record_message(session, contact, datetime.now(UTC), self.retention, self.sensitive_retention)
        except SQLAlchemyError:
            log.exception("Could not record a message from sender %s; answering anyway", contact.sender_id)
