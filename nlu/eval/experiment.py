"""Train one NLU configuration and parse messages with it. Runs in Rasa's environment (.venv-rasa, Python 3.10).

Driven by `passerelle eval` (bot/tools/evaluation.py), which computes the measures; this script only trains and parses:

    .venv-rasa/bin/python nlu/eval/experiment.py --config CONFIG --data nlu/data --work DIR \
        --texts texts.json [--folds 5] --out result.json

- trains the NLU part of the configuration on the data, with an empty Rasa cache (the training time is cold),
  and keeps the model in DIR/model.tar.gz: a later run with the same DIR reuses it;
- parses every text of texts.json (a JSON list of strings) with that model;
- with --folds K: K-fold cross-validation on the training data (stratified, seeded), each fold trained cold;
  its parses are kept in DIR/cv.json and reused too.
Prints nothing but Rasa's logs; writes {"train_seconds", "parses", "cv_train_seconds", "cv"} to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEPT_KEYS = ("intent", "intent_ranking", "entities")


def _slim(parsed: dict[str, Any]) -> dict[str, Any]:
    result = {key: parsed.get(key) for key in KEPT_KEYS}
    result["intent_ranking"] = (result["intent_ranking"] or [])[:5]
    return result


def train(config: Path, data: Path, out_dir: Path) -> tuple[Path, float]:
    """Train the NLU model with an empty cache; returns the model's path and the training time."""
    from rasa.model_training import train_nlu

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rasa-cache-") as cache:
        os.environ["RASA_CACHE_DIRECTORY"] = cache
        start = time.perf_counter()
        path = train_nlu(str(config), str(data), str(out_dir), fixed_model_name="model")
        seconds = time.perf_counter() - start
    if not path:
        raise SystemExit(f"training {config} failed")
    return Path(path), seconds


def parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))

    async def run() -> list[dict[str, Any]]:
        return [_slim(await agent.parse_message(text)) for text in texts]

    return asyncio.run(run())


def cross_validate(config: Path, data: Path, folds: int) -> tuple[list[float], list[dict[str, Any]]]:
    """Stratified K-fold on the intent examples; returns each fold's training time and every held-out parse."""
    from rasa.shared.data import get_data_files, is_nlu_file
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    full = TrainingData().merge(*(load_data(path) for path in sorted(get_data_files([str(data)], is_nlu_file))))
    examples = sorted(full.intent_examples, key=lambda e: (e.get("intent"), e.get("text")))
    labels = [e.get("intent") for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    times, results = [], []
    for number, (train_idx, test_idx) in enumerate(splitter.split(examples, labels), start=1):
        with tempfile.TemporaryDirectory(prefix=f"fold{number}-") as work:
            fold = TrainingData(
                training_examples=[examples[i] for i in train_idx],
                entity_synonyms=full.entity_synonyms,
                regex_features=full.regex_features,
                lookup_tables=full.lookup_tables,
            )
            fold_file = Path(work) / "nlu.yml"
            fold_file.write_text(RasaYAMLWriter().dumps(fold), encoding="utf-8")
            model, seconds = train(config, fold_file, Path(work) / "models")
            times.append(seconds)
            tests = [examples[i] for i in test_idx]
            parses = parse_all(model, [e.get("text") for e in tests])
            results += [
                {"text": e.get("text"), "intent": e.get("intent"), "fold": number, "parse": p}
                for e, p in zip(tests, parses, strict=True)
            ]
    return times, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder that keeps the model and the CV parses")
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    args.work.mkdir(parents=True, exist_ok=True)
    meta_file = args.work / "meta.json"
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    model = args.work / "model.tar.gz"
    if not model.exists() or "train_seconds" not in meta:
        trained, meta["train_seconds"] = train(args.config, args.data, args.work / "models")
        shutil.move(str(trained), model)
        shutil.rmtree(args.work / "models", ignore_errors=True)
        meta_file.write_text(json.dumps(meta))
    cv_file = args.work / f"cv{args.folds}.json"
    cv: dict[str, Any] = {"cv_train_seconds": [], "cv": []}
    if args.folds:
        if cv_file.exists():
            cv = json.loads(cv_file.read_text())
        else:
            times, results = cross_validate(args.config, args.data, args.folds)
            cv = {"cv_train_seconds": times, "cv": results}
            cv_file.write_text(json.dumps(cv, ensure_ascii=False))
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    result = {"train_seconds": meta["train_seconds"], "parses": parse_all(model, texts), **cv}
    args.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
