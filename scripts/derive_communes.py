"""Derive knowledge/data/communes.csv from the open data on communes and postcodes.

Sources (copied under ../shared/data, never read at run time):
- La Poste, « Base officielle des codes postaux » (data.gouv.fr, Licence Ouverte; « Source : La Poste »):
  INSEE code, postcode and GPS centre of each commune / postcode pair (laposte_hexasmal.csv).
- @etalab/decoupage-administratif 6.0.0 (data from INSEE and La Poste, Licence Ouverte): proper names, type
  (current commune, delegated or associated commune, municipal arrondissement), parent commune, département,
  postcodes, population (communes_decoupage_administratif.json).

Joined on the INSEE code. Each row: insee, name, kind, parent, departement, postcodes (space-separated),
lat, lon (mean of La Poste's centres for that code; a delegated commune without its own takes its parent's),
population (current communes only).

    python3 scripts/derive_communes.py ../shared/data knowledge/data/communes.csv
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

KINDS = {
    "commune-actuelle": "commune",
    "commune-deleguee": "deleguee",
    "commune-associee": "associee",
    "arrondissement-municipal": "arrondissement",
}
FIELDS = ["insee", "name", "kind", "parent", "departement", "postcodes", "lat", "lon", "population"]


def centres(laposte: Path) -> tuple[dict[str, tuple[float, float]], dict[str, set[str]]]:
    """Mean GPS centre and postcodes of each INSEE code in La Poste's file."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    postcodes: dict[str, set[str]] = defaultdict(set)
    with laposte.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            code = row["Code_commune_INSEE"].strip()
            postcodes[code].add(row["Code_postal"].strip())
            gps = (row.get("coordonnees_gps") or "").strip()
            if gps:
                lat, lon = (float(value) for value in gps.split(","))
                points[code].append((lat, lon))
    means = {
        code: (sum(p[0] for p in values) / len(values), sum(p[1] for p in values) / len(values))
        for code, values in points.items()
    }
    return means, postcodes


def derive(shared_data: Path, output: Path) -> int:
    means, laposte_postcodes = centres(shared_data / "laposte_hexasmal.csv")
    entities = json.loads((shared_data / "communes_decoupage_administratif.json").read_text(encoding="utf-8"))
    rows = []
    for entity in entities:
        code, kind = entity["code"], KINDS[entity["type"]]
        parent = entity.get("chefLieu") or entity.get("commune") or ""
        centre = means.get(code) or (means.get(parent) if parent else None)
        if centre is None:
            continue  # no coordinates anywhere: cannot place anything there
        postcodes = sorted(set(entity.get("codesPostaux") or ()) | laposte_postcodes.get(code, set()))
        rows.append(
            {
                "insee": code,
                "name": entity["nom"],
                "kind": kind,
                "parent": parent,
                "departement": entity.get("departement") or "",
                "postcodes": " ".join(postcodes),
                "lat": f"{centre[0]:.5f}",
                "lon": f"{centre[1]:.5f}",
                "population": entity.get("population") or "",
            }
        )
    rows.sort(key=lambda row: (row["insee"], row["kind"] != "commune", row["name"]))
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    count = derive(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{count} communes written to {sys.argv[2]}")
