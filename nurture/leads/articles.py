"""The clinic's downloadable articles: Markdown files with a small front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,119}$")
_markdown = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    campaign: str
    html: str


class UnknownArticle(LookupError):
    """No article has that slug."""


@lru_cache(maxsize=32)
def _load(path: Path, mtime: float) -> Article:
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front)
    return Article(
        slug=path.stem,
        title=str(meta["title"]),
        summary=str(meta.get("summary", "")),
        campaign=str(meta["campaign"]),
        html=_markdown.render(body),
    )


def load_article(templates_dir: Path, slug: str) -> Article:
    """The article with this slug, or UnknownArticle."""
    path = templates_dir / "articles" / f"{slug}.md"
    if not SLUG.match(slug) or not path.is_file():
        raise UnknownArticle(slug)
    return _load(path, path.stat().st_mtime)
