"""Training is deterministic: trained twice, once on the examples in another order, the model predicts the same.

Each training is a cold one in Rasa's own environment (nlu/eval/experiment.py, an empty Rasa cache), so this
also shows that the whole NLU trains in seconds.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.rasa.project import NLU_DIR, build_faq_data, rasa_env
from bot.settings import Settings
from bot.tools.evaluation import EXPERIMENT, load_heldout

pytestmark = pytest.mark.e2e


def reordered_copy(source: Path, target: Path) -> Path:
    """The NLU data with every list of examples, and the intents of every file, in reverse order."""
    target.mkdir(parents=True)
    for path in sorted(source.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = list(reversed(data.get("nlu") or []))
        for item in items:
            lines = [line for line in item["examples"].splitlines() if line.strip()]
            item["examples"] = "\n".join(reversed(lines)) + "\n"
        data["nlu"] = items
        (target / f"reordered_{path.name}").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def predictions(data: Path, work: Path, texts_file: Path) -> list[tuple[Any, ...]]:
    out = work / "out.json"
    command = [str(Path(Settings().rasa_bin).parent / "python"), str(EXPERIMENT), "--config", "config.yml"]  # type: ignore[call-arg]
    command += ["--data", str(data), "--work", str(work), "--texts", str(texts_file), "--out", str(out)]
    subprocess.run(command, cwd=NLU_DIR, env=rasa_env(), check=True, capture_output=True)
    parses = json.loads(out.read_text(encoding="utf-8"))["parses"]
    return [
        (
            p["intent"]["name"],
            p["intent"].get("reason"),
            round(p["intent"]["confidence"], 9),
            [(r["name"], round(r["confidence"], 9)) for r in p["intent_ranking"]],
        )
        for p in parses
    ]


def test_two_trainings_in_any_order_give_the_same_predictions_on_the_held_out_split(tmp_path: Path) -> None:
    build_faq_data()
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps([e.text for e in load_heldout()], ensure_ascii=False), encoding="utf-8")

    first = predictions(NLU_DIR / "data", tmp_path / "first", texts)
    second = predictions(reordered_copy(NLU_DIR / "data", tmp_path / "reordered"), tmp_path / "second", texts)

    assert len(first) == len(load_heldout())
    differences = [(i, a, b) for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    assert not differences, f"{len(differences)} predictions differ, e.g. {differences[:3]}"
