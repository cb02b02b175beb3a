"""The languages Nurture writes in, and reading a person's choice from what they send.

Standard library only: the form, the API, the CLI and the reply texts all decide a
lead's language here. A tag like "es-MX" counts as its language ("es"); anything we do
not write in falls back to the default, except where a person typed it and deserves
to be told (LeadSubmission refuses it, naming the field).
"""

from __future__ import annotations

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
NAMES = {"en": "English", "es": "Español"}


class UnknownLanguage(ValueError):
    """A language we do not write in."""

    def __init__(self, language: str) -> None:
        super().__init__(f"choose {' or '.join(LANGUAGES)}, not {language!r}")


def language_of(tag: str | None) -> str | None:
    """The supported language a tag names ("es-MX" -> "es"), or None."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (RFC 9110 q-values), or None."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        language = language_of(tag)
        if language is None:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        # The higher weight wins; between equals, the earlier one.
        if weight > 0 and (best is None or (weight, -position) > (best[0], best[1])):
            best = (weight, -position, language)
    return best[2] if best else None
