"""An inbound email (from SendGrid Inbound Parse): recorded once by its Message-ID,
matched to a lead by its reply address or sender, stripped of quoted history and
signature, read like a text, and answered by a queued email.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.leads.submission import normalise_email
from nurture.links import InvalidToken, read_reply_token
from nurture.messages.transactional import EmailContent, Notice, queue_notice
from nurture.replies.conversation import Answer, Conversation, Speaker
from nurture.replies.inbound import note_answer, record_inbound
from nurture.replies.inbox import open_item
from nurture.replies.intent import Intent, normalise
from nurture.replies.texts import as_html

log = logging.getLogger(__name__)

PROVIDER = "sendgrid"
MAX_BODY = 10_000
REPLY_KIND = "reply"


class MalformedEmail(ValueError):
    """A post that is not a usable email; `field` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True, slots=True)
class InboundEmail:
    message_id: str
    sender: str  # normalised address
    recipients: tuple[str, ...]
    subject: str
    text: str  # the new part only: quoted history and signature taken out


@dataclass(frozen=True, slots=True)
class EmailOutcome:
    duplicate: bool
    intent: Intent | None = None
    lead_public_id: str | None = None
    reply_message_id: int | None = None


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "blockquote"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "blockquote") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body (quoted blockquotes left out)."""
    parser = _TextOfHtml()
    parser.feed(html)
    return "".join(parser.parts)


def strip_quoted(text: str) -> str:
    """The part of a reply the person just wrote: no quoted history, no signature."""
    latest = EmailReplyParser(languages=["en"]).read(text).replies
    body = latest[0].body if latest else text
    # Quoted lines with no "On ... wrote:" header before them are still quotes.
    lines = [line for line in body.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def _recode(value: str, charset: str | None) -> str:
    # Starlette decodes a part as UTF-8, or as Latin-1 when that fails (losslessly);
    # SendGrid's `charsets` says what the part really was.
    if not charset or charset.lower().replace("_", "-") in ("utf-8", "utf8", "us-ascii"):
        return value
    try:
        return value.encode("latin-1").decode(charset, errors="replace")
    except (UnicodeEncodeError, LookupError):
        return value


def _json(fields: Mapping[str, str], name: str) -> dict[str, object]:
    try:
        value = json.loads(fields.get(name) or "{}")
    except json.JSONDecodeError as exc:
        raise MalformedEmail(name, "is not valid JSON") from exc
    return value if isinstance(value, dict) else {}


def parse_inbound(fields: Mapping[str, str]) -> InboundEmail:
    """Read SendGrid's form fields; MalformedEmail names the field when it cannot."""
    charsets = {str(k): str(v) for k, v in _json(fields, "charsets").items()}
    envelope = _json(fields, "envelope")

    def field(name: str) -> str:
        return _recode(fields.get(name) or "", charsets.get(name))

    _, address = parseaddr(field("from"))
    try:
        sender = normalise_email(address)
    except ValueError as exc:
        raise MalformedEmail("from", "has no valid sender address") from exc
    # The legacy policy hands back raw strings: a malformed header cannot raise here.
    headers = HeaderParser().parsestr(fields.get("headers") or "")
    text = field("text") or html_to_text(field("html"))
    message_id = str(headers.get("Message-ID") or "").strip().strip("<>")
    if not message_id:
        # No Message-ID (rare, but legal): the same content from the same sender is a repeat.
        digest = hashlib.sha256("\0".join((sender, field("subject"), text)).encode())
        message_id = f"sha256:{digest.hexdigest()}"
    envelope_to = envelope.get("to")
    recipients = (
        [a for a in envelope_to if isinstance(a, str)] if isinstance(envelope_to, list) else []
    )
    recipients += [a for _, a in getaddresses([field("to"), field("cc")]) if a]
    return InboundEmail(
        message_id=message_id,
        sender=sender,
        recipients=tuple(recipients),
        subject=field("subject").strip(),
        text=strip_quoted(text),
    )


_REPLY_LOCAL = re.compile(r"^reply\+(.+)$", re.IGNORECASE)


def lead_for(session: Session, settings: Settings, email: InboundEmail) -> Lead | None:
    """The lead named by a reply+<token>@ address we sent, else the sender's lead."""
    domain = settings.inbound_email_domain.strip().lstrip("@").lower()
    for recipient in email.recipients:
        local, _, host = recipient.strip().strip("<>").rpartition("@")
        match = _REPLY_LOCAL.match(local)
        if not (domain and match and host.lower() == domain):
            continue
        try:
            public_id = read_reply_token(settings, match[1])
        except InvalidToken:
            log.warning("inbound email to a reply address with an invalid token")
            continue
        lead = session.scalars(select(Lead).where(Lead.public_id == public_id)).one_or_none()
        if lead is not None:
            return lead
    return session.scalars(select(Lead).where(Lead.email == email.sender)).one_or_none()


def asks_to_unsubscribe(email: InboundEmail) -> bool:
    """Whether the subject alone is "unsubscribe": the List-Unsubscribe mailto request."""
    # Gmail and Yahoo send the mailto's subject with an empty or boilerplate body
    # ("This message was automatically generated by Gmail."): the subject decides.
    return normalise(email.subject) == "unsubscribe"


def receive_email(
    session: Session, settings: Settings, email: InboundEmail, now: datetime
) -> EmailOutcome:
    """Handle one inbound email; a repeated Message-ID changes nothing."""
    inbound_id = record_inbound(
        session,
        provider=PROVIDER,
        provider_id=email.message_id,
        channel=Channel.EMAIL,
        sender=email.sender,
        body=email.text,
        limit=MAX_BODY,
        now=now,
    )
    if inbound_id is None:
        log.info("inbound email seen before: ignored")
        return EmailOutcome(duplicate=True)
    lead = lead_for(session, settings, email)
    if lead is None:
        # Nobody to answer as a lead (and no outbox row without one): staff read it.
        item, _ = open_item(
            session,
            lead_id=None,
            sender=email.sender,
            channel=Channel.EMAIL,
            reason="unknown sender",
            now=now,
        )
        note_answer(session, inbound_id, None, Answer(Intent.OTHER, inbox_item_id=item.id), None)
        log.info("email from an unknown sender: to the staff inbox")
        return EmailOutcome(duplicate=False, intent=Intent.OTHER)
    speaker = Speaker(lead, (lead.id,), lead.email, Channel.EMAIL)
    forced = Intent.STOP if asks_to_unsubscribe(email) else None
    answer = Conversation(session, settings, speaker, now).answer(email.text[:MAX_BODY], forced)
    # A booking, move or cancellation sends its own email with the details.
    reply = None if answer.booking_changed else answer.text
    reply_id = None
    if reply is not None:
        reply_id = queue_notice(
            session,
            Notice(lead.id, REPLY_KIND, f"reply:{inbound_id}", now),
            EmailContent(_subject(settings, email.subject), reply, as_html(reply)),
            now,
        )
    note_answer(session, inbound_id, lead.id, answer, reply)
    log.info("email from lead %s: %s", lead.public_id, answer.intent.value)
    return EmailOutcome(False, answer.intent, lead.public_id, reply_id)


def _subject(settings: Settings, subject: str) -> str:
    if not subject:
        return f"Your message to {settings.clinic_name}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"
