from __future__ import annotations

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
