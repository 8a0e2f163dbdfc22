"""The board pack as an accessible Word document (python-docx).

Accessibility (the public sector accessibility regulations, WCAG 2.2 AA): a Title and real
Heading 1/2 styles so a screen reader can move by section; every table's first row marked as a
header row (`w:tblHeader`), so it is announced and repeats across pages; every chart carries alt
text (`wp:docPr/@descr`), the RAG chart's figures are also given as a table and each measure's
latest figure, trajectory and target in a sentence under its chart; a RAG rating is always written
as a word, the cell colour only repeating it; the document's title and language (en-GB) are set
in its properties and its default run language.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches, Pt
from docx.table import Table, _Cell

from bot.boardpack.chart import rag_chart
from bot.boardpack.data import ActionRow, PackData
from bot.domain import day_text, moment_text
from bot.impact import Standing, latest_text, target_text, value_text
from bot.presenters import rag_columns
from bot.services.kpis import chart_of

LANGUAGE = "en-GB"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Light tints, so black text on them keeps a contrast ratio well above 4.5:1.
RAG_FILL = {"red": "F4C7C3", "amber": "FCE8B2", "green": "B7E1CD", "complete": "C9DAF8"}
NOT_RATED = "not rated"
# With this many measures or fewer, each gets a chart; with more, only those of workstreams
# with red or amber actions do, and the rest a line in a table.
ALL_CHARTS = 6


def _when(data: PackData, at: datetime) -> str:
    return moment_text(at.astimezone(data.tz))


# the adviser follow-ups table; a redacted answer reads as REDACTED there
FOLLOWUP_COLUMNS = ["Id", "About", "Question", "Raised", "Answers", "State"]
REDACTED = "[redacted]"


def _day(data: PackData, at: datetime) -> str:
    return day_text(at.astimezone(data.tz).date())


def title_of(data: PackData) -> str:
    return f"Board pack: {data.board.name}, {_day(data, data.board.starts_at)}"


def build_docx(data: PackData, *, author: str = "WSoA bot") -> bytes:
    doc = Document()
    _set_language_and_properties(doc, data, author)
    doc.add_heading(title_of(data), level=0)
    previous = data.cycle.previous_board
    since = (
        f"the previous board ({previous.name}, {_when(data, previous.starts_at)})"
        if previous
        else f"{_day(data, data.cycle.previous)} (no earlier board: one 42-day cycle)"
    )
    doc.add_paragraph(
        f"{data.plan_name}. Meeting: {_when(data, data.board.starts_at)}. "
        f"Figures as at {_when(data, data.at)}; changes since {since}."
    )
    _summary(doc, data)
    _workstreams(doc, data)
    _changes(doc, data)
    _flagged(doc, data)
    _escalation(doc, data)
    _followups(doc, data)
    _priorities(doc, data)
    _measures(doc, data)
    _chart(doc, data)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _set_language_and_properties(doc: DocumentObject, data: PackData, author: str) -> None:
    props = doc.core_properties
    props.title = title_of(data)
    props.subject = data.plan_name
    props.language = LANGUAGE
    props.author = author
    props.keywords = "WSoA; board pack; highlight report"
    props.created = data.at
    props.modified = data.at
    props.last_modified_by = author
    # The default run language, which screen readers and spell checkers use.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    run_defaults = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    rpr = run_defaults.find(qn("w:rPr")) if run_defaults is not None else None
    if rpr is not None:
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), LANGUAGE)
    doc.styles["Normal"].font.size = Pt(10)


def table(
    doc: DocumentObject,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    rag_columns: Sequence[int] = (),
) -> Table:
    """A table whose first row is a marked header row, captioned with the heading above it;
    RAG words in `rag_columns` are shaded with their colour (the word stays: the colour only
    repeats it)."""
    caption = _last_heading(doc)
    grid = doc.add_table(rows=1, cols=len(columns))
    grid.style = "Table Grid"
    if caption:
        # the table's alternative-text title, which screen readers announce on entering it
        tbl_caption = OxmlElement("w:tblCaption")
        tbl_caption.set(qn("w:val"), caption)
        grid._tbl.tblPr.append(tbl_caption)
    header = grid.rows[0]
    trpr = header._tr.get_or_add_trPr()
    mark = OxmlElement("w:tblHeader")
    mark.set(qn("w:val"), "true")
    trpr.append(mark)
    for cell, text in zip(header.cells, columns, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    # Body rows are copies of one empty row: python-docx's add_row and cell.text re-read the
    # whole table each time, which made a 10,000-action pack take minutes.
    template = grid.add_row()._tr
    for tc in template.tc_lst:
        for p in tc.p_lst[1:]:
            tc.remove(p)
    for values in rows:
        tr = copy.deepcopy(template)
        for i, (tc, text) in enumerate(zip(tr.tc_lst, values, strict=True)):
            _write(tc.p_lst[0], text)
            if i in rag_columns and text in RAG_FILL:
                _shade_tc(tc, RAG_FILL[text])
        template.addprevious(tr)
    grid._tbl.remove(template)
    doc.add_paragraph()
    return grid


def _write(paragraph: Any, text: str) -> None:
    """One run holding `text`, its line breaks as `w:br` (what cell.text does)."""
    run = OxmlElement("w:r")
    for n, line in enumerate(text.split("\n")):
        if n:
            run.append(OxmlElement("w:br"))
        t = OxmlElement("w:t")
        t.set(qn("xml:space"), "preserve")
        t.text = line
        run.append(t)
    paragraph.append(run)


def _last_heading(doc: DocumentObject) -> str | None:
    for paragraph in reversed(doc.paragraphs):
        style = paragraph.style.name if paragraph.style is not None else ""
        if style.startswith("Heading"):
            return paragraph.text
    return None


def _shade_tc(tc: Any, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    tc.get_or_add_tcPr().append(shading)


def _due(due: date | None, due_text: str | None) -> str:
    return day_text(due) if due else (due_text or "no date")


def _rag(rag: str | None) -> str:
    return rag or NOT_RATED


def _summary(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("Summary", level=1)
    total = sum(w.total for w in data.workstreams)
    ratings = ", ".join(
        f"{sum(w.of(rating) for w in data.workstreams)} {label.lower()}"
        for label, rating in rag_columns(data.rag_scale)
    )
    closed = sum(w.closed for w in data.workstreams)
    open_followups = sum(1 for f in data.followups if f.closed_at is None)
    doc.add_paragraph(
        f"{total} actions: {ratings}; {closed} closed (complete, signed off or "
        f"halted). {len(data.for_escalation)} for escalation. {len(data.moves)} RAG moves and "
        f"{len(data.signoffs)} sign-offs since the previous board. "
        f"{open_followups} open adviser follow-ups."
    )


def _workstreams(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("RAG by workstream", level=1)
    doc.add_paragraph(
        "Overall is the worst rating among the workstream's open actions, and complete when "
        "all are finished (complete or signed off, counted as Complete, BRAG's blue, whatever "
        "their last RAG); each rating is written out, the colour only repeats it."
    )
    columns = rag_columns(data.rag_scale)
    rows = []
    for w in data.workstreams:
        counts = (*(w.of(rating) for _, rating in columns), w.closed, w.total)
        rows.append([w.name, _rag(w.overall), *(str(n) for n in counts)])
    table(
        doc,
        ["Workstream", "Overall", *(label for label, _ in columns), "Closed", "Actions"],
        rows,
        rag_columns=[1],
    )


def _changes(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("What changed since the previous board", level=1)
    doc.add_heading(f"RAG moves ({len(data.moves)})", level=2)
    if data.moves:
        table(
            doc,
            ["Ref", "Action", "From", "To"],
            [[m.ref, m.title, _rag(m.rag_from), _rag(m.rag_to)] for m in data.moves],
            rag_columns=[2, 3],
        )
    else:
        doc.add_paragraph("No action's rating changed.")
    doc.add_heading(f"Signed off ({len(data.signoffs)})", level=2)
    if data.signoffs:
        table(
            doc,
            ["Ref", "Action", "Signed off", "Note"],
            [[c.ref, c.title, _day(data, c.at), c.note or ""] for c in data.signoffs],
        )
    else:
        doc.add_paragraph("No action was signed off.")
    doc.add_heading(f"Due dates changed ({len(data.due_changes)})", level=2)
    if data.due_changes:
        table(
            doc,
            ["Ref", "Action", "Changed", "Was due", "Due now", "Note"],
            [
                [
                    c.ref,
                    c.title,
                    _day(data, c.at),
                    c.due_was or "no date",
                    c.due_became or "no date",
                    c.note or "",
                ]
                for c in data.due_changes
            ],
        )
    else:
        doc.add_paragraph("No due date changed.")


def _flagged(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("Red and amber actions", level=1)
    for rag in ("red", "amber"):
        actions = [a for a in data.flagged if a.rag == rag]
        doc.add_heading(f"{rag.capitalize()} ({len(actions)})", level=2)
        if not actions:
            doc.add_paragraph(f"No {rag} actions.")
            continue
        table(
            doc,
            ["Ref", "RAG", "Action", "Workstream", "Leads", "Due", "Status", "Latest report"],
            [
                [
                    a.ref,
                    rag,
                    a.title,
                    data.workstream_names.get(a.workstream_id, ""),
                    ", ".join(a.leads) or "none",
                    _due(a.due, a.due_text),
                    a.status,
                    _latest_report(data, a),
                ]
                for a in actions
            ],
            rag_columns=[1],
        )


def _latest_report(data: PackData, action: ActionRow) -> str:
    """The latest highlight report's progress, plans and barriers; else the latest note."""
    report = data.reports.get(action.id)
    if report is not None:
        if report.no_change:
            return f"{_day(data, report.at)}: no change"
        parts = [
            f"{label}: {text}"
            for label, text in (
                ("Progress", report.progress),
                ("Planned", report.planned),
                ("Barriers", report.barriers),
            )
            if text
        ]
        return f"{_day(data, report.at)}\n" + "\n".join(parts)
    if action.last_note and action.last_update_at:
        return f"{_day(data, action.last_update_at)}: {action.last_note}"
    return "no report yet"


def _escalation(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("For escalation", level=1)
    doc.add_paragraph(
        "Actions newly red since the previous board, or red for two cycles (red when each of "
        "the last two boards sat; a cycle is the time between board meetings, or 42 days)."
    )
    if data.for_escalation:
        table(
            doc,
            ["Ref", "Action", "Why", "Red since", "Board considered"],
            [
                [
                    e.action.ref,
                    e.action.title,
                    e.reason,
                    _day(data, e.red_since) if e.red_since else "not red",
                    (
                        f"{_day(data, e.considered.at)}: {e.considered.note}"
                        if e.considered
                        else "not yet"
                    ),
                ]
                for e in data.for_escalation
            ],
        )
    else:
        doc.add_paragraph("No actions for escalation.")
    doc.add_heading(f"Escalations recorded since the previous board ({len(data.escalations)})", 2)
    if data.escalations:
        table(
            doc,
            ["Ref", "Action", "Recorded", "Note"],
            [
                [u.action.ref, u.action.title, _day(data, u.at), u.note or ""]
                for u in data.escalations
            ],
        )
    else:
        doc.add_paragraph("None recorded.")


def _followups(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("Adviser follow-ups", level=1)
    doc.add_paragraph("Open follow-ups, and those closed since the previous board.")
    if not data.followups:
        doc.add_paragraph("None.")
        return
    rows = []
    for f in data.followups:
        about = f.action.ref if f.action else f.workstream.name if f.workstream else ""
        answers = (
            "\n".join(f"{_day(data, a.at)}: {a.text or REDACTED}" for a in f.answers)
            or "no answer yet"
        )
        state = f"closed {_day(data, f.closed_at)}" if f.closed_at else "open"
        rows.append([f"FU-{f.id}", about, f.question, _day(data, f.raised_at), answers, state])
    table(doc, FOLLOWUP_COLUMNS, rows)


def without_answer(content: bytes, followup_label: str, text: str) -> bytes | None:
    """A kept pack with a redacted answer's text replaced by "[redacted]" in the follow-ups
    table's row for `followup_label` (only there: a short answer such as "46" is a figure
    elsewhere), or None when the pack does not show it."""
    line = re.compile(r"(?<=: )" + re.escape(text) + r"(?=\n|\Z)")
    answers = FOLLOWUP_COLUMNS.index("Answers")

    def cells(row: list[_Cell]) -> list[_Cell]:
        wanted = len(row) == len(FOLLOWUP_COLUMNS) and row[0].text == followup_label
        return [row[answers]] if wanted else []

    return _without(content, cells, line)


def without_note(content: bytes, ref: str, texts: Sequence[str]) -> bytes | None:
    """A kept pack with a redacted update's texts (its note, its highlight report's parts)
    replaced by "[redacted]" in the rows about action `ref`, wherever a table shows one: a
    whole line of a cell, or a line's end after "date: " or "Progress: ". None when the pack
    shows none of them."""
    wanted = sorted({t for t in texts if t}, key=len, reverse=True)
    if not wanted:
        return None
    alternatives = "|".join(re.escape(t) for t in wanted)
    line = re.compile(rf"(?:(?<=: )|(?<=\n)|^)(?:{alternatives})(?=\n|\Z)")
    return _without(content, lambda row: row[1:] if row and row[0].text == ref else [], line)


def _without(
    content: bytes, cells_of: Callable[[list[_Cell]], list[_Cell]], pattern: re.Pattern[str]
) -> bytes | None:
    """The pack with `pattern` replaced by REDACTED in the table cells `cells_of` picks from
    each row, or None when nothing matched."""
    doc = Document(io.BytesIO(content))
    found = False
    for grid in doc.tables:
        for row in grid.rows:
            for cell in cells_of(list(row.cells)):
                for paragraph in cell.paragraphs:
                    kept = pattern.sub(REDACTED, paragraph.text)
                    if kept != paragraph.text:
                        runs = paragraph.runs
                        runs[0].text = kept
                        for run in runs[1:]:
                            run._r.getparent().remove(run._r)
                        found = True
    if not found:
        return None
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _priorities(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("Strategic priorities", level=1)
    matrix = data.matrix
    if not matrix.priorities:
        doc.add_paragraph("The plan has no strategic priorities yet.")
        return
    doc.add_heading("RAG by priority", level=2)
    columns = rag_columns(data.rag_scale)
    rows = []
    for p, t in matrix.by_priority():
        label = f"{p.key} {p.name}" if p else "Not mapped to a priority"
        rows.append([label, *(str(t.of(rag)) for _, rag in columns), str(t.total)])
    table(doc, ["Priority", *(label for label, _ in columns), "Actions"], rows)
    doc.add_heading("Workstreams × priorities", level=2)
    doc.add_paragraph(
        "Actions in each workstream serving each priority, with their ratings in words. "
        + "; ".join(f"{p.key}: {p.name}" for p in matrix.priorities)
        + ". An action mapped to two priorities counts under both."
    )
    table(
        doc,
        ["Workstream", *(p.key for p in matrix.priorities), "Not mapped"],
        [
            [
                name,
                *(matrix.cell(wid, p.id).words() for p in matrix.priorities),
                matrix.cell(wid, None).words(),
            ]
            for wid, name in matrix.workstreams
        ],
    )


def _judged(standing: Standing) -> str:
    if standing.on_track is None:
        return "no figures yet"
    return "on trajectory" if standing.on_track else "off trajectory"


def _measures(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("Measures of impact", level=1)
    if not data.measures:
        doc.add_paragraph("The plan has no measures of impact yet.")
        return
    judged = [s for s in data.measures if s.latest is not None]
    on = sum(1 for s in judged if s.on_track)
    doc.add_paragraph(
        f"{on} of {len(data.measures)} measures on trajectory"
        + (
            f" ({len(data.measures) - len(judged)} with no figures yet)."
            if len(judged) < len(data.measures)
            else "."
        )
    )
    flagged = {a.workstream_id for a in data.flagged}
    charted = [
        s
        for s in data.measures
        if len(data.measures) <= ALL_CHARTS or any(w.id in flagged for w in s.measure.workstreams)
    ]
    rest = [s for s in data.measures if s not in charted]
    for standing in charted:
        name = f"{standing.measure.short_id} {standing.measure.name}"
        doc.add_heading(name, level=2)
        chart, alt = chart_of(standing)
        doc.add_picture(io.BytesIO(chart.png), width=Inches(6.0))
        doc_pr = doc.inline_shapes[-1]._inline.docPr
        doc_pr.set("descr", alt)
        doc_pr.set("title", name)
        doc.add_paragraph(
            f"Latest: {latest_text(standing)}; {_judged(standing)}"
            + (
                f" (trajectory {value_text(standing.latest.expected, standing.measure.unit)})"
                if standing.latest
                else ""
            )
            + f". Target: {target_text(standing.measure)}."
        )
    if rest:
        doc.add_heading("Other measures", level=2)
        table(
            doc,
            ["Measure", "Latest", "Trajectory", "Target", "On trajectory"],
            [
                [
                    f"{s.measure.short_id} {s.measure.name}",
                    latest_text(s),
                    value_text(s.latest.expected, s.measure.unit) if s.latest else "",
                    target_text(s.measure),
                    _judged(s),
                ]
                for s in rest
            ],
        )


def _chart(doc: DocumentObject, data: PackData) -> None:
    doc.add_heading("RAG over time", level=1)
    png, alt = rag_chart(data.chart)
    doc.add_picture(io.BytesIO(png), width=Inches(6.3))
    doc_pr = doc.inline_shapes[-1]._inline.docPr
    doc_pr.set("descr", alt)
    doc_pr.set("title", "RAG ratings at each board meeting")
    doc.add_paragraph("The figures in the chart:")
    table(
        doc,
        ["Board meeting", "Red", "Amber", "Green", "Complete", "Not rated"],
        [
            [p.label, str(p.red), str(p.amber), str(p.green), str(p.complete), str(p.unrated)]
            for p in data.chart
        ],
    )
