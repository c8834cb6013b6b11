"""Telegram's limit of messages a second never holds back « Passerelle écrit… » (bot/telegram/ratelimit.py)."""

from __future__ import annotations

import asyncio

import pytest

from bot.telegram.ratelimit import MessageRateLimiter


async def _sent(limiter: MessageRateLimiter, endpoint: str, chat_id: int) -> bool:
    async def call(*_args: object, **_kwargs: object) -> bool:
        return True

    data = {"chat_id": chat_id}
    return bool(await limiter.process_request(call, (endpoint, data), {}, endpoint, data, None))


def test_chat_actions_pass_while_messages_wait_for_their_turn() -> None:
    async def scenario() -> None:
        limiter = MessageRateLimiter(overall_max_rate=2, overall_time_period=60, max_retries=0)
        await limiter.initialize()
        assert [await _sent(limiter, "sendMessage", chat) for chat in (1, 2)] == [True, True]
        for chat in range(3, 13):  # ten chat actions, though the two messages of the minute are spent
            assert await asyncio.wait_for(_sent(limiter, "sendChatAction", chat), timeout=5)
        with pytest.raises(TimeoutError):  # a third message waits (about 30 s) for the limit
            await asyncio.wait_for(_sent(limiter, "sendMessage", 13), timeout=0.5)
        await limiter.shutdown()

    asyncio.run(scenario())
