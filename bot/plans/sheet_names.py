"""Sheet names that mark a workbook's measures (KPIs) and their figures. The plan reader leaves
these sheets to the measures reader, so a tracker workbook can carry both."""

MEASURE_SHEETS = ("kpis", "kpi", "measures", "measures of impact", "indicators")
ACTUAL_SHEETS = ("actuals", "figures", "kpi actuals")


def is_measures_sheet(title: str) -> bool:
    return " ".join(title.lower().split()) in MEASURE_SHEETS + ACTUAL_SHEETS
