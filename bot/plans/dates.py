"""Due dates as plans write them: `31/01/2027`, `March 2027`, `Q3 2026/27`, `Ongoing`.

Dates are read day first, as in the UK: `01/02/2027` is 1 February.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from enum import StrEnum

from bot.domain import Invalid

_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
MONTHS: dict[str, int] = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
MONTHS |= {name[:3]: number for name, number in list(MONTHS.items())}
MONTHS["sept"] = 9

# Words plans use for "no fixed date"; the wording is kept so nobody's intent is lost.
OPEN_ENDED = frozenset(
    {
        "ongoing",
        "tbc",
        "tbd",
        "to be confirmed",
        "to be decided",
        "n/a",
        "na",
        "continuous",
        "rolling",
        # Recurring work, and a due column that says the work is done: no single date.
        "weekly",
        "monthly",
        "quarterly",
        "termly",
        "annually",
        "annual",
        "complete",
        "completed",
    }
)
# "March 2027 (revised)": the date is read without the bracketed remark; the wording keeps it.
_REMARK = re.compile(r"\s*\([^)]*\)\s*$")
# "September 2026 - July 2027", "Sept 2026 to July 2027": due at the end of the range.
_RANGE = re.compile(r".+?\s+(?:-|–|—|to|until)\s+(.+)", re.IGNORECASE)
# Cells that only say "nothing here".
BLANK_MARKS = frozenset({"-", "–", "—"})

# Where a school term ends (month, day). Spring ends around Easter, which moves; the end of March
# is used because it is also the end of the financial year plans report against.
TERM_ENDS = {"autumn": (12, 31), "spring": (3, 31), "summer": (7, 31)}

# "by", "end of", "by the end of" before a date change nothing but the wording.
_PREFIX = re.compile(r"^(?:by\s+)?(?:the\s+)?(?:end\s+(?:of\s+)?)?", re.IGNORECASE)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})")
_DAY_MONTHNAME_YEAR = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([a-z]+)\.?,?[\s\-]+(\d{4}|\d{2})", re.IGNORECASE
)
# "March 2027", "Mar-27", "Mar '27", and "April 27" as trackers write April 2027.
_MONTH_YEAR = re.compile(r"([a-z]+)\.?(?:\s+(\d{4})|\s*[\-']\s*(\d{2})|\s+(\d{2}))", re.IGNORECASE)
_MONTH_ALONE = re.compile(r"([a-z]+)\.?", re.IGNORECASE)
_QUARTER = r"(?:q|quarter\s*)([1-4])"
_FINANCIAL_QUARTER = re.compile(
    rf"{_QUARTER}\s+(?:fy\s*)?(\d{{4}}|\d{{2}})\s*[/\-]\s*(\d{{4}}|\d{{2}})"
    rf"|(?:fy\s*)?(\d{{4}}|\d{{2}})\s*[/\-]\s*(\d{{4}}|\d{{2}})\s+{_QUARTER}",
    re.IGNORECASE,
)
# "2026/27", "FY 2026-27": the whole financial year, so its end, 31 March of the second year.
_FINANCIAL_YEAR = re.compile(
    r"(?:(?:fy|financial\s+year)\s*)?(\d{4})\s*[/\-]\s*(\d{4}|\d{2})(?:\s+financial\s+year)?",
    re.IGNORECASE,
)
# "Academic year 2025/26", "AY 2025-26", "2025/26 school year": the school year, which ends on
# 31 August of its second year.
_ACADEMIC_YEAR = re.compile(
    r"(?:(?:academic|school)\s+year|ay)\s*(\d{4})\s*[/\-]\s*(\d{4}|\d{2})"
    r"|(\d{4})\s*[/\-]\s*(\d{4}|\d{2})\s+(?:academic|school)\s+year",
    re.IGNORECASE,
)
# A year span with no word to say which year it is: "2024-25".
_BARE_YEAR_SPAN = re.compile(r"(\d{4})\s*[/\-]\s*(\d{4}|\d{2})")
# Wording that dates work by the school calendar: a term, or an academic or school year.
_SCHOOL_TIME = re.compile(
    r"\b(?:autumn|spring|summer)(?:\s+term)?\b|\b(?:academic|school)\s+year\b|\bay\s*\d{4}",
    re.IGNORECASE,
)
ACADEMIC_YEAR_END = (8, 31)


class YearEnd(StrEnum):
    """Which year a bare "2024-25" names: the financial year (April to March) or the academic
    year (September to August)."""

    FINANCIAL = "financial"
    ACADEMIC = "academic"


def bare_year_span_end(wording: str) -> int | None:
    """The second year of a wording that is only a year span ("2024-25", "by 2024/25"),
    which could be a financial or an academic year; None for any other wording."""
    text = _PREFIX.sub("", " ".join(wording.split()), count=1)
    text = _REMARK.sub("", text) or text
    match = _BARE_YEAR_SPAN.fullmatch(text)
    if match is None:
        return None
    return int(match.group(1)) + 1


def academic_year_end(year: int) -> date:
    return date(year, *ACADEMIC_YEAR_END)


def names_school_time(wording: str) -> bool:
    return _SCHOOL_TIME.search(wording) is not None


def names_financial_time(wording: str) -> bool:
    """A financial quarter or a year named financial ("Q4 26/27", "FY 2026-27")."""
    text = _PREFIX.sub("", " ".join(wording.split()), count=1)
    return (
        _FINANCIAL_QUARTER.search(text) is not None
        or re.search(r"\bfy\b|\bfinancial\s+year\b", text, re.IGNORECASE) is not None
    )


_CALENDAR_QUARTER = re.compile(rf"{_QUARTER}\s+(\d{{4}})|(\d{{4}})\s+{_QUARTER}", re.IGNORECASE)
_TERM = re.compile(
    r"(autumn|spring|summer)(?:\s+term)?\s+(\d{4})(?:\s*[/\-]\s*(\d{4}|\d{2}))?", re.IGNORECASE
)


def parse_due(
    text: str | date | datetime | None, *, today: date | None = None
) -> tuple[date | None, str | None]:
    """The due date, and the plan's own wording when it was not a plain date.

    Plain dates give `(date, None)`: `2027-01-31`, `31/01/2027`, `31/1/27`, `31.01.2027`,
    `31 January 2027`, and the date or datetime Excel cells arrive as.
    Other wordings give the date they mean and the wording as written:
    - `March 2027`, `Jan 2027`, `Mar-27`: the last day of that month.
    - `April 27`, `December 26`: a month and a two-digit year, as trackers write them.
    - `2026/27`, `FY 2026-27`, `Financial year 2026/27`: the end of that financial year,
      31 March 2027. A bare `2026/27` may be a school year instead: see `bare_year_span_end`.
    - `Academic year 2026/27`, `AY 2026-27`, `2026/27 school year`: the end of that school year,
      31 August 2027.
    - `Q3 2026/27`, `Q4 26/27`: the last day of that quarter of the UK financial year, which runs
      April to March (Q1 Apr–Jun, Q2 Jul–Sep, Q3 Oct–Dec, Q4 Jan–Mar of the second year).
    - `Q3 2026`: the last day of that calendar quarter.
    - `Autumn 2026`, `Spring term 2027`, `Summer 2027`: the end of that school term, taken as
      31 December, 31 March (Easter moves, so the end of March stands for it) and 31 July.
      `Spring 2026/27` names the academic year: autumn falls in its first year, spring and
      summer in its second.
    - `End of Spring Term 2027`: the same as `Spring 2027`.
    - `March 2027 (revised)`: a bracketed remark after a date is kept in the wording only.
    - `September 2026 - July 2027`, `… to July 2027`: a range is due at its end.
    - `End of March`, `by March`: the next end of that month on or after `today`.
    - `by`, `end of` or `by the end of` may lead any of these.
    `Ongoing`, `TBC`, `TBD`, `n/a`, `Termly`, `Complete` give `(None, wording)`; empty cells and
    a lone dash give `(None, None)`.

    Raises Invalid for anything else, saying which forms work.
    """
    if text is None:
        return None, None
    if isinstance(text, datetime):
        return text.date(), None
    if isinstance(text, date):
        return text, None
    wording = " ".join(text.split())
    if not wording or wording in BLANK_MARKS:
        return None, None
    if wording.lower() in OPEN_ENDED:
        return None, wording
    plain = _plain_date(wording)
    if plain is not None:
        return plain, None
    due = _worded_date(wording, today or date.today())
    if due is None and (remark := _REMARK.search(wording)) and remark.start() > 0:
        due = _plain_date(wording[: remark.start()]) or _worded_date(
            wording[: remark.start()], today or date.today()
        )
    if due is None and (span := _RANGE.fullmatch(wording)):
        due = _plain_date(span.group(1)) or _worded_date(span.group(1), today or date.today())
    if due is None:
        raise _not_a_date(wording)
    return due, wording


def stable_due_wording(due: date | None, due_text: str | None) -> str | None:
    """The wording to write back out for a due date, when reading it again gives the same result.

    `March 2027` is kept for 31/03/2027; `End of March` is not, because what it means depends on
    the day it is read, so the date itself is written instead.
    """
    if not due_text:
        return None
    # A 'today' centuries ago puts any wording without its own year in that century, so only
    # wordings that name their year can match a real due date.
    long_ago = date(1900, 1, 1)
    try:
        reread = parse_due(due_text, today=long_ago)
    except Invalid:
        return None
    return due_text if reread == (due, due_text) else None


def _plain_date(text: str) -> date | None:
    if match := _ISO.fullmatch(text):
        year, month, day = match.groups()
        return _make_date(int(year), int(month), int(day), text)
    if match := _DAY_MONTH_YEAR.fullmatch(text):
        day, _, month, year = match.groups()
        return _make_date(_full_year(year), int(month), int(day), text)
    if (match := _DAY_MONTHNAME_YEAR.fullmatch(text)) and _month(match.group(2)):
        day, month_name, year = match.groups()
        return _make_date(_full_year(year), _month(month_name), int(day), text)
    return None


def _month(name: str) -> int:
    """The month's number, or 0 when the word is not a month."""
    return MONTHS.get(name.lower(), 0)


def _worded_date(text: str, today: date) -> date | None:
    text = _PREFIX.sub("", text, count=1)
    if match := _FINANCIAL_QUARTER.fullmatch(text):
        return _financial_quarter_end(match, text)
    if match := _ACADEMIC_YEAR.fullmatch(text):
        first_year = int(match.group(1) or match.group(3))
        _check_consecutive(first_year, match.group(2) or match.group(4), text)
        return academic_year_end(first_year + 1)
    if match := _FINANCIAL_YEAR.fullmatch(text):
        first_year = int(match.group(1))
        _check_consecutive(first_year, match.group(2), text)
        return date(first_year + 1, 3, 31)
    if match := _CALENDAR_QUARTER.fullmatch(text):
        quarter, year = match.group(1) or match.group(4), match.group(2) or match.group(3)
        return _month_end(int(year), int(quarter) * 3)
    if match := _TERM.fullmatch(text):
        return _term_end(match, text)
    if (match := _MONTH_YEAR.fullmatch(text)) and _month(match.group(1)):
        year = match.group(2) or match.group(3) or match.group(4)
        return _month_end(_full_year(year), _month(match.group(1)))
    if (match := _MONTH_ALONE.fullmatch(text)) and _month(match.group(1)):
        return _next_month_end(_month(match.group(1)), today)
    # "By 31/01/2027": a plain date after a prefix.
    return _plain_date(text)


def _financial_quarter_end(match: re.Match[str], text: str) -> date:
    quarter = int(match.group(1) or match.group(6))
    first_year = _full_year(match.group(2) or match.group(4))
    _check_consecutive(first_year, match.group(3) or match.group(5), text)
    # Q1 ends in June of the first year; Q4 ends in March of the second.
    month = quarter * 3 + 3
    return _month_end(first_year + 1, month - 12) if month > 12 else _month_end(first_year, month)


def _term_end(match: re.Match[str], text: str) -> date:
    term_name, year_text, academic_second_year = match.groups()
    term = term_name.lower()
    year = int(year_text)
    if academic_second_year is not None:
        _check_consecutive(year, academic_second_year, text)
        if term != "autumn":
            year += 1
    month, day = TERM_ENDS[term]
    return date(year, month, day)


def _check_consecutive(first_year: int, second_year: str, text: str) -> None:
    second = int(second_year)
    expected = first_year + 1 if len(second_year) == 4 else (first_year + 1) % 100
    if second != expected:
        raise Invalid(f"“{text}” is not a year span: write the two years in a row, like 2026/27.")


def _next_month_end(month: int, today: date) -> date:
    this_year = _month_end(today.year, month)
    return this_year if this_year >= today else _month_end(today.year + 1, month)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _full_year(year: str) -> int:
    # Two-digit years in a plan are this century's.
    return 2000 + int(year) if len(year) == 2 else int(year)


def _make_date(year: int, month: int, day: int, text: str) -> date:
    if not 1 <= month <= 12:
        raise Invalid(f"“{text}” is not a date: there is no month {month} (day first: 31/01/2027)")
    try:
        return date(year, month, day)
    except ValueError:
        month_name = _MONTH_NAMES[month - 1].capitalize()
        raise Invalid(f"“{text}” is not a date: {month_name} {year} has no day {day}") from None


def _not_a_date(text: str) -> Invalid:
    # quoted whole, as far as a due date's wording goes, so the report shows what was written
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 100 else shown[:99] + "…"
    return Invalid(f"“{shown}” is not a date: use 31/01/2027, 2027-01-31, March 2027 or Ongoing")
