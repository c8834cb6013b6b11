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
    def __init__(self, base_url: str, timeout: float = 15.0, retries: int = 1) -> None:
        self.base_url = base_url.rstrip("/")
        self._retries = retries
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

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
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.post(path, json=body)
                response.raise_for_status()
                return response.json()
            except httpx.TransportError as error:
                if attempt == self._retries:
                    raise RasaUnavailable(f"Rasa server at {self.base_url} unreachable: {error!r}") from error
                await asyncio.sleep(0.5)
            except (httpx.HTTPStatusError, ValueError) as error:
                raise RasaUnavailable(f"Rasa server at {self.base_url} failed on {path}: {error}") from error
        raise AssertionError("unreachable")
