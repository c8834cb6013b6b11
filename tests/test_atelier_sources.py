"""Atelier schedules read from YAML, CSV and iCalendar files (fixtures in tests/data/ateliers/)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.ateliers.sources import AtelierRecord, AtelierSourceError, ParsedAteliers, Rejected, parse_ateliers

DATA = Path(__file__).resolve().parent / "data" / "ateliers"
PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
# Autumn term: 1 September (CEST) to 1 November (CET), end excluded.
WINDOW_START = datetime(2026, 9, 1, tzinfo=PARIS)
WINDOW_END = datetime(2026, 11, 1, tzinfo=PARIS)
SMARTPHONE = "smartphone-debutant@mediatheque.example"


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def parse(
    name: str,
    *,
    data: bytes | None = None,
    default_place: str | None = None,
    start: datetime = WINDOW_START,
    end: datetime = WINDOW_END,
) -> ParsedAteliers:
    if data is None:
        data = (DATA / name).read_bytes()
    return parse_ateliers(data, name, default_place=default_place, window_start=start, window_end=end)


def starts(parsed: ParsedAteliers, uid: str | None = None) -> list[datetime]:
    return [r.start for r in parsed.records if uid is None or r.uid == uid]


def assert_paris(records: list[AtelierRecord]) -> None:
    for record in records:
        assert record.start.tzinfo == PARIS and record.end.tzinfo == PARIS
        assert record.end > record.start


# --- iCalendar: recurrences -----------------------------------------------------------------------------------


def test_weekly_series_with_exdate_rdate_moved_and_cancelled_occurrences() -> None:
    parsed = parse("mediatheque.ics", default_place="lieu-par-defaut")
    assert parsed.rejected == []
    assert_paris(parsed.records)
    assert starts(parsed) == [
        at(9, 8, 14),
        at(9, 15, 14),
        at(9, 22, 14),
        # 29 September: EXDATE.
        at(10, 3, 10),  # RDATE: an extra Saturday session
        at(10, 8, 10),  # 6 October moved to Thursday 8 October (RECURRENCE-ID)
        at(10, 13, 14),  # cancelled (kept, flagged)
        at(10, 20, 14),
        at(10, 27, 14),  # after the change to winter time: still 14:00 in Paris
    ]
    assert {r.uid for r in parsed.records} == {SMARTPHONE}
    assert [r.cancelled for r in parsed.records] == [False] * 5 + [True] + [False] * 2

    first = parsed.records[0]
    assert first == AtelierRecord(
        uid=SMARTPHONE,
        start=at(9, 8, 14),
        end=at(9, 8, 16),
        title="Atelier smartphone débutant",
        place_id="lieu-mediatheque-rostand",  # X-PASSERELLE-LIEU wins over the default
        theme="Smartphone",  # the first of CATEGORIES
        description="Apprendre à se servir de son smartphone : appels, SMS, photos. Apportez votre téléphone chargé.",
        conseiller="Camille Martin",  # ORGANIZER's CN, not the e-mail address
        capacity=8,
        public="Adultes débutants",
        accessibility="Salle en rez-de-chaussée, accessible en fauteuil",  # X- text unescaped
        cancelled=False,
    )
    moved = parsed.records[4]
    assert (moved.start, moved.end) == (at(10, 8, 10), at(10, 8, 12))
    assert moved.title == "Atelier smartphone débutant (déplacé au jeudi)"
    # Properties the override leaves out are taken from the series.
    assert moved.description == first.description and moved.public == "Adultes débutants"
    cancelled = parsed.records[5]
    assert cancelled.title == "Atelier smartphone débutant" and cancelled.conseiller == "Camille Martin"
    rdate = parsed.records[3]
    assert rdate.end - rdate.start == timedelta(hours=2)


def test_window_is_on_start_times_start_included_end_excluded() -> None:
    # Window from the start of one session to the start of another.
    parsed = parse("mediatheque.ics", start=at(9, 15, 14), end=at(10, 20, 14))
    assert starts(parsed) == [at(9, 15, 14), at(9, 22, 14), at(10, 3, 10), at(10, 8, 10), at(10, 13, 14)]
    # A session already under way at the window start is not in it.
    parsed = parse("mediatheque.ics", start=at(9, 15, 15), end=at(9, 22, 14, 1))
    assert starts(parsed) == [at(9, 22, 14)]
    # The moved occurrence counts at its new time, not its original one (6 October).
    assert starts(parse("mediatheque.ics", start=at(10, 5, 0), end=at(10, 7, 0))) == []
    assert starts(parse("mediatheque.ics", start=at(10, 7, 0), end=at(10, 9, 0))) == [at(10, 8, 10)]
    # Window given in another zone.
    utc = parse("mediatheque.ics", start=datetime(2026, 9, 8, 12, tzinfo=UTC), end=datetime(2026, 9, 8, 13, tzinfo=UTC))
    assert starts(utc) == [at(9, 8, 14)]


def test_count_until_time_zones_and_defaults() -> None:
    parsed = parse("recurrences.ics", default_place="lieu-france-services-vallee")
    assert parsed.rejected == []
    assert_paris(parsed.records)
    # COUNT=4 every two weeks.
    assert starts(parsed, "demarches-count@franceservices.example") == [
        at(9, 2, 9, 30),
        at(9, 16, 9, 30),
        at(9, 30, 9, 30),
        at(10, 14, 9, 30),
    ]
    # UTC times ("Z") in Paris time; UNTIL included.
    assert starts(parsed, "messagerie-until@franceservices.example") == [
        at(9, 4, 10),
        at(9, 11, 10),
        at(9, 18, 10),
        at(9, 25, 10),
        at(10, 2, 10),
    ]
    by_uid = {r.uid: r for r in parsed.records}
    visio = by_uid["visio-new-york@franceservices.example"]
    assert (visio.start, visio.end) == (at(9, 15, 10), at(9, 15, 11, 30))  # 04:00 in New York
    floating = by_uid["flottant@franceservices.example"]
    assert (floating.start, floating.end) == (at(9, 16, 14), at(9, 16, 15, 30))  # floating time + DURATION
    assert floating.place_id == "lieu-france-services-vallee"  # the default place
    demarches = by_uid["demarches-count@franceservices.example"]
    assert demarches.theme == "Démarches administratives"
    assert (demarches.conseiller, demarches.capacity) == ("Karim Benali", 6)
    # An organizer without a name, or whose name is an e-mail address: no conseiller.
    assert by_uid["messagerie-until@franceservices.example"].conseiller == ""
    assert visio.conseiller == ""
    assert "hors-fenetre@franceservices.example" not in by_uid
    assert len(parsed.records) == 11


def test_weekly_time_stays_local_across_the_change_to_winter_time() -> None:
    parsed = parse("dst.ics", start=at(10, 1, 0), end=at(12, 1, 0))
    assert [(r.start.isoformat(), r.end.isoformat()) for r in parsed.records] == [
        ("2026-10-15T14:00:00+02:00", "2026-10-15T15:30:00+02:00"),
        ("2026-10-22T14:00:00+02:00", "2026-10-22T15:30:00+02:00"),
        ("2026-10-29T14:00:00+01:00", "2026-10-29T15:30:00+01:00"),
        ("2026-11-05T14:00:00+01:00", "2026-11-05T15:30:00+01:00"),
    ]
    assert parsed.records[0].place_id == "lieu-centre-social-tilleuls"


def test_dirty_calendar_rejects_bad_events_and_keeps_the_others() -> None:
    parsed = parse("dirty.ics")
    assert [(r.uid, r.start, r.cancelled) for r in parsed.records] == [
        ("ok@epn.example", at(9, 10, 14), False),
        ("annule@epn.example", at(9, 11, 14), True),  # STATUS:CANCELLED
        ("windows@epn.example", at(9, 23, 14), False),  # Outlook's "Romance Standard Time" is Paris
    ]
    reasons = {r.where: r.reason for r in parsed.rejected}
    assert len(parsed.rejected) == 9
    assert reasons["event #6 (Atelier sans UID)"] == "no UID"
    assert reasons["event journee@epn.example at 2026-09-12"] == "all-day event: no time"
    assert reasons["event sans-fin@epn.example at 2026-09-14 14:00"] == "no end time (DTEND or DURATION)"
    assert reasons["event inverse@epn.example at 2026-09-15 14:00"] == "end before start"
    assert reasons["event sans-titre@epn.example at 2026-09-17 14:00"] == "no title (SUMMARY)"
    assert reasons["event capacite@epn.example at 2026-09-18 14:00"] == "capacity is not a positive number: 'douze'"
    assert reasons["event date-cassee@epn.example"].startswith("invalid DTSTART")
    assert reasons["event regle-cassee@epn.example"].startswith("invalid RRULE")
    assert reasons["event fuseau-inconnu@epn.example at 2026-09-22 14:00"] == (
        "unknown time zone 'Mars/Olympus' in DTSTART"
    )


def test_bad_events_outside_the_window_are_not_reported() -> None:
    parsed = parse("dirty.ics", start=at(9, 10, 0), end=at(9, 11, 0))
    assert starts(parsed) == [at(9, 10, 14)]
    # Only the series whose dates cannot be read at all, and the event without UID.
    assert sorted(r.where for r in parsed.rejected) == [
        "event #6 (Atelier sans UID)",
        "event date-cassee@epn.example",
        "event regle-cassee@epn.example",
    ]


def test_cancelled_series_and_content_sniffing() -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n"
        "BEGIN:VEVENT\r\nUID:serie@x\r\nDTSTART:20260907T120000Z\r\nDTEND:20260907T130000Z\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\r\nSTATUS:CANCELLED\r\nSUMMARY:Atelier annulé\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()
    # No extension (a feed URL), and a UTF-8 byte order mark.
    parsed = parse("https://agenda.example/export?token=secret", data=b"\xef\xbb\xbf" + ics)
    assert [(r.start, r.cancelled) for r in parsed.records] == [(at(9, 7, 14), True), (at(9, 14, 14), True)]
    assert parsed.records[0].place_id is None


def test_same_uid_twice_in_a_feed() -> None:
    event = "BEGIN:VEVENT\nUID:double@x\nDTSTART:20260907T120000Z\nDTEND:20260907T130000Z\nSUMMARY:{}\nEND:VEVENT\n"
    ics = "BEGIN:VCALENDAR\nVERSION:2.0\n" + event.format("Premier") + event.format("Second") + "END:VCALENDAR\n"
    parsed = parse("doublon.ics", data=ics.encode())
    assert [r.title for r in parsed.records] == ["Premier"]
    assert parsed.rejected == [Rejected("event double@x", "several events share this UID (extra ones ignored)")]


def test_recurrences_too_frequent_to_expand_are_rejected_quickly() -> None:
    event = (
        "BEGIN:VEVENT\nUID:{0}@x\nDTSTART:20260907T120000Z\nDTEND:20260907T120001Z\nRRULE:{1}\nSUMMARY:x\nEND:VEVENT\n"
    )
    ics = "BEGIN:VCALENDAR\nVERSION:2.0\n"
    ics += event.format("secondes", "FREQ=SECONDLY")
    ics += event.format("minutes", "FREQ=MINUTELY;INTERVAL=30")
    ics += event.format("minutes-par-jour", "FREQ=DAILY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55")
    ics += event.format("heures", "FREQ=HOURLY;COUNT=3")
    ics += "END:VCALENDAR\n"
    started = time.perf_counter()
    parsed = parse("trop.ics", data=ics.encode())
    assert time.perf_counter() - started < 2
    assert starts(parsed) == [at(9, 7, 14), at(9, 7, 15), at(9, 7, 16)]
    assert [r.where for r in parsed.rejected] == ["event secondes@x", "event minutes@x", "event minutes-par-jour@x"]
    assert {r.reason for r in parsed.rejected} == {"recurrence more frequent than hourly: not an atelier schedule"}


def test_odd_events_are_rejected_one_by_one() -> None:
    bodies = {
        "deux-debuts": "DTSTART:20260910T120000Z\nDTSTART:20260910T130000Z\nDTEND:20260910T140000Z\n",
        "duree-negative": "DTSTART:20260910T120000Z\nDURATION:-PT1H\n",
        "fin-sans-heure": "DTSTART:20260910T120000Z\nDTEND;VALUE=DATE:20260911\n",
        "rdate-sans-heure": "DTSTART:20260910T120000Z\nDTEND:20260910T130000Z\nRDATE;VALUE=DATE:20260915\n",
        "exdate-illisible": "DTSTART:20260910T120000Z\nDTEND:20260910T130000Z\nRRULE:FREQ=DAILY\nEXDATE:demain\n",
        # An override whose series is not in the feed stands alone.
        "seule": "RECURRENCE-ID:20260910T120000Z\nDTSTART:20260911T120000Z\nDTEND:20260911T130000Z\n",
    }
    events = "".join(f"BEGIN:VEVENT\nUID:{uid}\n{body}SUMMARY:Atelier\nEND:VEVENT\n" for uid, body in bodies.items())
    parsed = parse("bizarre.ics", data=f"BEGIN:VCALENDAR\nVERSION:2.0\n{events}END:VCALENDAR\n".encode())
    assert [(r.uid, r.start) for r in parsed.records] == [("seule", at(9, 11, 14))]
    assert sorted((r.where.split(" at ")[0], r.reason) for r in parsed.rejected) == [
        ("event deux-debuts", "DTSTART given more than once"),
        ("event duree-negative", "end before start (negative DURATION)"),
        ("event exdate-illisible", "invalid EXDATE: Expected time, got: demain"),
        ("event fin-sans-heure", "DTEND is a date without time"),
        ("event rdate-sans-heure", "RDATE has a date without time"),
    ]


# --- iCalendar: unusable sources ------------------------------------------------------------------------------


def test_truncated_calendar_is_refused() -> None:
    with pytest.raises(AtelierSourceError, match=r"malformed iCalendar in truncated\.ics"):
        parse("truncated.ics")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("garbage.ics", b"hello, this is not a calendar\n"),
        ("page.ics", b"<html><body><h1>404 Not Found</h1></body></html>\n"),
        ("empty.ics", b""),
        ("two-ends.ics", b"BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\nEND:VCALENDAR\n"),
        ("event-only.ics", b"BEGIN:VEVENT\nUID:a\nDTSTART:20260910T120000Z\nEND:VEVENT\n"),
        ("cut.ics", b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:a\nDTSTART:20260910T1"),
        ("noise.ics", b"BEGIN:VCALENDAR\nVERSION:2.0\n\x00\x01\x02 binary noise\nEND:VCALENDAR\n"),
    ],
)
def test_malformed_calendars_are_refused(name: str, data: bytes) -> None:
    with pytest.raises(AtelierSourceError, match="malformed iCalendar"):
        parse(name, data=data)


# --- YAML -----------------------------------------------------------------------------------------------------


def test_yaml_with_dirty_entries() -> None:
    parsed = parse("ateliers.yml", default_place="lieu-mfs-montreuil-bellay")
    assert_paris(parsed.records)
    assert [r.uid for r in parsed.records] == [
        "msap-window-start",  # starts exactly at the window start
        "msap-smartphone-1",
        "msap-demarches-1",
        "msap-mail-1",
        "msap-utc",
        # msap-window-end starts exactly at the window end; msap-decembre is later.
    ]
    assert parsed.records[1] == AtelierRecord(
        uid="msap-smartphone-1",
        start=at(9, 10, 14),
        end=at(9, 10, 16),
        title="Atelier smartphone débutant",
        place_id="lieu-mfs-montreuil-bellay",
        theme="Smartphone",
        description="Allumer, téléphoner, envoyer un SMS.\nApportez votre téléphone.",
        conseiller="Julie Moreau",
        capacity=8,
        public="Adultes débutants",
        accessibility="Rez-de-chaussée, boucle magnétique",
        cancelled=False,
    )
    demarches, mail, utc = parsed.records[2:]
    assert (demarches.start, demarches.capacity, demarches.cancelled) == (at(9, 11, 10), 10, True)
    assert demarches.place_id == "lieu-mfs-montreuil-bellay"  # default place
    assert (mail.start, mail.end) == (at(9, 12, 9, 30), at(9, 12, 11))
    assert mail.conseiller == ""  # an e-mail address is not shown as a name
    assert (utc.start, utc.end) == (at(9, 14, 14), at(9, 14, 15, 30))

    assert parsed.rejected == [
        Rejected("entry 8 (id=msap-sans-debut)", "no start date (debut)"),
        Rejected("entry 9 (id=msap-inverse)", "end before start"),
        Rejected("entry 10 (id=msap-capacite-zero)", "capacity is not a positive number: '0'"),
        Rejected("entry 11 (id=msap-capacite-texte)", "capacity is not a positive number: 'douze'"),
        Rejected("entry 12 (id=msap-jour-seul)", "debut has a date but no time"),
        Rejected(
            "entry 13 (id=msap-date-francaise)",
            "debut is not an ISO 8601 date-time (e.g. 2026-09-08T14:00): '21/09/2026 14h'",
        ),
        Rejected("entry 14", "entry is not a mapping of fields"),
        Rejected("entry 15", "no id"),
        Rejected("entry 17 (id=msap-annule-flou)", "annule is not yes/no (oui/non, true/false): 'peut-être'"),
        Rejected("entry 16 (id=msap-smartphone-1)", "duplicate: same id and start as entry 1 (id=msap-smartphone-1)"),
    ]


def test_yaml_plain_list_and_empty_file() -> None:
    data = b"- {id: a, titre: Atelier, debut: '2026-09-10T14:00', fin: '2026-09-10T15:00', lieu: lieu-x}\n"
    parsed = parse("liste.yaml", data=data)
    assert [(r.uid, r.start, r.place_id) for r in parsed.records] == [("a", at(9, 10, 14), "lieu-x")]
    assert parse("vide.yml", data=b"") == ParsedAteliers([], [])
    assert parse("vide.yml", data=b"ateliers: []\n") == ParsedAteliers([], [])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ateliers: [\n  - id: a\n", "malformed YAML"),
        (b"titre: un seul atelier\n", "expected a list of ateliers"),
        (b"juste du texte\n", "expected a list of ateliers"),
    ],
)
def test_unusable_yaml(data: bytes, message: str) -> None:
    with pytest.raises(AtelierSourceError, match=message):
        parse("ateliers.yml", data=data)


# --- CSV ------------------------------------------------------------------------------------------------------


def test_csv_with_semicolons_accented_headers_and_dirty_rows() -> None:
    parsed = parse("ateliers.csv", default_place="lieu-epn-saumur")
    assert_paris(parsed.records)
    assert [r.uid for r in parsed.records] == ["epn-1", "epn-2", "epn-7", "epn-8"]  # epn-9 is in December
    tablette, securite, courriel, doctolib = parsed.records
    assert tablette == AtelierRecord(
        uid="epn-1",
        start=at(9, 8, 14),
        end=at(9, 8, 16),
        title="Atelier tablette",
        place_id="lieu-epn-saumur",
        theme="Tablette",
        description="Découvrir sa tablette",
        conseiller="Paul Durand",
        capacity=6,
        public="Seniors",
        accessibility="Accès PMR",
        cancelled=False,
    )
    # A quoted field may hold the separator and a line break.
    assert securite.description == (
        "Reconnaître un SMS frauduleux ; les bons réflexes\n(deuxième ligne de la description)"
    )
    assert (securite.start, securite.capacity, securite.place_id) == (at(9, 9, 10), None, "lieu-epn-saumur")
    assert (courriel.cancelled, doctolib.cancelled) == (False, True)
    # Rows numbered as in a spreadsheet (header = row 1), the blank row 6 skipped.
    assert parsed.rejected == [
        Rejected("row 4", "no title (titre)"),
        Rejected("row 5", "fin is not an ISO 8601 date-time (e.g. 2026-09-08T14:00): '16h'"),
        Rejected("row 7", "13 cells but 12 columns in the header (quote fields containing ';')"),
        Rejected("row 8", "capacity is not a positive number: '-3'"),
    ]


def test_csv_with_commas() -> None:
    parsed = parse("ateliers_virgule.csv")
    assert [(r.uid, r.title, r.capacity) for r in parsed.records] == [
        ("cv-1", "Atelier smartphone", 5),
        ("cv-2", "Démarches en ligne, niveau 2", None),
    ]
    assert parsed.rejected == []


def test_csv_not_in_utf8_is_refused_with_a_fix() -> None:
    data = (DATA / "ateliers_cp1252.csv").read_bytes()
    assert "é".encode("cp1252") in data
    with pytest.raises(AtelierSourceError) as caught:
        parse("ateliers_cp1252.csv", data=data)
    message = str(caught.value)
    assert "not UTF-8" in message and "line 3" in message
    assert "UTF-8" in message.split("Save it again", 1)[1]


def test_csv_missing_columns_is_refused() -> None:
    with pytest.raises(AtelierSourceError, match=r"missing column\(s\) debut, fin"):
        parse("ateliers.csv", data=b"id;titre;date;heure\na;Atelier;2026-09-10;14:00\n")


def test_csv_with_utf8_bom_and_crlf() -> None:
    data = "\ufeffid;titre;debut;fin\r\nb;Atelier;2026-09-10T14:00;2026-09-10T15:00\r\n".encode()
    parsed = parse("export.csv", data=data)
    assert [(r.uid, r.start) for r in parsed.records] == [("b", at(9, 10, 14))]


# --- formats --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ateliers.xlsx", "ateliers.json", "ateliers", "https://example.org/agenda"])
def test_unknown_format(name: str) -> None:
    with pytest.raises(AtelierSourceError, match="unknown format"):
        parse(name, data=b"id;titre\n")


def test_extension_is_case_insensitive() -> None:
    data = (DATA / "ateliers_virgule.csv").read_bytes()
    assert len(parse("ATELIERS.CSV", data=data).records) == 2


def test_window_must_be_aware_and_not_empty() -> None:
    data = (DATA / "ateliers_virgule.csv").read_bytes()
    with pytest.raises(ValueError, match="aware"):
        parse("a.csv", data=data, start=datetime(2026, 9, 1))
    with pytest.raises(ValueError, match="empty window"):
        parse("a.csv", data=data, start=WINDOW_END, end=WINDOW_START)
