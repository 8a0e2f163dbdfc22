"""The public progress page, served (`GET /progress/SLUG`) and as static files (`wsoa publish`).

Both render the same published snapshot (bot/services/publishing.py) with the same template;
only where the styles and charts are found differs. A published snapshot never changes, so its
page and charts are made once per process and kept, keyed by the publication's id.
"""

from __future__ import annotations

import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.charts import trend_chart
from bot.render.html import render_page
from bot.services.publishing import PublicMeasure, PublicPlan

STATIC = Path(__file__).parent / "static"
STYLESHEET = "wsoa.css"
ACCESSIBILITY_PAGE = "accessibility.html"
T = TypeVar("T")


def progress_html(plan: PublicPlan, *, assets: str, charts: str, accessibility_url: str) -> str:
    return render_page(
        "progress.html",
        plan=plan,
        service_name=plan.name,
        service_url=None,
        navigation=[],
        assets=assets,
        charts=charts,
        accessibility_url=accessibility_url,
        signed_in=None,
        csrf="",
        public_page=True,
        error_title=False,
    )


def chart_png(measure: PublicMeasure) -> bytes:
    return trend_chart(
        title=f"{measure.short_id} {measure.name}",
        unit=measure.unit,
        actuals=measure.actual_points,
        trajectory=measure.trajectory_points,
        target=measure.target_point,
        gap_days=measure.gap_days,
    ).png


class Published:
    """Published snapshots, their pages and their charts, each made once: a publication never
    changes, so its id is key enough. Bounded, for a deployment serving many plans."""

    def __init__(self, size: int = 64) -> None:
        self._kept: OrderedDict[tuple[int, str], object] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def _get(self, key: tuple[int, str], make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]  # type: ignore[return-value]
        made = make()
        with self._lock:
            self._kept[key] = made
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return made

    def plan(self, publication_id: int, load: Callable[[], PublicPlan]) -> PublicPlan:
        return self._get((publication_id, ""), load)

    def page(self, publication_id: int, plan: PublicPlan) -> bytes:
        return self._get(
            (publication_id, "page"),
            lambda: progress_html(
                plan,
                assets="/assets/",
                charts=f"/progress/{plan.slug}/charts/{publication_id}/",
                accessibility_url="/accessibility",
            ).encode(),
        )

    def chart(self, publication_id: int, plan: PublicPlan, short_id: str) -> bytes | None:
        measure = next((m for m in plan.measures if m.short_id == short_id), None)
        if measure is None:
            return None
        return self._get((publication_id, f"chart:{short_id}"), lambda: chart_png(measure))


def export(plan: PublicPlan, folder: Path) -> list[Path]:
    """The page as plain files in `folder`: `index.html`, its stylesheet (with GOV.UK
    Frontend's licence) and its charts, every link relative, so it works from any folder of a
    council's website. Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assets").mkdir(exist_ok=True)
    (folder / "charts").mkdir(exist_ok=True)
    written = []
    for name in (STYLESHEET, "LICENCE-govuk-frontend.txt"):
        target = folder / "assets" / name
        shutil.copyfile(STATIC / name, target)
        written.append(target)
    for measure in plan.measures:
        target = folder / "charts" / f"{measure.short_id}.png"
        target.write_bytes(chart_png(measure))
        written.append(target)
    statement = folder / ACCESSIBILITY_PAGE
    statement.write_text(
        accessibility_html(plan.name, assets="assets/", home="index.html"), encoding="utf-8"
    )
    index = folder / "index.html"
    index.write_text(
        progress_html(
            plan, assets="assets/", charts="charts/", accessibility_url=ACCESSIBILITY_PAGE
        ),
        encoding="utf-8",
    )
    return [index, statement, *written]


def accessibility_html(service_name: str, *, assets: str, home: str | None) -> str:
    return render_page(
        "accessibility.html",
        service_name=service_name,
        service_url=home,
        navigation=[],
        assets=assets,
        accessibility_url="#main-content",
        signed_in=None,
        csrf="",
        public_page=True,
        error_title=False,
    )
