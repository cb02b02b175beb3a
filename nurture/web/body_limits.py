"""How large a request body each route may send, enforced before the body is read.

A body declared larger than its route's limit is answered 413 at once, unread; a body
sent without a length is counted as it streams and cut off the moment it passes the
limit. So a flood of huge posts costs the web tier no memory, whoever sends them.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from nurture.web.middleware import HttpMiddleware

KIB = 1024
MIB = 1024 * KIB
# First match wins; a form or JSON body is a few KB.
LIMITS: tuple[tuple[str, int], ...] = (
    # SendGrid Inbound Parse: an email with its attachments, 30 MB at most (SendGrid's limit).
    ("/webhooks/sendgrid/inbound", 32 * MIB),
    # SendGrid's Event Webhook posts batches of at most 768 KB.
    ("/webhooks/sendgrid/events", 1 * MIB),
    ("/admin/leads/import", 20 * MIB),  # a CSV of about 100,000 leads
    ("/admin/campaigns/import", 5 * MIB),  # a campaign folder as a zip
)
DEFAULT_LIMIT = 64 * KIB


def limit_for(path: str) -> int:
    """The most bytes a request to `path` may send."""
    return next((size for prefix, size in LIMITS if path.startswith(prefix)), DEFAULT_LIMIT)


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes its limit: the app's own
    handlers answer it (413, JSON for machines, a page for people)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit // KIB} KB")


class BodyLimits(HttpMiddleware):
    """ASGI middleware applying `limit_for` to every HTTP request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = JSONResponse(
                {"errors": [{"field": "body", "message": BodyTooLarge(limit).detail}]},
                status_code=413,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
