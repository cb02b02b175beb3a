"""The language of a page a lead sees, and the page's words in it.

Page templates mark their English with `{% trans %}` and `_()` (jinja2.ext.i18n); Python
marks the messages it hands to a page with `N_()`, and the page translates them. The
Spanish is a gettext catalogue, nurture/web/locale/es/LC_MESSAGES/pages.po, read with
Babel when first needed (no compile step: the .po ships in the wheel with the package).
`make messages` extracts what is marked and updates the catalogue; a test fails when an
English message has no Spanish.

The language is decided once per request and kept on `request.state`: a page behind a
lead's link speaks the lead's language (`use_language`); any other page the browser's
Accept-Language, else English.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from gettext import GNUTranslations, NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request

from nurture.languages import DEFAULT_LANGUAGE, LANGUAGES, NAMES, from_accept_language

CATALOGUES = Path(__file__).parent / "locale"
DOMAIN = "pages"
CONSOLE = "/admin"


def N_(message: str) -> str:
    """Mark `message` for the catalogue; the page that shows it translates it."""
    return message


def catalogue_path(language: str) -> Path:
    """Where the catalogue of `language` lives."""
    return CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The page words in `language`; English (the messages themselves) needs no catalogue."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language, domain=DOMAIN)
    # Babel's writer leaves out fuzzy and empty entries: those pages show the English.
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return GNUTranslations(compiled)


def gettext_for(language: str) -> Callable[[str], str]:
    """The function that translates one message into `language`."""
    return translations(language).gettext


def use_language(request: Request, language: str) -> str:
    """Render this request's pages in `language` (the lead's, or the one a page chose)."""
    request.state.page_language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return str(request.state.page_language)


def page_language(request: Request) -> str:
    """The language this request's pages are in (the staff console's is English)."""
    chosen = getattr(request.state, "page_language", None)
    if isinstance(chosen, str):
        return chosen
    if request.url.path.startswith(CONSOLE):
        return DEFAULT_LANGUAGE
    return from_accept_language(request.headers.get("accept-language")) or DEFAULT_LANGUAGE


def page_words(request: Request) -> dict[str, Any]:
    """What every page template needs to speak the request's language."""
    language = page_language(request)
    words = translations(language)

    def gettext(message: str) -> str:
        # gettext("") is the catalogue's header: an empty message stays empty.
        return words.gettext(message) if message else message

    return {
        "page_language": language,
        "native_language_names": NAMES,  # each language named in itself
        "gettext": gettext,
        "ngettext": words.ngettext,
        "_": gettext,
    }
