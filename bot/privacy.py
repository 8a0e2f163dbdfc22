"""Spotting child-level data in free text before it is stored.

The bot must never keep details about an individual child. People paste things by mistake: a
pupil's UPN, an NHS number, a name with a date of birth. `find_personal_data` says what looked
like such a detail, so the refusal can name it without repeating it (the detail is masked:
`NHS number 943 ••• ••••`); it is pure, so every surface can use the same rule through
`bot.domain.clean_note` and the plan reader. It errs towards asking, since a refused note can be
rephrased and a stored one cannot be unseen; but trackers' own phrases, a group or a report with
a date ("Signed off by SEND Operational Leads 26/11/19", "Synergy Report 31/10/2026"), are not
names and pass.
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
_NAME_THEN_DATE = re.compile(rf"\b([A-Z][a-z'\-]+) ([A-Z][a-z'\-]+)\s*[,(]?\s*({_DATE})")
# Words that trackers put before a date and that are not a child's name: the group that signed
# something off, the paper or meeting of that date. Either word of the pair being one of these
# clears it ("Operational Leads 26/11/19", "Synergy Report 31/10/2026", "Board Meeting 3/2/25").
_NOT_NAME_WORDS = (
    "action actions agenda agreed approved assessment audit autumn board briefing cabinet "
    "census circulated committee completed conference consultation council dashboard data "
    "deadline delivered draft due event forum framework group guidance held issued launch "
    "launched lead leads meeting minutes month monthly network newsletter notes offer "
    "operational ops panel partnership pilot plan policy presented programme published "
    "quarter quarterly report reported reports return review reviewed revised scrutiny "
    "sent service services session signed spring steering strategy submitted summer "
    "survey team toolkit training update updated version visit week weekly workshop"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


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


def _mask(text: str) -> str:
    """Letters and digits hidden, the shape kept: `12/03/2015` is `••/••/••••`."""
    return re.sub(r"[A-Za-z0-9]", "•", text)


def find_personal_data(text: str) -> str | None:
    """What in `text` looks like a child's details, described with enough of the text to find
    it (the rest masked, so a refusal never repeats the detail whole); None when nothing does."""
    for match in _NHS_NUMBER.finditer(text):
        if nhs_number_is_valid("".join(match.groups())):
            found = match.group(0)
            return f"an NHS number ({found[:3]}{_mask(found[3:])})"
    upn = _UPN.search(text)
    if upn:
        found = upn.group(0)
        return f"a pupil number (UPN {found[:3]}{_mask(found[3:])})"
    birth = _BIRTH_DATE.search(text)
    if birth:
        label = birth.group(0)[: birth.start(1) - birth.start(0)]
        return f"a date of birth ({label}{_mask(birth.group(1))})"
    for named in _NAME_THEN_DATE.finditer(text):
        first, last, when = named.groups()
        if first.lower() in _NOT_NAMES or last.lower() in _NOT_NAMES:
            continue
        name = f"{first[0]}{_mask(first[1:])} {last[0]}{_mask(last[1:])}"
        return f"a name with a date ({name} {_mask(when)})"
    return None
