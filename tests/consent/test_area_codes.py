"""The area-code table that spares every process phonenumbers' 100 MB of geocoding data."""

from __future__ import annotations

import phonenumbers
import pytest
import us
from phonenumbers.geodata import GEOCODE_DATA

from nurture.consent.area_codes import AREA_CODE_STATES, place_state, state_for_area_code
from nurture.consent.policy import us_state
from tests.support import fresh_python


def expected_table() -> dict[str, str]:
    """Every US area code phonenumbers knows, with its state, as the table should read."""
    table = {}
    for prefix, names in GEOCODE_DATA.items():
        if len(prefix) != 4 or not prefix.startswith("1") or "en" not in names:
            continue
        number = phonenumbers.parse(f"+{prefix}2345678")
        if phonenumbers.region_code_for_number(number) == "US":
            state = place_state(names["en"], us.states.lookup)
            assert state is not None, f"no state for {prefix}: {names['en']!r}"
            table[prefix[1:]] = state
    return dict(sorted(table.items()))


def test_the_area_code_table_matches_the_installed_phonenumbers() -> None:
    expected = expected_table()
    assert expected == AREA_CODE_STATES, (
        "phonenumbers' area codes changed; paste this into nurture/consent/area_codes.py:\n"
        f"{expected}"
    )


def test_texting_hours_find_the_state_of_florida_washington_and_dc_numbers() -> None:
    assert us_state("+13055550123") == "FL"
    assert us_state("+12065550123") == "WA"  # "Washington State" in phonenumbers
    assert us_state("+12025550123") == "DC"
    assert us_state("+14165550123") is None  # Toronto
    assert us_state("+442071234567") is None


def test_an_area_code_missing_from_the_table_is_looked_up_in_phonenumbers() -> None:
    missing = next(code for code in AREA_CODE_STATES)
    saved = AREA_CODE_STATES.pop(missing)
    try:
        assert state_for_area_code(missing) == saved
    finally:
        AREA_CODE_STATES[missing] = saved


@pytest.mark.slow
def test_delivery_does_not_load_the_geocoding_data() -> None:
    code = (
        "import sys, workers.tasks, nurture.web.app\n"
        "from nurture.consent.policy import us_state\n"
        "assert us_state('+13055550123') == 'FL'\n"
        "print('phonenumbers.geodata' in sys.modules)\n"
    )
    assert fresh_python(code) == "False"
