"""Reading plan files: council trackers as CSV or Excel, and the nested YAML form.

A file either is a plan, and gives its rows plus a problem for each cell or row it could not
read, or is not one, and raises PlanFileError before anything is returned. The rows themselves
are read in rows.py, workbooks in workbook.py.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.plans.dates import YearEnd
from bot.plans.limits import (
    MAX_COLUMNS,
    MAX_ROWS,
    TooLarge,
    load_plan_yaml,
    too_many_columns,
    too_many_rows,
)
from bot.plans.rows import (
    ACCEPTED_SUFFIXES,
    COLUMN_NAMES,
    FORMULA_STARTS,
    MAX_FILE_BYTES,
    MAX_PLAN_NAME_CHARS,
    ParsedPlan,
    PlanFileError,
    PlanRow,
    Reading,
    RowProblem,
    cell_text,
    field_for_heading,
    find_header,
    finish,
    no_header_error,
    read_row,
    read_table,
    settle_year_spans,
)
from bot.plans.workbook import read_xlsx

# What other modules import from here.
__all__ = [
    "COLUMN_NAMES",
    "FORMULA_STARTS",
    "ParsedPlan",
    "PlanFileError",
    "PlanRow",
    "RowProblem",
    "field_for_heading",
    "read_plan",
    "read_plan_bytes",
]


def read_plan(
    path: Path, *, today: date | None = None, year_end: YearEnd | None = None
) -> ParsedPlan:
    """Reads a .csv, .xlsx/.xlsm or .yaml/.yml plan.

    `today` anchors wordings like `End of March`; it defaults to the real today. `year_end`
    says whether a bare "2024-25" is a financial or an academic year (rows.settle_year_spans).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"There is no file {path}.") from None
    except OSError as error:
        raise PlanFileError(f"{path} cannot be read: {error.strerror or error}.") from None
    return read_plan_bytes(data, path.name, today=today, year_end=year_end)


def read_plan_bytes(
    data: bytes, filename: str, *, today: date | None = None, year_end: YearEnd | None = None
) -> ParsedPlan:
    """The same as read_plan, from memory (a Slack upload)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise PlanFileError(
            f"{filename} is not a plan file: use a .csv, .xlsx or .yaml file"
            + (" (save old .xls workbooks as .xlsx)." if suffix == ".xls" else ".")
        )
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise PlanFileError(f"{filename} is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise PlanFileError(
            f"{filename} is {len(data) / 1024 / 1024:.0f} MB; a plan file can be at most "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB."
        )
    if suffix == ".csv":
        plan = _read_csv(data, filename, today)
    elif suffix in (".xlsx", ".xlsm"):
        plan = read_xlsx(data, filename, today)
    else:
        plan = _read_yaml(data, filename, today)
    settle_year_spans(plan, year_end)
    return plan


# --- CSV -----------------------------------------------------------------------------------


def _read_csv(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    _refuse_binary(data, filename)
    text = _decode(data, filename)
    first_try: list[list[str]] | None = None
    for delimiter in _delimiters(text):
        rows = _csv_rows(text, delimiter, filename)
        if find_header(rows) is not None:
            return read_table(rows, filename, today)
        first_try = rows if first_try is None else first_try
    assert first_try is not None  # there is always a delimiter to try
    raise no_header_error(first_try, filename)


def _refuse_binary(data: bytes, filename: str) -> None:
    head = data[:8192]
    if head.startswith(b"PK\x03\x04"):
        raise PlanFileError(f"{filename} is an Excel workbook or other zip file: name it .xlsx.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise PlanFileError(
            f"{filename} is an old-style or password-protected Excel file: "
            "save it as .xlsx or .csv."
        )
    if b"\x00" in head:
        raise PlanFileError(f"{filename} is not a text file.")


def _decode(data: bytes, filename: str) -> str:
    # Excel on Windows saves CSV as cp1252 unless told otherwise; everything else is UTF-8.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PlanFileError(f"{filename} is not UTF-8 or Windows text: save it as CSV UTF-8.")


def _delimiters(text: str) -> list[str]:
    """The sniffed delimiter first, then the others, so a misleading title row cannot win."""
    candidates = [",", ";", "\t"]
    try:
        sniffed = csv.Sniffer().sniff(text[:8192], delimiters="".join(candidates)).delimiter
    except csv.Error:
        return candidates
    return [sniffed] + [d for d in candidates if d != sniffed]


def _csv_rows(text: str, delimiter: str, filename: str) -> list[list[str]]:
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= MAX_ROWS:
                raise PlanFileError(str(too_many_rows(filename, "")))
            if len(row) > MAX_COLUMNS:
                raise PlanFileError(str(too_many_columns(filename, len(row), "")))
            rows.append(row)
    except csv.Error as error:
        raise PlanFileError(f"{filename} cannot be read as CSV: {error}.") from None
    return rows


# --- YAML ----------------------------------------------------------------------------------


def _read_yaml(data: bytes, filename: str, today: date | None) -> ParsedPlan:
    _refuse_binary(data, filename)
    document = _load_yaml(data, filename)
    if not isinstance(document, dict) or not isinstance(document.get("workstreams"), list):
        raise PlanFileError(
            f"{filename} is not a plan: it needs a ‘workstreams’ list, each with a name "
            "and its actions."
        )
    reading = Reading(unit="action", today=today)
    number = 0
    for position, workstream in enumerate(document["workstreams"], start=1):
        name, actions = _yaml_workstream(workstream, position, filename)
        for action in actions:
            number += 1
            if number > MAX_ROWS:
                raise PlanFileError(str(too_many_rows(filename, "")).replace("rows", "actions"))
            values = _yaml_values(action) if isinstance(action, dict) else {}
            if not any(cell_text(value) for value in values.values()):
                reason = "not an action: give it a ref, a title, and its lead, due, status…"
                reading.problems.append(RowProblem(row=number, ref=None, reason=reason))
                continue
            read_row(values | {"workstream": name}, number, reading)
    return finish(reading, filename, _plan_name(document.get("plan"), filename))


def _load_yaml(data: bytes, filename: str) -> object:
    try:
        return load_plan_yaml(_decode(data, filename), filename)
    except TooLarge as error:
        raise PlanFileError(str(error)) from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" near line {where.line + 1}" if where is not None else ""
        raise PlanFileError(f"{filename} is not valid YAML{line}.") from None


def _yaml_workstream(workstream: object, position: int, filename: str) -> tuple[str, list[Any]]:
    if not isinstance(workstream, dict):
        raise PlanFileError(
            f"Workstream {position} in {filename} is not a mapping with ‘name’ and ‘actions’."
        )
    name = " ".join(cell_text(workstream.get("name")).split())
    if not name:
        raise PlanFileError(f"Workstream {position} in {filename} has no name.")
    actions = workstream.get("actions") or []
    if not isinstance(actions, list):
        raise PlanFileError(f"The actions of workstream ‘{name}’ in {filename} are not a list.")
    return name, actions


def _yaml_values(action: dict[Any, Any]) -> dict[str, object]:
    """An action's keys read like column headings, so `lead`, `leads` and `owner` all work."""
    values: dict[str, object] = {}
    for key, value in action.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(v, dict | list) for v in value)
        ):
            continue  # nested data (the demo's `updates:` history) is not a plan field
        found = field_for_heading(str(key))
        if found is not None and found not in values:
            values[found] = value
    return values


def _plan_name(value: object, filename: str) -> str | None:
    name = " ".join(cell_text(value).split())
    if len(name) > MAX_PLAN_NAME_CHARS:
        raise PlanFileError(
            f"The plan name in {filename} is {len(name):,} characters; "
            f"the limit is {MAX_PLAN_NAME_CHARS}."
        )
    return name or None
