"""The editor's audit of the fiches: claims found in the text, matched to the sources, stale reviews.

Every test uses small fiches written to a temporary folder and a fixed `today`: nothing depends on the real date
nor on how many claims of the real fiches are backed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from knowledge.fiche_audit import (
    AuditReport,
    Kind,
    audit_directory,
    audit_fiche,
    extract_items,
    months_before,
    render_text,
)
from knowledge.fiches import Fiche, parse_fiche

TODAY = date(2026, 6, 15)


def write_fiche(
    directory: Path,
    *,
    fiche_id: str = "demo",
    reviewed: date = date(2026, 6, 1),
    sources: tuple[tuple[str, str], ...] = (),
    short_answer: str = "Une réponse courte.",
    steps: tuple[str, ...] = ("Une étape.",),
    pitfalls: tuple[str, ...] = ("Un piège.",),
    links: tuple[tuple[str, str], ...] = (("Le site officiel", "https://www.service-public.fr/"),),
) -> Path:
    meta = {
        "id": fiche_id,
        "title": "Une fiche de test",
        "summary": "Cette fiche sert aux tests.",
        "reviewed": reviewed,
        "links": [{"label": label, "url": url} for label, url in links],
        "sources": [{"fact": fact, "url": url} for fact, url in sources],
    }
    numbered = "\n".join(f"{number}. {step}" for number, step in enumerate(steps, start=1))
    body = (
        f"## En bref\n{short_answer}\n\n## Étapes\n{numbered}\n\n## À préparer\n- Un papier.\n\n"
        "## Pièges à éviter\n" + "\n".join(f"- {pitfall}" for pitfall in pitfalls) + "\n"
    )
    path = directory / f"{fiche_id}.md"
    path.write_text(f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\n\n{body}", encoding="utf-8")
    return path


def claims_of(fiche: Fiche, kind: Kind) -> dict[str, tuple[str, ...]]:
    """The claims of one kind: their key and the URLs that back them."""
    return {claim.key: claim.backed_by for claim in audit_fiche(fiche, TODAY).claims if claim.kind is kind}


def keys(text: str, kind: Kind) -> list[str]:
    return [item.key for item in extract_items(text) if item.kind is kind]


def test_a_phone_number_written_in_a_source_fact_is_backed(tmp_path: Path) -> None:
    source = "https://www.impots.gouv.fr/contact"
    fiche = parse_fiche(
        write_fiche(
            tmp_path,
            short_answer="Appelez le 0 809 401 401, ou le 36 46 pour ameli.",
            sources=(("Assistance : 0809 401 401 ; l'Assurance Maladie répond au 3646.", source),),
        )
    )
    assert claims_of(fiche, Kind.PHONE) == {"0809401401": (source,), "3646": (source,)}


def test_a_phone_number_no_source_mentions_is_unbacked(tmp_path: Path) -> None:
    fiche = parse_fiche(
        write_fiche(
            tmp_path,
            short_answer="Transférez le SMS au 33700. Appelez le 01 70 77 23 72.",
            sources=(("Le 33 700 reçoit les signalements.", "https://www.33700.fr/"),),
        )
    )
    phones = claims_of(fiche, Kind.PHONE)
    assert phones["33700"] == ("https://www.33700.fr/",)
    assert phones["0170772372"] == ()
    text = render_text(AuditReport(TODAY, 12, months_before(TODAY, 12), (audit_fiche(fiche, TODAY),)))
    assert any("01 70 77 23 72" in line and "UNBACKED" in line for line in text.splitlines())


def test_a_domain_in_the_text_is_backed_by_a_source_page_on_that_site(tmp_path: Path) -> None:
    fiche = parse_fiche(
        write_fiche(
            tmp_path,
            short_answer="Allez sur www.caf.fr ou sur 17cyber.gouv.fr, pas sur un site en .gouv.com.",
            sources=(("Mon Compte permet de déclarer un changement.", "https://caf.fr/allocataires/mon-compte"),),
        )
    )
    web = claims_of(fiche, Kind.WEB)
    assert web["caf.fr"] == ("https://caf.fr/allocataires/mon-compte",)
    assert web["17cyber.gouv.fr"] == ()
    assert web["gouv.com"] == ()


def test_a_link_is_backed_by_the_same_page_among_the_sources(tmp_path: Path) -> None:
    page = "https://www.cnil.fr/fr/le-droit-dacces"
    fiche = parse_fiche(
        write_fiche(
            tmp_path,
            links=(("Le droit d'accès", page), ("Porter plainte", "https://www.cnil.fr/fr/plaintes")),
            sources=(("On peut demander une copie de ses données.", "https://cnil.fr/fr/le-droit-dacces/"),),
        )
    )
    web = claims_of(fiche, Kind.WEB)
    assert web["cnil.fr/fr/le-droit-dacces"] == ("https://cnil.fr/fr/le-droit-dacces/",)
    assert web["cnil.fr/fr/plaintes"] == ()


@pytest.mark.parametrize(
    "text",
    [
        "Depuis le 1er mars 2025, la déclaration est préremplie.",
        "Le 2025 est une année comme les autres.",
        "Écrivez au 75001 Paris, ou au 33700 Mérignac.",
        "La carte coûte 25 €, le timbre 86 euros, et le 10 % de majoration s'applique au 15 janvier.",
        "Le code à 6 chiffres arrive le 15 mars ; répondez avant le 15.",
        "Un rayon de 20, 40 ou 60 km ; il vous reste 12 caractères ; le 30 jours plus tard.",
        "Le 17Cyber n'est pas un numéro ; allez sur 3018.fr ou 33700.fr.",
    ],
)
def test_years_postcodes_amounts_and_dates_are_not_phone_numbers(text: str) -> None:
    assert keys(text, Kind.PHONE) == []


def test_short_numbers_to_call_or_text_are_phone_numbers() -> None:
    text = (
        "Urgence : appelez le 15 ou le 112. Transférez-le au 33700. Le 3018 est gratuit. 3018 et 119 : numéros d'aide."
    )
    assert keys(text, Kind.PHONE) == ["15", "112", "33700", "3018", "3018", "119"]


def test_prices_durations_dates_and_hours_are_normalised() -> None:
    text = (
        "Le 3949 (service gratuit + prix d'un appel local) répond du lundi au vendredi de 8h30 à 19h, 7 jours sur 7. "
        "La carte perdue coûte 25 €. Réponse sous un mois, ou en 48 h, ou 30 jours. Depuis le 10 décembre 2024."
    )
    assert keys(text, Kind.PRICE) == ["gratuit", "prix d'un appel", "25 €"]
    assert keys(text, Kind.HOURS) == ["lundi-vendredi", "8h30-19h", "7j/7"]
    assert keys(text, Kind.DEADLINE) == ["1 mois", "48 h", "30 jours", "date:10/12/2024"]


def test_a_duration_is_backed_by_the_same_number_and_unit(tmp_path: Path) -> None:
    source = "https://www.cnil.fr/fr/delais"
    fiche = parse_fiche(
        write_fiche(
            tmp_path,
            short_answer="L'organisme doit répondre sous un mois. Sinon, attendez 2 mois.",
            sources=(("L'organisme répond dans un délai d'un mois.", source),),
        )
    )
    assert claims_of(fiche, Kind.DEADLINE) == {"1 mois": (source,), "2 mois": ()}


@pytest.mark.parametrize(("reviewed", "stale"), [(date(2025, 5, 15), True), (date(2025, 7, 15), False)])
def test_a_fiche_reviewed_over_twelve_months_ago_is_stale(tmp_path: Path, reviewed: date, stale: bool) -> None:
    write_fiche(tmp_path, reviewed=reviewed)
    report = audit_directory(tmp_path, today=TODAY, max_age_months=12)
    assert report.fiches[0].stale is stale
    assert report.stale_ids == (("demo",) if stale else ())
    header = render_text(report).splitlines()[2]
    assert ("STALE" in header) is stale


def test_months_before_keeps_the_day_or_the_end_of_a_shorter_month() -> None:
    assert months_before(date(2026, 6, 15), 12) == date(2025, 6, 15)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_the_command_reports_on_a_folder_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fiche(tmp_path, short_answer="Appelez le 3949.", sources=(("Le 3949 répond.", "https://francetravail.fr/"),))
    assert main(["fiches", "audit", "--dir", str(tmp_path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["fiches"] == 1
    [claim] = [claim for claim in report["fiches"][0]["claims"] if claim["kind"] == "phone"]
    assert claim == {
        "kind": "phone",
        "text": "3949",
        "key": "3949",
        "where": ["En bref"],
        "status": "backed",
        "backed_by": ["https://francetravail.fr/"],
    }


def test_the_command_fails_with_a_message_on_a_broken_fiche(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.md").write_text("no front matter\n", encoding="utf-8")
    assert main(["fiches", "audit", "--dir", str(tmp_path)]) == 1
    assert "broken.md" in capsys.readouterr().err


def test_the_command_runs_on_the_real_fiches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fiches", "audit"]) == 0
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith("Summary: ") and "fiches" in last_line and "unbacked claims" in last_line
