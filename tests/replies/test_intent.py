"""How a reply is read: keyword families, free-text opt-outs, booking words and times."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from nurture.replies.intent import Context, Intent, classify
from nurture.replies.slot_choice import SlotChoice
from tests.support import START

CHICAGO = ZoneInfo("America/Chicago")
PLAIN = Context(START, CHICAGO)
OFFERED = Context(START, CHICAGO, offered=3)
BOOKED = Context(START, CHICAGO, has_booking=True)


def variants(word: str) -> list[str]:
    """The ways people type a keyword: any case, padded, punctuated."""
    return [word, word.lower(), word.title(), f"  {word}  ", f"{word}.", f"{word}!!", f'"{word}"']


STOP_WORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
STOP_WORDS += ["OPT OUT"]


@pytest.mark.parametrize("text", [v for word in STOP_WORDS for v in variants(word)])
def test_every_carrier_opt_out_keyword_is_stop(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.STOP


@pytest.mark.parametrize("word", STOP_WORDS)
def test_opt_out_keywords_stop_even_with_a_booking_or_an_open_offer(word: str) -> None:
    assert classify(word, BOOKED).intent is Intent.STOP
    assert classify(word, OFFERED).intent is Intent.STOP


@pytest.mark.parametrize(
    "text",
    [
        "please stop texting me",
        "Stop sending me messages",
        "don't text me",
        "Do not text me again",
        "remove me from your list",
        "Take me off your list please",
        "please unsubscribe me",
        "no more texts",
        "Wrong number",
        "STOP please",
        "pls stop!",
        "stop stop stop",
        "opt-out",
    ],
)
def test_clear_free_text_revocations_are_stop(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.STOP


@pytest.mark.parametrize(
    "text", ["Can I stop by Tuesday?", "Don't stop texting me, this is great", "the end"]
)
def test_stop_inside_ordinary_words_is_not_an_opt_out(text: str) -> None:
    assert classify(text, PLAIN).intent is not Intent.STOP


def test_bare_cancel_opts_out_but_cancel_my_appointment_cancels_the_booking() -> None:
    assert classify("CANCEL", BOOKED).intent is Intent.STOP
    assert classify("cancel my appointment", BOOKED).intent is Intent.CANCEL
    assert classify("I need to cancel", BOOKED).intent is Intent.CANCEL
    assert classify("Cancel please", BOOKED).intent is Intent.CANCEL
    assert classify("CANCEL APPOINTMENT", BOOKED).intent is Intent.CANCEL
    assert classify("I can't make it", BOOKED).intent is Intent.CANCEL


def test_cancel_words_without_a_booking_are_an_opt_out_or_a_question() -> None:
    assert classify("Cancel please", PLAIN).intent is Intent.STOP
    assert classify("cancel my appointment", PLAIN).intent is Intent.OTHER


@pytest.mark.parametrize("text", [v for word in ("HELP", "INFO") for v in variants(word)])
def test_help_and_info_are_help(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.HELP


@pytest.mark.parametrize(
    "text", [v for word in ("START", "UNSTOP", "RESUME") for v in variants(word)]
)
def test_start_unstop_and_resume_are_start(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.START


@pytest.mark.parametrize("text", ["YES", "yes", "Yes please!", "yeah", "sure"])
def test_yes_is_booking_not_a_resubscription(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.BOOK


@pytest.mark.parametrize(
    "text",
    [
        "BOOK",
        "book",
        "I'd like a screening",
        "schedule me",
        "book me in",
        "What times do you have?",
        "when can I come in?",
    ],
)
def test_booking_words_are_book(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.BOOK


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😀👍", "🙂", "?!"])
def test_empty_and_emoji_only_replies_go_to_a_person(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.OTHER


@pytest.mark.parametrize(
    "text", ["what is this?", "Who is this", "How much does the screening cost?"]
)
def test_questions_go_to_a_person(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.OTHER


@pytest.mark.parametrize(
    ("text", "number"), [("1", 1), ("2", 2), ("3", 3), ("#2", 2), ("option 3", 3), ("2.", 2)]
)
def test_option_numbers_choose_from_the_open_offer(text: str, number: int) -> None:
    result = classify(text, OFFERED)
    assert result.intent is Intent.SLOT_CHOICE
    assert result.choice == SlotChoice(number=number)


def test_a_number_with_no_open_offer_asks_for_fresh_options() -> None:
    assert classify("2", PLAIN).intent is Intent.BOOK


# START is Monday 2 November 2026, 09:00 in Chicago.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue 3pm", SlotChoice(day=date(2026, 11, 3), at=time(15))),
        ("tuesday at 3", SlotChoice(day=date(2026, 11, 3), at=time(15))),
        ("tomorrow morning", SlotChoice(day=date(2026, 11, 3), after=time(0), before=time(12))),
        (
            "Thursday afternoon",
            SlotChoice(day=date(2026, 11, 5), after=time(12), before=time(17)),
        ),
        (
            "can I come Tuesday afternoon?",
            SlotChoice(day=date(2026, 11, 3), after=time(12), before=time(17)),
        ),
        ("3:30", SlotChoice(at=time(15, 30))),
        ("10:30am", SlotChoice(at=time(10, 30))),
        ("Tue Nov 3, 10:00 AM CST", SlotChoice(day=date(2026, 11, 3), at=time(10))),
        ("Mon 9am", SlotChoice(day=date(2026, 11, 9), at=time(9))),  # today's 9am has passed
    ],
)
def test_days_and_times_are_read_in_the_leads_zone(text: str, expected: SlotChoice) -> None:
    result = classify(text, OFFERED)
    assert result.intent is Intent.SLOT_CHOICE
    assert result.choice == expected


def test_tomorrow_means_the_leads_tomorrow_not_the_servers() -> None:
    # 15:00 UTC on Monday is already 00:00 Tuesday in Tokyo.
    tokyo = Context(START, ZoneInfo("Asia/Tokyo"), offered=3)
    choice = classify("tomorrow morning", tokyo).choice
    assert choice is not None and choice.day == date(2026, 11, 4)


def test_a_day_mentioned_in_passing_is_not_a_choice() -> None:
    assert classify("I'm busy on Tuesday, what is this about?", PLAIN).intent is Intent.OTHER


def test_with_a_booking_a_new_time_or_reschedule_word_is_a_reschedule() -> None:
    moved = classify("can I move it to Thursday afternoon?", BOOKED)
    assert moved.intent is Intent.RESCHEDULE
    assert moved.choice == SlotChoice(day=date(2026, 11, 5), after=time(12), before=time(17))
    assert classify("I need to reschedule", BOOKED).intent is Intent.RESCHEDULE


def test_a_choice_matches_only_slots_at_that_local_time() -> None:
    choice = SlotChoice(day=date(2026, 11, 3), after=time(12), before=time(17))
    assert choice.matches(datetime(2026, 11, 3, 13, 30, tzinfo=CHICAGO))
    assert not choice.matches(datetime(2026, 11, 3, 10, 0, tzinfo=CHICAGO))
    assert not choice.matches(datetime(2026, 11, 4, 13, 30, tzinfo=CHICAGO))


SPANISH_STOP_WORDS = ["PARAR", "ALTO", "BAJA", "CANCELAR", "DETENER", "BASTA", "Darme de baja"]


@pytest.mark.parametrize("text", [v for word in SPANISH_STOP_WORDS for v in variants(word)])
def test_spanish_opt_out_keywords_are_stop_for_every_lead(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.STOP
    assert classify(text, OFFERED).intent is Intent.STOP


@pytest.mark.parametrize("text", ["¡PARAR!", "parar por favor", "Alto, gracias", "BAJA ya"])
def test_spanish_keywords_with_courtesy_words_or_marks_are_still_stop(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.STOP


@pytest.mark.parametrize(
    "text",
    [
        "No me manden más mensajes",
        "por favor dejen de escribirme",
        "Ya no quiero recibir textos",
        "Quítenme de la lista",
        "número equivocado",
        "no me interesa",
    ],
)
def test_spanish_free_text_revocations_are_stop(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.STOP


@pytest.mark.parametrize("text", ["AYUDA", "ayuda!", "Información"])
def test_ayuda_is_help(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.HELP


@pytest.mark.parametrize("text", ["INICIAR", "Empezar", "reanudar"])
def test_spanish_start_words_are_start(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.START


@pytest.mark.parametrize(
    "text",
    ["CITA", "Sí", "si por favor", "Quiero una cita", "¿Qué horarios tienen?", "claro"],
)
def test_spanish_booking_words_are_book(text: str) -> None:
    assert classify(text, PLAIN).intent is Intent.BOOK


def test_with_a_booking_spanish_cancel_and_reschedule_words_are_read() -> None:
    assert classify("Necesito cancelar mi cita", BOOKED).intent is Intent.CANCEL
    assert classify("No puedo ir el martes", BOOKED).intent is Intent.CANCEL
    assert classify("¿Puedo cambiar la cita a otro día?", BOOKED).intent is Intent.RESCHEDULE
    # The bare keyword is an opt-out under carrier rules, as CANCEL is.
    assert classify("CANCELAR", BOOKED).intent is Intent.STOP
