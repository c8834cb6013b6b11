"""The measures of `make eval`, on parses whose right answers are known."""

from __future__ import annotations

from pathlib import Path

from bot.tools.evaluation import (
    BASELINE,
    CANDIDATES,
    KEPT,
    Candidate,
    Example,
    Report,
    Result,
    experiment_hash,
    meets_targets,
    outcome,
    render,
)


def parsed(intent: str, confidence: float = 0.9) -> dict:
    return {"intent": {"name": intent, "confidence": confidence}, "intent_ranking": [{"name": intent}]}


def report(pairs: list[tuple[str, str]]) -> Report:
    """(label, predicted intent) pairs; a label is a fiche id or an intent name."""
    return Report([outcome(Example(f"message {i}", label), parsed(intent)) for i, (label, intent) in enumerate(pairs)])


SAMPLE = [
    ("ameli", "faq_ameli"),  # right
    ("caf", "faq_ameli"),  # wrong fiche
    ("impots", "nlu_fallback"),  # rejected
    ("greet", "greet"),  # right
    ("out_of_scope", "out_of_scope"),  # caught
    ("out_of_scope", "nlu_fallback"),  # caught by the fallback
    ("out_of_scope", "faq_caf"),  # answered with a fiche
]


def test_accuracy_rejection_and_out_of_scope_recall_count_what_the_user_gets() -> None:
    measured = report(SAMPLE)
    assert measured.in_scope_accuracy == 2 / 4
    assert measured.in_scope_rejected == 1 / 4
    assert measured.oos_recall == 2 / 3
    assert measured.oos_recall_strict == 1 / 3


def test_the_kept_configuration_must_match_the_baseline_on_both_measures_and_reject_little() -> None:
    baseline = report(SAMPLE)
    better = report([*SAMPLE[:2], ("impots", "faq_impots"), *SAMPLE[3:6], ("out_of_scope", "nlu_fallback")])
    assert meets_targets(better, baseline)
    assert not meets_targets(baseline, better), "lower accuracy"
    rejecting = report([("ameli", "faq_ameli")] * 30 + [("caf", "nlu_fallback")] + SAMPLE[4:6])
    assert not meets_targets(rejecting, report([("ameli", "faq_ameli")] * 30 + [("caf", "faq_ameli")])), "> 3 %"


def test_the_report_has_one_row_per_configuration_and_says_whether_the_target_is_met() -> None:
    results = [
        Result(Candidate(BASELINE, "baseline", Path("b.yml")), 1.0, report(SAMPLE), Report([])),
        Result(Candidate(KEPT, "kept", Path("k.yml")), 2.0, report(SAMPLE), report(SAMPLE)),
    ]
    text = render(results, [o.example for o in report(SAMPLE).outcomes])
    assert "| baseline | 1 s | 50.0% | 66.7% | 25.0% | – | – | – |" in text
    assert "| kept | 2 s | 50.0% | 66.7% | 25.0% | 50.0% | 66.7% | 25.0% |" in text
    assert "questions rejected: ❌" in text, "25 % of in-scope questions rejected is above 3 %"


def test_a_trained_candidate_is_reused_only_while_its_inputs_are_the_same(tmp_path: Path) -> None:
    kept = next(c for c in CANDIDATES if c.name == KEPT)
    assert experiment_hash(kept.config) == experiment_hash(kept.config)
    changed = tmp_path / "config.yml"
    changed.write_text(kept.config.read_text(encoding="utf-8").replace("C: 2.0", "C: 1.0"), encoding="utf-8")
    assert experiment_hash(changed) != experiment_hash(kept.config)
