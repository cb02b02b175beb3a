"""The article pages: landing page with the download form, and the article itself.

Their language: `?lang=` when it names one we write in, else the article's own when it is
written in one language only, else the browser's (Accept-Language), else English. The
form carries the page's language, so the lead is written to in the language they read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.wording import wording_for
from nurture.languages import DEFAULT_LANGUAGE, LANGUAGES, from_accept_language, language_of
from nurture.leads.articles import SLUG, Article, load_article
from nurture.leads.capture import record_download
from nurture.links import InvalidToken, booking_token, read_token
from nurture.locations.directory import Locations, UnknownLocation
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.forms import FIXES, LABELS, DownloadForm
from nurture.web.i18n import N_, gettext_for, page_language, use_language
from nurture.web.metrics import count_refusal
from nurture.web.pages import render
from nurture.web.throttle import client_ip, throttle

WAIT = N_("Please wait a moment")
TOO_MANY = N_("Too many sign-ups came from your connection just now. Please try again in a minute.")


def welcome_booking_url(settings: Settings, welcome: str) -> str | None:
    """The booking link for a thank-you page's token; None for anything else."""
    if welcome in ("", "1", "confirm"):
        return None
    try:
        read_token(settings, "book", welcome)
    except InvalidToken:
        return None
    return f"/book/{welcome}"


router = APIRouter()


def article_language(request: Request, settings: Settings, slug: str, asked: str | None) -> str:
    """The language of the article's pages for this request (see the module's rule)."""
    chosen = language_of(asked)
    if chosen is None:
        written = load_article(settings.templates_dir, slug).languages
        if len(written) == 1:
            chosen = written[0]
    if chosen is None:
        chosen = from_accept_language(request.headers.get("accept-language"))
    return use_language(request, chosen or DEFAULT_LANGUAGE)


def read_url(slug: str, welcome: str, language: str) -> str:
    """The article page a sign-up lands on, in the language the form was in."""
    suffix = "" if language == DEFAULT_LANGUAGE else f"&lang={language}"
    return f"/articles/{slug}/read?welcome={welcome}{suffix}"


def first_article_slug(settings: Settings) -> str | None:
    """The slug of the first article, in file-name order."""
    slugs = sorted(p.stem for p in (settings.templates_dir / "articles").glob("*.md"))
    return next((slug for slug in slugs if SLUG.match(slug)), None)


def _landing(
    request: Request,
    settings: Settings,
    article: Article,
    form: DownloadForm,
    errors: dict[str, str],
    places: list[tuple[str, str]],
    status_code: int = 200,
) -> Response:
    # The consent wording in the page's language: the ledger records that same text.
    language = page_language(request)
    wording = {
        channel.value: wording_for(channel, language).text(settings.clinic_name)
        for channel in Channel
    }
    others = [other for other in LANGUAGES if other != language]
    context = {
        "article": article,
        # A group's clinics to choose from (one clinic: nothing to choose).
        "places": places if len(places) > 1 else [],
        # One link to the other language (two languages: a switch, not a menu).
        "switch_to": others[0] if len(others) == 1 else None,
        "form": form,
        "errors": errors,
        "labels": LABELS,
        "wording": wording,
    }
    return render(request, "landing.html", context, status_code)


@router.get("/")
def home(settings: SettingsDep) -> Response:
    """The first article's landing page."""
    slug = first_article_slug(settings)
    if slug is None:
        raise HTTPException(404)
    return RedirectResponse(f"/articles/{slug}", status_code=302)


def clinic_choices(session: Session, settings: Settings) -> list[tuple[str, str]]:
    """(slug, name) of each location a lead may choose on the form."""
    return [(place.slug, place.label(settings)) for place in Locations.load(session)]


@router.get("/articles/{slug}")
def landing(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    lang: str = "",
    location: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The article's title, summary and download form (`?location=` preselects a clinic)."""
    language = article_language(request, settings, slug, lang)
    article = load_article(settings.templates_dir, slug, language)
    places = clinic_choices(session, settings)
    chosen = location.strip().lower()
    form = DownloadForm(location=chosen if chosen in dict(places) else "")
    return _landing(request, settings, article, form, {}, places)


@router.post("/articles/{slug}/download")
def download(
    request: Request,
    slug: str,
    form: Annotated[DownloadForm, Form()],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """Capture the lead and show the article, or show the form again with its errors."""
    # The page the form was on says its language; without one, the same rule as that page's.
    language = article_language(request, settings, slug, form.language)
    article = load_article(settings.templates_dir, slug, language)
    refusal = throttle(request).hit(settings.capture_rate_limit, "form", client_ip(request))
    if refusal is not None:
        count_refusal(request, "download-form", "rate-limit")
        context = {"title": WAIT, "message": TOO_MANY}
        response = render(request, "error.html", context, 429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    if form.website.strip():
        # Only bots fill the hidden field: they get the page a person would, and nothing is kept.
        count_refusal(request, "download-form", "honeypot")
        return RedirectResponse(read_url(article.slug, "1", language), status_code=303)
    if not form.language:
        # No choice on the page: the page's own language.
        form = form.model_copy(update={"language": language})
    submission, errors = form.check(article.slug, language)
    if submission is None:
        places = clinic_choices(session, settings)
        return _landing(request, settings, article, form, errors, places, status_code=422)
    evidence = request_evidence(request, f"form:{article.slug}")
    try:
        result = record_download(session, submission, evidence, clock.now(), settings)
    except UnknownLocation:
        # A clinic removed since the page was shown: ask again, nothing was stored.
        problem = {"location": gettext_for(language)(FIXES["location"])}
        places = clinic_choices(session, settings)
        return _landing(request, settings, article, form, problem, places, status_code=422)
    # The thank-you page offers the screening with the lead's own booking link, as the
    # emails do; a lead who must confirm their address first is told so instead.
    welcome = (
        "confirm" if result.confirmation_sent else booking_token(settings, result.lead_public_id)
    )
    return RedirectResponse(read_url(article.slug, welcome, language), status_code=303)


@router.get("/articles/{slug}/read")
def read(
    request: Request, slug: str, settings: SettingsDep, welcome: str = "", lang: str = ""
) -> Response:
    """The article itself; the first email links here, the download form redirects here."""
    language = article_language(request, settings, slug, lang)
    article = load_article(settings.templates_dir, slug, language)
    context = {
        "article": article,
        "welcome": bool(welcome),
        "confirm_first": welcome == "confirm",
        "book_url": welcome_booking_url(settings, welcome),
    }
    return render(request, "article.html", context)
