"""Keep link tokens out of the web server's access log.

Booking, unsubscribe and preference links, the front desk's calendar feed, and the short
links in texts (`/r/{code}` opens the lead's booking page) carry a token in the path
that opens one person's page; uvicorn logs every path. This filter swaps the token for
"…" before the line is written.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"^(/(?:book|unsubscribe|preferences|calendar|confirm|r)/)[^/?\s]+")


def redact_path(path: str) -> str:
    """The path with a link token replaced, so the log shows which page but not whose."""
    return TOKEN_IN_PATH.sub(r"\1…", path)


class RedactLinkTokens(logging.Filter):
    """Rewrites the path argument of uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access logs (client, method, path, http version, status).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], redact_path(args[2]), args[3], args[4])
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger (once, however many apps are made)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
        logger.addFilter(RedactLinkTokens())
