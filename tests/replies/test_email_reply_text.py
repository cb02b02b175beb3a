"""Only what the person just wrote is read: no quoted history, no signature."""

from __future__ import annotations

import pytest

from nurture.replies.email_inbound import MalformedEmail, html_to_text, parse_inbound, strip_quoted

GMAIL = """Yes please, book me in.

On Mon, Nov 2, 2026 at 9:00 AM Riverside Physical Therapy <care@riverside-pt.example> wrote:
> Reply STOP to unsubscribe.
"""
OUTLOOK = """Can I come Thursday afternoon?

________________________________
From: Riverside Physical Therapy <care@riverside-pt.example>
Sent: Monday, November 2, 2026 9:00 AM
To: Dana <dana@example.com>
Subject: Your free screening is waiting

Reply STOP to unsubscribe.
"""
BARE_QUOTES = """STOP
> Hi Dana,
> would you like a free screening?"""
SIGNATURE = """what is this?

--
Dana Smith
Springfield, IL"""
PHONE_SIGNATURE = """book

Sent from my iPhone"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GMAIL, "Yes please, book me in."),
        (OUTLOOK, "Can I come Thursday afternoon?"),
        (BARE_QUOTES, "STOP"),
        (SIGNATURE, "what is this?"),
        (PHONE_SIGNATURE, "book"),
        ("", ""),
    ],
    ids=["gmail", "outlook", "bare-quotes", "dash-signature", "phone-signature", "empty"],
)
def test_quoted_history_and_signatures_are_removed(text: str, expected: str) -> None:
    assert strip_quoted(text) == expected


def test_an_html_only_email_is_read_without_its_quoted_blockquote() -> None:
    html = "<div>Cancel my appointment</div><blockquote>Reply BOOK to book</blockquote>"
    assert html_to_text(html).strip() == "Cancel my appointment"


def test_an_email_without_a_message_id_gets_a_stable_content_id() -> None:
    fields = {"from": "dana@example.com", "subject": "hi", "text": "BOOK", "headers": ""}
    first, second = parse_inbound(fields), parse_inbound(dict(fields))
    assert first.message_id == second.message_id
    assert first.message_id.startswith("sha256:")


def test_malformed_json_fields_name_the_field() -> None:
    with pytest.raises(MalformedEmail) as error:
        parse_inbound({"from": "dana@example.com", "envelope": "{not json"})
    assert error.value.field == "envelope"
