"""The steering committee's report: every section over one period, for the whole network or one structure, and its
figures as rows (French labels, counts under 5 shown as « < 5 »), which documents.py writes in each format and
charts.py draws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.fiches import get_fiche
from knowledge.french import PARIS
from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.ateliers import AtelierIndicators, atelier_indicators
from knowledge.indicators.citizens import FicheScore, Week, fiche_scores, weeks
from knowledge.indicators.figures import decimal, percent, shown
from knowledge.indicators.handoffs import HandoffIndicators, handoff_indicators
from knowledge.indicators.loans import LoanIndicators, loan_indicators
from knowledge.indicators.period import Period
from knowledge.indicators.questions import QuestionIndicators, question_indicators
from knowledge.models import Structure


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    retention_days: int
    structure: str | None
    """The structure the report is about; None for the whole network."""
    weeks: list[Week]
    """Empty for a structure: citizens' conversations belong to no structure (also `fiches` and `questions`)."""
    fiches: list[FicheScore]
    questions: QuestionIndicators | None
    handoffs: HandoffIndicators
    ateliers: AtelierIndicators
    loans: LoanIndicators

    @property
    def title(self) -> str:
        about = f" — {self.structure}" if self.structure else ""
        return f"Bilan Passerelle du {self.period.first:%d/%m/%Y} au {self.period.last:%d/%m/%Y}{about}"

    @property
    def preamble(self) -> str:
        """What the figures are and what bounds them, in French."""
        scope = (
            "Les questions des citoyens ne sont rattachées à aucune structure : elles sont dans le bilan du réseau. "
            if self.structure
            else ""
        )
        return (
            f"Produit le {self.generated_at.astimezone(PARIS):%d/%m/%Y à %H:%M}. Chiffres agrégés uniquement ; "
            "un nombre inférieur à 5 est noté « < 5 ». Les données des citoyens sont effacées après "
            f"{self.retention_days} jours : une période plus ancienne est incomplète. {scope}"
        ).strip()


def build_report(
    session: Session,
    period: Period,
    now: datetime,
    *,
    staff_hours: str | None,
    retention_days: int,
    tracker_store_url: str,
    structure: Structure | None = None,
) -> Report:
    """Every indicator over the period; for one structure, its handoffs, ateliers and loans only."""
    structure_id = structure.id if structure else None
    network = structure is None
    return Report(
        period=period,
        generated_at=now,
        retention_days=retention_days,
        structure=structure.name if structure else None,
        weeks=weeks(session, period) if network else [],
        fiches=fiche_scores(session, period) if network else [],
        questions=question_indicators(tracker_store_url, period) if network else None,
        handoffs=handoff_indicators(session, period, staff_hours, structure_id),
        ateliers=atelier_indicators(session, period, structure_id),
        loans=loan_indicators(session, period, structure_id),
    )


def find_structure(session: Session, name: str) -> Structure:
    """The structure with this name (case and spaces aside); ValueError naming the known ones otherwise."""
    wanted = " ".join(name.split()).casefold()
    structures = session.scalars(select(Structure).order_by(Structure.name)).all()
    for structure in structures:
        if structure.name.casefold() == wanted:
            return structure
    known = ", ".join(repr(s.name) for s in structures) or "none yet"
    raise ValueError(f"no structure named {name!r}; known structures: {known}")


def rows(report: Report) -> list[tuple[str, str, str]]:
    """(section, indicator, value) for every figure of the report, in order: the CSV, and the Markdown's tables."""
    h, a, loans = report.handoffs, report.ateliers, report.loans
    out: list[tuple[str, str, str]] = []
    for week in report.weeks:
        label = f"semaine du {week.monday:%d/%m/%Y}"
        out += [("Citoyens", f"conversations, {label}", shown(week.conversations))]
        out += [("Citoyens", f"messages, {label}", shown(week.messages))]
    for fiche in report.fiches:
        title = _fiche_title(fiche.topic)
        out += [
            ("Fiches", f"{title} : « ça a marché » oui / non", f"{shown(fiche.worked)} / {shown(fiche.did_not)}"),
            ("Fiches", f"{title} : taux de oui", percent(fiche.success_rate)),
        ]
    if (q := report.questions) is not None:
        out += [
            ("Questions", "messages reçus", shown(q.messages)),
            ("Questions", "dont écrits (pas un bouton)", shown(q.typed)),
            ("Questions", "messages écrits non compris", shown(q.not_understood)),
            ("Questions", "taux de messages non compris", percent(q.not_understood_rate)),
            ("Questions", "demandes à parler à une personne", shown(q.human_requests)),
        ]
        out += [("Questions", f"sujet : {subject}", shown(count)) for subject, count in q.by_subject.items()]
        out += [("Questions", f"fiche : {title}", shown(count)) for title, count in q.by_fiche.items()]
        out += [("Recherches de lieux", "recherches", shown(q.searches))]
        out += [
            ("Recherches de lieux", f"département : {code}", shown(count))
            for code, count in q.searches_by_departement.items()
        ]
        out += [
            ("Recherches de lieux", f"commune : {name}", shown(count)) for name, count in q.searches_by_commune.items()
        ]
    out += [
        ("Conseillers", "demandes", shown(h.requests)),
        ("Conseillers", "dont urgentes", shown(h.urgent)),
        ("Conseillers", "prises en charge", shown(h.claimed)),
        ("Conseillers", "attente médiane (min)", decimal(h.wait_median_minutes)),
        ("Conseillers", "attente, 9 sur 10 en moins de (min)", decimal(h.wait_p90_minutes)),
        ("Conseillers", "encore ouvertes", shown(h.still_open)),
    ]
    out += [("Conseillers", f"issue : {label}", shown(h.outcomes.get(key, 0))) for key, label in OUTCOMES.items()]
    out += [("Conseillers", f"note {score}/5", shown(count)) for score, count in h.ratings.items()]
    out += [("Conseillers", "note moyenne", decimal(h.rating_mean))]
    out += [
        ("Conseillers", "demandes hors horaires", "—" if h.outside_hours is None else shown(h.outside_hours)),
        ("Conseillers", "part des demandes hors horaires", percent(h.outside_hours_share)),
    ]
    out += [
        ("Ateliers", "tenus", str(a.held)),
        ("Ateliers", "annulés", str(a.cancelled)),
        ("Ateliers", "places offertes", str(a.seats)),
        ("Ateliers", "inscrits", shown(a.confirmed)),
        ("Ateliers", "taux de remplissage", percent(a.fill_rate)),
        ("Ateliers", "en liste d'attente", shown(a.waiting)),
        ("Ateliers", "désinscriptions", shown(a.cancelled_by_citizens)),
        ("Ateliers", "présents / absents / non notés", f"{shown(a.present)} / {shown(a.absent)} / {shown(a.unmarked)}"),
    ]
    out += [("Ateliers", f"thème : {theme}", str(count)) for theme, count in a.by_theme.items()]
    out += [("Prêts", "prêts", str(loans.loans))]
    for kit in loans.kits:
        out += [
            (
                "Prêts",
                f"{kit.kit} : prêts, jours, occupation",
                f"{kit.loans}, {kit.days_lent}, {percent(kit.occupancy)}",
            )
        ]
    out += [("Prêts", f"structure : {name}", str(count)) for name, count in loans.by_structure.items()]
    out += [("Prêts", f"refus : {reason}", str(count)) for reason, count in loans.refusals.items()]
    out += [
        ("Prêts", "éléments manquants au retour", str(loans.missing_items)),
        ("Prêts", "éléments abîmés au retour", str(loans.damaged_items)),
        ("Prêts", "pannes signalées", str(loans.breakdowns)),
        ("Prêts", "bilans reçus", str(loans.bilans)),
        ("Prêts", "participants touchés", str(loans.reached)),
        ("Prêts", "appréciation moyenne", decimal(loans.rating_mean)),
    ]
    out += [("Prêts", f"nature : {nature}", str(count)) for nature, count in loans.by_nature.items()]
    out += [("Prêts", f"public : {public}", str(count)) for public, count in loans.by_public.items()]
    return out


def _fiche_title(topic: str) -> str:
    fiche = get_fiche(topic)
    return fiche.title if fiche else topic
