"""The article pages: landing page with the download form, and the article itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.wording import WORDING
from nurture.languages import from_accept_language
from nurture.leads.articles import SLUG, Article, load_article
from nurture.leads.capture import record_download
from nurture.links import InvalidToken, booking_token, read_token
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.forms import LABELS, DownloadForm
from nurture.web.metrics import count_refusal
from nurture.web.pages import render
from nurture.web.throttle import client_ip, throttle

TOO_MANY = "Too many sign-ups came from your connection just now. Please try again in a minute."


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
    status_code: int = 200,
) -> Response:
    wording = {channel.value: WORDING[channel].text(settings.clinic_name) for channel in Channel}
    context = {
        "article": article,
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


@router.get("/articles/{slug}")
def landing(request: Request, slug: str, settings: SettingsDep) -> Response:
    """The article's title, summary and download form."""
    article = load_article(settings.templates_dir, slug)
    return _landing(request, settings, article, DownloadForm(), {})


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
    article = load_article(settings.templates_dir, slug)
    refusal = throttle(request).hit(settings.capture_rate_limit, "form", client_ip(request))
    if refusal is not None:
        count_refusal(request, "download-form", "rate-limit")
        context = {"title": "Please wait a moment", "message": TOO_MANY}
        response = render(request, "error.html", context, 429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    if form.website.strip():
        # Only bots fill the hidden field: they get the page a person would, and nothing is kept.
        count_refusal(request, "download-form", "honeypot")
        return RedirectResponse(f"/articles/{article.slug}/read?welcome=1", status_code=303)
    if not form.language:
        # No choice on the page: the language the person's browser asks for, if we write it.
        form = form.model_copy(
            update={"language": from_accept_language(request.headers.get("accept-language"))}
        )
    submission, errors = form.check(article.slug)
    if submission is None:
        return _landing(request, settings, article, form, errors, status_code=422)
    evidence = request_evidence(request, f"form:{article.slug}")
    result = record_download(session, submission, evidence, clock.now(), settings)
    # The thank-you page offers the screening with the lead's own booking link, as the
    # emails do; a lead who must confirm their address first is told so instead.
    welcome = (
        "confirm" if result.confirmation_sent else booking_token(settings, result.lead_public_id)
    )
    return RedirectResponse(f"/articles/{article.slug}/read?welcome={welcome}", status_code=303)


@router.get("/articles/{slug}/read")
def read(request: Request, slug: str, settings: SettingsDep, welcome: str = "") -> Response:
    """The article itself; the first email links here, the download form redirects here."""
    article = load_article(settings.templates_dir, slug)
    context = {
        "article": article,
        "welcome": bool(welcome),
        "confirm_first": welcome == "confirm",
        "book_url": welcome_booking_url(settings, welcome),
    }
    return render(request, "article.html", context)
