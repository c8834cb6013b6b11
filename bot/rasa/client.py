"""HTTP client of the Rasa server: the REST channel for dialogue, /model/parse for classification."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa could not be reached or answered with an error."""


class RasaClient:
    """Every call has one deadline (`timeout` seconds, connection and answer together). A request that may have
    reached Rasa is never sent again; one that could not connect is tried once more if time remains."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # Pooled connections are dropped before Sanic's 5 s keep-alive ends, so a request never goes out on a
        # connection the server is closing (that failure would be ambiguous: sent or not?).
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, limits=limits)

    async def send(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send a user message (or a /payload) to the REST channel; returns Rasa's bot messages."""
        body = {"sender": sender, "message": message, "metadata": metadata or {}}
        result = await self._post("/webhooks/rest/webhook", body)
        if not isinstance(result, list):
            raise RasaUnavailable(f"unexpected REST channel answer: {str(result)[:200]}")
        return result

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only: intent ranking and response selector results for one text."""
        result = await self._post("/model/parse", {"text": text})
        if not isinstance(result, dict):
            raise RasaUnavailable(f"unexpected /model/parse answer: {str(result)[:200]}")
        return result

    async def is_ready(self) -> bool:
        """True when the server answers and has a model loaded."""
        try:
            response = await self._http.get("/status", timeout=3)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    async def close(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        connect_retry = True
        while True:
            remaining = deadline - loop.time()
            try:
                async with asyncio.timeout(remaining):
                    response = await self._http.post(path, json=body, timeout=remaining)
                response.raise_for_status()
                return response.json()
            except TimeoutError as error:
                raise RasaUnavailable(f"Rasa server at {self.base_url} gave no answer in {self.timeout:g} s") from error
            except httpx.ConnectError as error:
                if not connect_retry or deadline - loop.time() < 1.0:
                    raise RasaUnavailable(f"Rasa server at {self.base_url} unreachable: {error!r}") from error
                connect_retry = False  # the request never left: one more try, after a short pause
                await asyncio.sleep(0.3)
            except httpx.TransportError as error:
                raise RasaUnavailable(f"Rasa server at {self.base_url} failed on {path}: {error!r}") from error
            except (httpx.HTTPStatusError, ValueError) as error:
                raise RasaUnavailable(f"Rasa server at {self.base_url} failed on {path}: {error}") from error
