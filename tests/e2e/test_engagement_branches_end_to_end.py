"""Two leads, two paths: on the real web app, beat and worker (accelerated clock), a
lead who opens and clicks the welcome email gets the note for readers, and a lead who
does nothing gets a short text instead. The open arrives as a signed SendGrid event
posted to the running web app, the click through the app's own short link; each
branch decision is kept on the message with its reason. The reader then opens the
booking page from the invitation without booking, and an hour later the front desk
has a call-back for them in its inbox; the other lead is not on the call list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nurture.clock import Clock, utcnow
from nurture.messages.models import SETTLED_STATUSES, Message, MessageStatus
from nurture.messages.short_links import ShortLink
from nurture.replies.models import InboxItem, InboxKind
from tests.deliverability.conftest import new_signer, sendgrid_event
from tests.e2e.short_campaign import ShortCampaign
from tests.e2e.stack import StartStack, lead_messages, wait_until, zone_where_it_is_nine
from tests.helpers.provider_stub import ProviderStub

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

READER_NOTE = "For readers: the low back and the back of the thigh share one path."
NUDGE = (
    "{{ clinic.name }}: Hi {{ first_name }}, your guide is waiting: {{ article_url }} "
    "Reply STOP to opt out."
)
CALL_NOTE = "{{ first_name }} opened the booking page from the invitation but has not booked."
# Virtual hours: a branch asks about the welcome email 4 hours after it went out.
BRANCHING_YAML = """\
slug: e2e-branches
name: "End-to-end branches"
description: "Five steps over eight hours; two of them branch on the welcome email."
article: e2e-branches-guide
steps:
  - key: welcome
    delay: 0m
    channel: email
    template: 01-welcome.md.j2
    subject: "{{ first_name }}, here is your guide"
  - key: follow-up
    delay: 2h
    channel: email
    template: 02-follow-up.md.j2
    subject: "A second short note"
  - key: reader-note
    delay: 5h
    channel: email
    template: 03-reader-note.md.j2
    subject: "Since you read the guide"
    if: {opened: welcome}
  - key: nudge-text
    delay: 5h
    channel: sms
    template: 04-nudge-text.txt.j2
    condition: sms_consent
    if: {not_opened: welcome, within: 4h}
  - key: invitation
    delay: 8h
    channel: email
    template: 05-invitation.md.j2
    subject: "{{ first_name }}, your free screening is waiting"
  - key: call-back
    delay: 9h
    task: call_back
    template: 06-call-back.txt.j2
    if: {clicked: invitation, booked: false}
"""
TEMPLATES = {
    "01-welcome.md.j2": "Hi {{ first_name }},\n\nYour guide: [read it]({{ article_url }}).\n",
    "02-follow-up.md.j2": "Hi {{ first_name }},\n\nA second note from {{ clinic.name }}.\n",
    "03-reader-note.md.j2": f"Hi {{{{ first_name }}}},\n\n{READER_NOTE}\n",
    "04-nudge-text.txt.j2": NUDGE,
    "05-invitation.md.j2": "Hi {{ first_name }},\n\n[Book a free screening]({{ booking_url }}).\n",
    "06-call-back.txt.j2": CALL_NOTE,
}
EVERY_STEP = ("welcome", "follow-up", "reader-note", "nudge-text", "invitation", "call-back")


@dataclass(frozen=True)
class BranchingCampaign(ShortCampaign):
    """The short campaign's article and layout, with steps that branch."""

    def campaign_yaml(self) -> str:
        return BRANCHING_YAML

    def step_templates(self) -> dict[str, str]:
        return TEMPLATES


CAMPAIGN = BranchingCampaign(
    slug="e2e-branches",
    name="End-to-end branches",
    description="unused: campaign_yaml is the campaign's own",
    article="e2e-branches-guide",
    article_title="A short guide for the branching test",
    article_summary="Two leads, two paths.",
    delays=("0m", "2h", "5h", "5h", "8h"),
    sms_hello=NUDGE,
)


@pytest.fixture
def redis_db() -> int:
    return 14


@pytest.fixture
def short_campaign() -> ShortCampaign:
    return CAMPAIGN


def settled(engine: Engine, public_id: str) -> dict[str, Message] | None:
    rows = {row.step_key: row for row in lead_messages(engine, public_id)}
    done = set(rows) == set(EVERY_STEP) and all(
        row.status in SETTLED_STATUSES for row in rows.values()
    )
    return rows if done else None


def sent(engine: Engine, public_id: str, key: str) -> Message | None:
    rows = {row.step_key: row for row in lead_messages(engine, public_id)}
    message = rows.get(key)
    return message if message and message.status == MessageStatus.SENT else None


def follow_link(web_url: str, engine: Engine, message: Message) -> None:
    """Follow the message's first short link as a person's phone does."""
    with Session(engine) as session:
        code = session.scalars(
            select(ShortLink.code).where(ShortLink.message_id == message.id)
        ).first()
    assert code is not None
    clicked = httpx.get(
        f"{web_url}/r/{code}",
        headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"},
        timeout=10,
    )
    assert clicked.status_code == 302


def test_a_lead_who_opens_and_clicks_and_one_who_does_nothing_get_different_messages(
    engine: Engine, virtual_clock: Clock, start_stack: StartStack
) -> None:
    signer = new_signer()
    with ProviderStub() as stub:
        stack = start_stack(
            stub.url, worker_name="branches", SENDGRID_WEBHOOK_PUBLIC_KEY=signer.public_key_b64
        )
        zone = zone_where_it_is_nine(virtual_clock.now())
        reader = stack.sign_up(CAMPAIGN.article, "Robin", "robin@example.com", "+12175550198", zone)
        idle = stack.sign_up(CAMPAIGN.article, "Sam", "sam@example.com", "+12175550197", zone)

        def welcome_sent() -> Message | None:
            rows = {row.step_key: row for row in lead_messages(engine, reader)}
            welcome = rows.get("welcome")
            return welcome if welcome and welcome.status == MessageStatus.SENT else None

        welcome = wait_until(welcome_sent, 30, "Robin's welcome email", abort=stack.trouble)
        # Robin opens it (SendGrid's signed event) and clicks its link (our short link).
        body = json.dumps(
            [sendgrid_event("open", welcome.ref, virtual_clock.now(), email="robin@example.com")]
        ).encode()
        posted = httpx.post(
            f"{stack.web_url}/webhooks/sendgrid/events",
            content=body,
            headers=signer.headers(body, utcnow()),  # SendGrid signs on real time
            timeout=10,
        )
        assert posted.status_code == 200, posted.text
        follow_link(stack.web_url, engine, welcome)

        invitation = wait_until(
            lambda: sent(engine, reader, "invitation"),
            90,
            "Robin's invitation",
            abort=stack.trouble,
        )
        # Robin opens the booking page from the invitation, and does not book.
        follow_link(stack.web_url, engine, invitation)

        robin = wait_until(lambda: settled(engine, reader), 60, "Robin's path", abort=stack.trouble)
        sam = wait_until(lambda: settled(engine, idle), 30, "Sam's path", abort=stack.trouble)
        received = list(stub.records)

    # Robin read the guide: the note for readers went, the nudge did not.
    assert robin["welcome"].clicks == 1
    assert robin["reader-note"].status == MessageStatus.SENT
    assert robin["reader-note"].reason == "branch taken: opened welcome on day 0"
    assert robin["nudge-text"].status == MessageStatus.SKIPPED
    assert robin["nudge-text"].reason == "branch not taken: opened welcome on day 0"
    # Sam did nothing: the nudge went instead of the note.
    assert sam["reader-note"].status == MessageStatus.SKIPPED
    assert sam["reader-note"].reason == "branch not taken: welcome not opened"
    assert sam["nudge-text"].status == MessageStatus.SENT
    assert sam["nudge-text"].reason == "branch taken: welcome not opened within 4h"
    for rows in (robin, sam):
        common = (rows["welcome"], rows["follow-up"], rows["invitation"])
        assert all(row.status == MessageStatus.SENT for row in common)
    # Robin opened the booking page and did not book: the desk has a call to make.
    assert robin["call-back"].status == MessageStatus.SENT
    assert robin["call-back"].reason is not None
    assert robin["call-back"].reason.endswith(
        "branch taken: clicked invitation on day 0 and has not booked"
    )
    with Session(engine) as session:
        calls = session.execute(
            select(InboxItem.lead_id, InboxItem.note).where(InboxItem.kind == InboxKind.CALL_BACK)
        ).all()
    assert calls == [(robin["welcome"].lead_id, CALL_NOTE.replace("{{ first_name }}", "Robin"))]
    assert sam["call-back"].status == MessageStatus.SKIPPED
    assert sam["call-back"].reason == "branch not taken: invitation not clicked"

    # What the providers got matches: each lead's own messages, nothing of the other path.
    by_provider_id = {row.provider_id: row for rows in (robin, sam) for row in rows.values()}
    got = {
        (by_provider_id[r["provider_id"]].lead_id, by_provider_id[r["provider_id"]].step_key)
        for r in received
    }
    robin_id, sam_id = robin["welcome"].lead_id, sam["welcome"].lead_id
    # A call-back is the desk's: no provider got anything for it.
    robin_got, sam_got = set(EVERY_STEP) - {"nudge-text"}, set(EVERY_STEP) - {"reader-note"}
    assert {key for lead, key in got if lead == robin_id} == robin_got - {"call-back"}
    assert {key for lead, key in got if lead == sam_id} == sam_got - {"call-back"}
    # The nudge waited the four hours before it was decided.
    assert sam["nudge-text"].sent_at is not None and sam["welcome"].sent_at is not None
    assert sam["nudge-text"].sent_at - sam["welcome"].sent_at >= timedelta(hours=4)
