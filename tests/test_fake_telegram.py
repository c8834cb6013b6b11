"""Tests of the fake Telegram Bot API server used by the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.services.supervisor import free_port
from tests.fake_telegram import FakeTelegram

CHAT = 4242


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_retry_delay=0.1) as server:
        yield server


def call(
    fake: FakeTelegram,
    method: str,
    *,
    json_body: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    http_method: str = "POST",
    token: str | None = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, Any]]:
    url = f"{fake.base_url}{token or fake.token}/{method}"
    response = httpx.request(http_method, url, json=json_body, data=data, files=files, params=params, timeout=timeout)
    return response.status_code, response.json()


def ok(fake: FakeTelegram, method: str, **params: Any) -> Any:
    status, body = call(fake, method, json_body=params)
    assert status == 200 and body["ok"] is True, body
    return body["result"]


def error(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, str]:
    status, body = call(fake, method, json_body=params)
    assert body["ok"] is False and body["error_code"] == status, body
    return status, body["description"]


def keyboard(*buttons: tuple[str, str]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": text, "callback_data": data}] for text, data in buttons]}


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# ---- protocol basics ------------------------------------------------------------------------


def test_get_me_and_authentication_errors(fake: FakeTelegram) -> None:
    status, body = call(fake, "getMe")
    assert status == 200
    assert body == {
        "ok": True,
        "result": {
            "id": 123456,
            "is_bot": True,
            "first_name": "Passerelle",
            "username": "passerelle_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        },
    }
    assert call(fake, "getMe", token="123456:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert call(fake, "sendCarrierPigeon") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    # Method names are case-insensitive, and GET with a query string works too.
    status, body = call(fake, "getme", http_method="GET")
    assert status == 200 and body["result"]["username"] == "passerelle_test_bot"

    log = fake.requests()
    assert [(r["method"], r["status"]) for r in log] == [
        ("getMe", 200),
        ("getMe", 401),
        ("sendCarrierPigeon", 404),
        ("getMe", 200),
    ]
    assert [r["method"] for r in fake.requests("getme", since=1)] == ["getMe", "getMe"]


def test_send_message_returns_a_full_message_and_decodes_ptb_style_parameters(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT, "Camille")
    markup = keyboard(("Oui", "yes"), ("Non", "no"))
    # python-telegram-bot posts form-urlencoded bodies with JSON-encoded values.
    status, body = call(
        fake, "sendMessage", data={"chat_id": str(CHAT), "text": "Bonjour !", "reply_markup": json.dumps(markup)}
    )
    assert status == 200
    message = body["result"]
    assert message == {
        "message_id": 1,
        "from": {"id": 123456, "is_bot": True, "first_name": "Passerelle", "username": "passerelle_test_bot"},
        "chat": {"id": CHAT, "first_name": "Camille", "type": "private"},
        "date": message["date"],
        "text": "Bonjour !",
        "reply_markup": markup,
    }
    assert abs(message["date"] - time.time()) < 5
    recorded = fake.requests("sendMessage")[0]["params"]
    assert recorded == {"chat_id": CHAT, "text": "Bonjour !", "reply_markup": markup}

    # A reply keyboard is accepted but not echoed, like the real API; it becomes the chat's keyboard.
    reply_keyboard = {"keyboard": [["Paris", {"text": "Ma position", "request_location": True}]]}
    second = ok(fake, "sendMessage", chat_id=CHAT, text="Où êtes-vous ?", reply_markup=reply_keyboard)
    assert second["message_id"] == 2 and "reply_markup" not in second
    assert fake.reply_keyboard(CHAT) == reply_keyboard
    third = ok(fake, "sendMessage", chat_id=CHAT, text="Merci", reply_markup={"remove_keyboard": True})
    assert "reply_markup" not in third and fake.reply_keyboard(CHAT) is None

    # Message ids are per chat, shared with the user's messages.
    fake.user_sends_text(CHAT, "salut")
    fake.register_chat(77, "Dominique")
    assert ok(fake, "sendMessage", chat_id=77, text="a")["message_id"] == 1
    assert ok(fake, "sendMessage", chat_id=CHAT, text="b", reply_to_message_id=4)["message_id"] == 5
    assert fake.message(CHAT, 5)["reply_to_message"]["text"] == "salut"
    assert fake.message(CHAT, 1) == message


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": "@someone", "text": "x"}, "Bad Request: chat not found"),
        ({"text": "x"}, "Bad Request: chat_id is empty"),
        ({"chat_id": CHAT, "text": ""}, "Bad Request: message text is empty"),
        ({"chat_id": CHAT}, "Bad Request: message text is empty"),
        ({"chat_id": CHAT, "text": "  \n"}, "Bad Request: message text is empty"),
        ({"chat_id": CHAT, "text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"chat_id": CHAT, "text": "x", "reply_markup": keyboard(("Choix", "é" * 33))},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"chat_id": CHAT, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "Texte seul"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            {"chat_id": CHAT, "text": "x", "reply_markup": "{not json"},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            {"chat_id": CHAT, "text": "Ligne 1<br>Ligne 2", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 7',
        ),
        (
            {"chat_id": CHAT, "text": "3 < 4", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
        ),
        (
            {"chat_id": CHAT, "text": "<b>gras <i>italique</b></i>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 19, expected "</i>", found "</b>"',
        ),
        (
            {"chat_id": CHAT, "text": "<b>pas fermé", "parse_mode": "html"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            {"chat_id": CHAT, "text": "Fin.", "parse_mode": "MarkdownV2"},
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        ({"chat_id": CHAT, "text": "x", "parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode"),
        (
            {"chat_id": CHAT, "text": "x", "reply_to_message_id": 99},
            "Bad Request: message to be replied not found",
        ),
    ],
)
def test_send_message_errors(fake: FakeTelegram, params: dict[str, Any], description: str) -> None:
    fake.register_chat(CHAT)
    assert error(fake, "sendMessage", **params) == (400, description)
    assert fake.requests("sendMessage")[0]["response"]["description"] == description
    assert fake.requests("sendMessage")[0]["status"] == 400
    with pytest.raises(AssertionError):
        fake.message(CHAT, 1)


def test_limits_are_inclusive(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    assert len(ok(fake, "sendMessage", chat_id=CHAT, text="x" * 4096)["text"]) == 4096
    markup = keyboard(("Choix", "é" * 32))  # 64 bytes
    assert ok(fake, "sendMessage", chat_id=CHAT, text="x", reply_markup=markup)["reply_markup"] == markup


def test_html_is_parsed_into_entities_with_utf16_offsets(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    message = ok(
        fake,
        "sendMessage",
        chat_id=CHAT,
        parse_mode="HTML",
        text="<b>Été 😀</b> &amp; <a href='https://lesbases.anct.gouv.fr'>Les Bases</a>",
    )
    assert message["text"] == "Été 😀 & Les Bases"
    assert message["entities"] == [
        {"offset": 0, "length": 6, "type": "bold"},
        {"offset": 9, "length": 9, "type": "text_link", "url": "https://lesbases.anct.gouv.fr/"},
    ]
    plain = ok(fake, "sendMessage", chat_id=CHAT, text="*pas de mise en forme*")
    assert plain["text"] == "*pas de mise en forme*" and "entities" not in plain


# ---- updates: long polling, offsets, webhooks -------------------------------------------------


def test_long_polling_and_offset_confirmation(fake: FakeTelegram) -> None:
    started = time.monotonic()
    assert ok(fake, "getUpdates", timeout=0) == []
    assert time.monotonic() - started < 1
    fake.wait_for_polling(timeout=1)

    timer = threading.Timer(0.3, fake.user_sends_text, args=(CHAT, "/start@passerelle_test_bot bonjour"))
    timer.start()
    started = time.monotonic()
    [update] = ok(fake, "getUpdates", timeout=5)
    assert 0.2 < time.monotonic() - started < 2
    message = update["message"]
    assert message["text"] == "/start@passerelle_test_bot bonjour"
    assert message["entities"] == [{"offset": 0, "length": 26, "type": "bot_command"}]
    assert message["from"] == {"id": CHAT, "is_bot": False, "first_name": "Camille", "language_code": "fr"}
    assert message["chat"] == {"id": CHAT, "first_name": "Camille", "type": "private"}
    assert isinstance(message["date"], int) and message["message_id"] == 1

    # Not confirmed yet: returned again, until a later offset is given.
    assert ok(fake, "getUpdates") == [update]
    assert ok(fake, "getUpdates", offset=update["update_id"] + 1) == []
    assert fake.pending_updates == []

    # The chat is known now: the bot can answer.
    assert ok(fake, "sendMessage", chat_id=CHAT, text="Bienvenue")["chat"]["id"] == CHAT

    location = fake.user_sends_location(CHAT, 48.8566, 2.3522)
    command = fake.user_sends_text(CHAT, "voir /aide ou /start")
    assert [e["offset"] for e in command["message"]["entities"]] == [5, 14]
    assert location["message"]["location"] == {"latitude": 48.8566, "longitude": 2.3522}
    # limit, then a negative offset keeps only the last update.
    assert [u["update_id"] for u in ok(fake, "getUpdates", limit=1)] == [location["update_id"]]
    assert [u["update_id"] for u in ok(fake, "getUpdates", offset=-1)] == [command["update_id"]]
    # allowed_updates filters (and is remembered).
    assert ok(fake, "getUpdates", offset=command["update_id"] + 1, allowed_updates=["callback_query"]) == []
    fake.user_sends_text(CHAT, "ignoré")
    assert ok(fake, "getUpdates") == []
    assert fake.polls >= 8


def test_a_second_long_poll_terminates_the_first(fake: FakeTelegram) -> None:
    results: list[tuple[int, dict[str, Any]]] = []
    first = threading.Thread(target=lambda: results.append(call(fake, "getUpdates", json_body={"timeout": 5})))
    first.start()
    fake.wait_for_polling(timeout=2)
    started = time.monotonic()
    assert ok(fake, "getUpdates", timeout=0) == []
    first.join(3)
    assert time.monotonic() - started < 2
    assert results == [
        (
            409,
            {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            },
        )
    ]


class WebhookReceiver:
    """A small aiohttp server recording webhook POSTs, answering with the given statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], Any]] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status, text="ok")

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


def test_webhook_delivery_with_secret_retries_and_conflict(fake: FakeTelegram) -> None:
    with WebhookReceiver(statuses=[500, 200]) as receiver:
        status, body = call(
            fake, "setWebhook", data={"url": receiver.url, "secret_token": "s3cret-Token_1", "max_connections": "5"}
        )
        assert (status, body) == (200, {"ok": True, "result": True, "description": "Webhook was set"})
        assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret-Token_1"
        assert error(fake, "getUpdates") == (
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )

        update = fake.user_sends_text(CHAT, "Bonjour")
        delivered = fake.wait_for_delivery(update["update_id"], timeout=5, success=True)
        assert delivered["status"] == 200 and delivered["secret_token"] == "s3cret-Token_1"
        assert [(d["update_id"], d["status"]) for d in fake.deliveries] == [
            (update["update_id"], 500),
            (update["update_id"], 200),
        ]
        headers, payload = receiver.received[-1]
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-Token_1"
        assert headers["Content-Type"] == "application/json"
        assert payload == update

        info = ok(fake, "getWebhookInfo")
        assert info["url"] == receiver.url and info["pending_update_count"] == 0
        assert info["max_connections"] == 5 and info["has_custom_certificate"] is False
        assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"

        status, body = call(fake, "deleteWebhook", json_body={})
        assert body == {"ok": True, "result": True, "description": "Webhook was deleted"}
        assert fake.webhook is None
        assert ok(fake, "getWebhookInfo") == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        fake.user_sends_text(CHAT, "encore")
        assert [u["message"]["text"] for u in ok(fake, "getUpdates")] == ["encore"]
        assert len(receiver.received) == 2


def test_set_webhook_drops_pending_updates_on_request(fake: FakeTelegram) -> None:
    fake.user_sends_text(CHAT, "ancien")
    assert ok(fake, "getWebhookInfo")["pending_update_count"] == 1
    # A dead URL: deliveries fail and are retried, nothing is lost.
    assert ok(fake, "setWebhook", url="http://127.0.0.1:9/hook") is True
    fake.wait_for_delivery(fake.pending_updates[0]["update_id"], timeout=5)
    assert fake.deliveries[0]["status"] is None and fake.deliveries[0]["error"] == "Connection refused"
    assert ok(fake, "deleteWebhook", drop_pending_updates=True) is True
    assert fake.pending_updates == []


# ---- editing, buttons, callback queries ------------------------------------------------------


def test_buttons_callback_queries_and_edits(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    message = ok(
        fake,
        "sendMessage",
        chat_id=CHAT,
        text="Êtes-vous d'accord ?",
        reply_markup=keyboard(("Oui", "yes"), ("Non", "no")),
    )

    with pytest.raises(AssertionError, match=r"available buttons: \['Oui', 'Non'\]"):
        fake.user_presses_button(CHAT, message, "Peut-être")
    update = fake.user_presses_button(CHAT, message, "Oui")
    query = update["callback_query"]
    assert query["data"] == "yes" and query["message"] == message
    assert query["from"]["id"] == CHAT and isinstance(query["id"], str) and query["chat_instance"]

    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    assert error(fake, "answerCallbackQuery", callback_query_id="123") == (400, too_old)
    assert ok(fake, "answerCallbackQuery", callback_query_id=query["id"], text="Noté") is True
    assert error(fake, "answerCallbackQuery", callback_query_id=query["id"]) == (400, too_old)
    assert fake.callback_answer(query["id"]) == {"text": "Noté"}

    not_modified = (
        "Bad Request: message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )
    same = {"chat_id": CHAT, "message_id": message["message_id"], "text": message["text"]}
    assert error(fake, "editMessageText", **same, reply_markup=message["reply_markup"]) == (400, not_modified)

    # Editing the text without reply_markup removes the inline keyboard, like the real API.
    edited = ok(
        fake, "editMessageText", chat_id=CHAT, message_id=message["message_id"], text="<i>Merci</i>", parse_mode="HTML"
    )
    assert edited["text"] == "Merci" and edited["entities"] == [{"offset": 0, "length": 5, "type": "italic"}]
    assert "reply_markup" not in edited and isinstance(edited["edit_date"], int)
    assert fake.message(CHAT, message["message_id"]) == edited
    with pytest.raises(AssertionError, match=r"available buttons: \[\]"):
        fake.user_presses_button(CHAT, message, "Oui")

    markup = keyboard(("Annuler", "cancel"))
    ids = {"chat_id": CHAT, "message_id": message["message_id"]}
    assert ok(fake, "editMessageReplyMarkup", **ids, reply_markup=markup)["reply_markup"] == markup
    assert error(fake, "editMessageReplyMarkup", **ids, reply_markup=markup) == (400, not_modified)
    assert fake.user_presses_button(CHAT, message["message_id"], "Annuler")["callback_query"]["data"] == "cancel"

    assert error(fake, "editMessageText", chat_id=CHAT, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    user_message = fake.user_sends_text(CHAT, "mon message")["message"]
    assert error(fake, "editMessageText", chat_id=CHAT, message_id=user_message["message_id"], text="x") == (
        400,
        "Bad Request: message can't be edited",
    )
    assert error(fake, "editMessageText", **ids, text="") == (400, "Bad Request: message text is empty")

    assert ok(fake, "deleteMessage", **ids) is True
    assert error(fake, "deleteMessage", **ids) == (400, "Bad Request: message to delete not found")
    assert error(fake, "editMessageText", **ids, text="x") == (400, "Bad Request: message to edit not found")
    with pytest.raises(AssertionError, match="deleted"):
        fake.user_presses_button(CHAT, message, "Annuler")


# ---- files, other methods, test helpers -------------------------------------------------------


def test_uploads_downloads_and_media_messages(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    since = fake.mark()
    status, body = call(
        fake,
        "sendDocument",
        data={"chat_id": str(CHAT), "caption": "<b>Fiche</b> pratique", "parse_mode": "HTML"},
        files={"document": ("fiche-caf.pdf", b"%PDF-1.4 fiche", "application/pdf")},
    )
    assert status == 200, body
    document_message = body["result"]
    document = document_message["document"]
    assert document["file_name"] == "fiche-caf.pdf" and document["mime_type"] == "application/pdf"
    assert document["file_size"] == 14 and document["file_id"] and document["file_unique_id"]
    assert document_message["caption"] == "Fiche pratique"
    assert document_message["caption_entities"] == [{"offset": 0, "length": 5, "type": "bold"}]
    upload = fake.requests("sendDocument")[0]["files"]["document"]
    assert upload["file_name"] == "fiche-caf.pdf" and upload["data"] == b"%PDF-1.4 fiche"

    file = ok(fake, "getFile", file_id=document["file_id"])
    assert file["file_size"] == 14 and file["file_path"].startswith("documents/")
    download = httpx.get(f"{fake.base_file_url}{fake.token}/{file['file_path']}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 fiche"
    assert httpx.get(f"{fake.base_file_url}{fake.token}/documents/nope.pdf").status_code == 404
    # Sending again by file_id reuses the file.
    again = ok(fake, "sendDocument", chat_id=CHAT, document=document["file_id"])
    assert again["document"] == document
    assert error(fake, "sendDocument", chat_id=CHAT, document="nope") == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )

    status, body = call(fake, "sendPhoto", data={"chat_id": str(CHAT)}, files={"photo": ("plan.png", png(400, 300))})
    sizes = body["result"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(90, 68), (320, 240), (400, 300)]
    assert all(s["file_id"] and s["file_unique_id"] for s in sizes)

    location = ok(fake, "sendLocation", chat_id=CHAT, latitude=45.764, longitude=4.8357)
    assert location["location"] == {"latitude": 45.764, "longitude": 4.8357}
    copied = ok(fake, "copyMessage", chat_id=CHAT, from_chat_id=CHAT, message_id=location["message_id"])
    assert copied == {"message_id": location["message_id"] + 1}

    messages = fake.wait_for_messages(CHAT, since=since, count=5, timeout=1)
    assert [next(k for k in ("document", "photo", "location") if k in m) for m in messages] == [
        "document",
        "document",
        "photo",
        "location",
        "location",
    ]
    assert messages[0] == document_message


def test_other_methods(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT, "Camille", username="camille_m")
    assert ok(fake, "sendChatAction", chat_id=CHAT, action="typing") is True
    assert error(fake, "sendChatAction", chat_id=CHAT, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )

    commands = [{"command": "start", "description": "Commencer"}, {"command": "aide", "description": "Aide"}]
    assert ok(fake, "setMyCommands", commands=commands) is True
    assert ok(fake, "getMyCommands") == commands and fake.commands() == commands
    assert ok(fake, "getMyCommands", language_code="en") == []
    assert error(fake, "setMyCommands", commands=[{"command": "Mauvaise Commande", "description": "x"}]) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )
    assert ok(fake, "deleteMyCommands") is True and ok(fake, "getMyCommands") == []

    assert ok(fake, "setChatMenuButton", chat_id=CHAT, menu_button={"type": "commands"}) is True
    assert fake.menu_button(CHAT) == {"type": "commands"}
    assert ok(fake, "getChatMenuButton", chat_id=CHAT) == {"type": "commands"}

    chat = ok(fake, "getChat", chat_id=CHAT)
    assert chat["id"] == CHAT and chat["type"] == "private" and chat["username"] == "camille_m"
    assert error(fake, "getChat", chat_id=1) == (400, "Bad Request: chat not found")
    assert ok(fake, "close") is True and ok(fake, "logOut") is True

    fake.inject_error("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    status, body = call(fake, "sendMessage", json_body={"chat_id": CHAT, "text": "x"})
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    assert ok(fake, "sendMessage", chat_id=CHAT, text="x")["text"] == "x"

    fake.user_blocks_bot(CHAT)
    assert error(fake, "sendMessage", chat_id=CHAT, text="x") == (403, "Forbidden: bot was blocked by the user")
    assert [r["status"] for r in fake.failed_requests()] == [400, 400, 400, 429, 403]


def test_wait_helpers(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    since = fake.mark()
    assert error(fake, "sendMessage", chat_id=CHAT, text="a <3", parse_mode="HTML")[0] == 400
    with pytest.raises(AssertionError, match=r"sendMessage: ERROR Bad Request: can't parse entities"):
        fake.wait_for_messages(CHAT, since=since, timeout=0.2)

    def bot_talks() -> None:
        for text in ("un", "deux"):
            ok(fake, "sendChatAction", chat_id=CHAT, action="typing")
            time.sleep(0.15)
            ok(fake, "sendMessage", chat_id=CHAT, text=text)

    since = fake.mark()
    talker = threading.Thread(target=bot_talks)
    talker.start()
    first = fake.wait_for_messages(CHAT, since=since, timeout=5)
    assert first[0]["text"] == "un"
    messages = fake.wait_until_quiet(CHAT, since=since, quiet=0.4, timeout=5)
    talker.join()
    assert [m["text"] for m in messages] == ["un", "deux"]
    request = fake.wait_for_request(
        "sendMessage", since=since, timeout=1, predicate=lambda r: r["params"]["text"] == "deux"
    )
    assert request["response"]["result"]["text"] == "deux"
    with pytest.raises(AssertionError, match="no editMessageText request"):
        fake.wait_for_request("editMessageText", since=since, timeout=0.1)


# ---- a real python-telegram-bot Application against the fake -----------------------------------


@contextlib.contextmanager
def running(
    application: Application, start: Callable[[Application], Awaitable[object]]
) -> Iterator[asyncio.AbstractEventLoop]:
    """Runs the application in a background thread with its own event loop."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()
    failures: list[BaseException] = []

    async def main() -> None:
        await application.initialize()
        await application.start()
        await start(application)
        started.set()
        await stop.wait()
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        await application.shutdown()

    def thread_main() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            failures.append(exc)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    assert started.wait(15)
    if failures:
        raise failures[0]
    try:
        yield loop
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(15)
    if failures:
        raise failures[0]


def build_application(fake: FakeTelegram) -> Application:
    application = (
        Application.builder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url).build()
    )

    async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_html("<b>Bienvenue</b> sur Passerelle !")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        button = InlineKeyboardButton("Confirmer", callback_data="confirm")
        await update.message.reply_text(f"Écho : {update.message.text}", reply_markup=InlineKeyboardMarkup([[button]]))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("C'est noté")
        await query.edit_message_text(f"Confirmé ({query.data})")

    application.add_handler(CommandHandler("start", start_command))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(on_button))
    return application


def check_round_trip(fake: FakeTelegram) -> None:
    since = fake.mark()
    fake.user_sends_text(CHAT, "/start")
    [welcome] = fake.wait_for_messages(CHAT, since=since, timeout=5)
    assert welcome["text"] == "Bienvenue sur Passerelle !"
    assert welcome["entities"] == [{"offset": 0, "length": 9, "type": "bold"}]

    since = fake.mark()
    fake.user_sends_text(CHAT, "Bonjour")
    [reply] = fake.wait_for_messages(CHAT, since=since, timeout=5)
    assert reply["text"] == "Écho : Bonjour"
    assert reply["reply_markup"] == keyboard(("Confirmer", "confirm"))

    since = fake.mark()
    update = fake.user_presses_button(CHAT, reply, "Confirmer")
    answer = fake.wait_for_request("answerCallbackQuery", since=since, timeout=5)
    assert answer["params"] == {"callback_query_id": update["callback_query"]["id"], "text": "C'est noté"}
    assert answer["response"] == {"ok": True, "result": True}
    edit = fake.wait_for_request("editMessageText", since=since, timeout=5)
    assert edit["status"] == 200
    edited = fake.message(CHAT, reply["message_id"])
    assert edited["text"] == "Confirmé (confirm)" and "reply_markup" not in edited
    assert fake.failed_requests(since=since) == []


# ---- user-side helpers: what people send besides text ------------------------------------


def _parsed(update: dict[str, Any]) -> Update:
    """python-telegram-bot reads the update like a real one."""
    parsed = Update.de_json(update, None)
    assert parsed is not None
    return parsed


def test_user_sends_any_content_and_copy_message_copies_it(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    fake.register_chat(CHAT + 1)
    update = fake.user_sends(CHAT, {"dice": {"emoji": "🎲", "value": 3}}, user_id=77)
    message = update["message"]
    assert message["dice"] == {"emoji": "🎲", "value": 3} and message["from"]["id"] == 77
    assert ok(fake, "getUpdates")[0]["message"]["dice"]["value"] == 3
    assert _parsed(update).effective_message.dice.value == 3
    copied = ok(fake, "copyMessage", chat_id=CHAT + 1, from_chat_id=CHAT, message_id=message["message_id"])
    assert fake.message(CHAT + 1, copied["message_id"])["dice"] == {"emoji": "🎲", "value": 3}


def test_user_sends_sticker(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT + 1)
    update = fake.user_sends_sticker(CHAT, "😀")
    sticker = update["message"]["sticker"]
    assert (sticker["emoji"], sticker["type"], sticker["is_animated"]) == ("😀", "regular", False)
    parsed = _parsed(update).effective_message
    assert parsed.sticker is not None and parsed.sticker.emoji == "😀"
    file = ok(fake, "getFile", file_id=sticker["file_id"])
    assert httpx.get(f"{fake.base_file_url}{fake.token}/{file['file_path']}").content.startswith(b"RIFF")
    copied = ok(fake, "copyMessage", chat_id=CHAT + 1, from_chat_id=CHAT, message_id=update["message"]["message_id"])
    assert fake.message(CHAT + 1, copied["message_id"])["sticker"] == sticker


def test_user_sends_contact(fake: FakeTelegram) -> None:
    update = fake.user_sends_contact(CHAT, "+33 6 12 34 56 78", "Paul", contact_user_id=555)
    assert update["message"]["contact"] == {"phone_number": "+33 6 12 34 56 78", "first_name": "Paul", "user_id": 555}
    contact = _parsed(update).effective_message.contact
    assert contact is not None and contact.phone_number == "+33 6 12 34 56 78" and contact.user_id == 555


def test_user_forwards_text(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT + 1)
    hidden = fake.user_forwards_text(CHAT, "Votre colis est bloqué", "Numéro inconnu")
    origin = hidden["message"]["forward_origin"]
    assert origin["type"] == "hidden_user" and origin["sender_user_name"] == "Numéro inconnu"
    assert origin["date"] < hidden["message"]["date"]
    shown = fake.user_forwards_text(CHAT, "Rappelez-moi", "Paul", origin_user_id=555)
    parsed = _parsed(shown).effective_message
    assert parsed.text == "Rappelez-moi" and parsed.forward_origin.sender_user.id == 555
    assert _parsed(hidden).effective_message.forward_origin.sender_user_name == "Numéro inconnu"
    copied = ok(fake, "copyMessage", chat_id=CHAT + 1, from_chat_id=CHAT, message_id=hidden["message"]["message_id"])
    copy_ = fake.message(CHAT + 1, copied["message_id"])
    assert copy_["text"] == "Votre colis est bloqué" and "forward_origin" not in copy_


def test_user_edits_text(fake: FakeTelegram) -> None:
    fake.register_chat(CHAT)
    sent = ok(fake, "sendMessage", chat_id=CHAT, text="Votre question ?")
    first = fake.user_sends_text(CHAT, "bonjour", reply_to=sent["message_id"])["message"]
    update = fake.user_edits_text(CHAT, first["message_id"], "bonjour, /aide")
    edited = update["edited_message"]
    assert "message" not in update
    assert (edited["message_id"], edited["text"], edited["date"]) == (
        first["message_id"],
        "bonjour, /aide",
        first["date"],
    )
    assert edited["edit_date"] > edited["date"]
    assert edited["reply_to_message"]["message_id"] == sent["message_id"]
    assert edited["entities"] == [{"offset": 9, "length": 5, "type": "bot_command"}]
    assert fake.message(CHAT, first["message_id"])["text"] == "bonjour, /aide"
    parsed = _parsed(update)
    assert parsed.edited_message is not None and parsed.effective_message.text == "bonjour, /aide"
    assert [u["edited_message"]["text"] for u in ok(fake, "getUpdates") if "edited_message" in u] == ["bonjour, /aide"]
    with pytest.raises(AssertionError, match="sent by the bot"):
        fake.user_edits_text(CHAT, sent["message_id"], "non")
    with pytest.raises(AssertionError, match="no message 99"):
        fake.user_edits_text(CHAT, 99, "non")


def test_user_leaves_group(fake: FakeTelegram) -> None:
    fake.register_chat(-100500, chat_type="supergroup", title="Équipe")
    update = fake.user_leaves_group(-100500, 9201, "Bob")
    message = update["message"]
    assert message["left_chat_member"]["id"] == 9201 and message["from"]["id"] == 9201
    assert message["chat"] == {"id": -100500, "title": "Équipe", "type": "supergroup"}
    removed = fake.user_leaves_group(-100500, 9202, "Cléo", removed_by=9200)["message"]
    assert removed["from"]["id"] == 9200 and removed["left_chat_member"]["first_name"] == "Cléo"
    assert removed["message_id"] == message["message_id"] + 1
    parsed = _parsed(update).effective_message
    assert parsed.left_chat_member is not None and parsed.left_chat_member.id == 9201
    with pytest.raises(AssertionError, match="unknown chat"):
        fake.user_leaves_group(-1, 9201)
    fake.register_chat(CHAT)
    with pytest.raises(AssertionError, match="not a group"):
        fake.user_leaves_group(CHAT, 9201)


def test_chat_member_changes_are_delivered_only_when_asked_for(fake: FakeTelegram) -> None:
    fake.register_chat(-100500, chat_type="supergroup", title="Équipe")
    fake.chat_member_changes(-100500, 9201, "left", "Bob")
    assert ok(fake, "getUpdates") == []  # not among the default update types: dropped, like the real service
    update = fake.chat_member_changes(-100500, 9201, "kicked", "Bob", by=9200)
    [delivered] = ok(fake, "getUpdates", allowed_updates=["chat_member"])
    assert delivered == update
    change = update["chat_member"]
    assert change["old_chat_member"] == {"status": "member", "user": change["new_chat_member"]["user"]}
    assert change["new_chat_member"]["status"] == "kicked" and change["from"]["id"] == 9200
    parsed = _parsed(update).chat_member
    assert parsed is not None and parsed.new_chat_member.status == "kicked"
    assert parsed.new_chat_member.user.id == 9201 and parsed.old_chat_member.status == "member"
    with pytest.raises(ValueError, match="statuses"):
        fake.chat_member_changes(-100500, 9201, "administrator")


def test_python_telegram_bot_polling_round_trip(fake: FakeTelegram) -> None:
    application = build_application(fake)

    async def start_polling(app: Application) -> object:
        assert app.updater is not None
        return await app.updater.start_polling(poll_interval=0, timeout=1)

    with running(application, start_polling) as loop:
        fake.wait_for_polling(timeout=5)
        assert application.bot.username == "passerelle_test_bot"
        check_round_trip(fake)

        # PTB maps the fake's errors to its exceptions like the real ones.
        future = asyncio.run_coroutine_threadsafe(
            application.bot.send_message(CHAT, "je <3 Passerelle", parse_mode="HTML"), loop
        )
        with pytest.raises(BadRequest, match=r"(?i)can.t parse entities: unsupported start tag"):
            future.result(5)
    # On shutdown PTB confirms what it fetched: nothing is left pending.
    assert fake.pending_updates == []
    assert fake.requests("deleteWebhook")  # PTB's bootstrap before polling


def test_python_telegram_bot_webhook_round_trip(fake: FakeTelegram) -> None:
    application = build_application(fake)
    port = free_port()

    async def start_webhook(app: Application) -> object:
        assert app.updater is not None
        return await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            secret_token="passerelle-secret",
        )

    with running(application, start_webhook):
        assert fake.webhook is not None
        assert fake.webhook["url"] == f"http://127.0.0.1:{port}/telegram"
        assert fake.webhook["secret_token"] == "passerelle-secret"
        check_round_trip(fake)
        assert {d["status"] for d in fake.deliveries} == {200}
