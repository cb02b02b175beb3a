"""The front desk in Chromium: answering a question from the inbox, and cancelling a
screening from the week's bookings."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from nurture.channel import Channel
from nurture.clock import utcnow
from nurture.leads.models import Lead
from nurture.messages.models import Message, MessageStatus
from nurture.replies.call_backs import open_call_back
from tests.browser.helpers import login, screenshot
from tests.browser.site import ACCOUNTS, PASSWORD, QUESTION, ConsoleSite

pytestmark = pytest.mark.browser

ANSWER = "Most plans cover a screening; bring your card and we will check for you."


def queued_replies(site: ConsoleSite, public_id: str) -> list[tuple[Channel, str | None]]:
    """The staff replies waiting in the outbox for a lead: channel and subject."""
    with site.session() as session:
        rows = session.execute(
            select(Message.channel, Message.summary)
            .join(Lead, Lead.id == Message.lead_id)
            .where(
                Lead.public_id == public_id,
                Message.step_key == "staff-reply",
                Message.status == MessageStatus.HELD,
            )
        )
        return [(Channel(channel), summary) for channel, summary in rows]


def test_an_email_answer_to_a_question_is_queued_and_resolving_clears_the_inbox(
    page: Page, console_site: ConsoleSite
) -> None:
    asked = console_site.asked
    login(page, ACCOUNTS["frontdesk"], PASSWORD)
    page.goto("/admin/inbox")
    item_row = page.locator("#inbox tbody tr", has_text=asked)
    expect(item_row).to_have_count(1)
    expect(item_row).to_contain_text(QUESTION)
    expect(item_row).to_contain_text("SMS")
    item_id = (item_row.get_attribute("id") or "").removeprefix("inbox-item-")
    screenshot(page, "inbox")

    item_row.get_by_role("link", name=asked).click()
    expect(page.locator("#inbox-sender")).to_have_text(asked)
    expect(page.locator("#conversation")).to_contain_text(QUESTION)
    page.check("#channel-email")
    page.click("#reply-send")  # nothing typed yet
    expect(page.locator("#reply-problem")).to_contain_text("write a reply before sending")
    expect(page.locator("#channel-email")).to_be_checked()  # the choice survives the refusal
    assert queued_replies(console_site, console_site.leads[asked]) == []

    page.fill("#reply-body", ANSWER)
    screenshot(page, "inbox-item")
    page.click("#reply-send")

    expect(page.locator("#notice")).to_have_text("Reply queued to go by email.")
    expect(page).to_have_url(re.compile(rf"/admin/inbox/{item_id}$"))
    answer = page.locator("#conversation li.outgoing", has_text=ANSWER)
    expect(answer).to_contain_text("We sent · Email")
    # The web tier only queues: the workers deliver the email from the outbox.
    replies = queued_replies(console_site, console_site.leads[asked])
    assert [channel for channel, _ in replies] == [Channel.EMAIL]
    assert (replies[0][1] or "").startswith("Re: your message to")
    screenshot(page, "inbox-replied")

    page.click("#resolve-resume")
    expect(page).to_have_url(re.compile(r"/admin/inbox$"))
    expect(page.locator("#notice")).to_have_text("Resolved; the sequence resumes.")
    expect(page.locator(f"#inbox-item-{item_id}")).to_have_count(0)

    page.goto(f"/admin/inbox/{item_id}")
    expect(page.locator("#inbox-status")).to_contain_text("resolved by Desk")
    expect(page.locator("#resolve-form")).to_have_count(0)


def test_cancelling_a_screening_asks_first_then_shows_it_cancelled(
    page: Page, console_site: ConsoleSite
) -> None:
    booked = console_site.booked
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    login(page, ACCOUNTS["frontdesk"], PASSWORD)
    page.goto("/admin/bookings")
    row = page.locator("#bookings tr[id^='booking-']", has_text=booked)
    expect(row).to_have_count(1)
    booking_id = (row.get_attribute("id") or "").removeprefix("booking-")
    expect(page.locator(f"#status-{booking_id}")).to_have_text("booked")
    screenshot(page, "bookings")

    page.click(f"#cancel-{booking_id}")
    expect(page.locator("#notice")).to_have_text("Screening cancelled; the patient is being told.")
    assert questions == ["Cancel this screening? The patient will be told."]
    expect(page.locator(f"#status-{booking_id}")).to_have_text("cancelled")
    expect(page.locator(f"#cancel-{booking_id}")).to_have_count(0)
    screenshot(page, "bookings-cancelled")


def test_a_call_back_shows_the_desk_whom_to_call_and_resolving_resumes_the_sequence(
    page: Page, console_site: ConsoleSite
) -> None:
    note = "Dana tapped the free-screening link in yesterday's text and has not booked."
    with console_site.session() as session:
        lead = session.scalars(select(Lead).where(Lead.public_id == console_site.leads["Dana"]))
        dana = lead.one()
        item = open_call_back(
            session, lead_id=dana.id, phone=dana.phone or "", note=note, now=utcnow()
        )
        session.commit()
        item_id = item.id
    login(page, ACCOUNTS["frontdesk"], PASSWORD)
    page.goto("/admin/inbox")
    row = page.locator(f"#inbox-item-{item_id}")
    expect(row).to_contain_text("Phone call")
    expect(row).to_contain_text(note)
    screenshot(page, "inbox-call-back")
    row.get_by_role("link", name="Dana").click()
    expect(page.locator("#call-back-note")).to_have_text(note)
    expect(page.locator("#call-back a[href='tel:+12175550199']")).to_have_text("(217) 555-0199")
    screenshot(page, "inbox-call-back-item")
    page.click("#resolve-resume")
    expect(page.locator("#notice")).to_have_text("Resolved; the sequence resumes.")
    expect(page.locator(f"#inbox-item-{item_id}")).to_have_count(0)
