"""The Rasa project in nlu/: data generated from the fiches, model cache by hash, endpoints, training."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from knowledge.fiches import FICHES_DIR, faq_intent, load_fiches
from knowledge.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

NLU_DIR = PROJECT_ROOT / "nlu"
MODELS_DIR = NLU_DIR / "models"
GENERATED_DATA = NLU_DIR / "data" / "generated_faq.yml"
GENERATED_RULES = NLU_DIR / "data" / "generated_faq_rules.yml"
GENERATED_DOMAIN = NLU_DIR / "domain" / "generated_faq.yml"

RASA_VERSION = "3.6.21"
TRACKER_STORE = "stores.windowed_sql.WindowedSQLTrackerStore"
TRACKER_WINDOW = 60
"""Events of a conversation Rasa reads back for each message, whatever its length: about 12 turns, more than the
policies' memory (5 turns) and the 10 messages actions/handoffs.py looks back on for a person in danger. Each event
more costs every message (read, replayed, sent to the action server): 120 made Rasa saturate 2 cores at 30
messages a second once conversations filled their window (bench/throughput.py)."""
_PROJECT_ARGS = ["--config", "config.yml", "--domain", "domain", "--data", "data"]
_HEADER = "# Generated from knowledge/fiches by `passerelle nlu build`. Do not edit: edit the fiches.\n"


class TrainingError(Exception):
    """Training data or the training run failed."""


def rasa_env() -> dict[str, str]:
    """Environment for Rasa commands: no telemetry, no network look-ups, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    # nlu/ for the custom components; the project root for knowledge.safety (standard library and PyYAML only).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NLU_DIR), str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def build_faq_data(fiches_dir: Path = FICHES_DIR) -> int:
    """Write one intent per fiche (faq_<id>) with its questions and its rule; returns the number of fiches."""
    fiches = load_fiches(fiches_dir)
    nlu, rules = [], []
    for fiche in fiches.values():
        if not fiche.questions:
            raise TrainingError(f"fiche {fiche.id!r} has no training questions ({fiche.id}.questions.txt)")
        intent = faq_intent(fiche.id)
        nlu.append({"intent": intent, "examples": "".join(f"- {_yaml_safe(q)}\n" for q in fiche.questions)})
        rules.append(
            {
                "rule": f"answer with the fiche {fiche.id}",
                "steps": [{"intent": intent}, {"action": "action_answer_faq"}],
            }
        )
    _write_yaml(GENERATED_DATA, {"version": "3.1", "nlu": nlu})
    _write_yaml(GENERATED_RULES, {"version": "3.1", "rules": rules})
    _write_yaml(GENERATED_DOMAIN, {"version": "3.1", "intents": [faq_intent(f) for f in fiches]})
    return len(fiches)


def model_hash() -> str:
    """Hash of everything training reads: Rasa's version, config, domain and data."""
    digest = hashlib.sha256(RASA_VERSION.encode())
    files = [
        NLU_DIR / "config.yml",
        *sorted((NLU_DIR / "components").glob("*.py")),
        *sorted((NLU_DIR / "domain").rglob("*.yml")),
        *sorted((NLU_DIR / "data").rglob("*.yml")),
    ]
    for path in files:
        digest.update(str(path.relative_to(NLU_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(hash_: str | None = None) -> Path:
    return MODELS_DIR / f"passerelle-{hash_ or model_hash()}.tar.gz"


def current_model() -> Path:
    """The trained model for the current inputs; raises if it has not been trained."""
    path = model_path()
    if not path.exists():
        raise TrainingError(f"no trained model for the current data ({path.name}): run `make train`")
    return path


def train(rasa_bin: str, force: bool = False) -> Path:
    """Build the data, validate it, and train unless a model for the same inputs exists."""
    build_faq_data()
    path = model_path()
    if path.exists() and not force:
        log.info("Model up to date: %s", path.name)
        return path
    validate(rasa_bin)
    log.info("Training %s (under a minute)…", path.name)
    name = path.name.removesuffix(".tar.gz")
    _run([rasa_bin, "train", *_PROJECT_ARGS, "--out", str(MODELS_DIR), "--fixed-model-name", name], "training")
    for old in sorted(MODELS_DIR.glob("passerelle-*.tar.gz"), key=lambda p: p.stat().st_mtime)[:-3]:
        old.unlink()
    return path


def validate(rasa_bin: str) -> None:
    """`rasa data validate`, failing on warnings too."""
    _run([rasa_bin, "data", "validate", "--fail-on-warnings", *_PROJECT_ARGS], "data validation")


def write_endpoints(
    action_server_url: str, tracker_store_url: str, path: Path, lock_store_port: int | None = None
) -> Path:
    """The endpoints file Rasa runs with: our action server, a persistent SQL tracker store that reads back a
    bounded window of each conversation (nlu/stores/windowed_sql.py), and with several workers Rasa's Redis lock
    store on `lock_store_port` (one message of a conversation at a time, whichever worker gets it)."""
    url = make_url(tracker_store_url)
    if url.get_backend_name() == "sqlite":
        tracker = {"type": TRACKER_STORE, "dialect": "sqlite", "db": url.database}
    else:
        tracker = {
            "type": TRACKER_STORE,
            "dialect": "postgresql",
            "url": url.host,
            "port": url.port or 5432,
            "db": url.database,
            "username": url.username,
            "password": url.password,
        }
        if url.query.get("host"):
            tracker["query"] = {"host": url.query["host"]}
    tracker["window"] = TRACKER_WINDOW
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints: dict[str, Any] = {"action_endpoint": {"url": action_server_url}, "tracker_store": tracker}
    if lock_store_port is not None:
        endpoints["lock_store"] = {"type": "redis", "url": "127.0.0.1", "port": lock_store_port, "db": 0}
    _write_yaml(path, endpoints, header="")
    path.chmod(0o600)
    return path


def _run(command: list[str], what: str) -> None:
    if not Path(command[0]).exists():
        raise TrainingError(f"{command[0]} not found: run `make setup` to install Rasa")
    result = subprocess.run(command, cwd=NLU_DIR, env=rasa_env(), check=False)
    if result.returncode != 0:
        raise TrainingError(f"Rasa {what} failed (exit code {result.returncode}); see the output above")


def _write_yaml(path: Path, data: object, header: str = _HEADER) -> None:
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _yaml_safe(question: str) -> str:
    """One line, and no square brackets, which Rasa would read as an entity annotation."""
    return " ".join(question.replace("[", "(").replace("]", ")").split())
