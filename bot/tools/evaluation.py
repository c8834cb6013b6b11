"""`make eval`: NLU configurations compared on the held-out split (nlu/eval/heldout.jsonl, never trained on).

Each candidate configuration of `CANDIDATES` is trained cold by `nlu/eval/experiment.py` in Rasa's environment;
its parses of the held-out messages and of a 5-fold cross-validation on the training data are scored here.
Trained models and cross-validation parses are kept in var/eval/ under a hash of what they depend on, so that
running `make eval` again only re-parses.

Labels are a fiche id for FAQ questions, else an intent name. Predictions are those of `passerelle classify`:
a fallback counts as `out_of_scope` (the assistant does not answer in scope), right for an out-of-scope
message and wrong for an in-scope one, where it counts as rejected.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.rasa.client import RasaClient
from bot.rasa.project import NLU_DIR, RASA_VERSION, TrainingError, build_faq_data, rasa_env
from bot.settings import Settings
from bot.tools.classify import prediction
from knowledge.fiches import topic_of_intent
from knowledge.settings import PROJECT_ROOT, VAR_DIR

HELDOUT = PROJECT_ROOT / "nlu" / "eval" / "heldout.jsonl"
REPORT = PROJECT_ROOT / "nlu" / "eval" / "report.md"
OUT_OF_SCOPE = "out_of_scope"
EVAL_DIR = NLU_DIR / "eval"
CONFIGS_DIR = EVAL_DIR / "configs"
EXPERIMENT = EVAL_DIR / "experiment.py"
CACHE_DIR = VAR_DIR / "eval"
FOLDS = 5
# What the kept configuration must do on the held-out split: at least as well as the linear baseline on both
# measures, and reject at most this share of in-scope questions.
MAX_IN_SCOPE_REJECTED = 0.03
BASELINE = "linear_baseline"
KEPT = "kept"


@dataclass(frozen=True)
class Candidate:
    name: str
    description: str
    config: Path


CANDIDATES = [
    Candidate("diet", "DIET as before (2 transformer layers, 80 epochs)", CONFIGS_DIR / "diet.yml"),
    Candidate("diet_small", "DIET without transformer layers, 30 epochs", CONFIGS_DIR / "diet_small.yml"),
    Candidate("logreg", "Rasa's LogisticRegressionClassifier", CONFIGS_DIR / "logreg.yml"),
    Candidate(BASELINE, "linear baseline: TF-IDF + linear SVM alone", CONFIGS_DIR / "linear_baseline.yml"),
    Candidate("linear_fallback", "linear SVM (C = 2) + fallback, no input guards", CONFIGS_DIR / "linear_fallback.yml"),
    Candidate(KEPT, "**kept** (`nlu/config.yml`): linear SVM, fallback, input guards", NLU_DIR / "config.yml"),
]


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass
class Outcome:
    example: Example
    predicted: str
    raw_intent: str
    guesses: list[str] = field(default_factory=list)


def label_of(intent: str | None, fiche: str | None) -> str:
    return fiche or intent or "none"


def load_heldout(path: Path = HELDOUT) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item.get("text"), str) or not item.get("intent"):
            raise ValueError(f"{path}:{number}: expected {{'text', 'intent', 'fiche'}}")
        examples.append(Example(item["text"], label_of(item["intent"], item.get("fiche"))))
    return examples


def outcome(example: Example, parsed: dict[str, Any]) -> Outcome:
    predicted = prediction(example.text, parsed)
    ranking = [r.get("name") for r in parsed.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    guesses = [topic_of_intent(name) or name for name in ranking[:2] if name]
    raw = (parsed.get("intent") or {}).get("name") or "none"
    return Outcome(example, label_of(predicted["intent"], predicted["fiche"]), raw, guesses)


@dataclass
class Report:
    outcomes: list[Outcome]

    def _in_scope(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.example.label != OUT_OF_SCOPE]

    def _oos(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.example.label == OUT_OF_SCOPE]

    @staticmethod
    def _share(outcomes: list[Outcome], test: Callable[[Outcome], bool]) -> float:
        return sum(test(o) for o in outcomes) / max(1, len(outcomes))

    @property
    def in_scope_accuracy(self) -> float:
        return self._share(self._in_scope(), lambda o: o.predicted == o.example.label)

    @property
    def in_scope_within_guesses(self) -> float:
        return self._share(self._in_scope(), lambda o: o.example.label in o.guesses)

    @property
    def in_scope_rejected(self) -> float:
        """In-scope questions the assistant does not answer in scope (fallback or `out_of_scope`)."""
        return self._share(self._in_scope(), lambda o: o.predicted == OUT_OF_SCOPE)

    @property
    def oos_recall(self) -> float:
        return self._share(self._oos(), lambda o: o.predicted == OUT_OF_SCOPE)

    @property
    def oos_recall_strict(self) -> float:
        return self._share(self._oos(), lambda o: o.raw_intent == OUT_OF_SCOPE)

    def half(self, parity: int) -> Report:
        """The outcomes of the even (0) or odd (1) lines of the held-out file."""
        return Report(self.outcomes[parity::2])

    def per_label(self) -> list[tuple[str, float, float, float, int]]:
        labels = sorted({o.example.label for o in self.outcomes})
        rows = []
        for label in labels:
            tp = sum(o.example.label == label and o.predicted == label for o in self.outcomes)
            predicted = sum(o.predicted == label for o in self.outcomes)
            support = sum(o.example.label == label for o in self.outcomes)
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append((label, precision, recall, f1, support))
        return rows

    def confusions(self, limit: int = 25) -> list[tuple[str, str, int]]:
        pairs = Counter((o.example.label, o.predicted) for o in self.outcomes if o.predicted != o.example.label)
        return [(gold, predicted, count) for (gold, predicted), count in pairs.most_common(limit)]

    def render_details(self) -> str:
        in_scope, oos = len(self._in_scope()), len(self._oos())
        lines = [
            f"{len(self.outcomes)} messages: {in_scope} in scope, {oos} out of scope.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| in-scope top-1 accuracy | {self.in_scope_accuracy:.1%} |",
            f"| out-of-scope recall (scope answer or fallback) | {self.oos_recall:.1%} |",
            f"| out-of-scope recall, strict (`out_of_scope` intent, no fallback) | {self.oos_recall_strict:.1%} |",
            f"| in scope: rejected (fallback or out of scope) | {self.in_scope_rejected:.1%} |",
            f"| in scope: right label among the two best guesses | {self.in_scope_within_guesses:.1%} |",
            "",
            "The fallback threshold (`nlu/config.yml`) and the model's settings were chosen on the dev half (even",
            "lines of the file); the test half (odd lines) was used for no choice:",
            "",
            "| half | in-scope accuracy | out-of-scope recall | in scope rejected |",
            "|---|---|---|---|",
        ]
        for name, half in (("dev (even lines)", self.half(0)), ("test (odd lines)", self.half(1))):
            lines.append(
                f"| {name} | {half.in_scope_accuracy:.1%} | {half.oos_recall:.1%} | {half.in_scope_rejected:.1%} |"
            )
        lines += ["", "### Per label", "", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {label} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |" for label, p, r, f, n in self.per_label()]
        lines += ["", "### Confusion pairs (expected → predicted)", ""]
        lines += ["| expected | predicted | count |", "|---|---|---|"]
        lines += [f"| {gold} | {predicted} | {count} |" for gold, predicted, count in self.confusions()]
        return "\n".join(lines) + "\n"


@dataclass
class Result:
    candidate: Candidate
    train_seconds: float
    heldout: Report
    cv: Report


def experiment_hash(config: Path) -> str:
    """Hash of what a trained candidate depends on: Rasa's version, its config, its components and the data."""
    digest = hashlib.sha256(RASA_VERSION.encode())
    pipeline = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("pipeline") or []
    modules = sorted({step["name"].split(".")[1] for step in pipeline if step["name"].startswith("components.")})
    files = [
        config,
        EXPERIMENT,
        NLU_DIR / "requirements.lock",
        *(NLU_DIR / "components" / f"{module}.py" for module in modules),
        *sorted((NLU_DIR / "data").rglob("*.yml")),
    ]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def run_candidate(
    candidate: Candidate, examples: Sequence[Example], rasa_python: Path, folds: int = FOLDS, fresh: bool = False
) -> Result:
    """Train (or reuse) the candidate's model and cross-validation in Rasa's environment, and score them."""
    work = CACHE_DIR / f"{candidate.name}-{experiment_hash(candidate.config)}"
    for stale in CACHE_DIR.glob(f"{candidate.name}-*"):
        if stale != work or fresh:
            shutil.rmtree(stale)
    with tempfile.TemporaryDirectory(prefix="passerelle-eval-") as tmp:
        texts, out = Path(tmp) / "texts.json", Path(tmp) / "out.json"
        texts.write_text(json.dumps([e.text for e in examples], ensure_ascii=False), encoding="utf-8")
        command = [str(rasa_python), str(EXPERIMENT), "--config", str(candidate.config), "--data", "data"]
        command += ["--work", str(work), "--texts", str(texts), "--folds", str(folds), "--out", str(out)]
        completed = subprocess.run(command, cwd=NLU_DIR, env=rasa_env(), check=False)
        if completed.returncode != 0:
            raise TrainingError(f"evaluating {candidate.name} failed (exit code {completed.returncode})")
        data = json.loads(out.read_text(encoding="utf-8"))
    heldout = Report([outcome(e, parsed) for e, parsed in zip(examples, data["parses"], strict=True)])
    cv = Report(
        [
            outcome(Example(item["text"], label_of(item["intent"], topic_of_intent(item["intent"]))), item["parse"])
            for item in data["cv"]
        ]
    )
    return Result(candidate, data["train_seconds"], heldout, cv)


def meets_targets(kept: Report, baseline: Report) -> bool:
    return (
        kept.in_scope_accuracy >= baseline.in_scope_accuracy
        and kept.oos_recall >= baseline.oos_recall
        and kept.in_scope_rejected <= MAX_IN_SCOPE_REJECTED
    )


def render(results: list[Result], examples: Sequence[Example]) -> str:
    by_name = {result.candidate.name: result for result in results}
    in_scope = sum(e.label != OUT_OF_SCOPE for e in examples)
    lines = [
        "# NLU evaluation",
        "",
        f"Held-out split: {len(examples)} messages of `nlu/eval/heldout.jsonl` (never trained on), {in_scope} in",
        f"scope and {len(examples) - in_scope} out of scope. Cross-validation: {FOLDS} stratified folds of the",
        "training data (seeded), each fold trained cold. Training time: the NLU part alone, cold (no Rasa cache),",
        "on this machine, from the run that trained the candidate (cached since: other work may have shared the",
        "machine then; DIET's 80 epochs took about 7.5 min alone on 2 cores). « Rejected »: in-scope questions",
        "answered with a fallback or the out-of-scope answer.",
        "",
        "| configuration | training | held-out: in-scope accuracy | out-of-scope recall | in scope rejected "
        f"| {FOLDS}-fold CV: in-scope accuracy | out-of-scope recall | in scope rejected |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        h, cv = result.heldout, result.cv
        cv_cells = (
            f"{cv.in_scope_accuracy:.1%} | {cv.oos_recall:.1%} | {cv.in_scope_rejected:.1%}"
            if cv.outcomes
            else "– | – | –"
        )
        lines.append(
            f"| {result.candidate.description} | {result.train_seconds:.0f} s | {h.in_scope_accuracy:.1%} "
            f"| {h.oos_recall:.1%} | {h.in_scope_rejected:.1%} | {cv_cells} |"
        )
    if KEPT in by_name and BASELINE in by_name:
        ok = meets_targets(by_name[KEPT].heldout, by_name[BASELINE].heldout)
        lines += [
            "",
            f"Kept configuration at least as good as the linear baseline on both held-out measures, with at most "
            f"{MAX_IN_SCOPE_REJECTED:.0%} of in-scope questions rejected: {'✅' if ok else '❌'}",
        ]
    if KEPT in by_name:
        lines += ["", "## The kept configuration on the held-out split", "", by_name[KEPT].heldout.render_details()]
    return "\n".join(lines).rstrip("\n") + "\n"


def run_eval(settings: Settings, only: list[str] | None = None, fresh: bool = False, report_path: Path = REPORT) -> int:
    """Compare the candidates (or only some of them); writes the report when all were run.

    Returns 0 when the kept configuration meets its targets against the baseline, 1 otherwise.
    """
    build_faq_data()
    rasa_python = Path(settings.rasa_bin).parent / "python"
    if not rasa_python.exists():
        raise TrainingError(f"{rasa_python} not found: run `make setup` to install Rasa")
    examples = load_heldout()
    unknown = set(only or []) - {c.name for c in CANDIDATES}
    if unknown:
        raise TrainingError(f"unknown configuration(s) {sorted(unknown)}; choose among {[c.name for c in CANDIDATES]}")
    chosen = [c for c in CANDIDATES if not only or c.name in only]
    results = []
    for candidate in chosen:
        print(f"Evaluating {candidate.name} ({candidate.config.relative_to(PROJECT_ROOT)})…", flush=True)
        results.append(run_candidate(candidate, examples, rasa_python, fresh=fresh))
    text = render(results, examples)
    if len(results) == len(CANDIDATES):
        report_path.write_text(text, encoding="utf-8")
    print(text)
    by_name = {r.candidate.name: r for r in results}
    if KEPT in by_name and BASELINE in by_name:
        return 0 if meets_targets(by_name[KEPT].heldout, by_name[BASELINE].heldout) else 1
    return 0


async def evaluate(rasa: RasaClient, examples: list[Example], concurrency: int = 8) -> Report:
    """The held-out split through a running Rasa server (what `passerelle classify` sees)."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(example: Example) -> Outcome:
        async with semaphore:
            return outcome(example, await rasa.parse(example.text))

    return Report(list(await asyncio.gather(*(one(example) for example in examples))))


async def evaluate_at(rasa_url: str, timeout: float) -> Report:
    rasa = RasaClient(rasa_url, timeout=timeout)
    try:
        return await evaluate(rasa, load_heldout())
    finally:
        await rasa.close()
