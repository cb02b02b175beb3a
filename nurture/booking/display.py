"""How a screening time reads to a person, in their language: a calendar day and a clock
with the zone's abbreviation; on the booking pages the clinic's clock, since the visit is
in person. The one place dates and times are put into words (Babel's CLDR data).

English reads "Tuesday, November 3 at 10:00 AM CST"; Spanish "martes 3 de noviembre,
10:00 a.m. CST", with the US Spanish a.m./p.m. our patients write. The short form goes
into text messages: there a letter GSM-7 lacks (the á of "sáb") would switch the whole
text to UCS-2, 70 characters a segment instead of 160 (nurture.messages.segments), so
those few letters lose their accent ("sab"); é and ñ are GSM-7 and stay.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from nurture.languages import DEFAULT_LANGUAGE, language_of
from nurture.messages.segments import GSM7_BASIC


@dataclass(frozen=True, slots=True)
class _Style:
    locale: str  # the CLDR locale Babel formats in
    day: str  # Babel patterns
    short_day: str
    time: str
    at: str  # "{day} at {clock}"
    yours: str  # "{mine} ({theirs} your time)"


STYLES = {
    "en": _Style("en_US", "EEEE, MMMM d", "EEE MMM d", "h:mm a", "{day} at {clock}",
                 "{mine} ({theirs} your time)"),
    "es": _Style("es_US", "EEEE d 'de' MMMM", "EEE d MMM", "h:mm a", "{day}, {clock}",
                 "{mine} ({theirs} en su zona)"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class When:
    """A moment as words in one zone: 'Tuesday, November 3', '10:00 AM', 'CST'."""

    day: str
    short_day: str
    time: str
    zone: str
    # The same moment where the lead lives, when their clock differs: "11:00 AM EST".
    theirs: str = ""
    language: str = DEFAULT_LANGUAGE

    @property
    def clock(self) -> str:
        """'10:00 AM CST', or '10:00 AM CST (11:00 AM EST your time)'."""
        mine = f"{self.time} {self.zone}"
        return (
            STYLES[self.language].yours.format(mine=mine, theirs=self.theirs)
            if self.theirs
            else mine
        )

    @property
    def full(self) -> str:
        """'Tuesday, November 3 at 10:00 AM CST' (and the lead's own time, if it differs)."""
        return STYLES[self.language].at.format(day=self.day, clock=self.clock)

    @property
    def short(self) -> str:
        """'Tue Nov 3, 10:00 AM CST' (for text messages: GSM-7 letters only)."""
        return gsm7_letters(f"{self.short_day}, {self.time} {self.zone}")

    def __str__(self) -> str:
        return self.full


def gsm7_letters(text: str) -> str:
    """`text` with each accented letter GSM-7 lacks written without its accent."""
    return "".join(
        char if char in GSM7_BASIC else unicodedata.normalize("NFD", char)[0] for char in text
    )


def _style(language: str) -> _Style:
    return STYLES[language_of(language) or DEFAULT_LANGUAGE]


def _words(local: datetime, pattern: str, style: _Style) -> str:
    # CLDR puts a narrow no-break space in some Spanish patterns; a text message and a
    # button label read the same with a plain one.
    text = format_datetime(local, pattern, locale=style.locale)
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def when(moment: datetime, zone: ZoneInfo, language: str = DEFAULT_LANGUAGE) -> When:
    """`moment` as words in `zone`, in `language` ("en" or "es"; others read as English)."""
    local = moment.astimezone(zone)
    style = _style(language)
    return When(
        day=_words(local, style.day, style),
        short_day=_words(local, style.short_day, style),
        time=_words(local, style.time, style),
        zone=local.tzname() or zone.key,
        language=language_of(language) or DEFAULT_LANGUAGE,
    )


def at_clinic(
    moment: datetime, clinic_zone: ZoneInfo, lead_zone: ZoneInfo, language: str = DEFAULT_LANGUAGE
) -> When:
    """An in-person visit's time on the clinic's clock, with the lead's when it differs."""
    words = when(moment, clinic_zone, language)
    ours, theirs = moment.astimezone(clinic_zone), moment.astimezone(lead_zone)
    if theirs.utcoffset() == ours.utcoffset():
        return words
    style = _style(language)
    # Far enough away, it is another day there: say which.
    day = f"{_words(theirs, 'EEE', style)} " if theirs.date() != ours.date() else ""
    clock = _words(theirs, style.time, style)
    return replace(words, theirs=f"{day}{clock} {theirs.tzname() or lead_zone.key}")
