"""Measures of impact under one roof: every change to a measure's definition and every figure,
typed, from a form or from a file, goes through bot/services/measure_history.py, which locks the
measure before it writes, and keeps who, when and old → new."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.commands.interactions import submit
from bot.domain import Surface
from bot.replies import FormSubmission
from bot.runtime import Runtime
from bot.services import measure_history
from bot.services.context import CONSOLE_CHANNEL, Caller
from bot.store.models import MeasureActual, MeasureEdit
from tests.conftest import ADMIN, Console, person_of
from tests.kpi_fixtures import load_demo_measures

WRITERS = ("created", "set_fields", "record", "add_figure")


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each writer of a measure's history ran, and how often a measure was locked."""
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    for name in (*WRITERS, "lock_row"):
        monkeypatch.setattr(measure_history, name, counting(name, getattr(measure_history, name)))
    return calls


def test_every_way_in_goes_through_the_one_writer(
    demo: Runtime, console: Console, tmp_path: Path, written: Counter[str]
) -> None:
    load_demo_measures(demo, tmp_path)  # definitions and figures from files
    from_files = Counter(written)
    assert from_files["created"] == 3 and from_files["add_figure"] >= 6
    assert from_files["lock_row"] >= 1  # an existing measure's figures are written locked

    assert "Recorded" in console("kpi record K1 55 2026-10 Two EP posts filled")
    assert "K4" in console(
        "kpi add Tribunal appeals; %; lower is better; baseline 2.1% at 2026-03-31; "
        "target 1.5% by 2027-03-31"
    )
    assert "target" in console("kpi edit K1 target 80% by 2027-06-30")
    submit(
        demo,
        Caller(user_id=ADMIN, channel_id=CONSOLE_CHANNEL, source=Surface.CONSOLE),
        FormSubmission(
            purpose="kpi_record", key="K2", values={"figure": "40", "period": "Oct 2026"}
        ),
    )
    typed = written - from_files
    assert typed["add_figure"] == 2 and typed["created"] == 1 and typed["set_fields"] == 1
    assert typed["lock_row"] >= 3  # the typed figure, the edit, the form's figure

    with demo.sessions() as session:
        figures = session.scalars(select(MeasureActual).order_by(MeasureActual.id)).all()
        edits = session.scalars(select(MeasureEdit).order_by(MeasureEdit.id)).all()
        admin = person_of(session, ADMIN)
    assert {f.source for f in figures} == {"import", "console"}
    assert [e.field for e in edits if e.person_id == admin] == [
        "created",
        "target value",
        "target date",
    ]
