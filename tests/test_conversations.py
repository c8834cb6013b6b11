"""The Rasa project is valid and passes its conversation tests (nlu/tests/), with the trained model."""

from __future__ import annotations

import subprocess

import pytest

from bot.rasa.project import NLU_DIR, current_model, rasa_env, validate
from bot.settings import Settings


def test_rasa_data_validates_without_warnings() -> None:
    validate(Settings().rasa_bin)  # raises TrainingError on any warning


def test_conversation_tests_pass(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = current_model()
    result = subprocess.run(
        [
            Settings().rasa_bin,
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            "tests",
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
            "--no-plot",
        ],
        cwd=NLU_DIR,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    if result.returncode != 0:
        pytest.fail(f"conversation tests failed:\n{details}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
