"""The board pack as a board paper: decisions first, readable by everyone, short at any size.

Driven as people drive it: chat through a signed Slack request (the pack uploaded to the
stand-in, opened with python-docx), and a 1,000-action plan's pack rendered to PDF by
LibreOffice where it is installed. Contrast is computed from the colours the document itself
names."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from sqlalchemy import select

from bench.generate import generate
from bot import charts
from bot.boardpack import chart as rag_chart
from bot.boardpack.data import gather
from bot.boardpack.document import RAG_FILL, build_docx
from bot.config import Settings
from bot.runtime import Runtime
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from tests.conftest import ADMIN, NOW, READER, Console
from tests.slack_fixtures import SlackHarness, served_slack_app  # noqa: F401
from tests.test_boardpack import SECTIONS, bullets_after, rows, table_after


def luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def slack_pack(slack: SlackHarness) -> DocumentObject:
    """`boardpack` through a signed Slack request: the document Slack was given."""
    before = len(slack.standin.calls_to("files.completeUploadExternal"))
    slack.answer_after("boardpack", ADMIN)
    completed = slack.standin.wait_for("files.completeUploadExternal", count=before + 1)[-1]
    [entry] = json.loads(completed.params["files"])
    data = slack.standin.uploaded(entry["id"])
    assert data is not None
    return Document(io.BytesIO(data))


def test_the_decisions_come_first_over_slack(demo: Runtime, slack: SlackHarness) -> None:
    """A red action no board has considered, a due date moved with its reason, and a pending
    sign-off: each is a decision the board is asked to make, before anything else."""
    moved = slack.reply("edit 12C due June 2027 because the new provider starts in April", ADMIN)
    assert "Edited 12C" in json.dumps(moved)
    assert "Signed off 6A" in json.dumps(slack.reply("signoff 6A Charter published", ADMIN))
    doc = slack_pack(slack)

    ones = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert ones == ["Contents", *SECTIONS]
    assert ones.index("Decisions for the board") < ones.index("Red actions")
    asked = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    assert [" ".join(a.split()[:2]) for a in asked] == ["To consider", "To approve", "To confirm"]
    consider = {r[0]: r[2] for r in rows(table_after(doc, "To consider ("))[1:]}
    assert "not yet considered by a board" in consider["12B"]
    approve = rows(table_after(doc, "To approve: revised due dates (1)"))
    assert approve[1][0] == "12C" and approve[1][4] == "the new provider starts in April"
    confirm = rows(table_after(doc, "To confirm: sign-offs"))
    assert any(r[0] == "6A" and r[3] == "Charter published" for r in confirm)
    # the summary flags what a board must see
    summary = bullets_after(doc, "Summary")
    assert any(b.startswith("Overdue: ") and "12B" in b for b in summary)
    assert any(b.startswith("Stale: ") for b in summary)
    # each red action's due date carries its flags
    red = {r[0]: r for r in rows(table_after(doc, "3 actions are rated red"))[1:]}
    assert red["12B"][3].endswith("(overdue)")


def test_the_pack_is_readable_by_everyone(demo: Runtime) -> None:
    doc = Document(io.BytesIO(pack_bytes(demo)))
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    footer = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and "NUMPAGES" in footer
    styles = doc.styles
    normal = styles["Normal"]
    assert normal.font.name == "Arial" and normal.font.size.pt >= 11
    for name in ("Title", "Heading 1", "Heading 2"):
        style = styles[name]
        fonts = style.element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:asciiTheme")) is None and style.font.name == "Arial"
        assert contrast(str(style.font.color.rgb), "FFFFFF") >= 4.5, name
    for fill in RAG_FILL.values():
        assert contrast("000000", fill) >= 4.5
    # every chart line and marker at 3:1 against the chart's background
    for colour in (charts.ACTUAL_COLOUR, charts.TRAJECTORY_COLOUR, charts.TARGET_COLOUR):
        assert contrast(colour, charts.BACKGROUND) >= 3, colour
    for _, _, colour, _ in rag_chart.SERIES:
        assert contrast(colour, "#FFFFFF") >= 3, colour
    # no empty paragraphs for spacing
    body = [p for p in doc.paragraphs if p.style.name != "Title"]
    assert all(p.text.strip() or p._p.xpath(".//w:drawing") for p in body)
    # every picture has alt text and its figures in a table after it
    for shape in doc.inline_shapes:
        assert shape._inline.docPr.get("descr")
    pictures = [p for p in doc.paragraphs if p._p.xpath(".//w:drawing")]
    for picture in pictures:
        following = picture._p.getnext()
        while (
            following is not None
            and following.tag == qn("w:p")
            and not following.xpath(".//w:drawing")
        ):
            following = following.getnext()
        assert following is not None and following.tag == qn("w:tbl")
    # properties describe the pack, not the library
    props = doc.core_properties
    assert "python-docx" not in (props.author + props.comments + props.last_modified_by)
    assert props.category == "Board paper" and "SEND Operational Leads" in props.comments
    # columns are never narrower than their longest word: no mid-word breaks
    for grid in doc.tables:
        widths = [int(c.get(qn("w:w"))) for c in grid._tbl.tblGrid.findall(qn("w:gridCol"))]
        for row in grid.rows:
            for cell, width in zip(row.cells, widths, strict=False):
                longest = max((len(w) for w in cell.text.split()), default=0)
                assert min(longest, 24) * 0.21 * 1440 / 2.54 <= width, (cell.text, width)


def pack_bytes(runtime: Runtime) -> bytes:
    with unit_of_work(runtime.sessions) as session:
        plan = current_plan(session, NOW, create=True)
        board = session.scalars(
            select(BoardMeeting)
            .where(BoardMeeting.starts_at > NOW)
            .order_by(BoardMeeting.starts_at)
        ).first()
        assert board is not None
        return build_docx(gather(session, plan, board, NOW, runtime.settings.tz))


LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFINFO = shutil.which("pdfinfo")


@pytest.mark.skipif(
    LIBREOFFICE is None or PDFINFO is None,
    reason="LibreOffice (soffice) and poppler's pdfinfo are not installed: the pack's pages "
    "cannot be counted (apt install libreoffice-writer-nogui poppler-utils)",
)
def test_a_1000_action_pack_is_under_20_a4_pages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'large.db'}"
    generate(url, 1_000, 20_000, seed=5, now=NOW)
    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=url))
    try:
        data = pack_bytes(runtime)
    finally:
        runtime.close()
    docx_path = tmp_path / "pack.docx"
    docx_path.write_bytes(data)
    assert LIBREOFFICE is not None and PDFINFO is not None
    subprocess.run(
        [LIBREOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx_path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    info = subprocess.run(
        [PDFINFO, str(tmp_path / "pack.pdf")], check=True, capture_output=True, text=True
    ).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert "595.3" in info and "841.89" in info  # A4, in points
    assert pages < 20, pages


def test_a_board_whose_papers_are_public_says_so_on_the_cover(
    demo: Runtime, console: Console, slack: SlackHarness
) -> None:
    def publication(doc: DocumentObject) -> str:
        return next(p.text for p in doc.paragraphs if p.text.startswith("Publication: "))

    assert publication(slack_pack(slack)).startswith("Publication: Not for publication")
    assert "Only programme managers" in console("board public B-2 on", user=READER)
    assert "neither on nor off" in console("board public B-2 maybe")
    told = slack.reply("board public B-2 on", ADMIN)
    assert "marked for publication" in json.dumps(told, ensure_ascii=False)
    assert publication(slack_pack(slack)).startswith("Publication: Public")
    assert "not for publication" in console("board public B-2 off")
