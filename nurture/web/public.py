"""The article pages: landing page with the download form, and the article itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from nurture.config import Settings
from nurture.consent.models import Channel
from nurture.consent.wording import WORDING
from nurture.leads.articles import SLUG, Article, load_article
from nurture.web.capture import record_download
from nurture.web.deps import ClockDep, SessionDep, SettingsDep, request_evidence
from nurture.web.forms import LABELS, DownloadForm
from nurture.web.pages import render

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
    submission, errors = form.check(article.slug)
    if submission is None:
        return _landing(request, settings, article, form, errors, status_code=422)
    evidence = request_evidence(request, f"form:{article.slug}")
    record_download(session, submission, evidence, clock.now(), settings)
    return RedirectResponse(f"/articles/{article.slug}/read?welcome=1", status_code=303)


@router.get("/articles/{slug}/read")
def read(request: Request, slug: str, settings: SettingsDep, welcome: str = "") -> Response:
    """The article itself; the first email links here."""
    article = load_article(settings.templates_dir, slug)
    return render(request, "article.html", {"article": article, "welcome": welcome == "1"})
