"""Derive knowledge/data/places_standard.json from the national standard of places of digital mediation.

Source (copied under ../shared/spec, never read at run time): « Standard des lieux de médiation numérique »,
LaMednum/standard-mediation-num v1.0.2 (Frictionless table schema, Licence Ouverte / etalab-2.0),
https://github.com/LaMednum/standard-mediation-num

Keeps what the importer and the data checks need: the field names in order, which are required, the patterns of
single values, and the allowed values of the multi-valued fields (`|`-separated in the data).

    python3 scripts/derive_places_standard.py ../shared/spec/schema_lieux_mediation_numerique.json \
        knowledge/data/places_standard.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_CHOICES = re.compile(r"^\(\?:\(\?:\^\|\\\|\)\((?P<choices>.*)\)\)\+\$$")


def allowed_values(pattern: str) -> list[str] | None:
    """The alternatives of a pattern like `(?:(?:^|\\|)(A|B|C \\(x\\)))+$`, unescaped; None for other patterns."""
    match = _CHOICES.match(pattern)
    if match is None:
        return None
    values = re.split(r"(?<!\\)\|", match["choices"])
    return [re.sub(r"\\(.)", r"\1", value) for value in values]


def derive(schema_path: Path, output: Path) -> int:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    fields = schema["fields"]
    derived = {
        "source": f"{schema['homepage']} {schema['version']} ({schema['licenses'][0]['title']})",
        "fields": [field["name"] for field in fields],
        "required": [field["name"] for field in fields if field.get("constraints", {}).get("required")],
        "patterns": {
            field["name"]: pattern
            for field in fields
            if (pattern := field.get("constraints", {}).get("pattern")) and allowed_values(pattern) is None
        },
        "choices": {
            field["name"]: values
            for field in fields
            if (values := allowed_values(field.get("constraints", {}).get("pattern", ""))) is not None
        },
    }
    output.write_text(json.dumps(derived, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(fields)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(f"{derive(Path(sys.argv[1]), Path(sys.argv[2]))} fields written to {sys.argv[2]}")
