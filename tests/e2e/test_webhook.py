"""Webhook mode: the bot registers its webhook and refuses updates without Telegram's secret token."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.services.processes import bot_process
from bot.services.supervisor import Supervisor, free_port
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e

SECRET = "s3cret-token_for-tests"


def test_webhook_checks_the_secret_token(services: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    with FakeTelegram() as telegram:
        settings = services.model_copy(
            update={
                "telegram_token": telegram.token,
                "telegram_base_url": telegram.base_url,
                "telegram_base_file_url": telegram.base_file_url,
                "telegram_webhook_url": "https://passerelle.example.org/telegram",
                "telegram_webhook_secret": SECRET,
                "telegram_webhook_listen": "127.0.0.1",
                "telegram_webhook_port": port,
            }
        )
        supervisor = Supervisor(log_dir=tmp_path)
        try:
            supervisor.start(bot_process(settings))
            registered = telegram.wait_for_request("setWebhook", timeout=60)
            assert registered["params"]["url"] == "https://passerelle.example.org/telegram"
            assert registered["params"]["secret_token"] == SECRET
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": 9901, "type": "private", "first_name": "Camille"},
                    "from": {"id": 9901, "is_bot": False, "first_name": "Camille"},
                    "text": "bonjour",
                },
            }
            telegram.register_chat(9901)
            local = f"http://127.0.0.1:{port}/telegram"
            _wait_listening(local)
            forged = httpx.post(local, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
            assert forged.status_code == 403
            mark = telegram.mark()
            genuine = httpx.post(
                local, json=update | {"update_id": 2}, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert genuine.status_code == 200
            (reply,) = telegram.wait_until_quiet(9901, since=mark)
            assert reply["text"].startswith("Bonjour, je suis Passerelle.")
            assert [r for r in telegram.requests("sendMessage") if r["params"]["chat_id"] in (9901, "9901")] == [
                r for r in telegram.requests("sendMessage", since=mark) if r["params"]["chat_id"] in (9901, "9901")
            ], "the forged update was not answered"
        finally:
            supervisor.stop_all()


def _wait_listening(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens at {url}")
