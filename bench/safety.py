# ruff: noqa: E402
"""Safety measures: danger and scam detection, masking. Prints its figures; not a test.

- The lexicon alone (knowledge/safety.py) on the test sets it was written against (tests/data/*.jsonl) and on an
  independent held-out danger set written without seeing the lexicon or the training data
  (nlu/eval/danger_heldout.jsonl): recall of danger messages, false alarms on near-misses, situation agreement.
- With --rasa-url (a running Rasa server, `make serve`): the same through the NLU, where the classifier's `danger`
  intent is added to the lexicon.
- Masking (knowledge/citizens/privacy.py) on tests/data/masking_messages.jsonl: recall of secrets, false masks.

    .venv/bin/python bench/safety.py [--rasa-url http://localhost:5005]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.rasa.client import RasaClient
from knowledge.citizens.privacy import mask_sensitive
from knowledge.safety import assess

SETS = {
    "test set (tests/data/danger_messages.jsonl)": ROOT / "tests" / "data" / "danger_messages.jsonl",
    "held-out (nlu/eval/danger_heldout.jsonl)": ROOT / "nlu" / "eval" / "danger_heldout.jsonl",
}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def danger_figures(items: list[dict[str, Any]], is_danger: Callable[[str], bool]) -> str:
    danger = [item for item in items if item["danger"]]
    calm = [item for item in items if not item["danger"]]
    found = sum(is_danger(item["text"]) for item in danger)
    alarms = sum(is_danger(item["text"]) for item in calm)
    return (
        f"recall {found}/{len(danger)} = {found / len(danger):.1%}, "
        f"false alarms {alarms}/{len(calm)} = {alarms / len(calm):.1%}"
    )


def situation_agreement(items: list[dict[str, Any]]) -> str:
    danger = [item for item in items if item["danger"]]
    agree = sum(item["situation"] in assess(item["text"]).situations for item in danger)
    return f"situation among those recognised {agree}/{len(danger)} = {agree / len(danger):.1%}"


def nlu_danger(rasa_url: str, texts: list[str]) -> dict[str, bool]:
    async def run() -> dict[str, bool]:
        rasa = RasaClient(rasa_url, timeout=30)
        try:
            results = {}
            for text in texts:
                results[text] = (await rasa.parse(text))["intent"]["name"] == "danger"
            return results
        finally:
            await rasa.close()

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rasa-url", help="also measure through a running Rasa server")
    args = parser.parse_args()
    for name, path in SETS.items():
        items = lines(path)
        start = time.perf_counter()
        lexicon = danger_figures(items, lambda text: assess(text).danger)
        per_message = (time.perf_counter() - start) / len(items) * 1000
        print(f"Danger, {name}: {len(items)} messages")
        print(f"  lexicon alone: {lexicon}; {situation_agreement(items)}; {per_message:.2f} ms per message")
        if args.rasa_url:
            verdicts = nlu_danger(args.rasa_url, [item["text"] for item in items])
            print(f"  NLU (lexicon + classifier): {danger_figures(items, verdicts.__getitem__)}")
    scams = lines(ROOT / "tests" / "data" / "scam_messages.jsonl")
    print(f"Scams (tests/data/scam_messages.jsonl): {len(scams)} messages")
    for label in ("suspicious", "already_paid", None):
        subset = [item for item in scams if item["scam"] == label]
        right = sum(assess(item["text"]).scam == label for item in subset)
        print(f"  {label or 'near-misses'}: {right}/{len(subset)} read right")
    masking = lines(ROOT / "tests" / "data" / "masking_messages.jsonl")
    secrets = [(item, secret) for item in masking for secret in item["secrets"]]
    masked = {item["text"]: mask_sensitive(item["text"]).text for item in masking}
    leaked = sum(secret in masked[item["text"]] for item, secret in secrets)
    look_alikes = [item for item in masking if not item["secrets"]]
    false_masks = sum(masked[item["text"]] != item["text"] for item in look_alikes)
    print(f"Masking (tests/data/masking_messages.jsonl): {len(masking)} messages")
    print(f"  secrets masked {len(secrets) - leaked}/{len(secrets)}; false masks {false_masks}/{len(look_alikes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
