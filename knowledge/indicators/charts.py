"""The report's charts, for a comité that reads each in one look: PNG images of a fixed size (a Telegram photo, a
printed page), French labels and dates, grey levels and hatching only, so that they read as well in black and white.

The report's privacy rule holds on every chart: a count of people or messages from 1 to 4 is never drawn as its value.
Its bar is drawn at the height SMALL_COUNT, white with a cross hatching (HIDDEN_HATCH) and labelled « < 5 », and a
note under the chart says what such a bar means; 0 is drawn as 0. Counts that are not of people (seats offered, days a
kit was lent, occupancy) are drawn as they are.

Only matplotlib's object-oriented API is used (never pyplot, which keeps global state: the bot draws from worker
threads), and no global setting is changed: the font and sizes are given to each text, so that the same report always
gives the same bytes."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, MaxNLocator

from knowledge.french import MONTHS, day_and_month
from knowledge.handoffs.tickets import OUTCOMES
from knowledge.indicators.figures import SMALL_COUNT, counted, decimal, integer, percent, shown
from knowledge.indicators.report import Report

WIDTH_PX, HEIGHT_PX = 1200, 675
"""Every chart: 16:9, readable on a phone (a Telegram photo) and printed."""
DPI = 100
FONT = "DejaVu Sans"
"""Shipped with matplotlib: the same glyphs on every machine."""
TITLE_PT, SUBTITLE_PT, LABEL_PT = 22, 15, 14

BLACK, DARK, MID, LIGHT, WHITE = "#000000", "#3a3a3a", "#7f7f7f", "#c8c8c8", "#ffffff"
HIDDEN_HATCH = "xx"
"""The pattern of a bar whose count (1 to 4) is hidden; no other bar uses it."""
HIDDEN_LABEL = shown(1)
HIDDEN_NOTE = f"Barre hachurée « {HIDDEN_LABEL} » : de 1 à 4, le chiffre exact n'est pas montré (anonymat)."

SUBTITLE_CHARACTERS = 96
"""What a subtitle line holds across the chart; a longer structure name is shortened with « … »."""
TOP_FICHES = 10
TOP_KITS = 12
LABEL_WIDTH, LABEL_LINES = 30, 2
"""A bar's name is wrapped at LABEL_WIDTH characters, on LABEL_LINES lines at most, then shortened with « … »."""
MANY_WEEKS = 12
"""Beyond this, only the first week of each month is named (« mars 2026 »)."""
SLANTED_WEEKS = 40
"""Beyond this, the months' names are slanted so that they do not overlap."""
UPRIGHT_LABELS, MOST_LABELS = 20, 56
"""Value labels are written across a vertical bar up to UPRIGHT_LABELS bars, turned a quarter up to MOST_LABELS; beyond,
only the « < 5 » are written (the value axis gives the rest)."""
INSIDE_FROM = 0.6
"""A horizontal bar longer than this share of its axis carries its label inside."""

Bar = tuple[float, str, bool]
"""A bar as drawn: its height, its label, whether its count is hidden."""


@dataclass(frozen=True)
class Chart:
    name: str
    """File stem, ASCII: « questions-par-sujet »."""
    title: str
    """French caption: « Questions par sujet »."""
    png: bytes


@dataclass(frozen=True)
class Drawing:
    """A chart before it is saved: its figure is drawn on an Agg canvas of WIDTH_PX × HEIGHT_PX at DPI."""

    name: str
    title: str
    figure: Figure


def render_charts(report: Report) -> list[Chart]:
    """The report's charts, in reading order; a chart with nothing to show is left out (an empty period gives [])."""
    return [Chart(drawing.name, drawing.title, _png(drawing.figure)) for drawing in draw_charts(report)]


def draw_charts(report: Report) -> list[Drawing]:
    """The same charts as matplotlib figures, to save in another format (SVG for a printed document)."""
    drawings = (
        _weeks_chart(report),
        _subjects_chart(report),
        _fiches_chart(report),
        _handoffs_chart(report),
        _ateliers_chart(report),
        _kits_chart(report),
    )
    return [drawing for drawing in drawings if drawing is not None]


def bar_values(counts: Sequence[int], *, people: bool = True) -> list[Bar]:
    """How each count is drawn: a count of people from 1 to 4 at the height SMALL_COUNT, labelled « < 5 » and hidden;
    any other count (and every count when `people` is False) as it is."""
    return [
        (float(SMALL_COUNT), HIDDEN_LABEL, True)
        if people and 0 < count < SMALL_COUNT
        else (float(count), integer(count), False)
        for count in counts
    ]


def week_labels(mondays: Sequence[date]) -> list[str]:
    """Each week's name on the axis: its Monday (« 2 mars ») up to MANY_WEEKS weeks; beyond, only the first week of
    each month is named (the month of its Thursday, as ISO weeks): « mars 2026 », « avril »… the year on the first
    month and on January; the other weeks left blank."""
    if len(mondays) <= MANY_WEEKS:
        return [day_and_month(monday) for monday in mondays]
    labels: list[str] = []
    previous: tuple[int, int] | None = None
    for monday in mondays:
        thursday = monday + timedelta(days=3)
        month = (thursday.year, thursday.month)
        name = MONTHS[thursday.month - 1] + (f" {thursday.year}" if previous is None or thursday.month == 1 else "")
        labels.append(name if month != previous else "")
        previous = month
    return labels


def _weeks_chart(report: Report) -> Drawing | None:
    counts = [week.conversations for week in report.weeks]
    if not any(counts):
        return None
    title = "Conversations par semaine"
    fig, (ax,) = _figure(
        report, title, counted(sum(counts), "conversation de citoyen", "conversations de citoyens", people=True)
    )
    bars = bar_values(counts)
    labels = week_labels([week.monday for week in report.weeks])
    hidden = _vertical_bars(ax, labels, bars, face=MID)
    ax.set_xlabel("Semaine du lundi" if len(labels) <= MANY_WEEKS else "Semaines", **_text(LABEL_PT))
    if len(labels) > MANY_WEEKS:
        ax.tick_params(axis="x", length=0)
    if len(labels) > SLANTED_WEEKS:
        for label in ax.get_xticklabels():
            label.set(rotation=40, ha="right", rotation_mode="anchor")
    return _chart("conversations-par-semaine", title, fig, hidden)


def _subjects_chart(report: Report) -> Drawing | None:
    questions = report.questions
    if questions is None or not any(questions.by_subject.values()):
        return None
    title = "Questions par sujet"
    fig, (ax,) = _figure(report, title, counted(questions.messages, "message reçu", "messages reçus", people=True))
    names, bars = _ranked(questions.by_subject)
    hidden = _horizontal_bars(ax, names, bars)
    return _chart("questions-par-sujet", title, fig, hidden)


def _fiches_chart(report: Report) -> Drawing | None:
    questions = report.questions
    if questions is None or not any(questions.by_fiche.values()):
        return None
    title = "Fiches les plus demandées"
    total = len(questions.by_fiche)
    detail = f"les {TOP_FICHES} premières sur {total} fiches demandées" if total > TOP_FICHES else None
    fig, (ax,) = _figure(report, title, detail)
    names, bars = _ranked(questions.by_fiche)
    hidden = _horizontal_bars(ax, names[:TOP_FICHES], bars[:TOP_FICHES])
    return _chart("fiches-les-plus-demandees", title, fig, hidden)


def _handoffs_chart(report: Report) -> Drawing | None:
    handoffs = report.handoffs
    outcomes = [handoffs.outcomes.get(key, 0) for key in OUTCOMES]
    ratings = [handoffs.ratings.get(score, 0) for score in range(1, 6)]
    if not any(outcomes) and not any(ratings):
        return None
    title = "Demandes de conseiller : issue et satisfaction"
    details = [counted(handoffs.requests, "demande", "demandes", people=True)]
    if handoffs.wait_median_minutes is not None:
        details.append(f"attente médiane {decimal(handoffs.wait_median_minutes)} min")
    if handoffs.rating_mean is not None:
        details.append(f"note moyenne {decimal(handoffs.rating_mean)}/5")
    fig, (left, right) = _figure(report, title, " · ".join(details), columns=2)
    hidden = False
    left.set_title("Issue des demandes closes", loc="left", **_text(SUBTITLE_PT, weight="bold"))
    if any(outcomes):
        names = [label[:1].upper() + label[1:] for label in OUTCOMES.values()]
        hidden |= _horizontal_bars(left, names, bar_values(outcomes), width=20)
    else:
        _nothing(left, "Aucune demande close")
    right.set_title("Note des citoyens (de 1 à 5)", loc="left", **_text(SUBTITLE_PT, weight="bold"))
    if any(ratings):
        hidden |= _vertical_bars(right, [str(score) for score in range(1, 6)], bar_values(ratings), face=MID)
        right.set_xlabel("Note donnée", **_text(LABEL_PT))
    else:
        _nothing(right, "Aucune note donnée")
    return _chart("conseillers", title, fig, hidden)


def _ateliers_chart(report: Report) -> Drawing | None:
    a = report.ateliers
    # (name, count, of people, fill, hatching); « non notée » only when a conseiller left some presence unmarked
    series = [
        ("Places offertes", a.seats, False, LIGHT, ""),
        ("Inscrits", a.confirmed, True, MID, ""),
        ("Présents", a.present, True, DARK, ""),
        ("Absents", a.absent, True, WHITE, "//"),
        *([("Présence non notée", a.unmarked, True, WHITE, "--")] if a.unmarked else []),
        ("Liste d'attente", a.waiting, True, WHITE, ".."),
    ]
    if not any(count for _, count, *_ in series):
        return None
    title = "Ateliers : places, inscrits, présents"
    details = [counted(a.held, "atelier tenu", "ateliers tenus")]
    if a.cancelled:
        details[0] += f", {counted(a.cancelled, 'annulé', 'annulés')}"
    if a.fill_rate is not None and not 0 < a.confirmed < SMALL_COUNT:  # the rate would tell a hidden count
        details.append(f"remplissage {percent(a.fill_rate)}")
    fig, (ax,) = _figure(report, title, " · ".join(details))
    bars = [bar_values([count], people=people)[0] for _, count, people, _, _ in series]
    styles = [(face, hatch) for *_, face, hatch in series]
    hidden = _vertical_bars(ax, [name for name, *_ in series], bars, styles=styles)
    return _chart("ateliers", title, fig, hidden)


def _kits_chart(report: Report) -> Drawing | None:
    loans = report.loans
    if not any(kit.days_lent for kit in loans.kits):
        return None
    title = "Occupation du matériel prêté"
    kits = sorted(loans.kits, key=lambda kit: (-kit.occupancy, -kit.days_lent, kit.kit))
    detail = counted(loans.loans, "prêt", "prêts")
    if len(kits) > TOP_KITS:
        detail += f" · les {TOP_KITS} kits les plus occupés sur {len(kits)}"
    fig, (ax,) = _figure(report, title, detail)
    bars = [
        (
            kit.occupancy * 100,
            f"{percent(kit.occupancy)} · {counted(kit.days_lent, 'jour prêté', 'jours prêtés')}",
            False,
        )
        for kit in kits
    ]
    _horizontal_bars(ax, [kit.kit for kit in kits[:TOP_KITS]], bars[:TOP_KITS], face=DARK, limit=100.0)
    ax.xaxis.set_visible(True)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0f} %"))
    ax.grid(axis="x", color=LIGHT, linewidth=1)
    ax.set_xlabel("Part des jours de la période où le kit était prêté", **_text(LABEL_PT))
    return _chart("occupation-du-materiel", title, fig, False)


def _figure(report: Report, title: str, detail: str | None, *, columns: int = 1) -> tuple[Figure, list[Axes]]:
    """A blank chart: its title; the period and whom it is about; the chart's key figures; then its axes."""
    layout = ConstrainedLayoutEngine(rect=(0.01, 0.065, 0.98, 0.745), w_pad=0.1, h_pad=0.1, wspace=0.08)
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor=WHITE, layout=layout)
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.97, title, va="top", **_text(TITLE_PT, weight="bold"))
    period = _period(report)
    about = (
        _shorten(report.structure, SUBTITLE_CHARACTERS - len(period) - 3) if report.structure else "ensemble du réseau"
    )
    fig.text(0.02, 0.895, f"{period} · {about}", va="top", color=DARK, **_text(SUBTITLE_PT))
    if detail:
        fig.text(0.02, 0.853, detail, va="top", color=BLACK, **_text(SUBTITLE_PT))
    axes = list(fig.subplots(1, columns, squeeze=False)[0])
    for ax in axes:
        ax.set_facecolor(WHITE)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=LABEL_PT, labelfontfamily=FONT, colors=BLACK)
        ax.set_axisbelow(True)
    return fig, axes


def _vertical_bars(
    ax: Axes,
    names: Sequence[str],
    bars: Sequence[Bar],
    *,
    face: str = MID,
    styles: Sequence[tuple[str, str]] | None = None,
) -> bool:
    """Bars standing on the x axis, their values above them; whether one is hidden."""
    positions = range(len(bars))
    container = ax.bar(positions, [height for height, _, _ in bars], width=0.7, color=face, edgecolor=BLACK)
    _style(container, bars, styles)
    ax.set_xticks(positions, [_wrap(name) for name in names], **_text(LABEL_PT))
    ax.set_xlim(-0.6, len(bars) - 0.4)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: integer(round(value))))
    ax.grid(axis="y", color=LIGHT, linewidth=1)
    upright = len(bars) <= UPRIGHT_LABELS
    labels = [label if len(bars) <= MOST_LABELS or hidden else "" for _, label, hidden in bars]
    ax.bar_label(container, labels, padding=4, rotation=0 if upright else 90, **_text(LABEL_PT))
    top = max(height for height, _, _ in bars)
    ax.set_ylim(0, top * (1.15 if upright else 1.3))
    return any(hidden for _, _, hidden in bars)


def _horizontal_bars(
    ax: Axes,
    names: Sequence[str],
    bars: Sequence[Bar],
    *,
    face: str = MID,
    width: int = LABEL_WIDTH,
    limit: float | None = None,
) -> bool:
    """Bars from the y axis, the first at the top, each value written at its end (inside a bar longer than INSIDE_FROM
    of the axis, in white); no value axis. Whether one is hidden."""
    positions = range(len(bars))
    container = ax.barh(positions, [height for height, _, _ in bars], height=0.7, color=face, edgecolor=BLACK)
    _style(container, bars, None)
    ax.set_yticks(positions, [_wrap(name, width) for name in names], **_text(LABEL_PT))
    ax.set_ylim(len(bars) - 0.4, -0.6)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_visible(False)
    ax.spines["bottom"].set_visible(False)
    right = limit if limit is not None else max(height for height, _, _ in bars) * 1.18
    ax.set_xlim(0, right)
    for patch, (height, label, hidden) in zip(container.patches, bars, strict=True):
        y = patch.get_y() + patch.get_height() / 2
        if not hidden and height > INSIDE_FROM * right and face != WHITE:
            ax.text(height - right * 0.01, y, label, ha="right", va="center", color=WHITE, **_text(LABEL_PT))
        else:
            ax.text(height + right * 0.01, y, label, ha="left", va="center", color=BLACK, **_text(LABEL_PT))
    return any(hidden for _, _, hidden in bars)


def _style(container: BarContainer, bars: Sequence[Bar], styles: Sequence[tuple[str, str]] | None) -> None:
    """Each bar's fill and hatching: a hidden count white with HIDDEN_HATCH, whatever its series."""
    for index, (patch, (_, _, hidden)) in enumerate(zip(container.patches, bars, strict=True)):
        face, hatch = styles[index] if styles else (None, "")
        if hidden:
            face, hatch = WHITE, HIDDEN_HATCH
        if face is not None:
            patch.set_facecolor(face)
        patch.set_hatch(hatch or None)
        patch.set_hatchcolor(BLACK)
        patch.set_hatch_linewidth(1.0)
        patch.set_linewidth(1.2)


def _nothing(ax: Axes, message: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=DARK, **_text(LABEL_PT))


def _chart(name: str, title: str, fig: Figure, hidden: bool) -> Drawing:
    """The drawn chart, with the note that says what a hatched « < 5 » bar is when it has one."""
    if hidden:
        fig.text(0.02, 0.02, HIDDEN_NOTE, va="bottom", color=DARK, **_text(LABEL_PT))
    return Drawing(name, title, fig)


def _png(fig: Figure) -> bytes:
    """The figure at WIDTH_PX × HEIGHT_PX (no tight bounding box: it would change the size), without metadata that
    would change from one run to the next."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor=WHITE, metadata={"Software": None})
    return buffer.getvalue()


def _ranked(counts: dict[str, int]) -> tuple[list[str], list[Bar]]:
    """Names and bars, the largest first; hidden counts ranked as SMALL_COUNT, by name (their order would tell)."""
    drawn = sorted(zip(counts, bar_values(list(counts.values())), strict=True), key=lambda item: (-item[1][0], item[0]))
    return [name for name, _ in drawn], [bar for _, bar in drawn]


def _period(report: Report) -> str:
    first, last = report.period.first, report.period.last
    if first == last:
        return f"Le {day_and_month(first, year=True)}"
    return f"Du {day_and_month(first, year=first.year != last.year)} au {day_and_month(last, year=True)}"


def _text(size: float, *, weight: str = "normal") -> dict[str, object]:
    """Every text's font, given each time (no global setting); « $ » in a name is a dollar, not mathematics."""
    return {"fontfamily": FONT, "fontsize": size, "fontweight": weight, "parse_math": False}


def _wrap(text: str, width: int = LABEL_WIDTH) -> str:
    return (
        "\n".join(textwrap.wrap(text, width, max_lines=LABEL_LINES, placeholder=" …", break_on_hyphens=False)) or text
    )


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
