"""Button payloads as Telegram callback data, which is limited to 64 bytes."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

CALLBACK_DATA_LIMIT = 64
_KEY_PREFIX = "#"


class CallbackPayloads:
    """Short payloads travel as they are; longer ones are kept here under a short key (most recent 10,000)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._long: OrderedDict[str, str] = OrderedDict()

    def encode(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not payload.startswith(_KEY_PREFIX):
            return payload
        key = _KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._long[key] = payload
        self._long.move_to_end(key)
        while len(self._long) > self._capacity:
            self._long.popitem(last=False)
        return key

    def decode(self, data: str) -> str | None:
        """The payload behind callback data; None when it has been forgotten (e.g. after a restart)."""
        if data.startswith(_KEY_PREFIX):
            return self._long.get(data)
        return data
