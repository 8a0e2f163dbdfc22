"""A 1,000-action plan's board pack is built in as many SQL statements as a 100-action plan's
(the time `make bench` prints comes from the same function; a test asserts no time). Both plans
have measures of impact with a year of figures (20 measures in the larger), so the pack's
Measures of impact section, its charts and its tables are counted too."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from sqlalchemy import select

from bench.boardpack import measure_boardpack
from bench.generate import generate
from bot.boardpack.data import gather
from bot.boardpack.document import BODY_CHARTS, BODY_ROWS, build_docx
from bot.config import Settings
from bot.runtime import Runtime
from bot.services.plans import current_plan
from bot.store.db import unit_of_work
from bot.store.models import BoardMeeting
from tests.conftest import NOW

# One or two statements per read model (see bot/boardpack/data.py), whatever the plan's size:
# 25 for the actions, updates, follow-ups, reports, barriers and who has reported, and four for
# the measures (the measures with their owners, their workstreams, their actions, their
# figures).
MAX_STATEMENTS = 29


def test_a_1000_action_plans_pack_is_bounded(database_url: str, tmp_path: Path) -> None:
    small_url = f"sqlite:///{tmp_path / 'small.db'}"
    small_plan = generate(small_url, 100, 2_000, seed=5, now=NOW)
    small = measure_boardpack(small_url, 100, now=NOW, tries=1)
    large_plan = generate(database_url, 1_000, 20_000, seed=5, now=NOW)
    large = measure_boardpack(database_url, 1_000, now=NOW, tries=1)
    assert (small_plan.measures, large_plan.measures) == (4, 20)
    assert large_plan.figures >= 20 * 10
    assert small.statements <= MAX_STATEMENTS
    assert large.statements == small.statements  # its time is measured in `make bench`

    runtime = Runtime.start(Settings(WSOA_DATABASE_URL=database_url))
    try:
        with unit_of_work(runtime.sessions) as session:
            plan = current_plan(session, NOW, create=True)
            board = session.scalars(
                select(BoardMeeting).where(BoardMeeting.starts_at > NOW).limit(1)
            ).one()
            data = build_docx(gather(session, plan, board, NOW, runtime.settings.tz))
    finally:
        runtime.close()
    doc = Document(io.BytesIO(data))
    by_workstream = next(t for t in doc.tables if t.rows[0].cells[-1].text == "Actions")
    assert sum(int(row.cells[-1].text) for row in list(by_workstream.rows)[1:]) == 1_000
    texts = [p.text for p in doc.paragraphs]
    assert any(" of 20 measures are on trajectory" in t for t in texts), texts
    assert "The plan has no measures of impact yet." not in texts
    # short at any size: the body's lists stop at BODY_ROWS and say where the rest are
    assert any(t.startswith(f"The first {BODY_ROWS} of ") for t in texts)
    assert len(doc.inline_shapes) <= BODY_CHARTS + 1
