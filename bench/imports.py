"""How long `wsoa import` takes on a council-sized tracker: the figures `make bench` prints
before each backend's sizes. A tracker of `rows` actions (eight pillars, 80 leads by e-mail,
a status, a RAG and a progress update each) is read and applied in-process, on an empty
database and then again unchanged (a re-import's merge)."""

from __future__ import annotations

import csv
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.domain import Surface
from bot.plans.read import read_plan
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.services.imports import apply_plan

STATUSES = ("In progress", "Not started", "Complete")
RAGS = ("Red", "Amber", "Green")


@dataclass(frozen=True)
class ImportFigure:
    rows: int
    first: float  # seconds: read, applied and committed into an empty plan
    again: float  # the same file imported again: nothing changes

    def line(self) -> str:
        return (
            f"  import of a {self.rows:,}-row tracker: {self.first:.2f} s into an empty plan, "
            f"{self.again:.2f} s again unchanged"
        )


def tracker(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "Ref",
                "Pillar",
                "Action",
                "Lead",
                "Due",
                "Status",
                "RAG",
                "Measure",
                "Progress update",
            ]
        )
        for n in range(rows):
            pillar = n % 8 + 1
            writer.writerow(
                [
                    f"{pillar}{chr(65 + (n // 8) % 26)}.{n // 208 + 1}",
                    f"Pillar {pillar}",
                    f"Action {n}: improve the timeliness of EHC needs assessments",
                    f"lead{n % 80}@council.example",
                    f"31/03/20{27 + n % 2}",
                    STATUSES[n % 3],
                    RAGS[n % 3],
                    "Timeliness within 20 weeks",
                    f"Progress update {n}",
                ]
            )
    return path


def measure_import(database_url: str, rows: int = 2000) -> ImportFigure:
    """`database_url` must hold no plan yet."""
    with tempfile.TemporaryDirectory() as folder:
        path = tracker(Path(folder) / "tracker.csv", rows)
        runtime = Runtime.start(Settings(WSOA_DATABASE_URL=database_url))
        try:
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                parsed = read_plan(path)
                caller = Caller(user_id="import", source=Surface.IMPORT)
                with runtime.work(caller, making_plan=True) as ctx:
                    apply_plan(ctx, parsed, path.name)
                timings.append(time.perf_counter() - started)
        finally:
            runtime.close()
    return ImportFigure(rows=rows, first=timings[0], again=timings[1])
