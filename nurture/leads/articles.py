"""The clinic's downloadable articles: Markdown files with a small front matter.

`SLUG.md` is the article in its own language (front matter `language`, English when it
says none); `SLUG.es.md` beside it is the same article written for Spanish readers. A
translation shares the slug, so links, leads and campaigns name one article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from nurture.languages import DEFAULT_LANGUAGE, LANGUAGES, language_of

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_markdown = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    campaign: str  # the first of `campaigns`
    html: str
    language: str = DEFAULT_LANGUAGE  # the language this text is in
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)  # every language the article exists in
    # Every campaign that may follow the article, in the order capture tries them.
    campaigns: tuple[str, ...] = ()


class UnknownArticle(LookupError):
    """No article has that slug."""


@lru_cache(maxsize=32)
def _load(path: Path, mtime: float, slug: str) -> Article:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    # A translation's file name says its language ("SLUG.es.md"); the front matter may too.
    named = path.stem.removeprefix(slug).lstrip(".")
    # `campaign: slug`, or `campaigns: [slug, ...]` when several may follow the article.
    listed = meta.get("campaigns") or [meta["campaign"]]
    campaigns = (str(listed),) if isinstance(listed, str) else tuple(str(c) for c in listed)
    return Article(
        slug=slug,
        title=str(meta["title"]),
        summary=str(meta.get("summary", "")),
        campaign=campaigns[0],
        campaigns=campaigns,
        html=_markdown.render(body),
        language=language_of(str(meta.get("language", named))) or DEFAULT_LANGUAGE,
    )


def _read(path: Path, slug: str) -> Article:
    return _load(path, path.stat().st_mtime, slug)


def load_article(templates_dir: Path, slug: str, language: str | None = None) -> Article:
    """The article with this slug, in `language` when it is written in it (else in its own
    language); UnknownArticle when there is no such article."""
    folder = templates_dir / "articles"
    path = folder / f"{slug}.md"
    if not SLUG.match(slug) or not path.is_file():
        raise UnknownArticle(slug)
    article = _read(path, slug)
    translations = {
        other: folder / f"{slug}.{other}.md"
        for other in LANGUAGES
        if other != article.language and (folder / f"{slug}.{other}.md").is_file()
    }
    written = tuple(sorted({article.language, *translations}))
    chosen = language_of(language)
    if chosen in translations:
        article = _read(translations[chosen], slug)
    return replace(article, languages=written)
