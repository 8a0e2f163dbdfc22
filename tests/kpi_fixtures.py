"""Measures on the demo plan, loaded the way `wsoa import` loads them, for the kpi tests.

K1 and K2 run in a straight line from 30 Sep 2026 to 30 Sep 2027 (365 days), so at the end of
October 2026 (31 days on) each trajectory has moved exactly 36.5 × 31/365 = 3.1: K1 (higher is
better) expects 53.1%, K2 (lower is better) 56.9 days. K3 has interim points.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from bot.domain import Surface
from bot.plans.kpi_read import read_measures
from bot.runtime import Runtime
from bot.services.context import Caller
from bot.services.kpi_files import MeasuresReport, apply_measures

OWNER_K2 = "U0DEMO06"
MEASURES_HEADER = [
    "KPI",
    "Definition",
    "Unit",
    "Better",
    "Baseline",
    "Baseline date",
    "Target",
    "Target date",
    "Trajectory",
    "Workstream",
    "Actions",
    "Owner",
    "Source",
    "Frequency",
]
MEASURES = [
    [
        "EHCPs issued within 20 weeks",
        "% of new EHCPs issued within 20 weeks, excluding exceptions",
        "%",
        "higher",
        50,
        "2026-09-30",
        86.5,
        "2027-09-30",
        "",
        "Graduated Response",
        "11F; 12B",
        "U0DEMO05",
        "SEN2 return",
        "monthly",
    ],
    [
        "Days to first EP assessment",
        "Average days from request to first educational psychology assessment",
        "days",
        "lower",
        60,
        "2026-09-30",
        23.5,
        "2027-09-30",
        "",
        "Graduated Response",
        "12B",
        OWNER_K2,
        "EP service records",
        "monthly",
    ],
    [
        "Suspensions of pupils with an EHCP",
        "Suspensions in the month, pupils with an EHCP",
        "number",
        "lower",
        120,
        "2026-03-31",
        90,
        "2027-03-31",
        "2026-06-30: 110; 2026-09-30: 100",
        "Joint Commissioning",
        "",
        "U0DEMO05",
        "",
        "",
    ],
]
ACTUALS = [
    ["KPI", "Period", "Value", "Note"],
    ["K1", "2026-09", "50", ""],
    ["K1", "Oct 2026", "53.1", "Two agency EPs started"],
    ["K2", "2026-09", "60", ""],
    ["K2", "2026-10-31", "58", ""],
    ["K3", "Sep 2026", "104", ""],
    ["K3", "Oct 2026", "103", ""],
]


def write_csv(path: Path, rows: Sequence[Sequence[object]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, delimiter=delimiter).writerows(rows)
    return path


def write_workbook(path: Path, sheets: dict[str, Sequence[Sequence[object]]]) -> Path:
    workbook = openpyxl.Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(list(row))
        first = False
    workbook.save(path)
    return path


def load_measures(runtime: Runtime, path: Path) -> MeasuresReport:
    parsed = read_measures(path)
    assert parsed is not None, f"{path.name} holds no measures"
    with runtime.work(Caller(user_id="import", source=Surface.IMPORT)) as ctx:
        return apply_measures(ctx, parsed)


def load_demo_measures(runtime: Runtime, folder: Path) -> None:
    """K1–K3 with figures for Sep and Oct 2026, as of the tests' fixed clock (23 Nov 2026)."""
    report = load_measures(
        runtime, write_workbook(folder / "kpis.xlsx", {"KPIs": [MEASURES_HEADER, *MEASURES]})
    )
    assert report.created == ["K1", "K2", "K3"], report
    report = load_measures(runtime, write_csv(folder / "actuals.csv", ACTUALS))
    assert not report.problems, report.problems
