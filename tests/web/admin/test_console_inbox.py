"""The front desk's inbox: replies that need a person, answering them, and resolving."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from nurture.channel import Channel
from nurture.clock import ManualClock
from nurture.config import Settings
from nurture.consent.ledger import suppress
from nurture.leads.capture import CaptureResult
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.replies.call_backs import open_call_back
from nurture.replies.models import InboxItem, InboxStatus
from nurture.replies.sms_inbound import InboundSms, SmsOutcome, receive_sms
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.staff.models import AuditEntry
from nurture.web.admin import inbox as inbox_pages
from nurture.web.pages import display_phone
from tests.factories import capture
from tests.harness import Harness
from tests.replies.conftest import PHONE, Texter, new_sid, rows
from tests.support import Database
from tests.web.admin.console import EMAILS, post_form, sign_in_as
from tests.web.page_parsing import form_fields, text_by_id

LEE_PHONE = "+12175550123"
HOSTILE = "<script>x</script>{{ 7*7 }}"
TEXT = "Is the screening covered by my insurance?"


@pytest.fixture
def lead(db: Database, clock: ManualClock, settings: Settings, campaign: int) -> CaptureResult:
    """Dana, enrolled, with email and SMS consent."""
    return capture(db.factory, clock, settings, phone=PHONE)


@pytest.fixture
def text(db: Database, clock: ManualClock, settings: Settings) -> Texter:
    """Text the clinic, through the same service the Twilio webhook calls."""

    def send(body: str, *, sender: str = PHONE) -> SmsOutcome:
        with db.factory.begin() as session:
            return receive_sms(session, settings, InboundSms(new_sid(), sender, body), clock.now())

    return send


@pytest.fixture
def desk(client: TestClient, db: Database, clock: ManualClock) -> str:
    """The front desk, signed in; returns the CSRF token."""
    return sign_in_as(client, db, clock, "frontdesk")


@pytest.fixture
def asked(db: Database, lead: CaptureResult, text: Texter) -> int:
    """Dana asked a question by text; returns the inbox item's id."""
    text(TEXT)
    [item] = rows(db, InboxItem)
    return int(item.id)


def staff_replies(db: Database) -> list[Message]:
    return rows(db, Message, Message.step_key == "staff-reply")


def audit(db: Database, action: str) -> list[tuple[str, str, dict[str, object]]]:
    entries = rows(db, AuditEntry, AuditEntry.action == action)
    return [(e.actor, e.target, e.detail) for e in entries]


def enrollment_status(db: Database) -> str:
    [enrollment] = rows(db, Enrollment)
    return str(enrollment.status)


def checked_channel(html: str) -> str | None:
    """The channel whose radio button is ticked (the form's choice as the browser sends it)."""
    match = re.search(r'name="channel" value="(\w+)"[^>]*\bchecked\b', html)
    return match[1] if match else None


def reply_key(client: TestClient, item_id: int) -> str:
    key = form_fields(client.get(f"/admin/inbox/{item_id}").text)["reply_key"]
    assert isinstance(key, str)
    return key


def test_the_inbox_lists_open_items_newest_first(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    lead: CaptureResult,
    text: Texter,
    desk: str,
) -> None:
    lee = capture(
        db.factory, clock, settings, email="lee@example.com", first_name="Lee", phone=LEE_PHONE
    )
    text(TEXT)
    clock.advance(timedelta(minutes=20))
    text("Do you have parking?", sender=LEE_PHONE)
    page = client.get("/admin/inbox")
    assert page.status_code == 200
    listed = text_by_id(page.text, "inbox")
    assert listed.index("Lee SMS Do you have parking? question") < listed.index(f"Dana SMS {TEXT}")
    # The front desk cannot open lead pages, so the inbox does not link to them.
    assert f'href="/admin/leads/{lee.lead_public_id}"' not in page.text
    assert "9:20 AM CST" in listed


def test_the_inbox_is_paginated(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    lead: CaptureResult,
    text: Texter,
    desk: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inbox_pages, "PER_PAGE", 1)
    capture(db.factory, clock, settings, email="lee@example.com", first_name="Lee", phone=LEE_PHONE)
    text(TEXT)
    clock.advance(timedelta(minutes=1))
    text("Do you have parking?", sender=LEE_PHONE)
    first = client.get("/admin/inbox")
    assert "Lee" in text_by_id(first.text, "inbox") and "Dana" not in text_by_id(
        first.text, "inbox"
    )
    assert 'href="/admin/inbox?page=2"' in first.text
    second = client.get("/admin/inbox?page=2")
    assert "Dana" in text_by_id(second.text, "inbox")


def test_a_resolved_item_leaves_the_inbox(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    post_form(client, f"/admin/inbox/{asked}/resolve", desk, {"outcome": "resume"})
    page = client.get("/admin/inbox")
    assert text_by_id(page.text, "inbox") == "Nothing waiting: every reply has been answered."


def test_the_item_shows_the_conversation_and_both_reachable_channels(
    client: TestClient, asked: int, desk: str
) -> None:
    page = client.get(f"/admin/inbox/{asked}")
    assert page.status_code == 200
    conversation = text_by_id(page.text, "conversation")
    assert conversation.index(TEXT) < conversation.index("a member of our team will reply soon")
    assert checked_channel(page.text) == "sms"  # the way they wrote, preselected
    assert 'id="channel-email"' in page.text and "not available" not in page.text


def test_a_text_reply_queues_one_transactional_sms_and_is_audited(
    client: TestClient, db: Database, clock: ManualClock, lead: CaptureResult, asked: int, desk: str
) -> None:
    data = {
        "channel": "sms",
        "body": "Yes, most plans cover it. Call us to check yours.",
        "reply_key": reply_key(client, asked),
    }
    response = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/inbox/{asked}"
    [queued] = staff_replies(db)
    assert (queued.lead_id, queued.kind, queued.channel, queued.status) == (
        lead.lead_id,
        MessageKind.TRANSACTIONAL,
        "sms",
        MessageStatus.HELD,
    )
    assert queued.content == {"body": data["body"]} and queued.due_at == clock.now()
    assert audit(db, "inbox.replied") == [(EMAILS["frontdesk"], str(asked), {"channel": "sms"})]
    # Answering does not resolve: the item stays open and the sequence waits.
    [item] = rows(db, InboxItem)
    assert item.status == InboxStatus.OPEN and enrollment_status(db) == EnrollmentStatus.PAUSED
    page = client.get(response.headers["location"])
    assert text_by_id(page.text, "notice") == "Reply queued to go by SMS."
    assert data["body"] in text_by_id(page.text, "conversation")


def test_an_email_reply_queues_an_email_with_the_text(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    data = {
        "channel": "email",
        "body": "Here are the details <b>you asked</b> for.",
        "reply_key": reply_key(client, asked),
    }
    assert post_form(client, f"/admin/inbox/{asked}/reply", desk, data).status_code == 303
    [queued] = staff_replies(db)
    assert queued.channel == "email" and queued.content is not None
    assert queued.content["text"] == data["body"]
    assert "&lt;b&gt;you asked&lt;/b&gt;" in queued.content["html"]


def test_sending_the_same_form_twice_queues_one_reply(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    data = {"channel": "sms", "body": "See you soon.", "reply_key": reply_key(client, asked)}
    post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    again = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert again.status_code == 303
    assert len(staff_replies(db)) == 1 and len(audit(db, "inbox.replied")) == 1


def test_a_channel_the_lead_opted_out_of_is_closed_and_refused(
    client: TestClient, db: Database, asked: int, text: Texter, desk: str
) -> None:
    text("STOP")
    page = client.get(f"/admin/inbox/{asked}")
    assert re.search(r'id="channel-sms"\s+disabled', page.text)
    assert "not available: opted out of SMS" in page.text
    assert checked_channel(page.text) == "email"
    data = {"channel": "sms", "body": "Are you still there?", "reply_key": reply_key(client, asked)}
    refused = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert refused.status_code == 400
    assert text_by_id(refused.text, "reply-problem") == (
        "Send by: cannot reply by SMS: opted out of SMS."
    )
    assert ">Are you still there?</textarea>" in refused.text  # what they typed is kept
    assert staff_replies(db) == [] and audit(db, "inbox.replied") == []


def test_a_queued_text_reply_is_not_sent_once_the_lead_texts_stop(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    asked: int,
    text: Texter,
    desk: str,
) -> None:
    # Invariant 3: STOP takes effect at once, on a reply already queued as well.
    data = {
        "channel": "sms",
        "body": "Yes, most plans cover it.",
        "reply_key": reply_key(client, asked),
    }
    assert post_form(client, f"/admin/inbox/{asked}/reply", desk, data).status_code == 303
    text("STOP")
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(days=1), step=timedelta(hours=1))
    [reply] = staff_replies(db)
    assert (reply.status, reply.reason) == (MessageStatus.SKIPPED, "sms consent revoked by STOP")
    assert all(data["body"] not in str(getattr(m, "body", "")) for m in harness.sms.sent)


def test_a_queued_email_reply_is_not_sent_to_an_address_suppressed_meanwhile(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    lead: CaptureResult,
    asked: int,
    desk: str,
) -> None:
    data = {
        "channel": "email",
        "body": "Here are the details.",
        "reply_key": reply_key(client, asked),
    }
    assert post_form(client, f"/admin/inbox/{asked}/reply", desk, data).status_code == 303
    [queued] = staff_replies(db)
    # Invariant 3: the gate checks the address again at send time.
    with db.factory.begin() as session:
        dana = session.get(Lead, lead.lead_id)
        assert dana is not None and dana.email is not None
        suppress(session, Channel.EMAIL, dana.email, "hard bounce", clock.now())
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=2))
    [reply] = staff_replies(db)
    assert reply.id == queued.id and reply.status == MessageStatus.SKIPPED
    assert reply.reason == "email address suppressed: hard bounce"
    assert harness.email.sent == []


def test_an_empty_reply_names_the_field(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    data = {"channel": "email", "body": "   ", "reply_key": reply_key(client, asked)}
    response = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert response.status_code == 400
    assert text_by_id(response.text, "reply-problem") == "Reply: write a reply before sending."
    assert checked_channel(response.text) == "email"
    assert staff_replies(db) == []


def test_a_text_too_long_for_an_sms_is_refused_and_kept(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    long_text = "Thanks for asking. " * 30  # 570 characters: four segments
    data = {"channel": "sms", "body": long_text, "reply_key": reply_key(client, asked)}
    response = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert response.status_code == 400
    assert text_by_id(response.text, "reply-problem").startswith(
        "Reply: this text is 4 SMS segments"
    )
    assert long_text.strip() in response.text
    assert staff_replies(db) == []


def test_replying_and_resolving_ends_the_sequence_when_asked(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    data = {
        "channel": "sms",
        "body": "We will call you.",
        "reply_key": reply_key(client, asked),
        "resolve": "1",
        "outcome": "end",
    }
    response = post_form(client, f"/admin/inbox/{asked}/reply", desk, data)
    assert response.headers["location"] == "/admin/inbox"
    assert len(staff_replies(db)) == 1
    [item] = rows(db, InboxItem)
    assert (item.status, item.resolution) == (InboxStatus.RESOLVED, "ended")
    assert enrollment_status(db) == EnrollmentStatus.EXITED
    assert audit(db, "inbox.resolved") == [(EMAILS["frontdesk"], str(asked), {"resume": False})]


@pytest.mark.parametrize(
    ("outcome", "resolution", "status"),
    [("resume", "resumed", EnrollmentStatus.ACTIVE), ("end", "ended", EnrollmentStatus.EXITED)],
)
def test_resolving_resumes_or_ends_the_sequence(
    client: TestClient,
    db: Database,
    asked: int,
    desk: str,
    outcome: str,
    resolution: str,
    status: str,
) -> None:
    response = post_form(client, f"/admin/inbox/{asked}/resolve", desk, {"outcome": outcome})
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox"
    [item] = rows(db, InboxItem)
    assert (item.status, item.resolution, item.resolved_by) == (
        InboxStatus.RESOLVED,
        resolution,
        EMAILS["frontdesk"],
    )
    assert enrollment_status(db) == status
    resume = outcome == "resume"
    assert audit(db, "inbox.resolved") == [(EMAILS["frontdesk"], str(asked), {"resume": resume})]
    again = post_form(client, f"/admin/inbox/{asked}/resolve", desk, {"outcome": "end"})
    assert again.status_code == 303 and enrollment_status(db) == status
    assert len(audit(db, "inbox.resolved")) == 1


def test_an_unknown_sender_is_shown_but_cannot_be_answered_from_the_console(
    client: TestClient, db: Database, text: Texter, desk: str
) -> None:
    text("who is this?", sender="+12175550777")
    [item] = rows(db, InboxItem)
    page = client.get(f"/admin/inbox/{item.id}")
    assert "Unknown sender +12175550777" in text_by_id(page.text, "inbox-sender")
    assert "not-a-lead" in page.text and "reply-form" not in page.text
    data = {"channel": "sms", "body": "Hello"}
    assert post_form(client, f"/admin/inbox/{item.id}/reply", desk, data).status_code == 409
    listed = client.get("/admin/inbox")
    assert "Unknown sender" in text_by_id(listed.text, "inbox")


def test_marketing_staff_cannot_open_or_answer_the_inbox(
    client: TestClient, db: Database, clock: ManualClock, asked: int
) -> None:
    token = sign_in_as(client, db, clock, "marketing")
    assert client.get("/admin/inbox").status_code == 403
    assert client.get(f"/admin/inbox/{asked}").status_code == 403
    data = {"channel": "sms", "body": "Hi"}
    assert post_form(client, f"/admin/inbox/{asked}/reply", token, data).status_code == 403
    resolve = post_form(client, f"/admin/inbox/{asked}/resolve", token, {"outcome": "end"})
    assert resolve.status_code == 403
    assert staff_replies(db) == [] and enrollment_status(db) == EnrollmentStatus.PAUSED


def test_forms_without_the_csrf_token_change_nothing(
    client: TestClient, db: Database, asked: int, desk: str
) -> None:
    reply = client.post(f"/admin/inbox/{asked}/reply", data={"channel": "sms", "body": "Hi"})
    resolve = client.post(f"/admin/inbox/{asked}/resolve", data={"outcome": "end"})
    assert (reply.status_code, resolve.status_code) == (403, 403)
    assert staff_replies(db) == [] and enrollment_status(db) == EnrollmentStatus.PAUSED


def test_an_unknown_item_is_not_found(client: TestClient, desk: str) -> None:
    assert client.get("/admin/inbox/999999").status_code == 404


def test_a_name_with_markup_is_shown_as_text(
    client: TestClient,
    db: Database,
    clock: ManualClock,
    settings: Settings,
    text: Texter,
    desk: str,
) -> None:
    capture(db.factory, clock, settings, first_name=HOSTILE, phone=PHONE)
    text("<b>hello</b> {{ 7*7 }}")
    [item] = rows(db, InboxItem)
    for path in ("/admin/inbox", f"/admin/inbox/{item.id}"):
        page = client.get(path)
        assert "<script>x</script>" not in page.text and "<b>hello</b>" not in page.text
        assert "&lt;script&gt;x&lt;/script&gt;{{ 7*7 }}" in page.text
    listed = client.get("/admin/inbox")
    assert HOSTILE in text_by_id(listed.text, "inbox")


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, asked: int) -> None:
    response = client.get(f"/admin/inbox/{asked}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_a_call_back_shows_the_desk_whom_to_call_and_why_and_resolving_resumes(
    client: TestClient, db: Database, clock: ManualClock, lead: CaptureResult, desk: str
) -> None:
    note = f"Dana tapped the screening link and has not booked. {HOSTILE}"
    with db.factory.begin() as session:
        item = open_call_back(
            session, lead_id=lead.lead_id, phone=PHONE, note=note, now=clock.now()
        )
        item_id = item.id
    assert enrollment_status(db) == EnrollmentStatus.PAUSED
    inbox_page = client.get("/admin/inbox").text
    listed = text_by_id(inbox_page, "inbox")
    assert "Dana Phone call Dana tapped the screening link and has not booked." in listed
    assert "call back" in listed
    # The desk can call from the list: the lead's number, as a link a phone dials.
    assert f'<a href="tel:{PHONE}">{display_phone(PHONE)}</a>' in inbox_page
    page = client.get(f"/admin/inbox/{item_id}")
    assert page.status_code == 200
    assert text_by_id(page.text, "call-back-note") == note
    assert f'href="tel:{PHONE}"' in page.text
    assert "<script>x</script>" not in page.text  # the note is escaped like any text
    resolved = post_form(client, f"/admin/inbox/{item_id}/resolve", desk, {"outcome": "resume"})
    assert resolved.status_code == 303
    assert enrollment_status(db) == EnrollmentStatus.ACTIVE
