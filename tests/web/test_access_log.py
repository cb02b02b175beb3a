"""The web server's access log shows which page was asked for, never a link's token."""

from __future__ import annotations

import logging

import pytest

from nurture.web.access_log import RedactLinkTokens, install, redact_path


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/book/eyJsZWFkIjoiMSJ9.abc_DEF", "/book/…"),
        ("/book/eyJsZWFkIjoiMSJ9.abc/cancel?x=1", "/book/…/cancel?x=1"),
        ("/unsubscribe/tok-en.sig", "/unsubscribe/…"),
        ("/preferences/tok.sig", "/preferences/…"),
        ("/calendar/0123abcdef.ics", "/calendar/…"),
        ("/r/j6d7QRpvQe", "/r/…"),
        (
            "/admin/leads/46b30cb73aaa4c0ea35a5db5f952c315",
            "/admin/leads/46b30cb73aaa4c0ea35a5db5f952c315",
        ),
        ("/articles/tight-hamstrings-sciatic-nerve", "/articles/tight-hamstrings-sciatic-nerve"),
    ],
)
def test_link_tokens_are_cut_from_logged_paths(path: str, logged: str) -> None:
    assert redact_path(path) == logged


def test_an_access_log_line_for_a_booking_link_has_no_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/book/secret-token.sig", "1.1", 200),
        None,
    )
    assert RedactLinkTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /book/… HTTP/1.1" 200'


def test_the_app_installs_the_filter_on_uvicorns_access_logger() -> None:
    from nurture.web.app import create_app

    create_app()
    install()  # a second app (or call) adds no second filter
    filters = logging.getLogger("uvicorn.access").filters
    assert sum(isinstance(f, RedactLinkTokens) for f in filters) == 1
