"""The demo places and ateliers the project ships, and the synthetic national-scale generator.

knowledge/data/places_demo.csv and knowledge/data/ateliers_demo.ics are fictitious and must say so: no real
organisation, no phone number, e-mail or URL. scripts/generate_places.py writes a synthetic file with dirty rows
for the importer's tests and benchmarks.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import math
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import opening_hours
import pytest
import recurring_ical_events

from knowledge.places.catalogue import standard

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "knowledge" / "data"
PLACES_DEMO = DATA / "places_demo.csv"
ATELIERS_DEMO = DATA / "ateliers_demo.ics"
COMMUNES = DATA / "communes.csv"
GENERATOR = ROOT / "scripts" / "generate_places.py"
PARIS = ZoneInfo("Europe/Paris")

# --- The national standard (knowledge/data/places_standard.json, derived from LaMednum/standard-mediation-num
# v1.0.2 by scripts/derive_places_standard.py). Multi-valued fields: one or more `|`-separated values of the
# enumeration (the schema's regular expressions are rebuilt from these lists, spelling included).
FIELDS = standard().fields
REQUIRED = standard().required
PATTERNS = standard().patterns
ENUMERATIONS = standard().choices
PRESENTATION_RESUME_MAX = 280
# typologie refers to data.inclusion's vocabulary of structure types (the values these files use).
TYPOLOGIES = {"EPN", "BIB", "MUNI", "CCAS", "ASSO", "RFS", "CS", "CSC", "TIERS_LIEUX", "MJC", "EPCI", "PIMMS", "ENM"}

COMPILED = {field: re.compile(pattern) for field, pattern in PATTERNS.items()} | {
    field: re.compile(r"(?:(?:^|\|)(" + "|".join(map(re.escape, values)) + r"))+$")
    for field, values in ENUMERATIONS.items()
}
NO_CONTACT = ("telephone", "courriels", "site_web", "prise_rdv", "fiche_acces_libre")

# The project's territories (INSEE codes of the communes the demo uses, Manche by département).
SAINT_ETIENNE_METROPOLE = {"42218", "42095", "42207", "42186", "42189", "42044", "42223", "42183"}
PAYS_DE_SAINT_OMER = {"62765", "62040", "62525", "62014", "62534", "62139", "62902", "62811", "62325"}
SAINT_MEDARD_EN_JALLES = {"33449"}


def territory(code_insee: str) -> str | None:
    if code_insee.startswith("50"):
        return "Manche"
    if code_insee in SAINT_ETIENNE_METROPOLE:
        return "Saint-Étienne Métropole"
    if code_insee in PAYS_DE_SAINT_OMER:
        return "Pays de Saint-Omer"
    if code_insee in SAINT_MEDARD_EN_JALLES:
        return "Saint-Médard-en-Jalles"
    return None


def schema_errors(row: dict[str, object]) -> list[str]:
    """What in a row breaks the standard (required fields, patterns, enumerations, types, lengths)."""
    errors = [f"{field} missing" for field in REQUIRED if not row.get(field)]
    for field, pattern in COMPILED.items():
        value = str(row.get(field) or "")
        if value and not pattern.fullmatch(value):
            errors.append(f"{field}={value!r}")
    for field in ("latitude", "longitude"):
        value = row.get(field)
        if value not in ("", None):
            try:
                float(value)  # type: ignore[arg-type]
            except ValueError:
                errors.append(f"{field}={value!r} is not a number")
    try:
        dt.date.fromisoformat(str(row.get("date_maj")))
    except ValueError:
        errors.append(f"date_maj={row.get('date_maj')!r}")
    if len(str(row.get("presentation_resume") or "")) > PRESENTATION_RESUME_MAX:
        errors.append("presentation_resume longer than 280 characters")
    return errors


def valid_horaires(text: str) -> bool:
    try:
        opening_hours.OpeningHours(text)
    except Exception:
        return False
    return True


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371 * math.hypot(x, y)


def read_csv(path: Path, delimiter: str = ",") -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def places() -> list[dict[str, str]]:
    return read_csv(PLACES_DEMO)[1]


@pytest.fixture(scope="module")
def communes() -> dict[str, dict[str, str]]:
    return {row["insee"]: row for row in read_csv(COMMUNES)[1] if row["kind"] == "commune"}


@pytest.fixture(scope="module")
def calendar() -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(ATELIERS_DEMO.read_bytes())


# --- places_demo.csv ------------------------------------------------------------------------------------------


def test_demo_places_have_the_standard_columns_in_order_and_follow_the_schema(places) -> None:
    header, _ = read_csv(PLACES_DEMO)
    assert tuple(header) == FIELDS
    assert 25 <= len(places) <= 40
    ids = [row["id"] for row in places]
    assert len(set(ids)) == len(ids)
    for row in places:
        assert None not in row and all(value is not None for value in row.values()), row["id"]
        assert schema_errors(row) == [], (row["id"], schema_errors(row))
        assert row["services"], row["id"]
        assert row["typologie"] in TYPOLOGIES, row["id"]
        assert row["date_maj"].startswith("2026-11-"), row["id"]


def test_demo_places_say_they_are_demo_and_carry_no_contact_details(places) -> None:
    for row in places:
        assert row["source"] == "Démo Passerelle (données fictives)", row["id"]
        assert re.fullmatch(r"demo-" + re.escape(row["code_insee"]) + r"-\d+", row["id"]), row["id"]
        assert "démo" in row["nom"].lower(), row["nom"]
        assert "démonstration" in row["presentation_resume"] and "fictive" in row["presentation_resume"], row["id"]
        assert row["adresse"] == "Adresse de démonstration", row["id"]
        assert row["pivot"] == "00000000000000", row["id"]
        for field in NO_CONTACT:
            assert row[field] == "", (row["id"], field)
        text = " ".join(row.values())
        assert not re.search(r"@|https?://|www\.|\+33|\b0\d([ .]?\d\d){4}\b", text), row["id"]


def test_demo_places_match_the_communes_dataset(places, communes) -> None:
    for row in places:
        commune = communes[row["code_insee"]]
        assert row["commune"] == commune["name"], row["id"]
        assert row["code_postal"] in commune["postcodes"].split(), row["id"]
        away = distance_km(
            float(row["latitude"]), float(row["longitude"]), float(commune["lat"]), float(commune["lon"])
        )
        assert 0.1 < away < 1.5, (row["id"], away)
    for first in places:
        for second in places:
            if first["id"] < second["id"]:
                coordinates = [float(row[key]) for row in (first, second) for key in ("latitude", "longitude")]
                assert distance_km(*coordinates) > 0.2, (first["id"], second["id"])


def test_demo_places_cover_the_four_territories(places) -> None:
    by_territory = Counter(territory(row["code_insee"]) for row in places)
    assert None not in by_territory, by_territory
    assert by_territory["Manche"] >= 10
    assert by_territory["Saint-Étienne Métropole"] >= 5
    assert by_territory["Pays de Saint-Omer"] >= 5
    assert 2 <= by_territory["Saint-Médard-en-Jalles"] <= 3
    towns = {row["commune"] for row in places}
    expected = {
        "Saint-Lô",
        "Cherbourg-en-Cotentin",
        "Coutances",
        "Avranches",
        "Granville",
        "Valognes",
        "Carentan-les-Marais",
        "Villedieu-les-Poêles-Rouffigny",
        "Saint-Étienne",
        "Firminy",
        "Saint-Chamond",
        "Rive-de-Gier",
        "Roche-la-Molière",
        "Saint-Omer",
        "Arques",
        "Longuenesse",
        "Aire-sur-la-Lys",
        "Lumbres",
        "Saint-Médard-en-Jalles",
    }
    assert expected <= towns, expected - towns


def test_demo_places_are_varied_like_real_data(places) -> None:
    horaires = [row["horaires"] for row in places]
    assert horaires.count("") == 1
    invalid = [text for text in horaires if text and not valid_horaires(text)]
    assert sorted(invalid) == ["Lundi au vendredi 9h-12h", "sur rendez-vous"]

    def having(field: str, value: str) -> list[dict[str, str]]:
        return [row for row in places if value in row[field].split("|")]

    assert len(having("services", "Aide aux démarches administratives")) >= 4
    assert len(having("services", "Accès internet et matériel informatique")) >= 4
    assert len(having("modalites_accompagnement", "Dans un atelier collectif")) >= 5
    assert any(
        {"France Services", "Conseillers numériques"} <= set(row["dispositif_programmes_nationaux"].split("|"))
        for row in places
    )
    assert any(
        {"Surdité", "Déficience visuelle"} <= set(row["prise_en_charge_specifique"].split("|")) for row in places
    )
    assert having("itinerance", "Itinérant") and having("itinerance", "Fixe")
    assert having("publics_specifiquement_adresses", "Seniors")
    assert {value for row in places for value in row["frais_a_charge"].split("|") if value} == set(
        ENUMERATIONS["frais_a_charge"]
    )


def test_the_saint_lo_demo_place_hosts_ateliers(places) -> None:
    saint_lo = {row["id"]: row for row in places}["demo-50502-1"]
    assert saint_lo["commune"] == "Saint-Lô" and saint_lo["code_postal"] == "50000"
    assert "Dans un atelier collectif" in saint_lo["modalites_accompagnement"].split("|")
    assert "Aide aux démarches administratives" in saint_lo["services"].split("|")
    assert valid_horaires(saint_lo["horaires"])


# --- ateliers_demo.ics ----------------------------------------------------------------------------------------


def test_demo_ateliers_are_weekly_events_at_demo_places(calendar, places) -> None:
    by_id = {row["id"]: row for row in places}
    assert calendar.get("VERSION") == "2.0"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]
    events = calendar.walk("VEVENT")
    assert 6 <= len(events) <= 8
    uids = [str(event["UID"]) for event in events]
    assert len(set(uids)) == len(uids)
    weekdays_at_saint_lo = set()
    for event in events:
        uid = str(event["UID"])
        assert uid.endswith("@demo.passerelle.invalid"), uid
        assert event.get("DTSTAMP") is not None, uid
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert str(start.tzinfo) == "Europe/Paris" and start.year == 2026 and start.month == 9, uid
        assert end - start == dt.timedelta(hours=2), uid
        rule = event["RRULE"]
        assert rule["FREQ"] == ["WEEKLY"] and "UNTIL" not in rule and "COUNT" not in rule, uid
        lieu = str(event["X-PASSERELLE-LIEU"])
        assert lieu in by_id, uid
        assert "Dans un atelier collectif" in by_id[lieu]["modalites_accompagnement"].split("|"), uid
        assert 6 <= int(event["X-PASSERELLE-CAPACITE"]) <= 12, uid
        assert str(event["X-PASSERELLE-PUBLIC"]), uid
        assert set(event["CATEGORIES"].cats) <= {
            "Smartphone",
            "Démarches en ligne",
            "E-mail",
            "Sécurité",
            "Ordinateur débutant",
        }, uid
        assert "(démo)" in str(event["SUMMARY"]) and "fictif" in str(event["DESCRIPTION"]), uid
        organizer = event["ORGANIZER"]
        assert str(organizer) == "mailto:demo@example.invalid" and "(démo)" in organizer.params["CN"], uid
        if lieu == "demo-50502-1":
            weekdays_at_saint_lo.add(start.weekday())
    assert len(weekdays_at_saint_lo) >= 2
    assert {territory(str(event["X-PASSERELLE-LIEU"]).split("-")[1]) for event in events} == {
        "Manche",
        "Saint-Étienne Métropole",
        "Pays de Saint-Omer",
        "Saint-Médard-en-Jalles",
    }


def test_the_next_four_weeks_hold_ateliers_during_opening_hours(calendar, places) -> None:
    by_id = {row["id"]: row for row in places}
    start = dt.datetime(2026, 12, 2, tzinfo=PARIS)
    occurrences = recurring_ical_events.of(calendar).between(start, start + dt.timedelta(weeks=4))
    assert len(occurrences) >= 8
    saint_lo = [event for event in occurrences if str(event["X-PASSERELLE-LIEU"]) == "demo-50502-1"]
    assert len(saint_lo) >= 6
    days = {event.decoded("DTSTART").date() for event in occurrences}
    assert dt.date(2026, 12, 24) not in days and dt.date(2026, 12, 25) not in days  # EXDATE: Christmas
    for event in occurrences:
        begin, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert begin.utcoffset() == dt.timedelta(hours=1), event["UID"]  # CET in December
        hours = opening_hours.OpeningHours(by_id[str(event["X-PASSERELLE-LIEU"])]["horaires"])
        local_begin, local_end = begin.replace(tzinfo=None), end.replace(tzinfo=None)
        assert hours.is_open(local_begin) and hours.is_open(local_end - dt.timedelta(minutes=1)), event["UID"]


# --- scripts/generate_places.py -------------------------------------------------------------------------------

DIRTY_KINDS = (
    "missing_id",
    "missing_nom",
    "no_coords_with_commune",
    "no_coords_no_commune",
    "latitude_text",
    "duplicate_id",
    "unknown_service",
    "comma_decimal",
)


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("generate_places", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def classify(rows: list[dict[str, object]], communes: dict[str, dict[str, str]], *, json_file: bool) -> Counter:
    """Find each dirty row by looking at it (each row has at most one defect), and check every other row."""
    kinds: Counter = Counter()
    names_by_id: dict[str, str] = {}
    for row in rows:
        assert tuple(row) == FIELDS
        assert row["source"] == "Synthétique Passerelle" and row["pivot"] == "00000000000000"
        assert all(row[field] == "" for field in NO_CONTACT)
        latitude, longitude = row["latitude"], row["longitude"]
        identifier = str(row["id"])
        if not identifier:
            kinds["missing_id"] += 1
            continue
        if identifier in names_by_id:
            assert names_by_id[identifier] != row["nom"] and row["nom"]
            kinds["duplicate_id"] += 1
            continue
        names_by_id[identifier] = str(row["nom"])
        if not row["nom"]:
            kinds["missing_nom"] += 1
        elif latitude == "" and longitude == "":
            if row["commune"]:
                commune = communes[str(row["code_insee"])]
                assert row["commune"] == commune["name"] and row["code_postal"] in commune["postcodes"].split()
                kinds["no_coords_with_commune"] += 1
            else:
                assert row["code_postal"] == "" and row["code_insee"] == ""
                kinds["no_coords_no_commune"] += 1
        elif latitude == "abc":
            kinds["latitude_text"] += 1
        elif isinstance(latitude, str) and "," in latitude:
            assert re.fullmatch(r"-?\d+,\d+", latitude) and re.fullmatch(r"-?\d+,\d+", str(longitude))
            kinds["comma_decimal"] += 1
        elif not COMPILED["services"].fullmatch(str(row["services"])):
            kinds["unknown_service"] += 1
        elif row["horaires"] and not valid_horaires(str(row["horaires"])):
            kinds["invalid_horaires"] += 1
        else:
            assert schema_errors(row) == [], (row["id"], schema_errors(row))
            if json_file:
                assert isinstance(latitude, float) and isinstance(longitude, float)
            commune = communes[str(row["code_insee"])]
            assert row["commune"] == commune["name"] and row["code_postal"] in commune["postcodes"].split()
            away = distance_km(float(latitude), float(longitude), float(commune["lat"]), float(commune["lon"]))
            assert away < 2.01, (row["id"], away)
            assert re.fullmatch(r"synth-\d{6}", identifier) and str(row["nom"]).startswith("Lieu synthétique ")
    return kinds


def run_generator(out: Path, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), *arguments, str(out)], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stderr


@pytest.mark.parametrize(
    ("file_format", "separator"), [("csv", ","), ("csv", ";"), ("json", ",")], ids=["csv", "csv-semicolon", "json"]
)
def test_the_generator_writes_each_kind_of_dirty_row(tmp_path, communes, generator, file_format, separator) -> None:
    out = tmp_path / f"places.{file_format}"
    summary = run_generator(out, "--count", "2000", "--seed", "7", "--format", file_format, "--separator", separator)
    if file_format == "json":
        rows = json.loads(out.read_text(encoding="utf-8"))
    else:
        header, rows = read_csv(out, separator)
        assert tuple(header) == FIELDS
    assert len(rows) == 2000
    kinds = classify(rows, communes, json_file=file_format == "json")
    expected = generator.dirty_counts(2000)
    assert {kind: kinds[kind] for kind in DIRTY_KINDS} == expected
    assert all(count >= 1 for count in expected.values())
    assert kinds["invalid_horaires"] == 160
    for kind in (*DIRTY_KINDS, "invalid_horaires"):
        assert re.search(rf"^\s+{kind}\s+{kinds[kind]}\s", summary, re.MULTILINE), (kind, summary)


def test_the_generator_is_deterministic_for_a_seed(tmp_path) -> None:
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    run_generator(first, "--count", "500", "--seed", "3")
    run_generator(second, "--count", "500", "--seed", "3")
    run_generator(other, "--count", "500", "--seed", "4")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    json_first, json_second = tmp_path / "a.json", tmp_path / "b.json"
    run_generator(json_first, "--count", "500", "--seed", "3", "--format", "json")
    run_generator(json_second, "--count", "500", "--seed", "3", "--format", "json")
    assert json_first.read_bytes() == json_second.read_bytes()
    rows_csv = read_csv(first)[1]
    rows_json = json.loads(json_first.read_text(encoding="utf-8"))
    assert [row["id"] for row in rows_csv] == [row["id"] for row in rows_json]
    assert [row["horaires"] for row in rows_csv] == [row["horaires"] for row in rows_json]


def test_the_generator_makes_twenty_thousand_rows_quickly_with_about_three_percent_dirty(generator, communes) -> None:
    started = time.perf_counter()
    rows, counts = generator.generate(20_000, 1)
    assert time.perf_counter() - started < 10
    assert len(rows) == 20_000
    assert {kind: counts[kind] for kind in DIRTY_KINDS} == generator.dirty_counts(20_000)
    assert 0.025 <= sum(counts[kind] for kind in DIRTY_KINDS) / 20_000 <= 0.035
    assert counts["invalid_horaires"] == 1600
    assert dict(classify(rows, communes, json_file=True)) == {kind: n for kind, n in counts.items() if n}
    clean_rows, clean_counts = generator.generate(2_000, 1, clean=True)
    assert not any(clean_counts.values())
    assert all(schema_errors(row) == [] for row in clean_rows)
