"""Adding, switching off and removing the endpoints that receive outbound webhooks.

A URL must be https: the payloads carry a lead's name, email and phone. Plain http is
allowed to this machine only (localhost, 127.0.0.1, ::1), for development and tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.webhooks_out.models import EventType, WebhookEndpoint
from nurture.webhooks_out.sealing import SecretUnreadable, is_sealed, seal, unseal

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that says what the value is, not a secret
MAX_URL = 2000
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
ALL_EVENTS = tuple(event.value for event in EventType)


class EndpointError(ValueError):
    """An endpoint request that cannot be carried out; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownEndpoint(LookupError):
    """No endpoint has this id."""


def check_url(url: str) -> str:
    """The URL, stripped, when it is one we may post personal data to; else EndpointError."""
    url = url.strip()
    if not url:
        raise EndpointError("url", "enter the URL that should receive the events")
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise EndpointError("url", "the URL is too long or contains spaces")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise EndpointError("url", "that is not a valid URL") from exc
    if not host:
        raise EndpointError("url", "the URL needs a host, e.g. https://crm.example.com/hooks")
    if parts.username is not None or parts.password is not None:
        raise EndpointError("url", "leave credentials out of the URL: posts are signed instead")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return url
    raise EndpointError("url", "the URL must start with https:// (the events carry personal data)")


def check_events(events: Iterable[str]) -> list[str]:
    """The chosen event types in their canonical order; EndpointError for none or unknown."""
    chosen = {event.strip() for event in events if event.strip()}
    unknown = sorted(chosen - set(ALL_EVENTS))
    if unknown:
        raise EndpointError(
            "events", f"unknown event {unknown[0]!r}: choose from {', '.join(ALL_EVENTS)}"
        )
    if not chosen:
        raise EndpointError("events", "choose at least one event to send")
    return [event for event in ALL_EVENTS if event in chosen]


def add_endpoint(
    session: Session, url: str, events: Iterable[str], now: datetime, *, app_secret: str
) -> tuple[WebhookEndpoint, str]:
    """A new, enabled endpoint and its signing secret (shown to staff this once; the row
    keeps it sealed under `app_secret`, the NURTURE_SECRET_KEY setting)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        url=check_url(url),
        events=check_events(events),
        secret=seal(secret, app_secret),
        enabled=True,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def signing_secret(endpoint: WebhookEndpoint, app_secret: str) -> str:
    """The endpoint's secret in the clear, to sign with; SecretUnreadable if it cannot be.

    A secret stored before sealing is sealed now, in the caller's transaction.
    """
    secret = unseal(endpoint.secret, app_secret)
    if not is_sealed(endpoint.secret):
        endpoint.secret = seal(secret, app_secret)
    return secret


def unreadable_secrets(session: Session, app_secret: str) -> list[int]:
    """The ids of enabled endpoints whose sealed secret `app_secret` cannot open.

    Their posts are held back until the old NURTURE_SECRET_KEY returns or the endpoint
    is added again; `nurture doctor` names them so nobody has to read the delivery log.
    """
    enabled = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled).order_by(WebhookEndpoint.id)
    )
    unreadable = []
    for endpoint in enabled:
        try:
            unseal(endpoint.secret, app_secret)
        except SecretUnreadable:
            unreadable.append(endpoint.id)
    return unreadable


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint with this id, or UnknownEndpoint."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise UnknownEndpoint(f"there is no webhook endpoint {endpoint_id}")
    return endpoint


def set_enabled(session: Session, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    """Switch an endpoint on or off. Off, it gets no new events and its queue waits."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.enabled = enabled
    return endpoint


def remove_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """Delete an endpoint with its delivery log and whatever it was still owed."""
    endpoint = get_endpoint(session, endpoint_id)
    session.delete(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
