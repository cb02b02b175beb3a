"""The exact consent wording shown on forms, versioned so evidence can cite it."""

from __future__ import annotations

from dataclasses import dataclass

from nurture.channel import Channel


@dataclass(frozen=True, slots=True)
class ConsentWording:
    version: str
    template: str

    def text(self, clinic_name: str) -> str:
        return self.template.format(clinic=clinic_name)


# Changing a sentence here means a new version: evidence rows point at the version.
WORDING = {
    Channel.EMAIL: ConsentWording(
        "email-2026-11",
        "Email me this guide and a short series of educational emails from {clinic}, "
        "ending with an invitation to a free screening. I can unsubscribe at any time.",
    ),
    Channel.SMS: ConsentWording(
        "sms-2026-11",
        "Text me a few tips and a free-screening invitation from {clinic} at the mobile "
        "number above (about 3 messages over two weeks). Consent is not a condition of "
        "any purchase. Msg & data rates may apply. Reply STOP to opt out, HELP for help.",
    ),
}
