"""Telegram's flood limits, applied by python-telegram-bot's AIORateLimiter, to messages only.

Telegram lets a bot send about 30 messages a second in all (and 20 a minute to a group); AIORateLimiter counts every
request that names a chat. « Passerelle écrit… » (sendChatAction) is not a message: counted, it took the place of
answers once answers slowed down, which slowed them down more (bench/throughput.py measured 186 chat actions in 30 s
at 30 messages a second). Chat actions go straight through; everything else is AIORateLimiter's, unchanged."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter

NOT_MESSAGES = frozenset({"sendChatAction"})


class MessageRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        if endpoint in NOT_MESSAGES:
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
