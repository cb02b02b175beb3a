"""The product's own short links (`/r/{code}` on PUBLIC_BASE_URL) in the texts and
emails it sends.

A step's booking and article links go through a short link of its own, so a click is
counted against the message that carried it, whatever the channel, and a text spends
fewer characters on a link: a signed booking URL is about 120 characters, a short link
about 35. The unsubscribe and preferences links stay direct (nurture.messages.compose).
An email's clicks are counted here, not from SendGrid's click events, which would count
a click twice when its click tracking wraps our links (nurture.deliverability.apply).

The code is derived from the message's ref and the link's name with the secret key: the
same on every retry of a hand-off (so a retried text carries the same link and no new
row), opaque (no personal data, nothing to guess from), and known before any row is
written, so delivery writes its batch's links in one statement. A link to the lead's
booking page is built when it is clicked, with a fresh signed token, so it keeps
working long after the text was sent and whatever is edited in the campaign since.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from nurture.config import Settings
from nurture.db import Base, upsert_insert
from nurture.leads.models import Lead
from nurture.links import booking_url
from nurture.messages.models import Message

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CODE_LENGTH = 10  # 62**10 codes: a guess finds nothing, a collision never happens
BOOK = "book"  # built at click time: the lead's booking page with a fresh token
ARTICLE = "article"


class ShortLink(Base):
    """One link in one sent message, and how often it was followed."""

    __tablename__ = "short_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(Text)  # None: built when clicked
    created_at: Mapped[datetime]
    clicks: Mapped[int] = mapped_column(default=0, server_default="0")
    first_clicked_at: Mapped[datetime | None]
    # The lead's latest click: "not engaged in N days" asks for it (nurture.leads.search).
    last_clicked_at: Mapped[datetime | None]


@dataclass(frozen=True, slots=True)
class Link:
    """A short link to write with its message's hand-off."""

    code: str
    name: str
    target: str | None

    def url(self, settings: Settings) -> str:
        return f"{settings.public_base_url.rstrip('/')}/r/{self.code}"


def link_code(settings: Settings, message_ref: str, name: str) -> str:
    """The message's code for the link `name`: the same for every hand-off of it."""
    key = f"nurture-short-link:{settings.secret_key}".encode()
    number = int.from_bytes(
        hmac.new(key, f"{message_ref}:{name}".encode(), hashlib.sha256).digest()
    )
    digits = []
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def make_link(settings: Settings, message_ref: str, name: str, target: str | None) -> Link:
    return Link(link_code(settings, message_ref, name), name, target)


def record_links(session: Session, links: Iterable[tuple[int, Link]], now: datetime) -> None:
    """Write the links of a batch's messages (message id, link); ones written by an
    earlier hand-off of the same message stay as they are."""
    rows = [
        {
            "code": link.code,
            "message_id": message_id,
            "name": link.name,
            "target": link.target,
            "created_at": now,
        }
        for message_id, link in links
    ]
    if rows:
        session.execute(
            upsert_insert(session)(ShortLink).on_conflict_do_nothing(index_elements=["code"]),
            rows,
        )


def follow(
    session: Session, settings: Settings, code: str, now: datetime, *, count: bool
) -> str | None:
    """Where the link goes (None: no such link); counts the click against the link and
    its message when `count` (a person, not a link preview)."""
    found = session.execute(
        select(ShortLink.name, ShortLink.target, ShortLink.message_id, Lead.public_id)
        .join(Message, Message.id == ShortLink.message_id)
        .join(Lead, Lead.id == Message.lead_id)
        .where(ShortLink.code == code)
    ).one_or_none()
    if found is None:
        return None
    name, target, message_id, lead_public_id = found
    if count:
        session.execute(
            update(ShortLink)
            .where(ShortLink.code == code)
            .values(
                clicks=ShortLink.clicks + 1,
                first_clicked_at=func.coalesce(ShortLink.first_clicked_at, now),
                last_clicked_at=now,
            )
        )
        session.execute(
            update(Message).where(Message.id == message_id).values(clicks=Message.clicks + 1)
        )
    if name == BOOK:
        return booking_url(settings, lead_public_id)
    return target
