"""A fake Telegram Bot API server for end-to-end tests.

The real bot process (python-telegram-bot, unmodified) is started with ``base_url`` and
``base_file_url`` pointing at this server, which speaks the Bot API HTTP protocol
(https://core.telegram.org/bots/api) with real JSON shapes and real error descriptions.
The test drives the user's side synchronously::

    with FakeTelegram() as tg:
        start_the_bot(token=tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        tg.wait_for_polling()
        since = tg.mark()
        tg.user_sends_text(42, "/start")
        [reply] = tg.wait_for_messages(42, since=since)
        tg.user_presses_button(42, reply, "Oui")

The server runs an aiohttp application on 127.0.0.1 (free port) in a background thread with
its own event loop; every public method is thread-safe.

How requests are read: python-telegram-bot posts ``application/x-www-form-urlencoded`` bodies
whose values are JSON-encoded (``reply_markup='{"inline_keyboard": ...}'``, ``chat_id='42'``),
and ``multipart/form-data`` when it uploads files. JSON bodies and query strings are accepted
too. Parameters are normalised (numbers, booleans and JSON objects decoded) before they are
recorded, so ``requests()[i]["params"]["reply_markup"]`` is a dict whatever the client sent.

Known differences from the real service: only private chats are created implicitly (other
chats can be registered); ``parse_mode`` is handled by a port of TDLib's HTML, Markdown and
MarkdownV2 parsers (same error messages), but URLs, mentions and hashtags are not
auto-detected as entities in the bot's messages; no rate limits (use ``inject_error``);
webhooks accept plain ``http://`` URLs on any port; methods that are not implemented answer
404 "Not Found" like an unknown method, and are recorded in the request log like any call.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import itertools
import json
import mimetypes
import re
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
from aiohttp import web

__all__ = ["ApiCall", "ApiError", "FakeTelegram", "StoredFile", "UploadedFile", "WebhookDelivery"]

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

#: Update types delivered when ``allowed_updates`` is unset or empty (the real default).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Other contents copied by copyMessage (a message's sender and forward origin never are).
_COPIED_MEDIA = frozenset(
    {"sticker", "voice", "audio", "video", "video_note", "animation", "contact", "venue", "dice", "poll"}
)

# Methods whose successful calls create messages in a chat (see ``wait_for_messages``).
SENDING_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "sendLocation", "sendVenue", "copyMessage"})

_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLLING = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# --------------------------------------------------------------------------------------------
# Formatting: ports of TDLib's parse_html, parse_markdown and parse_markdown_v2
# (td/telegram/MessageEntity.cpp), working on UTF-8 bytes so that error offsets are the same
# byte offsets the real server reports, and entity offsets/lengths are in UTF-16 code units.
# --------------------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


@dataclass
class _Entity:
    kind: str  # TDLib's type name, used in error messages: "Bold", "TextUrl", "PreCode", ...
    offset: int
    length: int
    argument: str = ""


_ENTITY_PRIORITY = {
    "BlockQuote": 0,
    "ExpandableBlockQuote": 0,
    "PreCode": 10,
    "Pre": 11,
    "Code": 20,
    "TextUrl": 49,
    "Bold": 90,
    "Italic": 91,
    "Underline": 92,
    "Strikethrough": 93,
    "Spoiler": 94,
    "CustomEmoji": 99,
}
_ENTITY_API_TYPE = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "TextUrl": "text_link",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "CustomEmoji": "custom_emoji",
    "BlockQuote": "blockquote",
    "ExpandableBlockQuote": "expandable_blockquote",
}
_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins"}
    | {"tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote"}
)
_HTML_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_space(c: int) -> bool:
    # TDLib's is_space: note that the terminating NUL counts as a space.
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B)


def _u16_units(c: int) -> int:
    """UTF-16 code units contributed by the UTF-8 byte ``c`` (0 for continuation bytes)."""
    if c & 0xC0 == 0x80:
        return 0
    return 2 if c >= 0xF0 else 1


def _checked_link(url: str) -> str:
    """Simplified LinkManager::get_checked_link: normalised URL, or "" when it is invalid."""
    url = url.strip()
    if not url:
        return ""
    if "://" not in url and not url.lower().startswith("tg:"):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not hostname:
            return ""
        return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, parts.fragment))
    if scheme in ("tg", "ton", "tonsite"):
        return url
    return ""


def _finish_entities(out: bytearray, entities: list[_Entity]) -> tuple[str, list[JSON]]:
    entities.sort(key=lambda e: (e.offset, -e.length, _ENTITY_PRIORITY[e.kind]))
    result: list[JSON] = []
    for entity in entities:
        item: JSON = {"offset": entity.offset, "length": entity.length, "type": _ENTITY_API_TYPE[entity.kind]}
        if entity.kind == "TextUrl":
            item["url"] = entity.argument
        elif entity.kind == "PreCode":
            item["language"] = entity.argument
        elif entity.kind == "CustomEmoji":
            item["custom_emoji_id"] = entity.argument
        result.append(item)
    return out.decode("utf-8", "replace"), result


def _decode_html_entity(src: bytes, pos: int) -> tuple[int, int]:
    """Returns (code point, position after the reference), or (0, pos) when it is not one."""
    n = len(src)

    def at(i: int) -> int:
        return src[i] if i < n else 0

    end = pos + 1
    code = 0
    if at(pos + 1) == ord("#"):
        end += 1
        if at(pos + 2) == ord("x"):
            end += 1
            while chr(at(end)) in "0123456789abcdefABCDEF" and at(end):
                code = code * 16 + int(chr(at(end)), 16)
                end += 1
        else:
            while ord("0") <= at(end) <= ord("9"):
                code = code * 10 + at(end) - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(at(end)).isascii() and chr(at(end)).isalpha():
            end += 1
        code = _HTML_NAMED_ENTITIES.get(src[pos + 1 : end], 0)
        if not code:
            return 0, pos
    if at(end) == ord(";"):
        end += 1
    return code, end


@dataclass
class _OpenTag:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    begin: int  # byte position in the result


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    src = text.encode("utf-8", "surrogatepass")
    n = len(src)

    def at(i: int) -> int:
        return src[i] if i < n else 0

    out = bytearray()
    u16 = 0
    entities: list[_Entity] = []
    stack: list[_OpenTag] = []
    has_surrogate = False
    i = 0
    while i < n:
        c = src[i]
        if c == ord("&"):
            code, end = _decode_html_entity(src, i)
            if code:
                u16 += 2 if code > 0xFFFF else 1
                if 0xD800 <= code <= 0xDFFF:
                    has_surrogate = True
                out += chr(code).encode("utf-8", "surrogatepass")
                i = end
                continue
        if c != ord("<"):
            u16 += _u16_units(c)
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != ord("/"):
            # start tag
            while not _is_space(at(i)) and at(i) != ord(">"):
                i += 1
            if at(i) == 0:
                raise _ParseError(f"Unclosed start tag at byte offset {begin}")
            tag = src[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise _ParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != ord(">"):
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == ord(">"):
                    break
                name_begin = i
                while not _is_space(at(i)) and at(i) not in b"=>/\"'":
                    i += 1
                name = src[name_begin:i].decode("utf-8", "replace")
                if not name:
                    raise _ParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) != ord("="):
                    if at(i) == 0:
                        raise _ParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise _ParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in (ord("'"), ord('"')):
                    token_begin = i
                    while (chr(at(i)).isascii() and chr(at(i)).isalnum()) or at(i) in (ord("."), ord("-")):
                        i += 1
                    value = src[token_begin:i].decode("ascii").lower()
                    if not _is_space(at(i)) and at(i) != ord(">"):
                        raise _ParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    buffer = bytearray()
                    while at(i) != quote and at(i) != 0:
                        if at(i) == ord("&"):
                            code, end = _decode_html_entity(src, i)
                            if code:
                                buffer += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        buffer.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = buffer.decode("utf-8", "replace")
                if at(i) == 0:
                    raise _ParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and name == "emoji-id":
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise _ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append(_OpenTag(tag, argument, u16, len(out)))
            i += 1
            continue

        # end tag
        if not stack:
            raise _ParseError(f"Unexpected end tag at byte offset {begin}")
        while not _is_space(at(i)) and at(i) != ord(">"):
            i += 1
        end_tag = src[begin + 2 : i].decode("utf-8", "replace").lower()
        while _is_space(at(i)) and at(i) != 0:
            i += 1
        if at(i) != ord(">"):
            raise _ParseError(f"Unclosed end tag at byte offset {begin}")
        top = stack[-1]
        if end_tag and end_tag != top.tag:
            raise _ParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", found "</{end_tag}>"'
            )
        if u16 > top.offset:
            _close_html_tag(top, u16 - top.offset, out, entities)
        stack.pop()
        i += 1

    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    if has_surrogate:
        raise _ParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        if entity.kind == "Code":
            entity.argument = ""
    return _finish_entities(out, entities)


def _close_html_tag(top: _OpenTag, length: int, out: bytearray, entities: list[_Entity]) -> None:
    tag, offset = top.tag, top.offset
    simple = {"i": "Italic", "em": "Italic", "b": "Bold", "strong": "Bold", "u": "Underline", "ins": "Underline"}
    simple |= {"s": "Strikethrough", "strike": "Strikethrough", "del": "Strikethrough"}
    simple |= {"tg-spoiler": "Spoiler", "span": "Spoiler"}
    last = entities[-1] if entities else None
    same_span = last is not None and last.offset == offset and last.length == length
    if tag in simple:
        entities.append(_Entity(simple[tag], offset, length))
    elif tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0 or int(top.argument) >= 2**63:
            raise _ParseError("Invalid custom emoji identifier specified")
        entities.append(_Entity("CustomEmoji", offset, length, str(int(top.argument))))
    elif tag == "a":
        url = top.argument or out[top.begin :].decode("utf-8", "replace")
        checked = _checked_link(url)
        if checked:
            entities.append(_Entity("TextUrl", offset, length, checked))
    elif tag == "pre":
        if same_span and last is not None and last.kind == "Code" and last.argument:
            last.kind = "PreCode"
        else:
            entities.append(_Entity("Pre", offset, length))
    elif tag == "code":
        if same_span and last is not None and last.kind == "Pre" and top.argument:
            last.kind = "PreCode"
            last.argument = top.argument
        else:
            entities.append(_Entity("Code", offset, length, top.argument))
    elif tag == "blockquote":
        entities.append(_Entity("ExpandableBlockQuote" if top.argument else "BlockQuote", offset, length))


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Legacy "Markdown" parse mode."""
    src = text.encode("utf-8", "surrogatepass")
    n = len(src)

    def at(i: int) -> int:
        return src[i] if i < n else 0

    backtick = ord("`")
    out = bytearray()
    u16 = 0
    entities: list[_Entity] = []
    i = 0
    while i < n:
        c = src[i]
        if c == ord("\\") and at(i + 1) and at(i + 1) in b"_*`[":
            out.append(src[i + 1])
            u16 += 1
            i += 2
            continue
        if c not in b"_*`[":
            u16 += _u16_units(c)
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = ord("]") if c == ord("[") else c
        is_pre = False
        language = ""
        i += 1
        if c == backtick and at(i) == backtick and at(i + 1) == backtick:
            i += 2
            is_pre = True
            language_end = i
            while not _is_space(at(language_end)) and at(language_end) != backtick:
                language_end += 1
            if i != language_end and language_end < n and at(language_end) != backtick:
                language = src[i:language_end].decode("utf-8", "replace")
                i = language_end
            if at(i) in (0x0A, 0x0D):
                i += 2 if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1) else 1
        entity_offset = u16
        while i < n and (src[i] != end_char or (is_pre and not (at(i + 1) == backtick and at(i + 2) == backtick))):
            u16 += _u16_units(src[i])
            out.append(src[i])
            i += 1
        if i == n:
            raise _ParseError(f"Can't find end of the entity starting at byte offset {begin}")
        if entity_offset != u16:
            length = u16 - entity_offset
            if c == ord("_"):
                entities.append(_Entity("Italic", entity_offset, length))
            elif c == ord("*"):
                entities.append(_Entity("Bold", entity_offset, length))
            elif c == ord("["):
                if at(i + 1) != ord("("):
                    url = src[begin + 1 : i].decode("utf-8", "replace")
                else:
                    i += 2
                    url_begin = i
                    while i < n and src[i] != ord(")"):
                        i += 1
                    url = src[url_begin:i].decode("utf-8", "replace")
                checked = _checked_link(url)
                if checked:
                    entities.append(_Entity("TextUrl", entity_offset, length, checked))
            elif is_pre:
                entities.append(_Entity("PreCode" if language else "Pre", entity_offset, length, language))
            else:
                entities.append(_Entity("Code", entity_offset, length))
        if is_pre:
            i += 2
        i += 1
    return _finish_entities(out, entities)


@dataclass
class _OpenMarkdown:
    kind: str
    argument: str
    offset: int  # UTF-16 offset in the result
    byte_offset: int  # in the source, for error messages
    begin: int  # byte position in the result


def _reserved(c: int) -> _ParseError:
    return _ParseError(f"Character '{chr(c)}' is reserved and must be escaped with the preceding '\\'")


def _read_markdown_url(src: bytes, i: int) -> tuple[str, int]:
    """Reads an URL up to ")" (with backslash escapes); returns it and the position of ")"."""
    n = len(src)
    buffer = bytearray()
    while i < n and src[i] != ord(")"):
        if src[i] == ord("\\") and i + 1 < n and 0 < src[i + 1] <= 126:
            buffer.append(src[i + 1])
            i += 2
            continue
        buffer.append(src[i])
        i += 1
    return buffer.decode("utf-8", "replace"), i


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    src = text.encode("utf-8", "surrogatepass")
    n = len(src)

    def at(i: int) -> int:
        return src[i] if i < n else 0

    out = bytearray()
    u16 = 0
    entities: list[_Entity] = []
    stack: list[_OpenMarkdown] = []
    have_blockquote = False
    can_start_blockquote = True
    i = 0
    while i < n:
        c = src[i]
        if c == ord("\\") and 0 < at(i + 1) <= 126:
            i += 1
            u16 += 1
            out.append(src[i])
            if src[i] != 0x0D:
                can_start_blockquote = src[i] == 0x0A
            i += 1
            continue

        reserved = b"_*[]()~`>#+-=|{}.!\n"
        if stack and stack[-1].kind in ("Code", "Pre", "PreCode"):
            reserved = b"`"
        if c not in reserved:
            if _u16_units(c):
                u16 += _u16_units(c)
                if c != 0x0D:
                    can_start_blockquote = False
            out.append(c)
            i += 1
            continue

        is_end = False
        if stack:
            kind = stack[-1].kind
            if have_blockquote and c == 0x0A and (i + 1 == n or src[i + 1] != ord(">")):
                is_end = True
            elif kind == "Bold":
                is_end = c == ord("*")
            elif kind == "Italic":
                is_end = c == ord("_") and at(i + 1) != ord("_")
            elif kind == "Code":
                is_end = c == ord("`")
            elif kind in ("Pre", "PreCode"):
                is_end = c == ord("`") and at(i + 1) == ord("`") and at(i + 2) == ord("`")
            elif kind in ("TextUrl", "CustomEmoji"):
                is_end = c == ord("]")
            elif kind == "Underline":
                is_end = c == ord("_") and at(i + 1) == ord("_")
            elif kind == "Strikethrough":
                is_end = c == ord("~")
            elif kind == "Spoiler":
                is_end = c == ord("|") and at(i + 1) == ord("|")

        if not is_end:
            # beginning of an entity
            kind = ""
            argument = ""
            byte_offset = i
            if c == ord("_"):
                if at(i + 1) == ord("_"):
                    kind = "Underline"
                    i += 1
                else:
                    kind = "Italic"
            elif c == ord("*"):
                kind = "Bold"
            elif c == ord("~"):
                kind = "Strikethrough"
            elif c == ord("|"):
                if at(i + 1) != ord("|"):
                    raise _reserved(c)
                i += 1
                kind = "Spoiler"
            elif c == ord("["):
                kind = "TextUrl"
            elif c == ord("`"):
                if at(i + 1) == ord("`") and at(i + 2) == ord("`"):
                    i += 3
                    kind = "Pre"
                    language_end = i
                    while not _is_space(at(language_end)) and at(language_end) != ord("`"):
                        language_end += 1
                    if i != language_end and language_end < n and at(language_end) != ord("`"):
                        kind = "PreCode"
                        argument = src[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if at(i) in (0x0A, 0x0D):
                        i += 2 if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1) else 1
                    i -= 1
                else:
                    kind = "Code"
            elif c == ord("!"):
                if at(i + 1) != ord("["):
                    raise _reserved(c)
                i += 1
                kind = "CustomEmoji"
            elif c == 0x0A:
                u16 += 1
                out.append(0x0A)
                can_start_blockquote = True
            elif c == ord(">"):
                if not can_start_blockquote:
                    raise _reserved(c)
                if not have_blockquote:
                    kind = "BlockQuote"
                    have_blockquote = True
            else:
                raise _reserved(c)
            if kind:
                stack.append(_OpenMarkdown(kind, argument, u16, byte_offset, len(out)))
            i += 1
            continue

        # end of an entity
        kind = stack[-1].kind
        if c == 0x0A and kind != "BlockQuote":
            top = stack[-1]
            closes_spoiler = top.byte_offset == i - 2 or (top.byte_offset == i - 3 and out and out[-1] == 0x0D)
            if kind != "Spoiler" or not closes_spoiler:
                raise _ParseError(f"Can't find end of {kind} entity at byte offset {top.byte_offset}")
            stack.pop()
            if stack[-1].kind != "BlockQuote":
                raise _ParseError(f"Can't find end of {stack[-1].kind} entity at byte offset {stack[-1].byte_offset}")
            kind = "ExpandableBlockQuote"
        top = stack[-1]
        argument = top.argument
        skip = u16 == top.offset
        if kind in ("Underline", "Spoiler"):
            i += 1
        elif kind in ("Pre", "PreCode"):
            i += 2
        elif kind == "TextUrl":
            if at(i + 1) != ord("("):
                url = out[top.begin :].decode("utf-8", "replace")
            else:
                url_begin = i + 2
                url, i = _read_markdown_url(src, url_begin)
                if at(i) != ord(")"):
                    raise _ParseError(f"Can't find end of a URL at byte offset {url_begin}")
            argument = _checked_link(url)
            skip = skip or not argument
        elif kind == "CustomEmoji":
            if at(i + 1) != ord("("):
                raise _ParseError("Custom emoji entity must contain a tg://emoji URL")
            url_begin = i + 2
            url, i = _read_markdown_url(src, url_begin)
            if at(i) != ord(")"):
                raise _ParseError(f"Can't find end of a custom emoji URL at byte offset {url_begin}")
            match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
            if match is None or int(match.group(1)) == 0:
                raise _ParseError("Invalid custom emoji identifier specified")
            argument = match.group(1)
        elif kind in ("BlockQuote", "ExpandableBlockQuote"):
            have_blockquote = False
            out.append(src[i])
            can_start_blockquote = True
            u16 += 1
            skip = False
        if not skip:
            entities.append(_Entity(kind, top.offset, u16 - top.offset, argument))
        stack.pop()
        i += 1

    if have_blockquote:
        kind = "BlockQuote"
        if stack[-1].kind == "Spoiler" and stack[-1].byte_offset == n - 2:
            stack.pop()
            kind = "ExpandableBlockQuote"
        if stack[-1].kind == "BlockQuote":
            if u16 != stack[-1].offset:
                entities.append(_Entity(kind, stack[-1].offset, u16 - stack[-1].offset))
            stack.pop()
    if stack:
        raise _ParseError(f"Can't find end of {stack[-1].kind} entity at byte offset {stack[-1].byte_offset}")
    return _finish_entities(out, entities)


_PARSERS: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "html": _parse_html,
    "markdown": _parse_markdown,
    "markdownv2": _parse_markdown_v2,
}


def format_text(
    text: Any, parse_mode: Any = None, entities: Any = None, *, caption: bool = False
) -> tuple[str, list[JSON]]:
    """Applies ``parse_mode`` like the Bot API; returns the plain text and its entities.

    Raises ApiError with the real descriptions (empty text, too long, can't parse entities).
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        text = json.dumps(text) if not isinstance(text, int | float) else str(text)
    if parse_mode:
        parser = _PARSERS.get(str(parse_mode).lower())
        if parser is None:
            raise _bad_request("unsupported parse_mode")
        try:
            text, parsed = parser(text)
        except _ParseError as exc:
            raise _bad_request(f"can't parse entities: {exc}") from None
    else:
        parsed = [dict(e) for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
    if caption:
        if len(text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
    else:
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
    return text, parsed


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------

_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "menu_button",
        "link_preview_options",
        "reply_parameters",
        "media",
        "reaction",
        "message_ids",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "live_period",
        "heading",
        "proximity_alert_radius",
        "cache_time",
        "user_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "show_alert",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "for_channels",
    }
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})


def _normalize_params(raw: dict[str, Any]) -> JSON:
    """Decodes the string values of form/multipart/query parameters into their JSON types."""
    params: JSON = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif key in _INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value)
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
            elif key in _FLOAT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = float(value)
        params[key] = value
    return params


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as received."""

    field: str
    file_name: str
    mime_type: str
    data: bytes

    def to_dict(self) -> JSON:
        return {"file_name": self.file_name, "mime_type": self.mime_type, "size": len(self.data), "data": self.data}


async def _read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.body_exists:
        return raw, files
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                data = bytes(await part.read(decode=False))
                mime_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE) or (
                    mimetypes.guess_type(part.filename)[0] or "application/octet-stream"
                )
                files[part.name] = UploadedFile(part.name, part.filename, mime_type, data)
            else:
                raw[part.name] = await part.text()
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        raw.update({key: value for key, value in form.items() if isinstance(value, str)})
    else:
        body = await request.read()
        if body.strip():
            try:
                decoded = json.loads(body)
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise _bad_request("can't parse JSON object")
            raw.update(decoded)
    return raw, files


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class StoredFile:
    """A file known to the fake server (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    data: bytes | None = None  # None for files "sent" by URL
    file_size: int | None = None


@dataclass
class ApiCall:
    """One request of the bot to the Bot API, with the answer it got."""

    method: str  # canonical name ("sendMessage") when the method is known, else as requested
    params: JSON
    files: dict[str, UploadedFile]
    time: float  # time.time() when the request arrived
    response: JSON  # the JSON body sent back
    status: int  # its HTTP status
    chat_id: int | None = None
    messages: list[JSON] = field(default_factory=list)  # messages this call created
    finished: float = 0.0  # time.monotonic() when the answer was sent

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    def to_dict(self) -> JSON:
        return {
            "method": self.method,
            "params": copy.deepcopy(self.params),
            "files": {name: upload.to_dict() for name, upload in self.files.items()},
            "time": self.time,
            "response": copy.deepcopy(self.response),
            "status": self.status,
            "chat_id": self.chat_id,
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to POST an update to the webhook."""

    update_id: int
    url: str
    status: int | None  # HTTP status of the answer; None when no answer came (connection error)
    error: str | None  # like getWebhookInfo's last_error_message
    secret_token: str | None  # value of the X-Telegram-Bot-Api-Secret-Token header sent
    time: float

    def to_dict(self) -> JSON:
        return dataclasses.asdict(self)


@dataclass
class _Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    has_custom_certificate: bool = False
    last_error_date: int | None = None
    last_error_message: str | None = None

    def public(self) -> JSON:
        return {
            "url": self.url,
            "secret_token": self.secret_token,
            "max_connections": self.max_connections,
            "allowed_updates": copy.copy(self.allowed_updates),
            "ip_address": self.ip_address,
            "has_custom_certificate": self.has_custom_certificate,
        }


@dataclass
class _Chat:
    id: int
    type: str = "private"
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    title: str | None = None
    last_message_id: int = 0
    blocked: bool = False
    reply_keyboard: JSON | None = None
    menu_button: JSON | None = None

    def public(self) -> JSON:
        chat: JSON = {"id": self.id}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                chat[key] = value
        chat["type"] = self.type
        return chat

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: JSON | None = None


@dataclass
class _InjectedError:
    method: str
    error: ApiError
    remaining: int


@dataclass(frozen=True)
class _Described:
    """A successful result that also carries a "description", like setWebhook's."""

    result: Any
    description: str


_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_MARKUP_JSON_ERROR = "can't parse reply keyboard markup JSON object"


def _parse_reply_markup(value: Any) -> JSON | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad_request(_MARKUP_JSON_ERROR) from None
    if not isinstance(value, dict):
        raise _bad_request(_MARKUP_JSON_ERROR)
    if "inline_keyboard" in value:
        return {"inline_keyboard": _validate_inline_keyboard(value["inline_keyboard"])}
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                if not isinstance(button, str) and not (isinstance(button, dict) and "text" in button):
                    raise _bad_request('can\'t parse keyboard button: Field "text" must be of type String')
        return copy.deepcopy(value)
    if value.get("remove_keyboard") or value.get("force_reply"):
        return copy.deepcopy(value)
    raise _bad_request(_MARKUP_JSON_ERROR)


def _validate_inline_keyboard(rows: Any) -> list[list[JSON]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    keyboard: list[list[JSON]] = []
    for row in rows:
        buttons: list[JSON] = []
        for button in row:
            if not isinstance(button, dict):
                raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
            if not isinstance(button.get("text"), str):
                raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
            if not any(action in button for action in _INLINE_BUTTON_ACTIONS):
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad_request("BUTTON_DATA_INVALID")
            if "url" in button and not _checked_link(str(button["url"])):
                raise _bad_request(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
            buttons.append(copy.deepcopy(button))
        keyboard.append(buttons)
    return keyboard


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, if recognisable."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            (segment_length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + segment_length
    return None


def _message_summary(message: JSON) -> str:
    if "text" in message:
        return repr(message["text"][:80])
    if "document" in message:
        return f"document {message['document'].get('file_name')!r}"
    if "photo" in message:
        return "photo"
    if "location" in message:
        return f"location {message['location']}"
    return "message"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegram:
    """Fake Bot API server plus the synchronous, thread-safe test-side API."""

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        bot_username: str = "passerelle_test_bot",
        *,
        bot_first_name: str = "Passerelle",
        webhook_retry_delay: float = 0.5,
        webhook_timeout: float = 10.0,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError(f"token must look like '123456:secret', got {token!r}")
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(bot_id)
        self.bot_first_name = bot_first_name
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_timeout = webhook_timeout
        self.port = 0

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._updates_event: asyncio.Event | None = None  # replaced (and set) at each wake-up
        self._closing = False

        self._calls: list[ApiCall] = []
        self._call_messages: list[JSON] = []  # messages created by the call being handled
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(10001)
        self._polls_received = 0
        self._poll_generation = 0
        self._polling_allowed_updates: list[str] | None = None
        self._webhook: _Webhook | None = None
        self._deliveries: list[WebhookDelivery] = []
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._queries: dict[str, _CallbackQuery] = {}
        self._query_ids = itertools.count(1)
        self._query_prefix = secrets.randbelow(9 * 10**8) + 10**8
        self._files: dict[str, StoredFile] = {}
        self._photo_sets: dict[str, list[JSON]] = {}
        self._file_counter = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._default_menu_button: JSON | None = None
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._injected: list[_InjectedError] = []

        handlers: dict[str, Callable[[JSON, dict[str, UploadedFile]], Any]] = {
            "getMe": self._get_me,
            "logOut": self._log_out,
            "close": self._log_out,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "copyMessage": self._copy_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendLocation": self._send_location,
            "sendVenue": self._send_venue,
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        for kind, key in (("Description", "description"), ("ShortDescription", "short_description")):
            handlers[f"setMy{kind}"] = self._bot_text_setter(key)
            handlers[f"getMy{kind}"] = self._bot_text_getter(key)
        handlers["setMyName"] = self._bot_text_setter("name")
        handlers["getMyName"] = self._bot_text_getter("name")
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}
        self._method_names = {name.lower(): name for name in [*handlers, "getUpdates"]}

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        if self._thread is not None:
            raise RuntimeError("FakeTelegram is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._closing = False
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._thread_main, args=(sock,), name=f"FakeTelegram:{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10) or self._startup_error is not None:
            self.stop()
            raise RuntimeError("FakeTelegram failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        with self._lock:
            self._closing = True
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._request_stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """python-telegram-bot's ``base_url``: it appends the token, then ``/method``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def api_url(self) -> str:
        """The full API prefix, for raw HTTP clients: ``{api_url}/sendMessage``."""
        return f"{self.base_url}{self.token}"

    # ---- test-side API: users ----------------------------------------------------------------

    def register_chat(
        self,
        chat_id: int,
        first_name: str | None = "Camille",
        *,
        last_name: str | None = None,
        username: str | None = None,
        chat_type: str = "private",
        title: str | None = None,
    ) -> JSON:
        """Makes a chat known (the bot may then write to it); returns its Chat object."""
        with self._changed:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = self._chats[chat_id] = _Chat(chat_id, chat_type)
            chat.type = chat_type
            if chat_type == "private":
                chat.first_name, chat.last_name, chat.username = first_name, last_name, username
            else:
                chat.title, chat.username = title or first_name, username
            return chat.public()

    def user_blocks_bot(self, chat_id: int, blocked: bool = True) -> None:
        """Afterwards the bot's messages to that chat fail with 403 "bot was blocked by the user"."""
        with self._changed:
            self._chat_or_fail(chat_id).blocked = blocked

    def user_sends_text(
        self,
        chat_id: int,
        text: str,
        first_name: str = "Camille",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        user_id: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """Enqueues a ``message`` update with a text (commands get a bot_command entity); ``reply_to``: the id of
        a message of the chat it answers (Telegram's reply)."""
        content: JSON = {"text": text}
        if reply_to is not None:
            with self._lock:
                replied = self._messages.get((chat_id, reply_to))
            if replied is None:
                raise AssertionError(f"no message {reply_to} in chat {chat_id} to reply to")
            content["reply_to_message"] = copy.deepcopy(replied)
        entities = [
            {"offset": _utf16_len(text[: m.start()]), "length": _utf16_len(m.group()), "type": "bot_command"}
            for m in _BOT_COMMAND.finditer(text)
        ]
        if entities:
            content["entities"] = entities
        return self._user_message(chat_id, content, first_name, last_name, username, language_code, user_id)

    def user_sends_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        first_name: str = "Camille",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fr",
        user_id: int | None = None,
    ) -> JSON:
        """Enqueues a ``message`` update with a location."""
        content = {"location": {"latitude": float(latitude), "longitude": float(longitude)}}
        return self._user_message(chat_id, content, first_name, last_name, username, language_code, user_id)

    def user_sends_document(
        self,
        chat_id: int,
        file_name: str,
        data: bytes,
        mime_type: str | None = None,
        *,
        caption: str | None = None,
        first_name: str = "Camille",
    ) -> JSON:
        """Enqueues a ``message`` update with a document the bot can fetch (getFile + download)."""
        with self._changed:
            stored = self._store_file(file_name, mime_type, data, "documents")
            content: JSON = {"document": self._document_json(stored)}
            if caption:
                content["caption"] = caption
            return self._user_message(chat_id, content, first_name, None, None, "fr", None)

    def user_sends(
        self,
        chat_id: int,
        content: JSON,
        first_name: str = "Camille",
        *,
        user_id: int | None = None,
        language_code: str | None = "fr",
    ) -> JSON:
        """Enqueues a ``message`` update with any content, e.g. ``{"dice": {"emoji": "🎲", "value": 3}}`` or a
        ``poll``; the message is kept like the others (the bot may copy it or reply to it)."""
        return self._user_message(chat_id, copy.deepcopy(content), first_name, None, None, language_code, user_id)

    def user_sends_sticker(
        self, chat_id: int, emoji: str = "👍", first_name: str = "Camille", *, user_id: int | None = None
    ) -> JSON:
        """Enqueues a ``message`` update with a (static, WebP) sticker the bot can fetch."""
        with self._changed:
            stored = self._store_file("sticker.webp", "image/webp", b"RIFF\x1a\x00\x00\x00WEBPVP8 sticker", "stickers")
            sticker: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": stored.file_size,
            }
            return self._user_message(chat_id, {"sticker": sticker}, first_name, None, None, "fr", user_id)

    def user_sends_contact(
        self,
        chat_id: int,
        phone_number: str,
        contact_first_name: str,
        first_name: str = "Camille",
        *,
        contact_user_id: int | None = None,
        user_id: int | None = None,
    ) -> JSON:
        """Enqueues a ``message`` update with a shared contact (a phone number and a name)."""
        contact: JSON = {"phone_number": phone_number, "first_name": contact_first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._user_message(chat_id, {"contact": contact}, first_name, None, None, "fr", user_id)

    def user_forwards_text(
        self,
        chat_id: int,
        text: str,
        origin_name: str,
        first_name: str = "Camille",
        *,
        origin_user_id: int | None = None,
        user_id: int | None = None,
    ) -> JSON:
        """Enqueues a ``message`` update with a text forwarded from someone else: ``forward_origin`` is a ``user``
        origin with ``origin_user_id``, else a ``hidden_user`` one (the sender's privacy settings hide the link)."""
        date = int(time.time()) - 3600
        origin: JSON
        if origin_user_id is not None:
            sender = self._user_json(origin_user_id, origin_name, None, None, None)
            origin = {"type": "user", "date": date, "sender_user": sender}
        else:
            origin = {"type": "hidden_user", "date": date, "sender_user_name": origin_name}
        content = {"text": text, "forward_origin": origin}
        return self._user_message(chat_id, content, first_name, None, None, "fr", user_id)

    def user_edits_text(self, chat_id: int, message_id: int, text: str) -> JSON:
        """Enqueues an ``edited_message`` update: the user's message ``message_id`` with a new text. Its sender,
        date and reply are kept and ``edit_date`` is set; the kept message is changed too."""
        with self._changed:
            stored = self._messages.get((chat_id, message_id))
            if stored is None:
                raise AssertionError(f"no message {message_id} in chat {chat_id} to edit")
            if stored.get("from", {}).get("id") == self.bot_id:
                raise AssertionError(f"message {message_id} in chat {chat_id} was sent by the bot, not the user")
            if "text" not in stored:
                raise AssertionError(f"message {message_id} in chat {chat_id} has no text to edit")
            stored.pop("entities", None)
            entities = [
                {"offset": _utf16_len(text[: m.start()]), "length": _utf16_len(m.group()), "type": "bot_command"}
                for m in _BOT_COMMAND.finditer(text)
            ]
            stored["text"] = text
            if entities:
                stored["entities"] = entities
            stored["edit_date"] = max(int(time.time()), int(stored.get("date", 0)) + 1)
            return self._enqueue({"edited_message": copy.deepcopy(stored)})

    def user_leaves_group(
        self, chat_id: int, user_id: int, first_name: str = "Camille", *, removed_by: int | None = None
    ) -> JSON:
        """Enqueues the service message of a member leaving a group (``left_chat_member``); with ``removed_by``, an
        administrator removed them and the message comes from that administrator. The group must be registered."""
        with self._changed:
            chat = self._chat_or_fail(chat_id)
            if chat.type == "private":
                raise AssertionError(f"chat {chat_id} is a private chat, not a group")
            left = self._user_json(user_id, first_name, None, None, None)
            sender = left if removed_by is None else self._user_json(removed_by, "Admin", None, None, None)
            message = {
                "message_id": chat.next_message_id(),
                "from": sender,
                "chat": chat.public(),
                "date": int(time.time()),
                "left_chat_member": left,
            }
            self._messages[(chat_id, message["message_id"])] = message
            return self._enqueue({"message": copy.deepcopy(message)})

    def chat_member_changes(
        self,
        chat_id: int,
        user_id: int,
        new_status: str,
        first_name: str = "Camille",
        *,
        old_status: str = "member",
        by: int | None = None,
    ) -> JSON:
        """Enqueues a ``chat_member`` update: a member's status in a group changed (``member``, ``left`` or
        ``kicked``). Like the real service, it is only delivered to a bot that asked for it in ``allowed_updates``."""
        statuses = ("member", "left", "kicked")  # the others need many more fields (rights, restrictions)
        if old_status not in statuses or new_status not in statuses:
            raise ValueError(f"statuses must be among {statuses}")
        with self._changed:
            chat = self._chat_or_fail(chat_id)
            user = self._user_json(user_id, first_name, None, None, None)

            def member(status: str) -> JSON:
                return {"status": status, "user": user} | ({"until_date": 0} if status == "kicked" else {})

            change = {
                "chat": chat.public(),
                "from": user if by is None else self._user_json(by, "Admin", None, None, None),
                "date": int(time.time()),
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            }
            return self._enqueue({"chat_member": change})

    def user_presses_button(
        self,
        chat_id: int,
        message: JSON | int,
        button_text: str,
        first_name: str = "Camille",
        *,
        user_id: int | None = None,
    ) -> JSON:
        """Enqueues a ``callback_query`` for the inline button with that text.

        ``message`` is a message the bot sent (or its id); its current state (after edits) is
        used. Raises AssertionError, listing the available buttons, if there is no such button.
        """
        message_id = message if isinstance(message, int) else int(message["message_id"])
        with self._changed:
            stored = self._messages.get((chat_id, message_id))
            if stored is None:
                raise AssertionError(f"no message {message_id} in chat {chat_id} (never sent, or deleted)")
            if stored.get("from", {}).get("id") != self.bot_id:
                raise AssertionError(f"message {message_id} in chat {chat_id} was not sent by the bot")
            buttons = [b for row in stored.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
            button = next((b for b in buttons if b.get("text") == button_text), None)
            if button is None:
                available = [b.get("text") for b in buttons]
                raise AssertionError(
                    f"no inline button {button_text!r} in message {message_id} "
                    f"({_message_summary(stored)}); available buttons: {available}"
                )
            if "callback_data" not in button:
                raise AssertionError(f"inline button {button_text!r} has no callback_data: {button}")
            chat = self._chats[chat_id]
            query_id = f"{self._query_prefix}{next(self._query_ids):010d}"
            self._queries[query_id] = _CallbackQuery(query_id, chat_id, message_id, button["callback_data"])
            if chat.type == "private":
                user = self._user_json(chat_id, chat.first_name or first_name, chat.last_name, chat.username, "fr")
            else:  # in a group: who pressed (a member of the group)
                user = self._user_json(user_id if user_id is not None else chat_id, first_name, None, None, "fr")
            query = {
                "id": query_id,
                "from": user,
                "message": copy.deepcopy(stored),
                "chat_instance": str(abs(chat_id) * 7919 + 4_000_000_000_000_000_000),
                "data": button["callback_data"],
            }
            return self._enqueue({"callback_query": query})

    def push_update(self, update: JSON) -> JSON:
        """Enqueues any update body, e.g. ``{"edited_message": {...}}``; assigns its update_id."""
        with self._changed:
            return self._enqueue(copy.deepcopy(update))

    # ---- test-side API: observing the bot ----------------------------------------------------

    def mark(self) -> int:
        """Position in the request log; pass it as ``since`` to only consider later requests."""
        with self._lock:
            return len(self._calls)

    def requests(self, method: str | None = None, since: int = 0) -> list[JSON]:
        """Recorded bot calls: {"method", "params", "files", "time", "response", "status", "chat_id"}."""
        with self._lock:
            return [call.to_dict() for call in self._calls[since:] if self._matches(call, method)]

    def failed_requests(self, since: int = 0) -> list[JSON]:
        """Recorded calls that got an error answer (except getUpdates conflicts)."""
        with self._lock:
            return [call.to_dict() for call in self._calls[since:] if not call.ok and call.method != "getUpdates"]

    def wait_for_request(
        self,
        method: str,
        since: int = 0,
        timeout: float = 15.0,
        predicate: Callable[[JSON], bool] | None = None,
    ) -> JSON:
        """First recorded call of ``method`` after ``since`` (for which ``predicate(call)`` holds)."""

        def check() -> JSON | None:
            for call in self._calls[since:]:
                if self._matches(call, method):
                    entry = call.to_dict()
                    if predicate is None or predicate(entry):
                        return entry
            return None

        def describe() -> str:
            seen = [f"{c.method}{'' if c.ok else ' (failed)'}" for c in self._calls[since:] if c.method != "getUpdates"]
            return f"no {method} request within {timeout}s; requests seen: {seen}"

        return self._wait(check, timeout, describe)

    def wait_for_messages(self, chat_id: int, since: int = 0, count: int = 1, timeout: float = 15.0) -> list[JSON]:
        """Messages the bot sent to ``chat_id`` after ``since`` (at least ``count`` of them)."""

        def check() -> list[JSON] | None:
            messages = self._sent_messages(chat_id, since)
            return messages if len(messages) >= count else None

        def describe() -> str:
            return f"expected {count} message(s) from the bot in chat {chat_id} within {timeout}s; " + (
                self._describe_chat(chat_id, since)
            )

        return self._wait(check, timeout, describe)

    def wait_until_quiet(self, chat_id: int, since: int = 0, quiet: float = 0.7, timeout: float = 15.0) -> list[JSON]:
        """Waits until the bot has sent at least one message to the chat, then nothing for ``quiet``
        seconds (any request about that chat, e.g. a chat action, counts as activity); returns all
        the messages sent after ``since``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                messages = self._sent_messages(chat_id, since)
                activity = [c.finished for c in self._calls[since:] if c.chat_id == chat_id]
                now = time.monotonic()
                if messages and now - max(activity) >= quiet:
                    return messages
                if now >= deadline:
                    raise AssertionError(
                        f"the bot did not become quiet in chat {chat_id} within {timeout}s; "
                        + self._describe_chat(chat_id, since)
                    )
                wait = deadline - now
                if messages:
                    wait = min(wait, quiet - (now - max(activity)))
                self._changed.wait(max(wait, 0.005))

    def message(self, chat_id: int, message_id: int) -> JSON:
        """Current state of a message (after edits); AssertionError if it does not exist."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            if stored is None:
                raise AssertionError(f"no message {message_id} in chat {chat_id} (never sent, or deleted)")
            return copy.deepcopy(stored)

    def callback_answer(self, query_id: str) -> JSON | None:
        """The bot's answerCallbackQuery parameters for that query, or None while unanswered."""
        with self._lock:
            query = self._queries.get(query_id)
            return copy.deepcopy(query.answer) if query is not None else None

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The custom (reply) keyboard currently shown in the chat, if any."""
        with self._lock:
            chat = self._chats.get(chat_id)
            return copy.deepcopy(chat.reply_keyboard) if chat is not None else None

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set with setMyCommands for that scope and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    def menu_button(self, chat_id: int | None = None) -> JSON | None:
        with self._lock:
            if chat_id is None:
                return copy.deepcopy(self._default_menu_button)
            chat = self._chats.get(chat_id)
            return copy.deepcopy(chat.menu_button) if chat is not None else None

    def file(self, file_id: str) -> StoredFile:
        with self._lock:
            return dataclasses.replace(self._files[file_id])

    @property
    def webhook(self) -> JSON | None:
        """url, secret_token, ... as set by setWebhook; None when no webhook is set."""
        with self._lock:
            return self._webhook.public() if self._webhook is not None else None

    @property
    def deliveries(self) -> list[JSON]:
        """Webhook delivery attempts: {"update_id", "url", "status", "error", "secret_token", "time"}."""
        with self._lock:
            return [delivery.to_dict() for delivery in self._deliveries]

    def wait_for_delivery(self, update_id: int, timeout: float = 15.0, *, success: bool = False) -> JSON:
        """First webhook delivery attempt of that update (the first successful one if ``success``)."""

        def check() -> JSON | None:
            for delivery in self._deliveries:
                ok = delivery.status is not None and 200 <= delivery.status < 300
                if delivery.update_id == update_id and (ok or not success):
                    return delivery.to_dict()
            return None

        return self._wait(check, timeout, lambda: f"update {update_id} not delivered; {self.deliveries}")

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by the bot (or not yet delivered to its webhook)."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def polls(self) -> int:
        """Number of getUpdates requests received so far."""
        with self._lock:
            return self._polls_received

    def wait_for_polling(self, timeout: float = 15.0, *, after: int = 0) -> None:
        """Waits until the bot has called getUpdates (more than ``after`` times in total)."""
        self._wait(
            lambda: True if self._polls_received > after else None,
            timeout,
            lambda: f"the bot did not call getUpdates within {timeout}s; requests: {self._methods_seen()}",
        )

    def inject_error(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        count: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` fail with that error, e.g.
        ``inject_error("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)``."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            self._injected.append(_InjectedError(method.lower(), ApiError(error_code, description, parameters), count))

    # ---- internals: shared helpers (callers hold the lock) ----------------------------------

    def _wait(self, check: Callable[[], Any], timeout: float, describe: Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(describe())
                self._changed.wait(remaining)

    def _matches(self, call: ApiCall, method: str | None) -> bool:
        return method is None or call.method.lower() == method.lower()

    def _sent_messages(self, chat_id: int, since: int) -> list[JSON]:
        return [
            copy.deepcopy(message)
            for call in self._calls[since:]
            for message in call.messages
            if message["chat"]["id"] == chat_id
        ]

    def _methods_seen(self, since: int = 0) -> list[str]:
        return [call.method for call in self._calls[since:]]

    def _describe_chat(self, chat_id: int, since: int) -> str:
        lines = []
        for call in self._calls[since:]:
            if call.chat_id != chat_id:
                continue
            if call.ok:
                detail = ", ".join(_message_summary(m) for m in call.messages) or "ok"
            else:
                detail = f"ERROR {call.response.get('description')}"
            lines.append(f"  {call.method}: {detail}")
        seen = "\n".join(lines) if lines else "  (no request about this chat)"
        pending = len(self._updates)
        return (
            f"requests about the chat since {since}:\n{seen}\n"
            f"getUpdates calls: {self._polls_received}, updates not yet confirmed: {pending}"
        )

    def _chat_or_fail(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise AssertionError(f"unknown chat {chat_id}")
        return chat

    @staticmethod
    def _user_json(
        user_id: int, first_name: str, last_name: str | None, username: str | None, language_code: str | None
    ) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

    def _user_message(
        self,
        chat_id: int,
        content: JSON,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        user_id: int | None,
    ) -> JSON:
        with self._changed:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = self._chats[chat_id] = _Chat(chat_id)
            if chat.type == "private":
                chat.first_name = first_name
                chat.last_name = last_name or chat.last_name
                chat.username = username or chat.username
                last_name, username = chat.last_name, chat.username
            sender = self._user_json(
                chat_id if user_id is None else user_id, first_name, last_name, username, language_code
            )
            message = {
                "message_id": chat.next_message_id(),
                "from": sender,
                "chat": chat.public(),
                "date": int(time.time()),
                **content,
            }
            self._messages[(chat_id, message["message_id"])] = message
            return self._enqueue({"message": copy.deepcopy(message)})

    def _enqueue(self, body: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._changed.notify_all()
        self._wake_threadsafe()
        return copy.deepcopy(update)

    def _wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_async)

    def _wake_async(self) -> None:
        """Wakes long polls and the webhook worker (event loop thread only)."""
        if self._updates_event is not None:
            event, self._updates_event = self._updates_event, asyncio.Event()
            event.set()

    def _request_stop(self) -> None:
        self._wake_async()
        if self._stop_event is not None:
            self._stop_event.set()

    def _select_updates(self, allowed: list[str] | None, limit: int) -> list[JSON]:
        types = set(allowed) if allowed else DEFAULT_UPDATE_TYPES
        self._updates = [update for update in self._updates if _update_type(update) in types]
        return copy.deepcopy(self._updates[:limit])

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _store_file(self, file_name: str | None, mime_type: str | None, data: bytes | None, folder: str) -> StoredFile:
        number = next(self._file_counter)
        extension = (file_name or "").rpartition(".")[2] if file_name and "." in file_name else "bin"
        if folder == "photos":
            extension = "jpg"
        stored = StoredFile(
            file_id=f"BQACAgQAAxkBAAI{number:06d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AgAD{number:04d}{secrets.token_urlsafe(6)}",
            file_path=f"{folder}/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type or (mimetypes.guess_type(file_name)[0] if file_name else None),
            data=data,
            file_size=len(data) if data is not None else None,
        )
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _document_json(stored: StoredFile) -> JSON:
        document: JSON = {}
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        document |= {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_size is not None:
            document["file_size"] = stored.file_size
        return document

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope if isinstance(scope, dict) else {"type": "default"}, sort_keys=True)

    # ---- internals: the HTTP server (event loop thread) -------------------------------------

    def _thread_main(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve(sock))
        except BaseException as exc:
            if not self._ready.is_set():
                self._startup_error = exc
                self._ready.set()
        finally:
            sock.close()

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._updates_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
            worker = asyncio.create_task(self._webhook_worker())
            self._ready.set()
            await self._stop_event.wait()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        finally:
            await runner.cleanup()

    async def _handle_api(self, request: web.Request) -> web.Response:
        requested = request.match_info["method"]
        canonical = self._method_names.get(requested.lower(), requested)
        received = time.time()
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        messages: list[JSON] = []
        try:
            raw, files = await _read_request(request)
            params = _normalize_params(raw)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if canonical == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                spec = self._handlers.get(requested.lower())
                if spec is None:
                    raise ApiError(404, "Not Found")
                with self._lock:
                    self._raise_injected(canonical)
                    self._call_messages = messages
                    try:
                        result = spec[1](params, files)
                    finally:
                        self._call_messages = []
            body: JSON = {"ok": True, "result": result}
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            status = 200
        except ApiError as exc:
            body, status = exc.body(), exc.error_code
            messages = []
        with self._changed:
            chat_id = params.get("chat_id")
            if canonical == "answerCallbackQuery":
                query = self._queries.get(str(params.get("callback_query_id")))
                chat_id = query.chat_id if query is not None else None
            call = ApiCall(
                method=canonical,
                params=params,
                files=files,
                time=received,
                response=copy.deepcopy(body),
                status=status,
                chat_id=chat_id if isinstance(chat_id, int) else None,
                messages=messages,
                finished=time.monotonic(),
            )
            self._calls.append(call)
            self._changed.notify_all()
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = unquote(request.match_info["path"])
        with self._lock:
            stored = next((f for f in self._files.values() if f.file_path == path and f.data is not None), None)
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    def _raise_injected(self, method: str) -> None:
        injected = next((i for i in self._injected if i.method == method.lower() and i.remaining > 0), None)
        if injected is not None:
            injected.remaining -= 1
            self._injected = [i for i in self._injected if i.remaining > 0]
            raise injected.error

    async def _get_updates(self, params: JSON) -> list[JSON]:
        loop = asyncio.get_running_loop()
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            timeout = 0.0
        with self._changed:
            self._polls_received += 1
            self._changed.notify_all()
            if self._webhook is not None:
                raise ApiError(409, _CONFLICT_WEBHOOK)
            self._poll_generation += 1
            generation = self._poll_generation
            allowed = params.get("allowed_updates")
            if isinstance(allowed, list):
                self._polling_allowed_updates = [str(kind) for kind in allowed]
            offset = params.get("offset")
            self._confirm(offset if isinstance(offset, int) else None)
            self._changed.notify_all()
        self._wake_async()  # an older long poll still waiting gets its "terminated" conflict
        deadline = loop.time() + timeout
        while True:
            event = self._updates_event
            with self._lock:
                if self._poll_generation != generation:
                    raise ApiError(409, _CONFLICT_WEBHOOK if self._webhook is not None else _CONFLICT_POLLING)
                batch = self._select_updates(self._polling_allowed_updates, limit)
                closing = self._closing
            remaining = deadline - loop.time()
            if batch or closing or remaining <= 0 or event is None:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _webhook_worker(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)) as session:
            while True:
                event = self._updates_event
                with self._lock:
                    hook = self._webhook
                    pending = self._select_updates(hook.allowed_updates, 1) if hook is not None else []
                if hook is None or not pending:
                    if event is not None:
                        await event.wait()
                    continue
                update = pending[0]
                status, error = await self._post_update(session, hook, update)
                with self._changed:
                    self._deliveries.append(
                        WebhookDelivery(update["update_id"], hook.url, status, error, hook.secret_token, time.time())
                    )
                    if error is None:
                        self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                    else:
                        hook.last_error_date = int(time.time())
                        hook.last_error_message = error
                    self._changed.notify_all()
                if error is not None:
                    await asyncio.sleep(self.webhook_retry_delay)

    async def _post_update(
        self, session: aiohttp.ClientSession, hook: _Webhook, update: JSON
    ) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with session.post(hook.url, data=json.dumps(update), headers=headers) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None
                return response.status, f"Wrong response from the webhook: {response.status} {response.reason}"
        except aiohttp.ClientConnectorError:
            return None, "Connection refused"
        except TimeoutError:
            return None, "Read timeout expired"
        except aiohttp.ClientError as exc:
            return None, f"{exc.__class__.__name__}: {exc}"

    # ---- internals: Bot API methods (event loop thread, lock held) -------------------------

    def _chat(self, params: JSON, key: str = "chat_id") -> _Chat:
        value = params.get(key)
        if value is None or value == "":
            raise _bad_request(f"{key} is empty")
        chat = self._chats.get(value) if isinstance(value, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _writable_chat(self, params: JSON) -> _Chat:
        chat = self._chat(params)
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _message_of(self, params: JSON, action: str) -> tuple[_Chat, JSON]:
        if params.get("inline_message_id"):
            raise _bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((chat.id, message_id)) if isinstance(message_id, int) else None
        if message is None:
            raise _bad_request(f"message to {action} not found")
        return chat, message

    def _editable_message(self, params: JSON) -> tuple[_Chat, JSON]:
        chat, message = self._message_of(params, "edit")
        if message.get("from", {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return chat, message

    def _reply_content(self, chat: _Chat, params: JSON) -> JSON:
        reply_parameters = params.get("reply_parameters")
        allow_without = bool(params.get("allow_sending_without_reply"))
        message_id = params.get("reply_to_message_id")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_without = bool(reply_parameters.get("allow_sending_without_reply", allow_without))
        if message_id is None:
            return {}
        target = self._messages.get((chat.id, message_id)) if isinstance(message_id, int) else None
        if target is None:
            if allow_without:
                return {}
            raise _bad_request("message to be replied not found")
        replied = copy.deepcopy(target)
        replied.pop("reply_to_message", None)
        return {"reply_to_message": replied}

    def _prepare(self, chat: _Chat, params: JSON) -> tuple[JSON, JSON | None]:
        """Validates reply parameters and reply_markup before anything is stored."""
        return self._reply_content(chat, params), _parse_reply_markup(params.get("reply_markup"))

    def _store_bot_message(self, chat: _Chat, params: JSON, content: JSON, markup: JSON | None = None) -> JSON:
        """Stores a message sent by the bot. Only inline keyboards are echoed in the message, like
        the real API; a custom (reply) keyboard is remembered as the chat's current keyboard."""
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": self._bot_user(),
            "chat": chat.public(),
            "date": int(time.time()),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        elif markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        if params.get("protect_content"):
            message["has_protected_content"] = True
        self._messages[(chat.id, message["message_id"])] = message
        self._call_messages.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _caption_content(self, params: JSON) -> JSON:
        caption, entities = format_text(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        content: JSON = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def _input_file(self, params: JSON, files: dict[str, UploadedFile], key: str, folder: str) -> StoredFile:
        upload = files.get(key)
        value = params.get(key)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise _bad_request(f"there is no {key} in the request")
        if upload is not None:
            if not upload.data:
                raise _bad_request("file must be non-empty")
            return self._store_file(upload.file_name, upload.mime_type, upload.data, folder)
        if not isinstance(value, str) or not value:
            raise _bad_request(f"there is no {key} in the request")
        if value in self._files:
            return self._files[value]
        if value.startswith(("http://", "https://")):
            name = urlsplit(value).path.rpartition("/")[2] or None
            return self._store_file(name, None, None, folder)
        raise _bad_request("wrong file identifier/HTTP URL specified")

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _log_out(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> _Described:
        url = params.get("url", "")
        if not isinstance(url, str):
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if url == "":
            was_set, self._webhook = self._webhook is not None, None
            return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        allowed = params.get("allowed_updates")
        max_connections = params.get("max_connections", 40)
        new = _Webhook(
            url=url,
            secret_token=params.get("secret_token") or None,
            max_connections=max_connections if isinstance(max_connections, int) else 40,
            allowed_updates=[str(kind) for kind in allowed] if isinstance(allowed, list) else None,
            ip_address=params.get("ip_address") or None,
            has_custom_certificate="certificate" in files or bool(params.get("certificate")),
        )
        if new.allowed_updates is None and self._webhook is not None:
            new.allowed_updates = self._webhook.allowed_updates
        already = self._webhook is not None and self._webhook.public() == new.public()
        self._webhook = new
        self._poll_generation += 1  # a long poll in progress ends with the webhook conflict
        self._wake_threadsafe()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> _Described:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        was_set, self._webhook = self._webhook is not None, None
        return _Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": bool(hook and hook.has_custom_certificate),
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = list(hook.allowed_updates)
        return info

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        text, entities = format_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        reply, markup = self._prepare(chat, params)
        content: JSON = {**reply, "text": text}
        if entities:
            content["entities"] = entities
        return self._store_bot_message(chat, params, content, markup)

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        _, message = self._editable_message(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        text, entities = format_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        new = {"text": text, "entities": entities, **self._inline_markup(params)}
        return self._apply_edit(message, new, ("text", "entities", "reply_markup"))

    def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        _, message = self._editable_message(params)
        if not any(key in message for key in ("document", "photo")):
            raise _bad_request("there is no caption in the message to edit")
        caption = self._caption_content(params)
        new = {"caption": caption.get("caption"), "caption_entities": caption.get("caption_entities")}
        return self._apply_edit(message, {**new, **self._inline_markup(params)}, (*new, "reply_markup"))

    def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        _, message = self._editable_message(params)
        return self._apply_edit(message, self._inline_markup(params), ("reply_markup",))

    def _inline_markup(self, params: JSON) -> JSON:
        markup = _parse_reply_markup(params.get("reply_markup"))
        return {"reply_markup": markup} if markup is not None and "inline_keyboard" in markup else {}

    def _apply_edit(self, message: JSON, new: JSON, keys: Iterable[str]) -> JSON:
        keys = tuple(keys)
        current = {key: message.get(key) or None for key in keys}
        wanted = {key: new.get(key) or None for key in keys}
        if current == wanted:
            raise _bad_request(_NOT_MODIFIED)
        for key in keys:
            if wanted[key] is None:
                message.pop(key, None)
            else:
                message[key] = wanted[key]
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat, message = self._message_of(params, "delete")
        del self._messages[(chat.id, message["message_id"])]
        return True

    def _copy_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        source_chat = self._chat(params, "from_chat_id")
        chat = self._writable_chat(params)
        message_id = params.get("message_id")
        source = self._messages.get((source_chat.id, message_id)) if isinstance(message_id, int) else None
        if source is None:
            raise _bad_request("message to copy not found")
        content = {
            key: copy.deepcopy(value)
            for key, value in source.items()
            if key in ("text", "entities", "document", "photo", "location", "caption", "caption_entities")
            or key in _COPIED_MEDIA
        }
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content |= self._caption_content(params)
        reply, markup = self._prepare(chat, params)
        message = self._store_bot_message(chat, params, {**reply, **content}, markup)
        return {"message_id": message["message_id"]}

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query = self._queries.get(str(params.get("callback_query_id", "")))
        if query is None or query.answered:
            raise _bad_request(_QUERY_TOO_OLD)
        query.answered = True
        query.answer = {key: params[key] for key in ("text", "show_alert", "url", "cache_time") if key in params}
        return True

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._writable_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name.removeprefix("/")):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name.removeprefix("/"), "description": description})
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop((self._scope_key(params.get("scope")), str(params.get("language_code") or "")), None)
        return True

    def _set_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise _bad_request("can't parse menu button JSON object")
        if params.get("chat_id") is not None:
            self._chat(params).menu_button = copy.deepcopy(button)
        else:
            self._default_menu_button = copy.deepcopy(button)
        return True

    def _get_chat_menu_button(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        button = self._chat(params).menu_button if params.get("chat_id") is not None else None
        button = button or self._default_menu_button or {"type": "default"}
        return copy.deepcopy(button if button.get("type") != "default" else {"type": "commands"})

    def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        caption = self._caption_content(params)
        reply, markup = self._prepare(chat, params)
        stored = self._input_file(params, files, "document", "documents")
        content = {**reply, "document": self._document_json(stored), **caption}
        return self._store_bot_message(chat, params, content, markup)

    def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        caption = self._caption_content(params)
        reply, markup = self._prepare(chat, params)
        value = params.get("photo")
        if "photo" not in files and isinstance(value, str) and value in self._photo_sets:
            sizes = copy.deepcopy(self._photo_sets[value])
        else:
            sizes = self._photo_sizes(self._input_file(params, files, "photo", "photos"))
        content = {**reply, "photo": sizes, **caption}
        if params.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._store_bot_message(chat, params, content, markup)

    def _photo_sizes(self, original: StoredFile) -> list[JSON]:
        width, height = (_image_size(original.data) if original.data else None) or (1280, 960)
        largest = max(width, height)
        scales = [side / largest for side in (90, 320, 800) if side < largest]
        sizes = []
        for scale in scales:
            data_size = int((original.file_size or 0) * scale * scale) or None
            stored = self._store_file(original.file_name, original.mime_type, original.data, "photos")
            stored.file_size = data_size
            sizes.append((stored, max(round(width * scale), 1), max(round(height * scale), 1)))
        sizes.append((original, width, height))
        result = []
        for stored, w, h in sizes:
            size: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if stored.file_size is not None:
                size["file_size"] = stored.file_size
            result.append({**size, "width": w, "height": h})
        for size in result:
            self._photo_sets[size["file_id"]] = copy.deepcopy(result)
        return result

    @staticmethod
    def _checked_point(params: JSON) -> JSON:
        latitude, longitude = params.get("latitude"), params.get("longitude")
        if not isinstance(latitude, int | float) or not -90 <= latitude <= 90:
            raise _bad_request("wrong latitude specified")
        if not isinstance(longitude, int | float) or not -180 <= longitude <= 180:
            raise _bad_request("wrong longitude specified")
        return {"latitude": float(latitude), "longitude": float(longitude)}

    def _send_venue(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        location = self._checked_point(params)
        title, address = params.get("title"), params.get("address")
        if not isinstance(title, str) or not title.strip():
            raise _bad_request("venue title must be non-empty")
        if not isinstance(address, str) or not address.strip():
            raise _bad_request("venue address must be non-empty")
        venue: JSON = {"location": location, "title": title, "address": address}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key) is not None:
                venue[key] = params[key]
        reply, markup = self._prepare(chat, params)
        return self._store_bot_message(chat, params, {**reply, "venue": venue, "location": location}, markup)

    def _send_location(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        location = self._checked_point(params)
        for key in ("horizontal_accuracy", "live_period", "heading", "proximity_alert_radius"):
            if params.get(key) is not None:
                location[key] = params[key]
        reply, markup = self._prepare(chat, params)
        return self._store_bot_message(chat, params, {**reply, "location": location}, markup)

    def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat(params)
        return {
            **chat.public(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        result: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.file_size is not None:
            result["file_size"] = stored.file_size
        result["file_path"] = stored.file_path
        return result

    def _bot_text_setter(self, key: str) -> Callable[[JSON, dict[str, UploadedFile]], bool]:
        def setter(params: JSON, files: dict[str, UploadedFile]) -> bool:
            value = params.get(key)
            language = str(params.get("language_code") or "")
            if value:
                self._bot_texts[(key, language)] = str(value)
            else:
                self._bot_texts.pop((key, language), None)
            return True

        return setter

    def _bot_text_getter(self, key: str) -> Callable[[JSON, dict[str, UploadedFile]], JSON]:
        def getter(params: JSON, files: dict[str, UploadedFile]) -> JSON:
            language = str(params.get("language_code") or "")
            default = self.bot_first_name if key == "name" else ""
            value = self._bot_texts.get((key, language), self._bot_texts.get((key, ""), default))
            return {key: value}

        return getter

    # ---- test-side API: more media the user sends ----------------------------------------------

    def user_sends_photo(
        self,
        chat_id: int,
        data: bytes = b"\xff\xd8\xff\xe0 photo",
        *,
        caption: str | None = None,
        first_name: str = "Camille",
        user_id: int | None = None,
    ) -> JSON:
        """Enqueues a ``message`` update with a photo (its sizes, like Telegram makes them) the bot can fetch."""
        with self._changed:
            content: JSON = {"photo": self._photo_sizes(self._store_file("photo.jpg", "image/jpeg", data, "photos"))}
            if caption:
                content["caption"] = caption
            return self._user_message(chat_id, content, first_name, None, None, "fr", user_id)

    def user_sends_voice(
        self, chat_id: int, duration: int = 4, first_name: str = "Camille", *, user_id: int | None = None
    ) -> JSON:
        """Enqueues a ``message`` update with a voice message (OGG/Opus) the bot can fetch."""
        with self._changed:
            stored = self._store_file("voice.ogg", "audio/ogg", b"OggS\x00\x02 voice", "voice")
            voice: JSON = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": stored.file_size,
            }
            return self._user_message(chat_id, {"voice": voice}, first_name, None, None, "fr", user_id)
