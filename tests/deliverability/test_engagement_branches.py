"""What a lead did with the anatomy email, as SendGrid and our short links report it,
decides at send time whether the seeded campaign's short text goes to them, and the
reason is kept on the message either way."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.editing import move_enrollments_to_version
from nurture.campaigns.models import Campaign
from nurture.campaigns.spec import CampaignSpec
from nurture.campaigns.sync import sync_campaign
from nurture.consent.policy import SendingPolicy
from nurture.messages.channels.base import OutboundSms
from nurture.messages.short_links import ShortLink, follow
from tests.deliverability.conftest import SentEmail, Sequence, Webhook, sendgrid_event

BRANCH = "sms-anatomy-short"
# Sign-up is Monday 09:00 in Chicago; the anatomy email goes on Friday (day 4), the
# short text is asked about on the next Tuesday (day 8), inside its 10:00-18:00 window.
ANATOMY_SENT = timedelta(days=4, hours=1)
PAST_THE_TEXT = timedelta(days=8, hours=9)


def texts(sequence: Sequence) -> list[str]:
    return [m.body for m in sequence.sms.sent if isinstance(m, OutboundSms)]


def anatomy_ref(sequence: Sequence) -> str:
    message = sequence.messages()["anatomy-link"]
    assert message.status == "sent"
    return message.ref


def test_a_lead_who_never_opens_the_anatomy_email_gets_the_short_text_saying_why(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = sequence.clock.now()
    sequence.run(until=start + PAST_THE_TEXT, step=timedelta(hours=1))
    text = sequence.messages()[BRANCH]
    assert text.status == "sent"
    assert text.reason == "branch taken: anatomy-link not opened within 3d"
    assert any("attach at the base of the spine" in body for body in texts(sequence))


def test_a_lead_who_opens_the_anatomy_email_is_not_sent_the_short_text(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail
) -> None:
    start = sequence.clock.now()
    sequence.run(until=start + ANATOMY_SENT)
    opened = sendgrid_event("open", anatomy_ref(sequence), sequence.clock.now())
    assert webhook.post([opened]).status_code == 200
    sequence.run(until=start + PAST_THE_TEXT, step=timedelta(hours=1))
    messages = sequence.messages()
    assert messages[BRANCH].status == "skipped"
    assert messages[BRANCH].reason == "branch not taken: opened anatomy-link on day 4"
    assert not any("attach at the base of the spine" in body for body in texts(sequence))
    # The rest of the sequence goes on as before.
    assert messages["nerve-or-muscle"].status == "sent"


def test_an_open_reported_after_the_three_days_still_leaves_the_branch_taken(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail
) -> None:
    start = sequence.clock.now()
    sequence.run(until=start + timedelta(days=7, hours=18), step=timedelta(hours=1))
    # SendGrid says when the open happened: three days and an hour after the email.
    late = sendgrid_event("open", anatomy_ref(sequence), start + timedelta(days=7, hours=1))
    assert webhook.post([late]).status_code == 200
    sequence.run(until=start + PAST_THE_TEXT, step=timedelta(hours=1))
    text = sequence.messages()[BRANCH]
    assert (text.status, text.reason) == ("sent", "branch taken: anatomy-link not opened within 3d")


def test_a_click_on_the_anatomy_email_link_counts_as_opening_it(
    sequence: Sequence, welcome: SentEmail
) -> None:
    start = sequence.clock.now()
    sequence.run(until=start + ANATOMY_SENT)
    anatomy = sequence.messages()["anatomy-link"]
    with sequence.db.factory.begin() as session:
        code = session.scalars(
            select(ShortLink.code).where(ShortLink.message_id == anatomy.id)
        ).first()
        assert code is not None
        # What /r/{code} does when a person (not a link preview) follows it.
        assert follow(session, sequence.settings, code, sequence.clock.now(), count=True)
    sequence.run(until=start + PAST_THE_TEXT, step=timedelta(hours=1))
    text = sequence.messages()[BRANCH]
    assert text.status == "skipped"
    assert text.reason == "branch not taken: opened anatomy-link on day 4"


def test_a_step_edit_keeps_a_lead_who_opened_on_their_path(
    webhook: Webhook, sequence: Sequence, welcome: SentEmail, seeded_definition: CampaignDefinition
) -> None:
    start = sequence.clock.now()
    sequence.run(until=start + ANATOMY_SENT)
    opened = sendgrid_event("open", anatomy_ref(sequence), sequence.clock.now())
    assert webhook.post([opened]).status_code == 200
    # Staff move the short text two hours later: a new version, enrollments moved by key.
    data = seeded_definition.spec.model_dump(mode="json")
    next(s for s in data["steps"] if s["key"] == BRANCH)["delay"] = "8d2h"
    spec = CampaignSpec.model_validate(data)
    edited = CampaignDefinition(spec, dict(seeded_definition.templates))
    settings = sequence.settings
    with sequence.db.factory.begin() as session:
        sync_campaign(session, edited, sequence.clock.now())
        campaign = session.scalars(select(Campaign)).one()
        assert campaign.current_version_id is not None
        policy = SendingPolicy.from_settings(settings)
        report = move_enrollments_to_version(
            session,
            campaign.id,
            campaign.current_version_id,
            sequence.clock.now(),
            policy,
            settings.clinic_zone,
        )
    assert report.moved == 1
    sequence.run(until=start + PAST_THE_TEXT, step=timedelta(hours=1))
    text = sequence.messages()[BRANCH]
    assert (text.status, text.reason) == (
        "skipped",
        "branch not taken: opened anatomy-link on day 4",
    )
