"""What the assistant says, independent of the front that shows it (Telegram or the terminal)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
class Reply:
    """One message to show: text and rows of buttons, or a request for the user's location."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    request_location: bool = False


def from_rasa(messages: list[dict[str, Any]]) -> list[Reply]:
    """Turn the REST channel's messages into replies.

    Rasa sends `text` with optional `buttons`, and `custom` JSON for richer UI:
    `{"text": ..., "keyboard": [[{"title", "payload"} | {"title", "url"}]], "request_location": bool}`.
    Buttons attached to a message with no text are merged into the previous reply.
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
            reply = Reply(previous.text, previous.buttons + reply.buttons, previous.request_location)
        if reply.text:
            replies.extend(_split_long(reply))
        elif message.get("image"):
            replies.append(Reply(text=str(message["image"])))
    return replies


def _from_custom(custom: dict[str, Any]) -> Reply | None:
    rows = []
    for row in custom.get("keyboard") or ():
        buttons = tuple(b for b in (_button(item) for item in row) if b is not None)
        if buttons:
            rows.append(buttons)
    text = str(custom.get("text") or "").strip()
    if not text:
        log.warning("Ignoring a custom payload without text: %s", str(custom)[:200])
        return None
    return Reply(text=text, buttons=tuple(rows), request_location=bool(custom.get("request_location")))


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
    return [Reply(text=chunk) for chunk in first] + [Reply(last, reply.buttons, reply.request_location)]
