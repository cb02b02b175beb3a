"""Build the provider-ready email or SMS for one outbox row."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import phonenumbers

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec
from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.leads.submission import DEFAULT_PHONE_REGION
from nurture.links import (
    article_url,
    booking_url,
    preferences_url,
    reply_address,
    unsubscribe_url,
)
from nurture.messages.channels.base import OutboundEmail, OutboundSms
from nurture.messages.models import Message
from nurture.messages.render import Clinic, MessageContext, render_email, render_sms
from nurture.messages.senders import sms_from
from nurture.messages.short_links import ARTICLE, BOOK, Link, make_link
from nurture.messages.transactional import EmailContent


@lru_cache(maxsize=64)  # the clinic's number, formatted once instead of per message
def display_phone(number: str) -> str:
    """A clinic number as people write it: national format at home, international abroad."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return number
    home = phonenumbers.region_code_for_number(parsed) == DEFAULT_PHONE_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def as_written(
    lead: Lead, definition: CampaignDefinition, step: StepSpec, variant: str | None
) -> StepSpec:
    """The step as this message says it: in the lead's language, from the variant the
    dispatcher recorded on the message (never worked out again: a winner promoted since
    must not change what an already-written message says)."""
    return step.written(definition.spec.language_for(lead.language), variant)


def message_context(
    settings: Settings, lead: Lead, definition: CampaignDefinition
) -> MessageContext:
    """The values a template sees for this lead; links carry signed opaque ids only."""
    return MessageContext(
        first_name=lead.first_name,
        clinic=Clinic(
            settings.clinic_name, display_phone(settings.clinic_phone), settings.clinic_address
        ),
        # The article in the language the lead is written to in.
        article_url=article_url(
            settings, definition.spec.article or "", definition.spec.language_for(lead.language)
        ),
        booking_url=booking_url(settings, lead.public_id),
        unsubscribe_url=unsubscribe_url(settings, lead.public_id, Channel.EMAIL),
        preferences_url=preferences_url(settings, lead.public_id),
    )


def compose_email(
    settings: Settings,
    lead: Lead,
    definition: CampaignDefinition,
    step: StepSpec,
    message_ref: str,
    variant: str | None = None,
) -> tuple[OutboundEmail, list[Link]]:
    """The rendered email with the one-click unsubscribe headers (RFC 8058), in the lead's
    language when the campaign writes in it and from the message's A/B `variant`, and the
    short links in it."""
    step = as_written(lead, definition, step, variant)
    context, links = tracked_context(settings, lead, definition, message_ref)
    rendered = render_email(definition, step, context, settings.templates_dir)
    email = OutboundEmail(
        message_ref=message_ref,
        to=lead.email,
        from_email=settings.email_from,
        from_name=settings.clinic_name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        # The lead's own reply address: a reply then names its lead (nurture.replies).
        reply_to=reply_address(settings, lead.public_id) or settings.email_from,
        headers={
            "List-Unsubscribe": list_unsubscribe(settings, lead, context.unsubscribe_url),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    parts = (rendered.text, rendered.html)
    used = [link for link in links if any(link.url(settings) in part for part in parts)]
    return email, used


def list_unsubscribe(settings: Settings, lead: Lead, unsubscribe_url: str) -> str:
    """The List-Unsubscribe value: the one-click https URL, and a mailto when mail is read."""
    address = reply_address(settings, lead.public_id)
    # Without an inbound domain nothing would read mail sent to the mailto: offering
    # one would be a lie, so the header then carries only the https URL.
    if address is None:
        return f"<{unsubscribe_url}>"
    # The address is the lead's own reply address: its token names the lead, and
    # nurture.replies reads the subject "unsubscribe" as an email opt-out.
    return f"<{unsubscribe_url}>, <mailto:{address}?subject=unsubscribe>"


def tracked_context(
    settings: Settings, lead: Lead, definition: CampaignDefinition, message_ref: str
) -> tuple[MessageContext, list[Link]]:
    """What a step's template sees: its article and booking links are short links of
    this message (nurture.messages.short_links), with the links they stand for.

    The unsubscribe and preferences links stay direct: one-click unsubscribe (RFC 8058)
    must work without a redirect, and an opt-out is not a click on the content."""
    context = message_context(settings, lead, definition)
    article = make_link(settings, message_ref, ARTICLE, context.article_url)
    book = make_link(settings, message_ref, BOOK, None)
    short = replace(context, article_url=article.url(settings), booking_url=book.url(settings))
    return short, [article, book]


def compose_sms(
    settings: Settings,
    lead: Lead,
    definition: CampaignDefinition,
    step: StepSpec,
    message_ref: str,
    variant: str | None = None,
) -> tuple[OutboundSms, list[Link]]:
    """The rendered text message for a lead's mobile number, in the lead's language when
    the campaign writes in it and from the message's A/B `variant`, and the short links
    in it."""
    step = as_written(lead, definition, step, variant)
    context, links = tracked_context(settings, lead, definition, message_ref)
    body = render_sms(definition, step, context)
    sms = OutboundSms(
        message_ref=message_ref,
        to=lead.phone or "",
        body=body,
        status_callback=status_callback(settings),
        sender=sms_from(settings),
    )
    return sms, [link for link in links if link.url(settings) in body]


def status_callback(settings: Settings) -> str | None:
    """Where Twilio reports delivery: a fixed URL, so it carries no personal data."""
    if settings.sms_channel != "twilio":
        return None
    return f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status"


def compose_notice(settings: Settings, lead: Lead, message: Message) -> OutboundEmail | OutboundSms:
    """A transactional notice from the content stored with it when it was queued."""
    content = message.content or {}
    if message.channel == Channel.SMS:
        return OutboundSms(
            message_ref=message.ref,
            to=lead.phone or "",
            body=content["body"],
            status_callback=status_callback(settings),
            sender=sms_from(settings),
        )
    email = EmailContent.from_json(content)
    # Only the lead's own notices carry the lead's reply address: a reply from the
    # front desk must not read as the lead's.
    own = not content.get("to")
    reply_to = (reply_address(settings, lead.public_id) if own else None) or settings.email_from
    return OutboundEmail(
        message_ref=message.ref,
        # A notice about the lead for someone else (the front desk) names its recipient.
        to=str(content.get("to") or lead.email),
        from_email=settings.email_from,
        from_name=settings.clinic_name,
        subject=email.subject,
        text=email.text,
        html=email.html,
        reply_to=reply_to,
        attachments=email.attachments,
    )
