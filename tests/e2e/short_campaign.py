"""A five-step email + SMS campaign for end-to-end tests, written into a copy of templates/.

The real campaign spans weeks; these run in virtual hours, so a test on an accelerated
clock sees the whole sequence in seconds.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from string import Template

from nurture.campaigns.definition import load_campaign_dir
from nurture.campaigns.validate import validate_definition
from tests.support import REPO

STEP_KEYS = ("welcome", "sms-hello", "follow-up", "sms-nudge", "invitation")
# $-placeholders, because the step subjects carry Jinja's own {{ }}.
CAMPAIGN_YAML = Template("""\
slug: $slug
name: "$name"
description: "$description"
article: $article
steps:
  - key: welcome
    delay: $welcome
    channel: email
    template: 01-welcome.md.j2
    subject: "{{ first_name }}, here is your guide"
  - key: sms-hello
    delay: $sms_hello
    channel: sms
    template: 02-sms-hello.txt.j2
    condition: sms_consent
  - key: follow-up
    delay: $follow_up
    channel: email
    template: 03-follow-up.md.j2
    subject: "A second short note"
  - key: sms-nudge
    delay: $sms_nudge
    channel: sms
    template: 04-sms-nudge.txt.j2
    condition: sms_consent
  - key: invitation
    delay: $invitation
    channel: email
    template: 05-invitation.md.j2
    subject: "{{ first_name }}, your free screening is waiting"
""")
ARTICLE = Template("""\
---
title: "$title"
summary: "$summary"
campaign: $campaign
---

A short guide.
""")
# The same steps in Spanish, for a campaign that writes in both languages (`spanish`).
SPANISH = {
    "welcome": ("01-welcome.es.md.j2", "{{ first_name }}, aquí tiene su guía"),
    "sms-hello": ("02-sms-hello.es.txt.j2", None),
    "follow-up": ("03-follow-up.es.md.j2", "Una segunda nota breve"),
    "sms-nudge": ("04-sms-nudge.es.txt.j2", None),
    "invitation": ("05-invitation.es.md.j2", "{{ first_name }}, su evaluación gratuita le espera"),
}
SPANISH_TEMPLATES = {
    "01-welcome.es.md.j2": "Hola {{ first_name }}:\n\nSu guía: [léala]({{ article_url }}).\n",
    "03-follow-up.es.md.j2": "Hola {{ first_name }}:\n\nUna segunda nota de {{ clinic.name }}.\n",
    "04-sms-nudge.es.txt.j2": (
        "{{ clinic.name }}: un consejo, {{ first_name }}: siga moviendose. "
        "Responda PARAR para no recibir mas."
    ),
    "05-invitation.es.md.j2": (
        "Hola {{ first_name }}:\n\n[Reserve una evaluación gratuita]({{ booking_url }}).\n"
    ),
}
# Every step but the SMS hello reads the same in each test.
STEP_TEMPLATES = {
    "01-welcome.md.j2": "Hi {{ first_name }},\n\nYour guide: [read it]({{ article_url }}).\n",
    "03-follow-up.md.j2": "Hi {{ first_name }},\n\nA second note from {{ clinic.name }}.\n",
    "04-sms-nudge.txt.j2": (
        "{{ clinic.name }}: a quick tip, {{ first_name }}: keep moving. Reply STOP to opt out."
    ),
    "05-invitation.md.j2": "Hi {{ first_name }},\n\n[Book a free screening]({{ booking_url }}).\n",
}


@dataclass(frozen=True)
class ShortCampaign:
    """The steps of STEP_KEYS with delays of the test's choosing, and the article enrolling."""

    slug: str
    name: str
    description: str
    article: str
    article_title: str
    article_summary: str
    delays: tuple[str, str, str, str, str]  # of STEP_KEYS, as campaign.yaml writes them
    sms_hello: str  # the SMS hello's template
    sms_hello_es: str | None = None  # its Spanish: the campaign then writes in both

    def campaign_yaml(self) -> str:
        """The campaign's campaign.yaml."""
        delays = {
            key.replace("-", "_"): delay for key, delay in zip(STEP_KEYS, self.delays, strict=True)
        }
        text = CAMPAIGN_YAML.substitute(
            slug=self.slug,
            name=self.name,
            description=self.description,
            article=self.article,
            **delays,
        )
        return text if self.sms_hello_es is None else _in_spanish_too(text)

    def step_templates(self) -> dict[str, str]:
        """Each step's template source, by file name."""
        templates = {**STEP_TEMPLATES, "02-sms-hello.txt.j2": self.sms_hello}
        if self.sms_hello_es is not None:
            templates |= {**SPANISH_TEMPLATES, "02-sms-hello.es.txt.j2": self.sms_hello_es}
        return templates

    def article_markdown(self) -> str:
        """The article whose download enrols a lead in the campaign."""
        return ARTICLE.substitute(
            title=self.article_title, summary=self.article_summary, campaign=self.slug
        )


def _in_spanish_too(text: str) -> str:
    """campaign.yaml with `languages: [en, es]` and each step's Spanish translation."""
    lines: list[str] = []
    key = ""
    for line in text.splitlines():
        if line.startswith("steps:"):
            lines.append("languages: [en, es]")
        lines.append(line)
        if line.startswith("  - key: "):
            key = line.removeprefix("  - key: ")
        if line.startswith("    template: "):
            template, subject = SPANISH[key]
            lines += ["    translations:", "      es:", f"        template: {template}"]
            if subject is not None:
                lines.append(f'        subject: "{subject}"')
    return "\n".join(lines) + "\n"


def templates_with(campaign: ShortCampaign, root: Path) -> Path:
    """A copy of templates/ at `root` with `campaign` and its article added; fails if invalid."""
    shutil.copytree(REPO / "templates", root)
    folder = root / "campaigns" / campaign.slug
    folder.mkdir()
    (folder / "campaign.yaml").write_text(campaign.campaign_yaml())
    for name, source in campaign.step_templates().items():
        (folder / name).write_text(source)
    (root / "articles" / f"{campaign.article}.md").write_text(campaign.article_markdown())
    errors = [
        f for f in validate_definition(load_campaign_dir(folder), root) if f.severity == "error"
    ]
    assert not errors, errors
    return root
