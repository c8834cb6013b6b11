"""Places from the national open data: import (idempotent, dirty rows, --full), nearest search, `places near`."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from knowledge.db import Database
from knowledge.migrate import upgrade
from knowledge.models import Place
from knowledge.places.catalogue import DEMO_PLACES, import_places_from, standard
from knowledge.places.index import IndexCache, PlaceIndex, haversine_km
from knowledge.sources import SourceError

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent

GOOD = {
    "id": "lieu-1",
    "pivot": "00000000000000",
    "nom": "Médiathèque",
    "commune": "Saint-Lô",
    "code_postal": "50000",
    "code_insee": "50502",
    "adresse": "1 place de test",
    "latitude": "49.1157",
    "longitude": "-1.0908",
    "services": "Aide aux démarches administratives|Service inconnu",
    "horaires": "Mo-Fr 09:00-12:00",
    "date_maj": "2026-11-01",
}
DIRTY_ROWS = [
    GOOD,
    {**GOOD, "id": "", "nom": "Sans identifiant"},
    {**GOOD, "id": "lieu-2", "nom": ""},
    {**GOOD, "id": "lieu-3", "latitude": "", "longitude": "", "code_insee": ""},  # placed at Saint-Lô's centre
    {**GOOD, "id": "lieu-4", "latitude": "", "longitude": "", "commune": "", "code_postal": "", "code_insee": ""},
    {**GOOD, "id": "lieu-5", "latitude": "abc", "code_insee": "50129", "commune": "Cherbourg-en-Cotentin"},
    {**GOOD, "id": "lieu-1", "nom": "Doublon"},
    {**GOOD, "id": "lieu-6", "latitude": "49,6337", "longitude": "-1,6222", "commune": "Cherbourg-en-Cotentin"},
    {**GOOD, "id": "lieu-7", "latitude": "0", "longitude": "0"},  # off the coast of Africa: the commune is used
]


def _csv(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(standard().fields), delimiter=delimiter)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in standard().fields})
    return out.getvalue().encode("utf-8")


@pytest.fixture
def write(tmp_path: Path):
    def _write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return _write


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_import_dirty_csv_counts_and_reasons(database: Database, write, delimiter: str) -> None:
    report = import_places_from(database, write("lieux.csv", _csv(DIRTY_ROWS, delimiter)), T0)
    assert (report.added, report.updated, report.unchanged, report.approximate) == (5, 0, 0, 3)
    reasons = sorted((r.source_id or "", r.reason) for r in report.rejected)
    assert reasons == [
        ("", "no id"),
        ("lieu-1", "duplicate id (first at line 2)"),
        ("lieu-2", "no name"),
        ("lieu-4", "no coordinates and no commune to place it"),
    ]
    with database.session() as session:
        places = {p.source_id: p for p in session.scalars(select(Place))}
    assert places["lieu-1"].services == "Aide aux démarches administratives"  # unknown value dropped
    assert places["lieu-1"].approximate is False
    assert places["lieu-3"].approximate is True
    assert haversine_km(places["lieu-3"].latitude, places["lieu-3"].longitude, 49.11, -1.078) < 2
    assert places["lieu-5"].approximate is True
    assert haversine_km(places["lieu-5"].latitude, places["lieu-5"].longitude, 49.63, -1.63) < 3
    assert (places["lieu-6"].latitude, places["lieu-6"].longitude) == (49.6337, -1.6222)
    assert places["lieu-7"].approximate is True
    assert places["lieu-1"].fields["horaires"] == "Mo-Fr 09:00-12:00"


def test_json_export_gives_the_same_result_as_csv(database: Database, write) -> None:
    rows = [{k: v for k, v in row.items() if v != ""} for row in DIRTY_ROWS]
    report = import_places_from(database, write("lieux.json", json.dumps(rows).encode()), T0)
    assert (report.added, len(report.rejected), report.approximate) == (5, 4, 3)


def test_second_import_changes_nothing_and_says_so(database: Database, write) -> None:
    path = write("lieux.csv", _csv(DIRTY_ROWS))
    import_places_from(database, path, T0)
    again = import_places_from(database, path, T0 + timedelta(days=1))
    assert (again.added, again.updated, again.unchanged, again.retired) == (0, 0, 5, 0)
    assert again.summary().endswith("nothing changed")
    with database.session() as session:
        assert {p.updated_at for p in session.scalars(select(Place))} == {T0}


def test_a_changed_row_is_updated_and_full_import_retires_the_missing(database: Database, write) -> None:
    import_places_from(database, write("a.csv", _csv([GOOD, {**GOOD, "id": "lieu-9"}])), T0)
    changed = _csv([{**GOOD, "nom": "Médiathèque (nouveau nom)"}])
    partial = import_places_from(database, write("b.csv", changed), T0 + timedelta(days=1))
    assert (partial.updated, partial.retired) == (1, 0)
    full = import_places_from(database, write("c.csv", changed), T0 + timedelta(days=2), full=True)
    assert (full.unchanged, full.retired) == (1, 1)
    with database.session() as session:
        assert PlaceIndex.build(session).places[0].source_id == "lieu-1"
        assert len(PlaceIndex.build(session)) == 1
    back = import_places_from(database, write("d.csv", _csv([GOOD, {**GOOD, "id": "lieu-9"}])), T0 + timedelta(days=3))
    assert (back.updated, back.retired) == (2, 0)  # lieu-9 comes back, lieu-1 gets its old name back


def test_unreadable_files_import_nothing(database: Database, write) -> None:
    latin1 = _csv([GOOD]).decode().encode("cp1252")
    with pytest.raises(SourceError, match="not UTF-8"):
        import_places_from(database, write("latin1.csv", latin1), T0)
    with pytest.raises(SourceError, match="not valid JSON"):
        import_places_from(database, write("bad.json", b'[{"id": "x",'), T0)
    with pytest.raises(SourceError, match="no `id` column"):
        import_places_from(database, write("other.csv", b"name,city\nA,B\n"), T0)
    with pytest.raises(SourceError, match="no such file"):
        import_places_from(database, "/nonexistent/lieux.csv", T0)
    with database.session() as session:
        assert session.scalars(select(Place)).first() is None


def test_demo_file_loads_completely(database: Database) -> None:
    report = import_places_from(database, str(DEMO_PLACES), T0)
    assert report.added == 30 and not report.rejected


def _random_index(count: int, seed: int) -> PlaceIndex:
    from knowledge.places.index import IndexedPlace

    rng = random.Random(seed)
    services = standard().choices["services"]
    places = [
        IndexedPlace(
            id=i,
            source_id=f"p{i}",
            nom=f"Lieu {i}",
            commune="X",
            code_postal=None,
            latitude=rng.uniform(42.3, 51.0),
            longitude=rng.uniform(-4.8, 8.2),
            services=tuple(rng.sample(services, rng.randint(0, 3))),
            horaires="",
        )
        for i in range(count)
    ]
    return PlaceIndex(places)


def test_nearest_matches_brute_force_haversine() -> None:
    index = _random_index(3000, seed=7)
    rng = random.Random(11)
    service = standard().choices["services"][0]
    for _ in range(200):
        lat, lon = rng.uniform(42.3, 51.0), rng.uniform(-4.8, 8.2)
        truth = sorted(index.places, key=lambda p: haversine_km(lat, lon, p.latitude, p.longitude))
        found = index.nearest(lat, lon, limit=5)
        assert [n.place.id for n in found] == [p.id for p in truth[:5]]
        for item in found:
            assert math.isclose(
                item.distance_km, haversine_km(lat, lon, item.place.latitude, item.place.longitude), abs_tol=1e-6
            )
        page = index.nearest(lat, lon, limit=3, offset=3)
        assert [n.place.id for n in page] == [p.id for p in truth[3:6]]
        with_service = [p for p in truth if service in p.services][:4]
        assert [n.place.id for n in index.nearest(lat, lon, limit=4, service=service)] == [p.id for p in with_service]
        close = [p for p in truth if haversine_km(lat, lon, p.latitude, p.longitude) <= 20][:10]
        assert [n.place.id for n in index.nearest(lat, lon, limit=10, max_km=20)] == [p.id for p in close]


def test_empty_index_finds_nothing() -> None:
    assert PlaceIndex([]).nearest(49.1, -1.0) == []


def test_index_cache_rebuilds_after_an_import(database: Database, write) -> None:
    clock = [0.0]
    cache = IndexCache(database, clock=lambda: clock[0])
    assert len(cache.get()) == 0
    import_places_from(database, write("a.csv", _csv([GOOD])), T0)
    assert len(cache.get()) == 0  # checked at most every RECHECK_SECONDS
    clock[0] = 31.0
    assert [p.source_id for p in cache.get().places] == ["lieu-1"]


def test_places_that_receive_no_public_are_never_offered(database: Database, write) -> None:
    office = {**GOOD, "id": "bureau", "modalites_acces": "Ce lieu n'accueille pas de public"}
    import_places_from(database, write("a.csv", _csv([GOOD, office])), T0)
    with database.session() as session:
        assert [p.source_id for p in PlaceIndex.build(session).places] == ["lieu-1"]


def test_cli_import_and_near_json_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    assert main(["places", "import", str(DEMO_PLACES)]) == 0
    assert "30 added" in capsys.readouterr().out
    assert main(["places", "import", str(DEMO_PLACES)]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["places", "near", "--postcode", "50000", "--limit", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [list(item) for item in result] == [
        ["id", "nom", "commune", "code_postal", "distance_km", "open_now", "services"]
    ] * 2
    assert result[0]["commune"] == "Saint-Lô" and result[0]["distance_km"] <= result[1]["distance_km"]
    assert main(["places", "near", "--commune", "st lo", "--service", "démarches", "--json"]) == 0
    assert all("Aide aux démarches administratives" in p["services"] for p in json.loads(capsys.readouterr().out))
    assert main(["places", "near", "--lat", "49.11", "--lon", "-1.09", "--limit", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["code_postal"] == "50000"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["places", "near", "--postcode", "99999", "--json"], "cannot place this (unknown_postcode)"),
        (["places", "near", "--commune", "Saint-Pierre", "--json"], "ambiguous commune"),
        (["places", "near", "--lat", "51.5", "--lon", "-0.12", "--json"], "outside_france"),
        (["places", "near", "--commune", "st lo", "--service", "cuisine", "--json"], "unknown service"),
        (["places", "import", "/nonexistent.csv"], "no such file"),
    ],
)
def test_cli_bad_input_is_one_clear_english_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, argv: list[str], message: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_synthetic_national_file_imports_with_each_dirty_kind(tmp_path: Path) -> None:
    out = tmp_path / "national.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_places.py"), "--count", "2000", "--seed", "3", str(out)],
        check=True,
        capture_output=True,
    )
    url = f"sqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    database = Database(url)
    report = import_places_from(database, str(out), T0)
    reasons = {r.reason.split(" (")[0] for r in report.rejected}
    assert reasons == {"no id", "no name", "no coordinates and no commune to place it", "duplicate id"}
    assert report.added + len(report.rejected) == 2000 and report.approximate > 0
    database.dispose()


def test_a_failed_download_keeps_the_current_places(database: Database, write) -> None:
    import_places_from(database, write("a.csv", _csv([GOOD])), T0)
    with pytest.raises(SourceError, match=r"cannot download http://127\.0\.0\.1:9/"):
        import_places_from(database, "http://127.0.0.1:9/lieux.csv", T0, full=True)
    with database.session() as session:
        assert [p.retired_at for p in session.scalars(select(Place))] == [None]
