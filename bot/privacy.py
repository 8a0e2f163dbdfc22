"""Spotting child-level data in free text before it is stored.

The bot must never keep details about an individual child. People paste things by mistake: a
pupil's UPN, an NHS number, a name with a date of birth. `find_personal_data` says what looked
like such a detail, so the refusal can name it; it is pure, so every surface (notes, answers,
KPI notes) can use the same rule. It errs towards asking: a refused note can be rephrased, a
stored one cannot be unseen.
"""

from __future__ import annotations

import re

# Ten digits, written together or as 3-3-4 with spaces or dashes (how the NHS prints them).
_NHS_NUMBER = re.compile(r"(?<![\d])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?![\d])")
# A unique pupil number: a check letter, 11 digits, then a digit (or a letter for a temporary
# UPN). Letters I, O and S are never used, but a look-alike is worth a question too.
_UPN = re.compile(r"\b[A-Za-z]\d{11}[0-9A-Za-z]\b")
_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2} [A-Z][a-z]{2,8} \d{4})"
)
# "DOB 12/03/2015", "d.o.b.: 2015-03-12", "date of birth 12 March 2015", "born 12/03/15"
_BIRTH_DATE = re.compile(
    rf"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|born(?: on)?)\s*[:\-]?\s*({_DATE})", re.IGNORECASE
)
# Two capitalised words straight before a date: "Jamie Smith 12/03/2015", "Jamie Smith (12/03/2015)"
_NAME_THEN_DATE = re.compile(rf"\b([A-Z][a-z'\-]+ [A-Z][a-z'\-]+)\s*[,(]?\s*({_DATE})")


def nhs_number_is_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check: weights 10 down to 2 on the first nine digits; the
    check digit is 11 minus the remainder (11 means 0, 10 means the number is not valid)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def find_personal_data(text: str) -> str | None:
    """What in `text` looks like a child's details, described with the text that matched; None
    when nothing does."""
    for match in _NHS_NUMBER.finditer(text):
        if nhs_number_is_valid("".join(match.groups())):
            return f"an NHS number ({match.group(0)})"
    upn = _UPN.search(text)
    if upn:
        return f"a pupil number (UPN {upn.group(0)})"
    birth = _BIRTH_DATE.search(text)
    if birth:
        return f"a date of birth ({birth.group(0).strip()})"
    named = _NAME_THEN_DATE.search(text)
    if named:
        return f"a name with a date ({named.group(0).strip()})"
    return None
