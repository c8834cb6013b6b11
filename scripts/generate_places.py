"""Write a synthetic, national-scale file of places in the national standard, dirty rows included.

    python scripts/generate_places.py [--count 20000] [--seed 1] [--format csv|json] [--separator ';'] OUT

The file follows the columns of the "standard des lieux de médiation numérique" (LaMednum/standard-mediation-num
v1.0.2) in the schema's order, like the national file republished on data.gouv.fr: CSV (UTF-8, `,` separator by
default, `;` with --separator ';' as some real exports do) or JSON (a list of objects with the same keys;
multi-valued cells stay `|`-joined strings; valid coordinates are JSON numbers, every other value a string,
empty values are "").

Places sit at real commune centres (knowledge/data/communes.csv, communes chosen with a weight equal to their
population) plus a random offset of at most 2 km. Everything is fake and says so: ids "synth-000001", names
"Lieu synthétique 00001", addresses "Adresse synthétique 00001", source "Synthétique Passerelle", pivot
"00000000000000" (the standard's placeholder for an unknown SIRET); telephone, courriels, site_web, prise_rdv and
fiche_acces_libre are always empty. The output depends only on --count and --seed (and on communes.csv).

Dirty rows, each row carrying at most one defect (expected counts for --count 20000; each kind gets
max(1, round(rate × count)) rows, so every kind is present as soon as --count >= 100):

    kind                     rate    20000  what the row looks like / what an importer should do
    missing_id               0.3 %      60  id is empty: reject
    missing_nom              0.3 %      60  nom is empty: reject
    no_coords_with_commune   1.0 %     200  latitude and longitude empty, valid commune + code_postal + code_insee:
                                            keep, place the row at the commune centre
    no_coords_no_commune     0.3 %      60  latitude, longitude, commune, code_postal and code_insee empty: reject
    latitude_text            0.2 %      40  latitude is "abc" (longitude valid): no usable coordinates
    duplicate_id             0.3 %      60  the id of an earlier clean row, with a different nom (each id is
                                            duplicated at most once): keep one of the two
    unknown_service          0.3 %      60  services holds a value outside the standard's list (alone or after a
                                            valid one)
    comma_decimal            0.3 %      60  latitude and longitude written with a decimal comma ("49,1157"):
                                            parse as 49.1157
    -------------------------------------------------------------------------------------------------------------
    total                    3.0 %     600
    invalid_horaires         8.0 %    1600  horaires is a realistic string that is not OSM opening_hours syntax
                                            ("Lundi au vendredi 9h-12h", "sur rendez-vous"…): keep the place, show
                                            the raw text; chosen among rows without another defect

About 10 % of the other rows have an empty horaires (not a defect: many real places give none). The exact counts
are printed to stderr at the end. --clean writes no dirty rows at all. Standard library only.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import itertools
import json
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMUNES_CSV = ROOT / "knowledge" / "data" / "communes.csv"

# The standard's columns and allowed values, derived from LaMednum/standard-mediation-num v1.0.2 by
# scripts/derive_places_standard.py.
STANDARD = json.loads((ROOT / "knowledge" / "data" / "places_standard.json").read_text(encoding="utf-8"))
FIELDS = tuple(STANDARD["fields"])
SERVICES = tuple(STANDARD["choices"]["services"])
PUBLICS = tuple(STANDARD["choices"]["publics_specifiquement_adresses"])
PRISE_EN_CHARGE = tuple(STANDARD["choices"]["prise_en_charge_specifique"])
FRAIS = tuple(STANDARD["choices"]["frais_a_charge"])
DISPOSITIFS = (
    "Aidants Connect",
    "Bibliothèques numérique de référence",
    "Certification PIX",
    "Conseillers numériques",
    "France Services",
    "Grande école du numérique",
    "Point d'accès numérique CAF",
    "Promeneurs du net",
)
MODALITES_ACCES = ("Se présenter", "Téléphoner", "Contacter par mail", "Prendre un RDV en ligne")
MODALITES_ACCOMPAGNEMENT = ("En autonomie", "Accompagnement individuel", "Dans un atelier collectif", "À distance")
# data.inclusion's vocabulary of structure types, which the standard refers to.
TYPOLOGIES = ("EPN", "BIB", "MUNI", "CCAS", "ASSO", "RFS", "CS", "CSC", "TIERS_LIEUX", "MJC", "EPCI", "PIMMS")

VALID_HORAIRES = (
    "Mo-Fr 09:00-12:00,14:00-17:30",
    "Mo-Fr 08:30-12:30,13:30-17:00",
    "Tu-Sa 10:00-12:30,14:00-18:00",
    "Tu,Th 14:00-18:00; Sa 09:30-12:30",
    'We 09:00-12:00 "sur rendez-vous"',
    "Mo 14:00-17:00; We 09:00-12:00; Fr 14:00-17:00",
    "Mo-Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00",
    "We,Sa 14:00-18:00",
    "Mo-Fr 09:00-17:00; PH off",
    "Tu,Fr 09:30-12:00",
    "Th[1,3] 09:00-12:00",
    'Mo-Fr 09:00-12:00; Tu,Th 14:00-17:00 "sur rendez-vous"',
)
# Real-world values that are not OSM opening_hours syntax.
INVALID_HORAIRES = (
    "Lundi au vendredi 9h-12h",
    "sur rendez-vous",
    "Du lundi au vendredi de 9h à 12h et de 14h à 17h",
    "Mo-Fr 9h-12h",
    "Lu-Ve 09:00-17:00",
    "Mardi et jeudi après-midi",
    "Horaires variables, nous contacter",
    "Le mercredi matin",
    "9h-12h / 14h-17h",
)
UNKNOWN_SERVICES = ("Réparation de vélos", "Aide numérique", "Cours de cuisine", "Informatique")

SOURCE = "Synthétique Passerelle"
PIVOT_UNKNOWN = "00000000000000"

# kind -> (rate, what an importer should do): the order is the order of the summary.
DIRTY_KINDS = {
    "missing_id": (0.003, "reject"),
    "missing_nom": (0.003, "reject"),
    "no_coords_with_commune": (0.010, "keep, at the commune centre"),
    "no_coords_no_commune": (0.003, "reject"),
    "latitude_text": (0.002, "no usable coordinates"),
    "duplicate_id": (0.003, "keep one of the two"),
    "unknown_service": (0.003, "drop the unknown value"),
    "comma_decimal": (0.003, "parse the decimal comma"),
}
INVALID_HORAIRES_RATE = 0.08
EMPTY_HORAIRES_RATE = 0.10
MAX_OFFSET_KM = 2.0


def load_communes(path: Path = COMMUNES_CSV) -> list[tuple[str, str, list[str], float, float, int]]:
    """Communes (not delegated ones) with a population and a postcode: (insee, name, postcodes, lat, lon, pop)."""
    communes = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["kind"] != "commune" or not row["postcodes"] or not row["population"]:
                continue
            population = int(row["population"])
            if population > 0:
                postcodes = row["postcodes"].split()
                communes.append(
                    (row["insee"], row["name"], postcodes, float(row["lat"]), float(row["lon"]), population)
                )
    return communes


def dirty_counts(count: int) -> dict[str, int]:
    """How many rows of each dirty kind: max(1, round(rate × count)), or round(rate × count) below 100 rows."""
    counts = {}
    for kind, (rate, _) in DIRTY_KINDS.items():
        counts[kind] = round(rate * count) if count < 100 else max(1, round(rate * count))
    return counts


def _pick(rng: random.Random, values: tuple[str, ...], low: int, high: int) -> str:
    """Between low and high distinct values, in the standard's order, `|`-joined."""
    chosen = set(rng.sample(values, rng.randint(low, high)))
    return "|".join(value for value in values if value in chosen)


def _maybe(rng: random.Random, probability: float, values: tuple[str, ...], high: int = 2) -> str:
    return _pick(rng, values, 1, high) if rng.random() < probability else ""


def generate(count: int = 20_000, seed: int = 1, *, clean: bool = False) -> tuple[list[dict[str, object]], dict]:
    """The rows (coordinates as floats when valid, strings otherwise) and the count of each dirty kind."""
    rng = random.Random(seed)
    communes = load_communes()
    cumulative = list(itertools.accumulate(commune[5] for commune in communes))
    picked = rng.choices(communes, cum_weights=cumulative, k=count)
    first_day = dt.date(2024, 1, 1).toordinal()
    last_day = dt.date(2026, 11, 30).toordinal()

    rows: list[dict[str, object]] = []
    for index, (insee, name, postcodes, lat, lon, _) in enumerate(picked, start=1):
        distance = MAX_OFFSET_KM * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        latitude = round(lat + distance * math.cos(angle) / 111.32, 5)
        longitude = round(lon + distance * math.sin(angle) / (111.32 * math.cos(math.radians(lat))), 5)
        row: dict[str, object] = dict.fromkeys(FIELDS, "")
        row.update(
            id=f"synth-{index:06d}",
            pivot=PIVOT_UNKNOWN,
            nom=f"Lieu synthétique {index:05d}",
            commune=name,
            code_postal=rng.choice(postcodes),
            code_insee=insee,
            adresse=f"Adresse synthétique {index:05d}",
            latitude=latitude,
            longitude=longitude,
            typologie=rng.choice(TYPOLOGIES),
            horaires="" if rng.random() < EMPTY_HORAIRES_RATE else rng.choice(VALID_HORAIRES),
            presentation_resume="Lieu synthétique généré pour les tests (données fictives).",
            source=SOURCE,
            itinerance="Itinérant" if rng.random() < 0.03 else "Fixe",
            date_maj=dt.date.fromordinal(rng.randint(first_day, last_day)).isoformat(),
            services=_pick(rng, SERVICES, 1, 4),
            publics_specifiquement_adresses=_maybe(rng, 0.25, PUBLICS),
            prise_en_charge_specifique=_maybe(rng, 0.2, PRISE_EN_CHARGE),
            frais_a_charge=_pick(rng, FRAIS, 1, 1 if rng.random() < 0.9 else 2),
            dispositif_programmes_nationaux=_maybe(rng, 0.4, DISPOSITIFS),
            modalites_acces=_pick(rng, MODALITES_ACCES, 1, 2),
            modalites_accompagnement=_pick(rng, MODALITES_ACCOMPAGNEMENT, 1, 3),
        )
        rows.append(row)

    counts = dict.fromkeys(DIRTY_KINDS, 0)
    counts["invalid_horaires"] = 0
    if clean:
        return rows, counts

    wanted = dirty_counts(count)
    positions = rng.sample(range(count), min(count, sum(wanted.values())))
    dirty_at: dict[int, str] = {}
    start = 0
    for kind, number in wanted.items():
        for position in positions[start : start + number]:
            dirty_at[position] = kind
        start += number
    clean_positions = sorted(set(range(count)) - dirty_at.keys())
    duplicated: set[int] = set()

    for position in sorted(dirty_at):
        kind = dirty_at[position]
        row = rows[position]
        if kind == "missing_id":
            row["id"] = ""
        elif kind == "missing_nom":
            row["nom"] = ""
        elif kind == "no_coords_with_commune":
            row["latitude"] = row["longitude"] = ""
        elif kind == "no_coords_no_commune":
            row["latitude"] = row["longitude"] = row["commune"] = row["code_postal"] = row["code_insee"] = ""
        elif kind == "latitude_text":
            row["latitude"] = "abc"
        elif kind == "duplicate_id":
            earlier = clean_positions[: bisect.bisect_left(clean_positions, position)]
            candidates = [other for other in earlier if other not in duplicated] or [
                other for other in clean_positions if other not in duplicated
            ]
            if not candidates:
                continue
            source = rng.choice(candidates)
            duplicated.add(source)
            row["id"] = rows[source]["id"]
            row["nom"] = f"Lieu synthétique {position + 1:05d} (doublon)"
        elif kind == "unknown_service":
            unknown = rng.choice(UNKNOWN_SERVICES)
            row["services"] = f"{rng.choice(SERVICES)}|{unknown}" if rng.random() < 0.5 else unknown
        elif kind == "comma_decimal":
            row["latitude"] = f"{row['latitude']:.4f}".replace(".", ",")
            row["longitude"] = f"{row['longitude']:.4f}".replace(".", ",")
        counts[kind] += 1

    eligible = [position for position in clean_positions if position not in duplicated]
    for position in rng.sample(eligible, min(len(eligible), round(INVALID_HORAIRES_RATE * count))):
        rows[position]["horaires"] = rng.choice(INVALID_HORAIRES)
        counts["invalid_horaires"] += 1
    return rows, counts


def _cell(value: object) -> str:
    return f"{value:.5f}" if isinstance(value, float) else str(value)


def write(rows: list[dict[str, object]], out: Path, fmt: str = "csv", separator: str = ",") -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        # One object a line: readable, greppable, and written by the fast C encoder.
        lines = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
        out.write_text(f"[\n{lines}\n]\n", encoding="utf-8")
        return
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=separator, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([_cell(row[field]) for field in FIELDS])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="file to write")
    parser.add_argument("--count", type=int, default=20_000, help="number of rows (default 20000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--separator", choices=(",", ";"), default=",", help="CSV separator (default ',')")
    parser.add_argument("--clean", action="store_true", help="no dirty rows at all")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")

    started = time.perf_counter()
    rows, counts = generate(args.count, args.seed, clean=args.clean)
    write(rows, args.out, args.format, args.separator)
    elapsed = time.perf_counter() - started

    total = sum(counts[kind] for kind in DIRTY_KINDS)
    print(
        f"{len(rows)} rows written to {args.out} ({args.format}, seed {args.seed}) in {elapsed:.2f} s", file=sys.stderr
    )
    print("dirty rows (kind, count, what an importer should do):", file=sys.stderr)
    for kind, (_, action) in DIRTY_KINDS.items():
        print(f"  {kind:<24}{counts[kind]:>6}  {action}", file=sys.stderr)
    print(f"  {'total':<24}{total:>6}  ({100 * total / len(rows):.1f} % of rows)", file=sys.stderr)
    share = 100 * counts["invalid_horaires"] / len(rows)
    print(
        f"  {'invalid_horaires':<24}{counts['invalid_horaires']:>6}  keep, show the raw text ({share:.1f} %)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
