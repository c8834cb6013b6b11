"""Derive knowledge/topics.yml from the shared specification (../shared/spec/topics.yml).

The project never reads ../shared at run time or in tests: this script copies the contract into the repo,
with its source, so that the tests can check that every topic has a fiche. Run it when the spec changes:
    .venv/bin/python scripts/derive_topics.py [path/to/shared/spec/topics.yml]
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "spec" / "topics.yml"
TARGET = ROOT / "knowledge" / "topics.yml"
HEADER = (
    "# Derived by scripts/derive_topics.py from shared/spec/topics.yml (the project's contract of topic ids and\n"
    "# intent names). Do not edit here: change the spec, then run the script again.\n"
)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    text = source.read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    if not spec.get("faq_topics") or not spec.get("intents"):
        raise SystemExit(f"{source}: expected 'faq_topics' and 'intents'")
    TARGET.write_text(HEADER + text, encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {len(spec['faq_topics'])} topics, {len(spec['intents'])} intents")


if __name__ == "__main__":
    main()
