"""find_personal_data: what looks like a child's details in free text."""

from __future__ import annotations

import pytest

from bot.privacy import find_personal_data, nhs_number_is_valid


@pytest.mark.parametrize("number", ["9434765919", "4010232137"])
def test_nhs_numbers_with_a_good_check_digit_are_valid(number: str) -> None:
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize("number", ["9434765918", "4010232138", "123456789", "943476591X"])
def test_a_wrong_check_digit_or_length_is_not_an_nhs_number(number: str) -> None:
    assert not nhs_number_is_valid(number)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Child 943 476 5919 waited 40 weeks", "an NHS number (943 ••• ••••)"),
        ("NHS no 9434765919", "an NHS number (943•••••••)"),
        ("see pupil A123456789012", "a pupil number (UPN A12••••••••••)"),
        ("temporary UPN B12345678901C", "a pupil number (UPN B12••••••••••)"),
        ("Late plan, DOB 12/03/2015", "a date of birth (DOB ••/••/••••)"),
        ("born on 2015-03-12, placed out of area", "a date of birth (born on ••••-••-••)"),
        ("Jamie Smith 12/03/2015 still waiting", "a name with a date (J•••• S•••• ••/••/••••)"),
        ("Jamie Smith (12 March 2015)", "a name with a date (J•••• S•••• •• ••••• ••••)"),
    ],
)
def test_a_childs_details_are_found_and_named(text: str, found: str) -> None:
    assert find_personal_data(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "EHCPs issued within 20 weeks rose to 55% in October 2026",
        "Figures to 31/10/2026 from the SEN2 return",
        "9434765918 is a reference that fails the check digit",
        "Call 0300 123 4567 for the service",
        "142 suspensions, down 12 on September",
    ],
)
def test_aggregate_notes_pass(text: str) -> None:
    assert find_personal_data(text) is None
