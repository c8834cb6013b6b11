"""/bilan in Telegram: the lender's coordinateur gets the network's report (a short text, the charts as images, the
spreadsheet) with what citizens just asked in it; a member structure's coordinateur gets their structure's; a
médiateur is refused; a period that is not two dates gets an example."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.settings import Settings
from bot.tools.report import make_report
from knowledge.fiches import get_fiche
from knowledge.french import PARIS
from knowledge.indicators.bilan import periods_offered
from knowledge.indicators.period import Period
from knowledge.indicators.report import rows
from knowledge.staff import COORDINATEUR, MEDIATEUR
from tests.e2e.conftest import join_team
from tests.e2e.test_telegram import button_titles, say
from tests.fake_telegram import FakeTelegram
from tests.test_report import ods_figures

pytestmark = pytest.mark.e2e

LEAD, EPN_LEAD, MEDIA, CITIZEN = 9501, 9502, 9503, 9511
PNG = b"\x89PNG\r\n\x1a\n"


def _team(settings: Settings, telegram: FakeTelegram) -> None:
    join_team(
        settings,
        telegram,
        [
            (LEAD, "Léa", COORDINATEUR, "Réseau de démonstration, coordination"),
            (EPN_LEAD, "Yves", COORDINATEUR, "EPN de démonstration"),
            (MEDIA, "Malo", MEDIATEUR, "EPN de démonstration"),
        ],
    )


def _bilan(telegram: FakeTelegram, chat: int, mark: int) -> tuple[str, list[dict], dict]:
    """The summary, the charts and the spreadsheet the bot sent since `mark` (after « Je prépare… »)."""
    telegram.wait_for_request("sendDocument", since=mark, timeout=60)
    answer = telegram.wait_until_quiet(chat, since=mark)
    assert answer[0]["text"].startswith("Je prépare le bilan du ")
    summary, *charts, spreadsheet = answer[1:]
    assert all("photo" in chart for chart in charts) and "document" in spreadsheet
    return summary["text"], charts, spreadsheet


def test_a_coordinator_gets_the_report_in_telegram(bot: Settings, telegram: FakeTelegram) -> None:
    _team(bot, telegram)
    telegram.register_chat(CITIZEN, first_name="Paul")
    say(telegram, CITIZEN, "comment télécharger mon attestation de droits sur ameli")
    say(telegram, CITIZEN, "je cherche un atelier numérique à Saint-Lô")

    (choose,) = say(telegram, LEAD, "/bilan")
    assert button_titles(choose) == ["Ce semestre", "Le semestre précédent", "Les 12 derniers mois"]
    today = datetime.now(PARIS).date()
    semester = periods_offered(today)[0][1]
    mark = telegram.mark()
    telegram.user_presses_button(LEAD, choose, "Ce semestre")
    text, charts, spreadsheet = _bilan(telegram, LEAD, mark)
    assert text.startswith(f"Bilan du {semester.first:%d/%m/%Y} au {today:%d/%m/%Y}, pour le réseau.")
    assert "• Citoyens : " in text and "Fiches les plus demandées : " in text

    captions = [chart["caption"] for chart in charts]
    assert "Conversations par semaine" in captions and "Fiches les plus demandées" in captions
    for chart in charts:
        image = telegram.file(chart["photo"][-1]["file_id"]).data or b""
        assert image.startswith(PNG) and (chart["photo"][-1]["width"], chart["photo"][-1]["height"]) == (1200, 675)

    document = spreadsheet["document"]
    assert document["file_name"] == f"bilan-passerelle-{semester.first}-{semester.last}.ods"
    figures, _ = ods_figures(telegram.file(document["file_id"]).data or b"")
    # The same figures as the report built here from the same databases, now that nobody writes.
    assert figures == {(s, i): v for s, i, v in rows(make_report(bot, semester))}
    ameli = get_fiche("ameli")
    assert ameli is not None and figures[("Questions", f"fiche : {ameli.title}")] not in ("", "0")
    assert figures[("Recherches de lieux", "département : 50")] not in ("", "0")  # the search at Saint-Lô


def test_a_structure_coordinator_gets_their_structure_and_others_are_refused(
    bot: Settings, telegram: FakeTelegram
) -> None:
    _team(bot, telegram)
    today = datetime.now(PARIS).date()
    mark = telegram.mark()
    telegram.user_sends_text(EPN_LEAD, f"/bilan 01/01/{today.year} {today:%d/%m/%Y}")
    text, _charts, spreadsheet = _bilan(telegram, EPN_LEAD, mark)
    assert text.startswith(f"Bilan du 01/01/{today.year} au {today:%d/%m/%Y}, pour « EPN de démonstration ».")
    figures, _ = ods_figures(telegram.file(spreadsheet["document"]["file_id"]).data or b"")
    assert {section for section, _ in figures} == {"Conseillers", "Ateliers", "Prêts"}  # no citizens' questions
    expected = make_report(bot, Period(today.replace(month=1, day=1), today), "EPN de démonstration")
    assert figures == {(s, i): v for s, i, v in rows(expected)}

    (wrong,) = say(telegram, EPN_LEAD, "/bilan du 30/06 au 01/01")
    assert wrong["text"].startswith("Je n'ai pas compris la période.")
    (refused,) = say(telegram, MEDIA, "/bilan")
    assert refused["text"] == "Le bilan est réservé aux coordinateurs du réseau et des structures."
