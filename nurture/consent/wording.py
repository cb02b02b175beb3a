"""The exact consent wording shown on forms, versioned so evidence can cite it; one text
per language the form is shown in (the person agrees to the words they read)."""

from __future__ import annotations

from dataclasses import dataclass

from nurture.channel import Channel
from nurture.languages import DEFAULT_LANGUAGE


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

# Written for our Spanish-speaking patients, not translated word for word; the keywords
# are the Spanish ones every lead's replies are read for (PARAR, AYUDA).
SPANISH_WORDING = {
    Channel.EMAIL: ConsentWording(
        "email-2026-12-es",
        "Quiero recibir esta guía por email y una breve serie de emails informativos de "
        "{clinic}, que termina con una invitación a una evaluación gratuita. Puedo darme de "
        "baja cuando quiera.",
    ),
    Channel.SMS: ConsentWording(
        "sms-2026-12-es",
        "Quiero recibir por mensaje de texto algunos consejos y una invitación a una "
        "evaluación gratuita de {clinic} en el celular que escribí arriba (unos 3 mensajes "
        "en dos semanas). Dar mi consentimiento no es condición para ninguna compra. Pueden "
        "aplicarse tarifas de mensajes y datos. Puedo responder PARAR para no recibir más "
        "y AYUDA para pedir ayuda.",
    ),
}
BY_LANGUAGE = {DEFAULT_LANGUAGE: WORDING, "es": SPANISH_WORDING}


def wording_for(channel: Channel, language: str = DEFAULT_LANGUAGE) -> ConsentWording:
    """The consent wording for `channel` as a form in `language` shows it."""
    return BY_LANGUAGE.get(language, WORDING)[channel]
