"""The report as a file: Markdown, CSV, a self-contained HTML page (its charts inside) or an OpenDocument
spreadsheet (LibreOffice, and Excel opens it). Every format holds the same rows (report.rows)."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections.abc import Callable

from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import ParagraphProperties, Style, TableColumnProperties, TextProperties
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

from knowledge.indicators.charts import Chart, render_charts
from knowledge.indicators.report import Report, rows

FORMATS = ("md", "csv", "html", "ods")


def render(report: Report, fmt: str, charts: list[Chart] | None = None) -> bytes:
    """The report in one of FORMATS; `charts` (for HTML) when they are already drawn."""
    writers: dict[str, Callable[[], str | bytes]] = {
        "md": lambda: to_markdown(report),
        "csv": lambda: to_csv(report),
        "html": lambda: to_html(report, render_charts(report) if charts is None else charts),
        "ods": lambda: to_ods(report),
    }
    if fmt not in writers:
        raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    out = writers[fmt]()
    return out.encode("utf-8") if isinstance(out, str) else out


def file_name(report: Report, fmt: str) -> str:
    """« bilan-passerelle-2026-01-01-2026-06-30.ods »: what the file is called when it is sent."""
    return f"bilan-passerelle-{report.period.first}-{report.period.last}.{fmt}"


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["section", "indicateur", "valeur"])
    writer.writerows(rows(report))
    return buffer.getvalue()


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", report.preamble]
    section = None
    for name, indicator, value in rows(report):
        if name != section:
            lines += ["", f"## {name}", "", "| indicateur | valeur |", "|---|---|"]
            section = name
        lines.append(f"| {indicator} | {value} |")
    return "\n".join(lines) + "\n"


def to_html(report: Report, charts: list[Chart]) -> str:
    """One page that opens anywhere, offline: the tables of every section, the charts as embedded PNG."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}"
        "table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{border:1px solid #999;padding:.3rem .6rem;"
        "text-align:left}td.v{text-align:right;white-space:nowrap}img{max-width:100%;height:auto}</style>",
        "</head><body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f"<p>{html.escape(report.preamble)}</p>",
    ]
    for chart in charts:
        data = base64.b64encode(chart.png).decode("ascii")
        out.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(chart.title)}">'
            f"<figcaption>{html.escape(chart.title)}</figcaption></figure>"
        )
    section = None
    for name, indicator, value in rows(report):
        if name != section:
            if section is not None:
                out.append("</tbody></table>")
            out += [f"<h2>{html.escape(name)}</h2>", "<table><thead><tr><th>indicateur</th><th>valeur</th></tr>"]
            out.append("</thead><tbody>")
            section = name
        out.append(f'<tr><td>{html.escape(indicator)}</td><td class="v">{html.escape(value)}</td></tr>')
    if section is not None:
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def to_ods(report: Report) -> bytes:
    """One sheet « Bilan »: the title, what bounds the figures, then section / indicateur / valeur. A plain count is
    a number cell (it sums); « < 5 », rates and pairs stay text as they are shown."""
    document = OpenDocumentSpreadsheet()
    bold = Style(name="bold", family="table-cell")
    bold.addElement(TextProperties(fontweight="bold"))
    wrap = Style(name="wrap", family="table-cell")
    wrap.addElement(ParagraphProperties(numberlines="false"))
    widths = {name: _column_style(document, name, width) for name, width in (("narrow", "4cm"), ("wide", "12cm"))}
    document.automaticstyles.addElement(bold)
    document.automaticstyles.addElement(wrap)
    sheet = Table(name="Bilan")
    for width in ("narrow", "wide", "narrow"):
        sheet.addElement(TableColumn(stylename=widths[width]))
    sheet.addElement(_row([report.title], bold))
    sheet.addElement(_row([report.preamble], wrap))
    sheet.addElement(_row([]))
    sheet.addElement(_row(["section", "indicateur", "valeur"], bold))
    for section, indicator, value in rows(report):
        sheet.addElement(_row([section, indicator, value]))
    document.spreadsheet.addElement(sheet)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def _column_style(document: OpenDocumentSpreadsheet, name: str, width: str) -> Style:
    style = Style(name=name, family="table-column")
    style.addElement(TableColumnProperties(columnwidth=width))
    document.automaticstyles.addElement(style)
    return style


def _row(values: list[str], style: Style | None = None) -> TableRow:
    row = TableRow()
    for value in values:
        options = {"stylename": style} if style is not None else {}
        if value.isdigit():
            cell = TableCell(valuetype="float", value=value, **options)
        else:
            cell = TableCell(valuetype="string", **options)
        cell.addElement(P(text=value))
        row.addElement(cell)
    return row
