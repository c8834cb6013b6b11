"""The communes dataset the project ships (derived by scripts/derive_communes.py from La Poste and INSEE data)."""

from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "knowledge" / "data" / "communes.csv"


def rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_commune_has_a_name_a_departement_and_coordinates_in_france() -> None:
    communes = rows()
    assert len(communes) > 34_000
    for row in communes:
        assert row["name"] and row["departement"], row
        lat, lon = float(row["lat"]), float(row["lon"])
        metropole = 41 <= lat <= 51.2 and -5.3 <= lon <= 9.7
        overseas = row["departement"].startswith("97")
        assert metropole or overseas, row


def test_a_postcode_and_a_delegated_commune_find_their_place() -> None:
    by_name = {(row["name"], row["kind"]): row for row in rows()}
    saint_lo = by_name[("Saint-Lô", "commune")]
    assert "50000" in saint_lo["postcodes"].split()
    assert abs(float(saint_lo["lat"]) - 49.11) < 0.05 and abs(float(saint_lo["lon"]) + 1.08) < 0.05
    cherbourg = by_name[("Cherbourg-Octeville", "deleguee")]
    assert cherbourg["parent"] == by_name[("Cherbourg-en-Cotentin", "commune")]["insee"]
