"""The steering committee's report: every section over one period, and its text in Markdown or CSV (French labels,
counts of people under 5 shown as « < 5 »). HTML, ODS, charts and the Telegram /bilan come next (issue 12)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from knowledge.french import PARIS
from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.ateliers import AtelierIndicators, atelier_indicators
from knowledge.indicators.citizens import FicheScore, Week, fiche_scores, weeks
from knowledge.indicators.handoffs import HandoffIndicators, handoff_indicators
from knowledge.indicators.loans import LoanIndicators, loan_indicators
from knowledge.indicators.period import Period, shown


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    retention_days: int
    weeks: list[Week]
    fiches: list[FicheScore]
    handoffs: HandoffIndicators
    ateliers: AtelierIndicators
    loans: LoanIndicators


def build_report(
    session: Session, period: Period, now: datetime, *, staff_hours: str | None, retention_days: int
) -> Report:
    return Report(
        period=period,
        generated_at=now,
        retention_days=retention_days,
        weeks=weeks(session, period),
        fiches=fiche_scores(session, period),
        handoffs=handoff_indicators(session, period, staff_hours),
        ateliers=atelier_indicators(session, period),
        loans=loan_indicators(session, period),
    )


def rows(report: Report) -> list[tuple[str, str, str]]:
    """(section, indicator, value) for every figure of the report, in order: the CSV, and the Markdown's tables."""
    h, a, loans = report.handoffs, report.ateliers, report.loans
    out: list[tuple[str, str, str]] = []
    for week in report.weeks:
        label = f"semaine du {week.monday:%d/%m/%Y}"
        out += [("Citoyens", f"conversations, {label}", shown(week.conversations))]
        out += [("Citoyens", f"messages, {label}", shown(week.messages))]
    for fiche in report.fiches:
        rate = "—" if fiche.success_rate is None else f"{fiche.success_rate:.0%}"
        out += [
            ("Fiches", f"{fiche.topic} : « ça a marché » oui / non", f"{shown(fiche.worked)} / {shown(fiche.did_not)}")
        ]
        out += [("Fiches", f"{fiche.topic} : taux de oui", rate)]
    out += [
        ("Conseillers", "demandes", shown(h.requests)),
        ("Conseillers", "dont urgentes", shown(h.urgent)),
        ("Conseillers", "prises en charge", shown(h.claimed)),
        ("Conseillers", "attente médiane (min)", _number(h.wait_median_minutes)),
        ("Conseillers", "attente, 9 sur 10 en moins de (min)", _number(h.wait_p90_minutes)),
        ("Conseillers", "encore ouvertes", shown(h.still_open)),
    ]
    out += [("Conseillers", f"issue : {label}", shown(h.outcomes.get(key, 0))) for key, label in OUTCOMES.items()]
    out += [("Conseillers", f"note {score}/5", shown(count)) for score, count in h.ratings.items()]
    out += [("Conseillers", "note moyenne", _number(h.rating_mean))]
    out += [("Conseillers", "demandes hors horaires", "—" if h.outside_hours is None else shown(h.outside_hours))]
    out += [
        ("Ateliers", "tenus", str(a.held)),
        ("Ateliers", "annulés", str(a.cancelled)),
        ("Ateliers", "places offertes", str(a.seats)),
        ("Ateliers", "inscrits", shown(a.confirmed)),
        ("Ateliers", "taux de remplissage", "—" if a.fill_rate is None else f"{a.fill_rate:.0%}"),
        ("Ateliers", "en liste d'attente", shown(a.waiting)),
        ("Ateliers", "désinscriptions", shown(a.cancelled_by_citizens)),
        ("Ateliers", "présents / absents / non notés", f"{shown(a.present)} / {shown(a.absent)} / {shown(a.unmarked)}"),
    ]
    out += [("Ateliers", f"thème : {theme}", str(count)) for theme, count in a.by_theme.items()]
    out += [("Prêts", "prêts", str(loans.loans))]
    for kit in loans.kits:
        out += [
            ("Prêts", f"{kit.kit} : prêts, jours, occupation", f"{kit.loans}, {kit.days_lent}, {kit.occupancy:.0%}")
        ]
    out += [("Prêts", f"structure : {name}", str(count)) for name, count in loans.by_structure.items()]
    out += [("Prêts", f"refus : {reason}", str(count)) for reason, count in loans.refusals.items()]
    out += [
        ("Prêts", "éléments manquants au retour", str(loans.missing_items)),
        ("Prêts", "éléments abîmés au retour", str(loans.damaged_items)),
        ("Prêts", "pannes signalées", str(loans.breakdowns)),
        ("Prêts", "bilans reçus", str(loans.bilans)),
        ("Prêts", "participants touchés", str(loans.reached)),
        ("Prêts", "appréciation moyenne", _number(loans.rating_mean)),
    ]
    out += [("Prêts", f"nature : {nature}", str(count)) for nature, count in loans.by_nature.items()]
    out += [("Prêts", f"public : {public}", str(count)) for public, count in loans.by_public.items()]
    return out


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["section", "indicateur", "valeur"])
    writer.writerows(rows(report))
    return buffer.getvalue()


def to_markdown(report: Report) -> str:
    period = report.period
    lines = [
        f"# Bilan Passerelle du {period.first:%d/%m/%Y} au {period.last:%d/%m/%Y}",
        "",
        f"Produit le {report.generated_at.astimezone(PARIS):%d/%m/%Y à %H:%M}. Chiffres agrégés uniquement ; "
        "un nombre de personnes inférieur à 5 est noté « < 5 ». Les données des citoyens sont effacées après "
        f"{report.retention_days} jours : une période plus ancienne est incomplète.",
    ]
    section = None
    for name, indicator, value in rows(report):
        if name != section:
            lines += ["", f"## {name}", "", "| indicateur | valeur |", "|---|---|"]
            section = name
        lines.append(f"| {indicator} | {value} |")
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")
