"""The HTML part's Markdown is parsed once per step, with each lead's values put in
afterwards: for any name, the email is the one a full render for that lead gives."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from nurture.campaigns.definition import CampaignDefinition
from nurture.channel import Channel
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.messages.compose import message_context
from nurture.messages.render import MessageContext, render_email

MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")
FULL = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
names = st.text(st.characters(exclude_categories=["Cs", "Cc", "Co"]), min_size=1, max_size=30)


def full_render_html(definition: CampaignDefinition, key: str, context: MessageContext) -> str:
    """The reference: the template rendered for this lead, then Markdown, every time."""
    step = definition.spec.step(key)
    template = definition.environment.get_template(step.template)
    source = template.render(
        first_name=MARKDOWN_SPECIALS.sub(r"\\\1", context.first_name),
        clinic=context.clinic,
        article_url=context.article_url,
        booking_url=context.booking_url,
    )
    return FULL.render(source)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first_name=names)
def test_a_name_puts_in_the_same_html_as_a_full_render(
    seeded_definition: CampaignDefinition, settings: Settings, first_name: str
) -> None:
    lead = Lead(first_name=first_name, public_id="0" * 32)
    context = message_context(settings, lead, seeded_definition)
    emails = [s for s in seeded_definition.spec.steps if s.channel is Channel.EMAIL]
    assert len(emails) == 7
    for step in emails:
        html = render_email(seeded_definition, step, context, settings.templates_dir).html
        body = full_render_html(seeded_definition, step.key, context)
        assert body.strip() in html, (step.key, first_name)
