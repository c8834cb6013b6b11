"""The Rasa project's generated data, its model cache by hash, and the endpoints Rasa runs with."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.rasa import project as rasa_project
from bot.rasa.project import GENERATED_DATA, build_faq_data, model_hash, model_path, train, write_endpoints
from knowledge.fiches import faq_intent, load_fiches


def test_each_fiche_becomes_one_intent_with_its_questions() -> None:
    build_faq_data()
    data = yaml.safe_load(GENERATED_DATA.read_text(encoding="utf-8"))
    intents = {item["intent"]: item["examples"] for item in data["nlu"]}
    for fiche in load_fiches().values():
        examples = [line[2:] for line in intents[faq_intent(fiche.id)].splitlines()]
        assert len(examples) == len(fiche.questions)


def test_the_hash_is_stable_and_follows_the_inputs(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    build_faq_data()
    first = model_hash()
    build_faq_data()
    assert model_hash() == first
    copy = tmp_path / "nlu"
    for path in rasa_project.NLU_DIR.rglob("*"):
        if (
            path.is_file()
            and path.suffix in {".yml", ".py"}
            and "models" not in path.parts
            and ".rasa" not in path.parts
        ):
            target = copy / path.relative_to(rasa_project.NLU_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    monkeypatch.setattr(rasa_project, "NLU_DIR", copy)
    assert model_hash() == first
    with (copy / "data" / "intents.yml").open("a", encoding="utf-8") as file:
        file.write("\n")
    assert model_hash() != first


def test_training_is_skipped_when_the_model_is_up_to_date(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rasa_project, "MODELS_DIR", tmp_path)
    build_faq_data()
    model_path().write_bytes(b"a model")
    assert train(rasa_bin=str(tmp_path / "no-rasa-here")) == model_path()


def test_endpoints_point_at_the_action_server_and_a_sql_tracker_store(tmp_path: Path) -> None:
    path = write_endpoints(
        "http://127.0.0.1:5055/webhook", "postgresql+psycopg://bot:pw@db.local:5433/passerelle", tmp_path / "e.yml"
    )
    endpoints = yaml.safe_load(path.read_text())
    assert endpoints["action_endpoint"] == {"url": "http://127.0.0.1:5055/webhook"}
    assert endpoints["tracker_store"] == {
        "type": "stores.windowed_sql.WindowedSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.local",
        "port": 5433,
        "db": "passerelle",
        "username": "bot",
        "password": "pw",
        "window": 60,
    }
    assert path.stat().st_mode & 0o077 == 0, "the file holds a password: owner only"


def test_several_rasa_workers_share_a_redis_lock_store(tmp_path: Path) -> None:
    path = write_endpoints("http://127.0.0.1:5055/webhook", "sqlite:///t.db", tmp_path / "e.yml", lock_store_port=6390)
    endpoints = yaml.safe_load(path.read_text())
    assert endpoints["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6390, "db": 0}
    single = yaml.safe_load(write_endpoints("http://a/webhook", "sqlite:///t.db", tmp_path / "one.yml").read_text())
    assert "lock_store" not in single  # one worker: Rasa's own in-memory locks
