from __future__ import annotations

import pytest

from nurture.messages.segments import count_segments


def test_plain_text_of_160_characters_is_one_gsm_segment() -> None:
    count = count_segments("a" * 160)
    assert (count.encoding, count.segments) == ("GSM-7", 1)


def test_161_characters_need_two_segments_of_153() -> None:
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_extended_characters_cost_two_septets() -> None:
    count = count_segments("€" * 80)
    assert (count.encoding, count.units, count.segments) == ("GSM-7", 160, 1)


def test_one_curly_quote_switches_the_whole_text_to_unicode() -> None:
    count = count_segments("It’s" + "a" * 70)
    assert count.encoding == "UCS-2"
    assert count.unicode_chars == ("’",)
    assert count.segments == 2


def test_emoji_counts_as_two_utf16_units() -> None:
    assert count_segments("👍").units == 2


def test_spanish_n_tilde_e_acute_and_inverted_marks_stay_gsm7() -> None:
    count = count_segments("¿Señora Muñoz? ¡Qué bien! Él ya está… no: é, É, ñ, Ñ, ü, Ü")
    assert count.encoding == "UCS-2"  # the á of "está" and the ellipsis
    assert set(count.unicode_chars) == {"á", "…"}
    plain = count_segments("¿Señora Muñoz? ¡Qué bien! Él, é, É, ñ, Ñ, ü, Ü")
    assert (plain.encoding, plain.unicode_chars) == ("GSM-7", ())


@pytest.mark.parametrize("accented", ["á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú"])
def test_spanish_acute_a_i_o_u_switch_a_text_to_unicode_and_are_named(accented: str) -> None:
    text = "Responda PARAR para dejar de recibir mensajes " + accented
    count = count_segments(text)
    assert (count.encoding, count.unicode_chars) == ("UCS-2", (accented,))
    assert count_segments("x" * 71 + accented).segments == 2  # 70 per segment, not 160
