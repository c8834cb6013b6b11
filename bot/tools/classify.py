"""`passerelle classify`: JSON lines in, one JSON line per input out (the contract of DESIGN.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any, TextIO

from bot.rasa.client import RasaClient, RasaUnavailable
from knowledge.fiches import topic_of_intent

log = logging.getLogger(__name__)
CONCURRENCY = 8


def prediction(text: str, parsed: dict[str, Any]) -> dict[str, Any]:
    """What the assistant would do with `text`: its intent, confidence, and the fiche it would answer with.

    A low-confidence or unknown-words fallback (`nlu_fallback`) is reported as `out_of_scope`: the assistant
    rejects the message as one it cannot answer (the usual way of predicting out-of-scope, as in CLINC150).
    """
    intent = parsed.get("intent") or {}
    name = "out_of_scope" if intent.get("name") == "nlu_fallback" else intent.get("name")
    fiche = topic_of_intent(name)
    confidence = intent.get("confidence")
    return {
        "text": text,
        "intent": "faq" if fiche else name,
        "confidence": None if confidence is None else round(confidence, 4),
        "fiche": fiche,
    }


async def classify_stream(rasa: RasaClient, lines: TextIO, out: TextIO) -> int:
    """Classify every line; returns the number of lines that could not be classified."""
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(number: int, line: str) -> dict[str, Any]:
        try:
            item = json.loads(line)
            text = item["text"]
            if not isinstance(text, str):
                raise TypeError("'text' is not a string")
        except (ValueError, KeyError, TypeError) as error:
            log.error("line %d: expected a JSON object with a 'text' string: %s", number, error)
            return {"text": None, "intent": None, "confidence": None, "fiche": None, "error": str(error)}
        async with semaphore:
            parsed = await rasa.parse(text)
        return prediction(text, parsed)

    tasks = [one(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    failures = 0
    for result in await asyncio.gather(*tasks):
        failures += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return failures


async def run_classify(rasa_url: str, timeout: float) -> int:
    rasa = RasaClient(rasa_url, timeout=timeout)
    try:
        failures = await classify_stream(rasa, sys.stdin, sys.stdout)
    except RasaUnavailable as error:
        print(f"error: {error}. Start it with `make serve`.", file=sys.stderr)
        return 2
    finally:
        await rasa.close()
    return 1 if failures else 0
