"""What the assistant says, independent of the front that shows it (Telegram or the terminal)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096


@dataclass(frozen=True)
class Button:
    """A choice: either a payload sent back to Rasa, or a link opened by the user's app."""

    title: str
    payload: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Venue:
    """A place on a map (Telegram shows a pin), sent before the reply's text."""

    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True)
class Document:
    """A file sent after the reply's text (an atelier's .ics)."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Reply:
    """One message to show: text and rows of buttons, or a request for the user's location; maybe a map pin
    before it and a file after it. A pin may come alone (empty text)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    request_location: bool = False
    venue: Venue | None = None
    document: Document | None = None


def from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    """Turn the REST channel's messages into replies.

    Rasa sends `text` with optional `buttons`, and `custom` JSON for richer UI:
    `{"text": ..., "keyboard": [[{"title", "payload"} | {"title", "url"}]], "request_location": bool,
    "venue": {"latitude", "longitude", "title", "address"}, "document": {"filename", "content"}}`.
    Buttons attached to a message with no text are merged into the previous reply, and consecutive texts are
    joined into one message (`_joined`).
    """
    replies: list[Reply] = []
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict):
            reply = _from_custom(custom)
        else:
            rows = tuple((_button(b),) for b in message.get("buttons") or () if _button(b) is not None)
            reply = Reply(text=(message.get("text") or "").strip(), buttons=rows)  # type: ignore[arg-type]
        if reply is None:
            continue
        if not reply.text and replies and reply.buttons:
            previous = replies.pop()
            reply = replace(previous, buttons=previous.buttons + reply.buttons)
        if reply.text:
            replies.append(reply)
        elif message.get("image"):
            replies.append(Reply(text=str(message["image"])))
    return [part for reply in _joined(replies) for part in _split_long(reply)]


def _joined(replies: list[Reply]) -> list[Reply]:
    """Consecutive texts as one message, their paragraphs kept: Rasa cuts a text at each blank line and sends each
    utterance apart, which would make one answer several notifications on the citizen's phone and several Bot API
    calls against Telegram's 30 messages a second. A text is joined to the next one only when nothing must come
    between them: it has no buttons, location request or file, and the next one has no map pin."""
    joined: list[Reply] = []
    for reply in replies:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and not (previous.buttons or previous.request_location or previous.document)
            and reply.venue is None
            and len(previous.text) + 2 + len(reply.text) <= TELEGRAM_TEXT_LIMIT
        ):
            joined[-1] = replace(reply, text=f"{previous.text}\n\n{reply.text}", venue=previous.venue)
        else:
            joined.append(reply)
    return joined


def _from_custom(custom: dict[str, Any]) -> Reply | None:
    rows = buttons_from(custom.get("keyboard"))
    text = str(custom.get("text") or "").strip()
    if not text:
        log.warning("Ignoring a custom payload without text: %s", str(custom)[:200])
        return None
    return Reply(
        text=text,
        buttons=tuple(rows),
        request_location=bool(custom.get("request_location")),
        venue=venue_from(custom.get("venue")),
        document=_document(custom.get("document")),
    )


def venue_from(raw: Any) -> Venue | None:
    """A map pin from {"latitude", "longitude", "title", "address"}; None when something is missing."""
    if not isinstance(raw, dict):
        return None
    try:
        latitude, longitude = float(raw["latitude"]), float(raw["longitude"])
    except (KeyError, TypeError, ValueError):
        log.warning("Ignoring a venue without coordinates: %s", str(raw)[:200])
        return None
    title, address = str(raw.get("title") or "").strip(), str(raw.get("address") or "").strip()
    if not title or not address:
        return None
    return Venue(latitude, longitude, title, address)


def _document(raw: Any) -> Document | None:
    if not isinstance(raw, dict) or not raw.get("filename") or not isinstance(raw.get("content"), str):
        return None
    return Document(str(raw["filename"]), raw["content"].encode("utf-8"))


def buttons_from(rows: Any) -> tuple[tuple[Button, ...], ...]:
    """Rows of {"title", "payload"} or {"title", "url"} dicts as buttons (bad items left out)."""
    result = []
    for row in rows or ():
        buttons = tuple(b for b in (_button(item) for item in row) if b is not None)
        if buttons:
            result.append(buttons)
    return tuple(result)


def _button(raw: Any) -> Button | None:
    if not isinstance(raw, dict) or not raw.get("title"):
        return None
    if raw.get("url"):
        return Button(title=str(raw["title"]), url=str(raw["url"]))
    if raw.get("payload"):
        return Button(title=str(raw["title"]), payload=str(raw["payload"]))
    return None


def _split_long(reply: Reply) -> list[Reply]:
    """Keep each message under Telegram's limit, cutting at paragraph or line ends; buttons go on the last."""
    if len(reply.text) <= TELEGRAM_TEXT_LIMIT:
        return [reply]
    chunks: list[str] = []
    rest = reply.text
    while len(rest) > TELEGRAM_TEXT_LIMIT:
        window = rest[:TELEGRAM_TEXT_LIMIT]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        cut = cut if cut > TELEGRAM_TEXT_LIMIT // 2 else TELEGRAM_TEXT_LIMIT
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    *first, last = chunks
    head = [
        replace(
            reply, text=chunk, buttons=(), request_location=False, document=None, venue=reply.venue if i == 0 else None
        )
        for i, chunk in enumerate(first)
    ]
    return [*head, replace(reply, text=last, venue=None)]
