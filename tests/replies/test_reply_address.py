"""Per-lead reply addresses: campaign emails carry one, and it names its lead back."""

from __future__ import annotations

import pytest

from nurture.campaigns.definition import CampaignDefinition
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.links import InvalidToken, read_reply_token, reply_address
from nurture.messages.compose import compose_email

PUBLIC_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def with_domain(settings: Settings) -> Settings:
    return settings.model_copy(update={"inbound_email_domain": "reply.riverside-pt.example"})


def token_of(address: str) -> str:
    local = address.split("@")[0]
    assert local.startswith("reply+")
    return local.removeprefix("reply+")


def test_campaign_emails_reply_to_the_leads_own_address(
    with_domain: Settings, seeded_definition: CampaignDefinition
) -> None:
    lead = Lead(public_id=PUBLIC_ID, email="dana@example.com", first_name="Dana")
    step = seeded_definition.spec.steps[0]
    email, _ = compose_email(with_domain, lead, seeded_definition, step, "ref")
    assert email.reply_to is not None
    assert email.reply_to.endswith("@reply.riverside-pt.example")
    assert read_reply_token(with_domain, token_of(email.reply_to)) == PUBLIC_ID


def test_without_an_inbound_domain_replies_go_to_the_clinic_address(
    settings: Settings, seeded_definition: CampaignDefinition
) -> None:
    lead = Lead(public_id=PUBLIC_ID, email="dana@example.com", first_name="Dana")
    email, _ = compose_email(
        settings, lead, seeded_definition, seeded_definition.spec.steps[0], "r"
    )
    assert reply_address(settings, PUBLIC_ID) is None
    assert email.reply_to == settings.email_from


def test_the_reply_address_fits_in_an_email_local_part_and_survives_lower_casing(
    with_domain: Settings,
) -> None:
    address = reply_address(with_domain, PUBLIC_ID)
    assert address is not None
    assert len(address.split("@")[0]) <= 64  # RFC 5321
    assert read_reply_token(with_domain, token_of(address).upper()) == PUBLIC_ID


@pytest.mark.parametrize(
    "token",
    [
        f"{PUBLIC_ID}-aaaaaaaaaaaaaaaa",
        "ffffffffffffffffffffffffffffffff-aaaaaaaaaaaaaaaa",
        "not-a-token",
        "",
    ],
)
def test_a_tampered_reply_token_is_refused(with_domain: Settings, token: str) -> None:
    with pytest.raises(InvalidToken):
        read_reply_token(with_domain, token)


def test_a_token_made_with_another_secret_is_refused(with_domain: Settings) -> None:
    address = reply_address(with_domain, PUBLIC_ID)
    assert address is not None
    other = with_domain.model_copy(update={"secret_key": "another-secret-of-some-length"})
    with pytest.raises(InvalidToken):
        read_reply_token(other, token_of(address))
