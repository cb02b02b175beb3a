"""Public URLs the messages carry, with signed tokens instead of personal data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from nurture.config import Settings
from nurture.languages import DEFAULT_LANGUAGE

TokenPurpose = Literal["book", "unsubscribe", "confirm"]
# Unsubscribe links must keep working long after the email was sent (Gmail and
# Yahoo expect it); booking links only need to outlive the campaign; a double opt-in
# link is for the days after sign-up (a later download sends a new one).
TOKEN_MAX_AGE = {"book": 60 * 86400, "unsubscribe": 400 * 86400, "confirm": 14 * 86400}


class InvalidToken(ValueError):
    """A link token that was tampered with, expired, or made for something else."""


def _serializer(settings: Settings, purpose: TokenPurpose) -> URLSafeTimedSerializer:
    return _serializer_for(settings.secret_key, purpose)


@lru_cache(maxsize=16)  # built once: delivery signs three links for every email
def _serializer_for(secret_key: str, purpose: TokenPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"nurture-{purpose}")


def make_token(settings: Settings, purpose: TokenPurpose, payload: dict[str, str]) -> str:
    """A signed, timestamped token carrying only opaque ids."""
    return _serializer(settings, purpose).dumps(payload)


def read_token(settings: Settings, purpose: TokenPurpose, token: str) -> dict[str, str]:
    """The payload of a token made by `make_token`, or InvalidToken."""
    try:
        payload = _serializer(settings, purpose).loads(token, max_age=TOKEN_MAX_AGE[purpose])
    except SignatureExpired as exc:
        raise InvalidToken("this link has expired") from exc
    except BadSignature as exc:
        raise InvalidToken("this link is not valid") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("this link is not valid")
    return {str(k): str(v) for k, v in payload.items()}


def _base(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/")


def article_url(settings: Settings, article_slug: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The article's page, in `language` when it is not the default (?lang=)."""
    suffix = "" if language == DEFAULT_LANGUAGE else f"?lang={language}"
    return f"{_base(settings)}/articles/{article_slug}/read{suffix}"


def booking_token(settings: Settings, lead_public_id: str) -> str:
    """The signed token of a lead's booking page (also carried by the thank-you page)."""
    return make_token(settings, "book", {"lead": lead_public_id})


def booking_url(settings: Settings, lead_public_id: str) -> str:
    return f"{_base(settings)}/book/{booking_token(settings, lead_public_id)}"


def unsubscribe_url(settings: Settings, lead_public_id: str, channel: str) -> str:
    token = make_token(settings, "unsubscribe", {"lead": lead_public_id, "channel": channel})
    return f"{_base(settings)}/unsubscribe/{token}"


def confirm_url(settings: Settings, lead_public_id: str, campaign: str, article: str) -> str:
    payload = {"lead": lead_public_id, "campaign": campaign, "article": article}
    return f"{_base(settings)}/confirm/{make_token(settings, 'confirm', payload)}"


def preferences_url(settings: Settings, lead_public_id: str) -> str:
    token = make_token(settings, "unsubscribe", {"lead": lead_public_id, "channel": "all"})
    return f"{_base(settings)}/preferences/{token}"


# Reply addresses: reply+<token>@<inbound domain>. Not an itsdangerous token: an
# address's local part may hold at most 64 characters (RFC 5321) and some mail
# systems lower-case it, so the token is short, lower-case hex and base32. It does
# not expire: people reply to year-old emails, and the token grants no more than the
# sender address it stands in for.
_REPLY_TOKEN = re.compile(r"^([0-9a-f]{32})-([a-z2-7]{16})$")


def _reply_mac(settings: Settings, lead_public_id: str) -> str:
    key = f"nurture-reply:{settings.secret_key}".encode()
    digest = hmac.new(key, lead_public_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def make_reply_token(settings: Settings, lead_public_id: str) -> str:
    """A signed, case-insensitive token naming a lead, for its reply address."""
    return f"{lead_public_id}-{_reply_mac(settings, lead_public_id)}"


def read_reply_token(settings: Settings, token: str) -> str:
    """The lead public id a reply token was made for, or InvalidToken."""
    match = _REPLY_TOKEN.match(token.strip().lower())
    if match is None or not hmac.compare_digest(match[2], _reply_mac(settings, match[1])):
        raise InvalidToken("this reply address is not valid")
    return match[1]


def reply_address(settings: Settings, lead_public_id: str) -> str | None:
    """The lead's own reply address, or None when no inbound email domain is set."""
    domain = settings.inbound_email_domain.strip().lstrip("@")
    if not domain:
        return None
    return f"reply+{make_reply_token(settings, lead_public_id)}@{domain}"
