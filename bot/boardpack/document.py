"""The board pack as a board paper (python-docx): decisions first, short at any size, readable
by everyone.

Order, as partnerships' own papers run: a cover block (meeting, date, who prepared it and how
to reach them, whether it may be published), the purpose, a contents list, a summary in a few
bullets, then **Decisions for the board** (red actions to consider, revised due dates to
approve, sign-offs to confirm, each saying what the board is asked to do), risks and barriers
from the leads' highlight reports, the red actions, who has reported this cycle, what changed,
the measures off trajectory, co-production and parent voice, and the adviser follow-ups. Full
lists (amber actions, every RAG move, the workstreams' and priorities' tables, the RAG history,
the other measures) go to appendices as compact tables, so a 1,000-action plan's pack stays
short; a body list longer than BODY_ROWS shows its first rows and says where the rest are.

Readable and accessible (the public sector accessibility regulations, WCAG 2.2 AA): A4 with
page numbers; Arial, 11 pt text and 10 pt tables; every text colour at 4.5:1 or more on its
background (TEXT_COLOUR, the RAG fills under black text), every chart line at 3:1
(bot/charts.py); a Title and real Heading 1/2 styles; summaries and decisions as real lists;
no empty paragraphs (spacing comes from the styles); tables with a marked header row
(`w:tblHeader`, repeated on each page), proportional column widths, rows kept whole on a page
(`w:cantSplit`) and a caption; each chart with alt text (`wp:docPr/@descr`) and its figures
in a table beside it; a RAG rating always written as a word, the colour only repeating it; the
document's title, subject, author and language (en-GB) set in its properties.
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
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

from bot.boardpack import MEDIA_TYPE as MEDIA_TYPE
from bot.boardpack.chart import rag_chart
from bot.boardpack.data import ActionRow, PackData, PackOptions, RagMove
from bot.domain import Rag, day_text, moment_text
from bot.impact import Standing, latest_text, period_text, target_text, value_text
from bot.presenters import rag_columns
from bot.services.kpis import chart_of

LANGUAGE = "en-GB"
FONT = "Arial"
BODY_PT = 11
TABLE_PT = 10
# Headings and text: dark navy on white, 12.9:1.
TEXT_COLOUR = "1F3864"
# Light tints, so black text on them keeps a contrast ratio well above 4.5:1.
RAG_FILL = {"red": "F4C7C3", "amber": "FCE8B2", "green": "B7E1CD", "complete": "C9DAF8"}
NOT_RATED = "not rated"
# A4, 2 cm margins: the width tables and charts share out.
PAGE_WIDTH_CM, PAGE_HEIGHT_CM, MARGIN_CM = 21.0, 29.7, 2.0
TEXT_WIDTH_CM = PAGE_WIDTH_CM - 2 * MARGIN_CM
# The longest list the body shows; the rest is in an appendix.
BODY_ROWS = 12
# Measures off trajectory charted in the body; the rest are in a table.
BODY_CHARTS = 3
# The longest success measure a body table quotes (a plan field, shown whole by `show REF`);
# what people wrote (reports, notes, answers) is quoted whole, so a redaction can find it.
QUOTE_CHARS = 300
# The title shown in a table: whole in the body, shortened in the appendix's compact tables.
COMPACT_TITLE = 70
NOT_PUBLIC = (
    "Not for publication: for the board's members and officers. It names officers and "
    "quotes their reports."
)
PUBLIC = (
    "Public: published with the meeting's papers. It names officers and quotes their "
    "reports, as the partnership agreed when it made the meeting's papers public."
)

# the adviser follow-ups table; a redacted answer reads as REDACTED there
FOLLOWUP_COLUMNS = ["Id", "About", "Question", "Raised", "Answers", "State"]
REDACTED = "[redacted]"


def _when(data: PackData, at: datetime) -> str:
    return moment_text(at.astimezone(data.tz))


def _day(data: PackData, at: datetime) -> str:
    return day_text(at.astimezone(data.tz).date())


def title_of(data: PackData) -> str:
    return f"Board pack: {data.board.name}, {_day(data, data.board.starts_at)}"


def _options(data: PackData) -> PackOptions:
    return data.options or PackOptions(tz=data.tz)


# The sections, in order: (heading, writer). The contents list is made from it.
def _sections() -> list[tuple[str, Callable[[DocumentObject, PackData], None]]]:
    return [
        ("Purpose", _purpose),
        ("Summary", _summary),
        ("Decisions for the board", _decisions),
        ("Risks and barriers", _barriers),
        ("Red actions", _red),
        ("Who has reported this cycle", _reporting),
        ("What changed since the previous board", _changes),
        ("Measures of impact", _measures),
        ("Co-production and parent voice", _coproduction),
        ("Adviser follow-ups", _followups),
        ("Appendix A: Red and amber actions by workstream", _by_workstream),
        ("Appendix B: All RAG moves", _all_moves),
        ("Appendix C: RAG by workstream", _workstreams),
        ("Appendix D: Strategic priorities", _priorities),
        ("Appendix E: RAG at each board meeting", _chart),
        ("Appendix F: Other measures, and the lists shortened", _rest),
    ]


def build_docx(data: PackData, *, author: str | None = None) -> bytes:
    doc = Document()
    options = _options(data)
    _set_up(doc, data, author or options.prepared_by)
    doc.add_heading(title_of(data), level=0)
    _cover(doc, data)
    doc.add_heading("Contents", level=1)
    for heading, _ in _sections():
        _bullet(doc, heading)
    for heading, write in _sections():
        doc.add_heading(heading, level=1)
        write(doc, data)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


# --- The page, the styles and the properties ------------------------------------------------


def _set_up(doc: DocumentObject, data: PackData, author: str) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(PAGE_WIDTH_CM), Cm(PAGE_HEIGHT_CM)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(MARGIN_CM))
    _page_numbers(section.footer.paragraphs[0])
    styles = doc.styles
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "List Bullet", "List Number"):
        _font(styles[name])
    styles["Normal"].font.size = Pt(BODY_PT)
    styles["Normal"].paragraph_format.space_after = Pt(6)
    styles["Table Grid"].font.size = Pt(TABLE_PT)
    for name, size in (("Title", 22), ("Heading 1", 16), ("Heading 2", 13)):
        style = styles[name]
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor.from_string(TEXT_COLOUR)
        style.paragraph_format.keep_with_next = True
    styles["Heading 1"].paragraph_format.space_before = Pt(18)
    styles["Heading 2"].paragraph_format.space_before = Pt(12)

    props = doc.core_properties
    props.title = title_of(data)
    props.subject = f"{data.plan_name}: progress and decisions for {data.board.name}"
    props.language = LANGUAGE
    props.author = author
    props.last_modified_by = author
    props.comments = (
        f"The board pack for {data.board.name}, {_day(data, data.board.starts_at)}: the "
        f"Written Statement of Action's progress as at {_when(data, data.at)}."
    )
    props.category = "Board paper"
    props.keywords = "SEND; Written Statement of Action; board pack; highlight report"
    props.created = data.at
    props.modified = data.at
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


def _font(style: Any) -> None:
    """Arial, whatever the template's theme says: a theme font attribute outranks a named one."""
    style.font.name = FONT
    fonts = style.element.rPr.find(qn("w:rFonts"))
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:cs"), FONT)


def _page_numbers(paragraph: Any) -> None:
    """ "Page 3 of 12", from Word's PAGE and NUMPAGES fields."""
    paragraph.add_run("Page ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" of ")
    _field(paragraph, "NUMPAGES")


def _field(paragraph: Any, instruction: str) -> None:
    run = paragraph.add_run()
    for kind in ("begin", None, "separate", "end"):
        if kind is None:
            text = OxmlElement("w:instrText")
            text.set(qn("xml:space"), "preserve")
            text.text = f" {instruction} "
            run._r.append(text)
            continue
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run._r.append(char)
        if kind == "separate":
            shown = OxmlElement("w:t")
            shown.text = "1"
            run._r.append(shown)


# --- Building blocks ------------------------------------------------------------------------


def _bullet(
    doc: DocumentObject, text: str, *, bold: str | None = None, style: str = "List Bullet"
) -> Any:
    """A paragraph (a bullet unless `style` says otherwise) led by `bold` words."""
    paragraph = doc.add_paragraph(style=style)
    if bold:
        paragraph.add_run(bold).bold = True
    paragraph.add_run(text)
    return paragraph


def table(
    doc: DocumentObject,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    widths: Sequence[float] | None = None,
    rag_columns: Sequence[int] = (),
) -> Table:
    """A table whose first row is a marked header row, captioned with the heading above it;
    columns share the text width in the proportions `widths`; every row is kept whole on one
    page; RAG words in `rag_columns` are shaded with their colour (the word stays: the colour
    only repeats it)."""
    caption = _last_heading(doc)
    grid = doc.add_table(rows=1, cols=len(columns))
    grid.style = "Table Grid"
    grid.autofit = False
    if caption:
        # the table's alternative-text title, which screen readers announce on entering it
        tbl_caption = OxmlElement("w:tblCaption")
        tbl_caption.set(qn("w:val"), caption)
        grid._tbl.tblPr.append(tbl_caption)
    twips = [
        round(cm / 2.54 * 1440)
        for cm in column_widths(widths or [1.0] * len(columns), [columns, *rows])
    ]
    for col, width in zip(grid._tbl.tblGrid.findall(qn("w:gridCol")), twips, strict=True):
        col.set(qn("w:w"), str(width))
    header = grid.rows[0]
    trpr = header._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):
        mark = OxmlElement(tag)
        mark.set(qn("w:val"), "true")
        trpr.append(mark)
    for cell, text, width in zip(header.cells, columns, twips, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
        _width(cell._tc, width)
    # Body rows are copies of one empty row: python-docx's add_row and cell.text re-read the
    # whole table each time, which made a 10,000-action pack take minutes.
    template = grid.add_row()._tr
    template_pr = template.get_or_add_trPr()
    keep = OxmlElement("w:cantSplit")
    keep.set(qn("w:val"), "true")
    template_pr.append(keep)
    for tc, width in zip(template.tc_lst, twips, strict=True):
        for p in tc.p_lst[1:]:
            tc.remove(p)
        _width(tc, width)
    for values in rows:
        tr = copy.deepcopy(template)
        for i, (tc, text) in enumerate(zip(tr.tc_lst, values, strict=True)):
            _write(tc.p_lst[0], text)
            if i in rag_columns and text in RAG_FILL:
                _shade_tc(tc, RAG_FILL[text])
        template.addprevious(tr)
    grid._tbl.remove(template)
    return grid


# A generous width of one character of 10 pt Arial (bold included), and a cell's padding: a
# column is never narrower than its longest word, so no word breaks in the middle.
CHAR_CM = 0.21
CELL_PADDING_CM = 0.45
# Longer runs of letters (a link, a reference list without spaces) may break: no column could
# hold them.
LONGEST_WORD = 24


def column_widths(shares: Sequence[float], rows: Sequence[Sequence[str]]) -> list[float]:
    """The columns' widths in cm: the text width shared out in proportion to `shares`, with
    each column at least as wide as its longest word."""
    least = [
        max((min(len(word), LONGEST_WORD) for row in rows for word in row[i].split()), default=1)
        * CHAR_CM
        + CELL_PADDING_CM
        for i in range(len(shares))
    ]
    widths = [TEXT_WIDTH_CM * share / sum(shares) for share in shares]
    fixed: set[int] = set()
    while True:
        short = [i for i, w in enumerate(widths) if w < least[i] - 1e-9 and i not in fixed]
        if not short:
            return widths
        fixed.update(short)
        free = [i for i in range(len(widths)) if i not in fixed]
        spare = TEXT_WIDTH_CM - sum(least[i] for i in fixed)
        if not free or spare <= 0:
            return [least[i] if i in fixed else widths[i] for i in range(len(widths))]
        free_share = sum(shares[i] for i in free)
        widths = [
            least[i] if i in fixed else spare * shares[i] / free_share for i in range(len(widths))
        ]


def _width(tc: Any, twips: int) -> None:
    tc_pr = tc.get_or_add_tcPr()
    width = tc_pr.find(qn("w:tcW"))
    if width is None:
        width = OxmlElement("w:tcW")
        tc_pr.insert(0, width)
    width.set(qn("w:w"), str(twips))
    width.set(qn("w:type"), "dxa")


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


def _short(text: str, limit: int = COMPACT_TITLE) -> str:
    """Cut at a word, never inside one."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:–-") + "…"


def _more(doc: DocumentObject, shown: int, total: int, where: str) -> None:
    if total > shown:
        doc.add_paragraph(
            f"The first {shown} of {total} are shown here; all {total} are in {where}."
        )


def _refs(actions: Sequence[ActionRow], limit: int = 12) -> str:
    refs = [a.ref for a in actions]
    more = f" and {len(refs) - limit} more" if len(refs) > limit else ""
    return ", ".join(refs[:limit]) + more


# --- The cover, purpose and summary ---------------------------------------------------------


def _cover(doc: DocumentObject, data: PackData) -> None:
    options = _options(data)
    previous = data.cycle.previous_board
    since = (
        f"the previous board ({previous.name}, {_when(data, previous.starts_at)})"
        if previous
        else f"{_day(data, data.cycle.previous)} (no earlier board: one 42-day cycle)"
    )
    contact = f" ({options.contact})" if options.contact else ""
    for label, text in (
        ("Partnership: ", data.plan_name),
        ("Meeting: ", f"{data.board.name}, {_when(data, data.board.starts_at)}"),
        ("Prepared by: ", f"{options.prepared_by}{contact}, programme team"),
        ("Figures: ", f"as at {_when(data, data.at)}; changes since {since}"),
        ("Publication: ", PUBLIC if data.board.public else NOT_PUBLIC),
        (
            "Record: ",
            f"the history's chain head is {data.record_head}; wsoa audit verify checks the "
            "partnership's record against it",
        ),
    ):
        _bullet(doc, text, bold=label, style="Normal").paragraph_format.space_after = Pt(2)


def _purpose(doc: DocumentObject, data: PackData) -> None:
    doc.add_paragraph(
        f"To report the partnership's progress on its Written Statement of Action to "
        f"{data.board.name}, and to ask the board to make the decisions set out below: to "
        "consider the red actions that no board has yet considered, to approve revised due "
        "dates, and to confirm sign-offs."
    )


# From worst to best: a move down this order worsened.
_RAG_ORDER = {rag.value: n for n, rag in enumerate(Rag.scale(5))}


def _worsened(data: PackData) -> list[RagMove]:
    """The RAG moves since the previous board that made a rated action's rating worse."""
    return [
        m
        for m in data.moves
        if m.rag_from is not None
        and _RAG_ORDER.get(m.rag_to or "", 5) < _RAG_ORDER.get(m.rag_from, 5)
    ]


def _movement(data: PackData) -> tuple[int, int]:
    """RAG moves since the previous board: how many worsened, how many improved."""
    worse = len(_worsened(data))
    return worse, len(data.moves) - worse


def _summary(doc: DocumentObject, data: PackData) -> None:
    options = _options(data)
    total = sum(w.total for w in data.workstreams)
    ratings = ", ".join(
        f"{sum(w.of(rating) for w in data.workstreams)} {label.lower()}"
        for label, rating in rag_columns(data.rag_scale)
    )
    worse, better = _movement(data)
    _bullet(doc, f"{total} actions: {ratings}.", bold="RAG position: ")
    _bullet(
        doc,
        f"{len(data.moves)} ratings moved since the previous board: {worse} worsened, {better} "
        f"improved or first rated; {len(data.signoffs)} signed off.",
        bold="Movement: ",
    )
    _bullet(
        doc,
        f"{len(data.overdue)} open actions are past their due date"
        + (f" ({_refs(data.overdue)})" if data.overdue else "")
        + f"; {len(data.due_soon)} are due in the next {options.due_soon_days} days.",
        bold="Overdue: ",
    )
    _bullet(
        doc,
        f"{len(data.stale)} open actions have had no update for {options.stale_days} days"
        + (f" ({_refs(data.stale)})" if data.stale else "")
        + ".",
        bold="Stale: ",
    )
    judged = [m for m in data.measures if m.latest is not None]
    off = [m for m in judged if not m.on_track]
    _bullet(
        doc,
        (
            f"{len(judged) - len(off)} of {len(data.measures)} measures of impact on trajectory"
            + ("; off trajectory: " + ", ".join(m.measure.short_id for m in off) if off else "")
            + (
                f"; {len(data.measures) - len(judged)} with no figures yet"
                if len(judged) < len(data.measures)
                else ""
            )
            + "."
        )
        if data.measures
        else "the plan has no measures of impact yet.",
        bold="Impact: ",
    )
    leads = sum(len(o.reported) + len(o.not_reported) for o in data.reporting)
    reported = sum(len(o.reported) for o in data.reporting)
    _bullet(
        doc,
        f"{reported} of {leads} leads have reported on every open action this cycle.",
        bold="Reporting: ",
    )
    asked = len(data.for_escalation) + len(data.due_changes) + len(data.signoffs)
    _bullet(
        doc,
        f"{asked} decisions: {len(data.for_escalation)} actions to consider, "
        f"{len(data.due_changes)} revised due dates to approve, {len(data.signoffs)} "
        "sign-offs to confirm.",
        bold="For the board: ",
    )


# --- Decisions ------------------------------------------------------------------------------


def _decisions(doc: DocumentObject, data: PackData) -> None:
    consider, approve, confirm = data.for_escalation, data.due_changes, data.signoffs
    if not (consider or approve or confirm):
        doc.add_paragraph("Nothing is asked of the board at this meeting.")
        return
    doc.add_paragraph("The board is asked:")
    if consider:
        _bullet(
            doc,
            f" the {len(consider)} actions below, each red and not yet considered by a board or "
            "asked for by its lead, and to record what it decides for each (the programme "
            "team records it in chat: escalate REF DECISION).",
            bold="To consider",
            style="List Number",
        )
    if approve:
        _bullet(
            doc,
            f" the {len(approve)} revised due dates below, each with its lead's reason, or to "
            "set others.",
            bold="To approve",
            style="List Number",
        )
    if confirm:
        _bullet(
            doc,
            f" that the objectives of the {len(confirm)} actions signed off since the previous "
            "board are met.",
            bold="To confirm",
            style="List Number",
        )
    if consider:
        doc.add_heading(f"To consider ({len(consider)})", level=2)
        shown = consider[:BODY_ROWS]
        table(
            doc,
            ["Ref", "Action", "Why it is here", "Red since", "Board last considered"],
            [
                [
                    e.action.ref,
                    _short(e.action.title, 120),
                    e.reason,
                    _day(data, e.red_since) if e.red_since else "not red",
                    (
                        f"{_day(data, e.considered.at)}: {e.considered.note}"
                        if e.considered
                        else "not yet"
                    ),
                ]
                for e in shown
            ],
            widths=[1.3, 4.5, 4.0, 1.9, 3.0],
        )
        _more(doc, len(shown), len(consider), "Appendix F")
    if approve:
        doc.add_heading(f"To approve: revised due dates ({len(approve)})", level=2)
        table(
            doc,
            ["Ref", "Action", "Was due", "Due now", "Reason", "Changed"],
            [
                [
                    c.ref,
                    _short(c.title, 90),
                    c.due_was or "no date",
                    c.due_became or "no date",
                    c.note or "no reason recorded",
                    _day(data, c.at),
                ]
                for c in approve
            ],
            widths=[1.2, 4.0, 2.2, 2.2, 4.2, 1.9],
        )
    if confirm:
        doc.add_heading(f"To confirm: sign-offs ({len(confirm)})", level=2)
        table(
            doc,
            ["Ref", "Action", "Signed off", "Note"],
            [[c.ref, _short(c.title, 90), _day(data, c.at), c.note or ""] for c in confirm],
            widths=[1.2, 5.5, 2.0, 6.0],
        )


def _barriers(doc: DocumentObject, data: PackData) -> None:
    if not data.barriers:
        doc.add_paragraph("No lead reported a barrier since the previous board.")
        return
    doc.add_paragraph(
        "The barriers leads named in their highlight reports since the previous board, those "
        "asking for escalation first."
    )
    for b in data.barriers[:BODY_ROWS]:
        who = f"{b.by}, " if b.by else ""
        asks = "; asks for escalation" if b.escalate else ""
        _bullet(doc, f" {b.text} ({who}{_day(data, b.at)}{asks})", bold=f"{b.ref}:")
    _more(doc, min(BODY_ROWS, len(data.barriers)), len(data.barriers), "the leads' reports")


# --- Red actions, reporting -----------------------------------------------------------------


def _flags(data: PackData, action: ActionRow) -> str:
    flags = []
    if action in data.overdue:
        flags.append("overdue")
    elif action in data.due_soon:
        flags.append("due soon")
    if action in data.stale:
        flags.append("stale")
    return _due(action.due, action.due_text) + (f" ({', '.join(flags)})" if flags else "")


def _red(doc: DocumentObject, data: PackData) -> None:
    red = [a for a in data.flagged if a.rag == "red"]
    if not red:
        doc.add_paragraph("No action is rated red.")
        return
    doc.add_paragraph(
        f"{len(red)} actions are rated red. Each with its success measure, the measures of "
        "impact that evidence its workstream, its due date (flagged overdue, due soon or "
        "stale) and its latest report, with who wrote it and when."
    )
    shown = red[:BODY_ROWS]
    table(
        doc,
        ["Ref", "Action and success measure", "Leads", "Due", "Latest report"],
        [
            [
                a.ref,
                _action_and_measure(data, a),
                ", ".join(a.leads) or "none",
                _flags(data, a),
                _latest_report(data, a),
            ]
            for a in shown
        ],
        widths=[1.2, 5.0, 2.6, 2.2, 6.0],
    )
    _more(doc, len(shown), len(red), "Appendix A")


def _action_and_measure(data: PackData, action: ActionRow) -> str:
    parts = [action.title]
    if action.measure:
        parts.append(f"Success measure: {_short(action.measure, QUOTE_CHARS)}")
    evidence = data.evidence.get(action.workstream_id)
    if evidence:
        parts.append(f"Evidence: {', '.join(evidence)}")
    return "\n".join(parts)


def _latest_report(data: PackData, action: ActionRow) -> str:
    """The latest highlight report's progress, plans and barriers, or the latest note, with who
    wrote it and when."""
    report = data.reports.get(action.id)
    if report is None:
        return "no report yet"
    who = f" by {report.by}" if report.by else ""
    if report.no_change:
        return f"{_day(data, report.at)}{who}: no change"
    parts = [
        f"{label}: {text}"
        for label, text in (
            ("Progress", report.progress),
            ("Planned", report.planned),
            ("Barriers", report.barriers),
        )
        if text
    ]
    # quoted whole: a redaction finds and removes exactly what was written (snapshots.py)
    return f"{_day(data, report.at)}{who}\n" + "\n".join(parts)


def _reporting(doc: DocumentObject, data: PackData) -> None:
    if not data.reporting:
        doc.add_paragraph("No lead has an open action.")
        return
    since = _when(data, data.reporting_since) if data.reporting_since else "the cycle began"
    doc.add_paragraph(
        f"A lead has reported when every open action they lead has an update since {since}."
    )
    table(
        doc,
        ["Organisation", "Reported", "Not yet reported"],
        [
            [o.organisation, ", ".join(o.reported) or "none", ", ".join(o.not_reported) or "none"]
            for o in data.reporting
        ],
        widths=[4.0, 6.0, 6.0],
    )


# --- What changed, measures, co-production, follow-ups --------------------------------------


def _changes(doc: DocumentObject, data: PackData) -> None:
    worse, better = _movement(data)
    doc.add_paragraph(
        f"{len(data.moves)} ratings moved ({worse} worsened, {better} improved or first rated), "
        f"{len(data.signoffs)} actions were signed off and {len(data.due_changes)} due dates "
        "changed (both under the decisions above). The moves that worsened are listed here; "
        "Appendix B lists every move."
    )
    worsened = _worsened(data)
    if not worsened:
        return
    shown = worsened[:BODY_ROWS]
    table(
        doc,
        ["Ref", "Action", "From", "To"],
        [[m.ref, _short(m.title, 110), _rag(m.rag_from), _rag(m.rag_to)] for m in shown],
        widths=[1.2, 10.0, 2.4, 2.4],
        rag_columns=[2, 3],
    )
    _more(doc, len(shown), len(worsened), "Appendix B")


def _judged(standing: Standing) -> str:
    if standing.on_track is None:
        return "no figures yet"
    return "on trajectory" if standing.on_track else "off trajectory"


def _measures(doc: DocumentObject, data: PackData) -> None:
    if not data.measures:
        doc.add_paragraph("The plan has no measures of impact yet.")
        return
    off = [s for s in data.measures if s.latest is not None and not s.on_track]
    judged = [s for s in data.measures if s.latest is not None]
    doc.add_paragraph(
        f"{len(judged) - len(off)} of {len(data.measures)} measures are on trajectory"
        + (
            f" and {len(data.measures) - len(judged)} have no figures yet"
            if len(judged) < len(data.measures)
            else ""
        )
        + ". Those off trajectory follow, each charted with its figures beside it; "
        "Appendix F lists every other measure."
    )
    for standing in off[:BODY_CHARTS]:
        _measure_chart(doc, standing)
    if len(off) > BODY_CHARTS:
        doc.add_heading("Also off trajectory", level=2)
        _measures_table(doc, off[BODY_CHARTS:])


def _measure_chart(doc: DocumentObject, standing: Standing) -> None:
    measure = standing.measure
    name = f"{measure.short_id} {measure.name}"
    doc.add_heading(name, level=2)
    doc.add_paragraph(
        f"Latest: {latest_text(standing)}, {_judged(standing)}"
        + (
            f" (the trajectory is {value_text(standing.latest.expected, measure.unit)})"
            if standing.latest
            else ""
        )
        + f". Target: {target_text(measure)}."
    )
    chart, alt = chart_of(standing)
    doc.add_picture(io.BytesIO(chart.png), width=Cm(TEXT_WIDTH_CM))
    doc_pr = doc.inline_shapes[-1]._inline.docPr
    doc_pr.set("descr", alt)
    doc_pr.set("title", name)
    recent = standing.figures[-6:]
    lead_in = doc.add_paragraph(
        f"The figures in the chart of {measure.short_id}, the latest six months:"
    )
    lead_in.paragraph_format.keep_with_next = True
    table(
        doc,
        ["", *(period_text(f.period) for f in recent)],
        [
            ["Figure", *(value_text(f.value, measure.unit) for f in recent)],
            ["Trajectory", *(value_text(f.expected, measure.unit) for f in recent)],
            ["On trajectory", *("yes" if f.on_track else "no" for f in recent)],
        ],
        widths=[3.0, *([2.0] * len(recent))],
    )


def _measures_table(doc: DocumentObject, standings: Sequence[Standing]) -> None:
    table(
        doc,
        ["Measure", "Latest", "Trajectory", "Target", "On trajectory"],
        [
            [
                f"{s.measure.short_id} {s.measure.name}",
                latest_text(s),
                value_text(s.latest.expected, s.measure.unit) if s.latest else "none yet",
                target_text(s.measure),
                _judged(s),
            ]
            for s in standings
        ],
        widths=[5.0, 3.0, 2.5, 3.5, 2.5],
    )


def _coproduction(doc: DocumentObject, data: PackData) -> None:
    doc.add_paragraph(
        "The actions and measures about working with children, young people and families "
        "(co-production, parent carers, participation and voice)."
    )
    if data.coproduction:
        doc.add_heading(f"Actions ({len(data.coproduction)})", level=2)
        shown = data.coproduction[:BODY_ROWS]
        table(
            doc,
            ["Ref", "Action", "RAG", "Status", "Due"],
            [[a.ref, _short(a.title, 110), _rag(a.rag), a.status, _flags(data, a)] for a in shown],
            widths=[1.2, 8.5, 1.8, 2.2, 3.0],
            rag_columns=[2],
        )
        _more(doc, len(shown), len(data.coproduction), "Appendix A")
    else:
        doc.add_paragraph("No action is tagged to co-production or parent voice.")
    if data.coproduction_measures:
        doc.add_heading(f"Measures ({len(data.coproduction_measures)})", level=2)
        _measures_table(doc, data.coproduction_measures)
    doc.add_paragraph(
        "“You said, we did”: none recorded yet; entries appear here once the programme team "
        "records them."
    )


def _followups(doc: DocumentObject, data: PackData) -> None:
    open_ones = [f for f in data.followups if f.closed_at is None]
    closed = [f for f in data.followups if f.closed_at is not None]
    doc.add_paragraph(
        f"{len(open_ones)} follow-up questions from advisers are open; {len(closed)} were "
        "closed since the previous board"
        + (f" ({', '.join(f'FU-{f.id}' for f in closed[:20])})" if closed else "")
        + (", the first 20 named" if len(closed) > 20 else "")
        + "."
    )
    if not open_ones:
        return
    shown = open_ones[:BODY_ROWS]
    rows = []
    for f in shown:
        about = f.action.ref if f.action else f.workstream.name if f.workstream else ""
        # quoted whole: a redaction finds and removes exactly what was written
        answers = (
            "\n".join(f"{_day(data, a.at)}: {a.text or REDACTED}" for a in f.answers)
            or "no answer yet"
        )
        rows.append(
            [
                f"FU-{f.id}",
                about,
                f.question,
                _day(data, f.raised_at),
                answers,
                "open",
            ]
        )
    table(doc, FOLLOWUP_COLUMNS, rows, widths=[1.3, 1.6, 4.5, 2.0, 5.0, 1.6])
    _more(doc, len(shown), len(open_ones), "chat (followup list open)")


# --- Appendices -----------------------------------------------------------------------------


def _by_workstream(doc: DocumentObject, data: PackData) -> None:
    """Red and amber refs per workstream, as partnerships list them ("Pillar 5 (Graduated
    Response): 11F, 12B, 12C"): a thousand actions stay a page or two."""
    if not data.flagged:
        doc.add_paragraph("No action is rated red or amber.")
        return
    refs: dict[int, dict[str, list[str]]] = {}
    for a in data.flagged:
        refs.setdefault(a.workstream_id, {"red": [], "amber": []})[a.rag or "amber"].append(a.ref)
    table(
        doc,
        ["Workstream", "Red", "Amber"],
        [
            [
                data.workstream_names.get(w.workstream_id, ""),
                ", ".join(found["red"]) or "none",
                ", ".join(found["amber"]) or "none",
            ]
            for w in data.workstreams
            if (found := refs.get(w.workstream_id))
        ],
        widths=[4.5, 5.5, 6.0],
    )


def _all_moves(doc: DocumentObject, data: PackData) -> None:
    """Every move, grouped by from → to, as lists of refs: a long list stays a few lines."""
    if not data.moves:
        doc.add_paragraph("No action's rating changed since the previous board.")
        return
    groups: dict[tuple[str, str], list[str]] = {}
    for m in data.moves:
        groups.setdefault((_rag(m.rag_from), _rag(m.rag_to)), []).append(m.ref)
    table(
        doc,
        ["From", "To", "Actions", "Refs"],
        [[was, now, str(len(refs)), ", ".join(refs)] for (was, now), refs in groups.items()],
        widths=[2.2, 2.2, 1.6, 10.0],
        rag_columns=[0, 1],
    )


def _workstreams(doc: DocumentObject, data: PackData) -> None:
    doc.add_paragraph(
        "Overall is the worst rating among the workstream's open actions, and complete when "
        "all are finished (complete or signed off: BRAG's blue, whatever their last RAG)."
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
        widths=[5.0, 1.8, *([1.3] * len(columns)), 1.4, 1.5],
        rag_columns=[1],
    )


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
    matrix = data.matrix
    if not matrix.priorities:
        doc.add_paragraph("The plan has no strategic priorities yet.")
        return
    columns = rag_columns(data.rag_scale)
    rows = []
    for p, t in matrix.by_priority():
        label = f"{p.key} {p.name}" if p else "Not mapped to a priority"
        rows.append([label, *(str(t.of(rag)) for _, rag in columns), str(t.total)])
    doc.add_paragraph("The actions serving each of the partnership's strategic priorities.")
    table(
        doc,
        ["Priority", *(label for label, _ in columns), "Actions"],
        rows,
        widths=[6.0, *([1.5] * len(columns)), 1.5],
    )
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
        widths=[4.0, *([2.5] * len(matrix.priorities)), 2.5],
    )


def _chart(doc: DocumentObject, data: PackData) -> None:
    doc.add_paragraph(
        "The number of actions at each rating when each of the last board meetings sat, and "
        "now; the figures are also in the table under the chart."
    )
    png, alt = rag_chart(data.chart)
    doc.add_picture(io.BytesIO(png), width=Cm(TEXT_WIDTH_CM))
    doc_pr = doc.inline_shapes[-1]._inline.docPr
    doc_pr.set("descr", alt)
    doc_pr.set("title", "RAG ratings at each board meeting")
    doc.add_paragraph("The figures in the chart:").paragraph_format.keep_with_next = True
    table(
        doc,
        ["Board meeting", "Red", "Amber", "Green", "Complete", "Not rated"],
        [
            [p.label, str(p.red), str(p.amber), str(p.green), str(p.complete), str(p.unrated)]
            for p in data.chart
        ],
        widths=[6.0, 2.0, 2.0, 2.0, 2.0, 2.0],
    )


def _rest(doc: DocumentObject, data: PackData) -> None:
    others = [s for s in data.measures if s.latest is None or s.on_track]
    if others:
        doc.add_heading(f"Other measures ({len(others)})", level=2)
        _measures_table(doc, others)
    shortened = False
    if len(data.for_escalation) > BODY_ROWS:
        shortened = True
        doc.add_heading(f"All actions to consider ({len(data.for_escalation)})", level=2)
        by_reason: dict[str, list[str]] = {}
        for e in data.for_escalation:
            for reason in e.reasons:
                # "overdue (due 14 Oct 2026)": grouped as overdue
                by_reason.setdefault(reason.split(" (")[0], []).append(e.action.ref)
        table(
            doc,
            ["Why it is here", "Actions", "Refs"],
            [[why, str(len(refs)), ", ".join(refs)] for why, refs in by_reason.items()],
            widths=[4.5, 1.5, 10.0],
        )
    red = [a for a in data.flagged if a.rag == "red"]
    if len(red) > BODY_ROWS:
        shortened = True
        doc.add_paragraph(
            f"The {len(red) - BODY_ROWS} red actions the body leaves out are listed by "
            "workstream in Appendix A, and each is shown whole by show REF in chat."
        )
    if not others and not shortened:
        doc.add_paragraph("Nothing was shortened: every list is whole in the body.")
