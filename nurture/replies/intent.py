"""What a reply means: STOP, HELP, START, BOOK, a slot choice, CANCEL, RESCHEDULE, other.

Precedence, strongest first (each rule is why the next cannot override it):
1. A carrier opt-out keyword alone (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
   REVOKE, OPTOUT, OPT OUT; any case, spaces, punctuation) is STOP, whatever else is
   going on. A bare "CANCEL" is an opt-out under carrier (CTIA) rules and Twilio
   blocks the number when it sees one, so it never cancels a booking; our texts
   therefore say "CANCEL APPOINTMENT", never "CANCEL".
2. HELP/INFO and START/UNSTOP/RESUME alone.
3. A clear free-text revocation ("please stop texting me", "remove me from your
   list") is STOP.
4. With an upcoming booking: "cancel my appointment", "I can't make it" is CANCEL,
   "can I reschedule", "move it to Thursday" is RESCHEDULE; "cancel please" is CANCEL
   too. Without a booking the same words are a question for staff (OTHER), or STOP
   for the politely worded keyword ("cancel please").
5. An option number while an offer is open, or a day/time offered as an answer
   ("Tue 3pm", "can I come Thursday afternoon?", not "I'm busy Tuesday") is SLOT_CHOICE.
6. Booking words ("BOOK", "yes please", "schedule me", "what times do you have") are
   BOOK; a bare number with no open offer is BOOK too (fresh options, not an error).
7. Anything else, including an empty or emoji-only message, is OTHER: a person reads it.

Spanish is read the same way for every lead, whatever language they were written to:
an opt-out must be honoured in the words the person uses (PARAR, ALTO, BAJA, CANCELAR,
"no me manden más mensajes"), and AYUDA, CITA or "sí" mean what HELP, BOOK and "yes"
do. Accents are optional ("si", "mas"): people type on phones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from nurture.replies.slot_choice import SlotChoice, parse_choice


class Intent(StrEnum):
    STOP = "stop"
    HELP = "help"
    START = "start"
    BOOK = "book"
    SLOT_CHOICE = "slot_choice"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    OTHER = "other"


STOP_KEYWORDS = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke"}
    | {"optout", "opt out"}
    # Spanish: the words people text to stop, and the carriers' own lists.
    | {"parar", "para", "alto", "baja", "darme de baja", "dar de baja", "cancelar"}
    | {"detener", "terminar", "salir", "basta", "fin"}
)
HELP_KEYWORDS = frozenset({"help", "info", "ayuda", "informacion"})
START_KEYWORDS = frozenset({"start", "unstop", "resume", "iniciar", "empezar", "reanudar"})
# Words that may surround a keyword without changing it: "STOP please", "pls stop!".
POLITE = frozenset(
    {"please", "pls", "plz", "now", "thanks", "thank", "you", "thx", "ty"}
    | {"por", "favor", "porfavor", "porfa", "gracias", "ya", "ahora"}
)

_REVOCATIONS = [
    re.compile(p)
    for p in (
        r"\b(stop|quit|cease)\b(?! by\b).*\b(text|texts|texting|txt|txts|message|messages"
        r"|messaging|sms|contacting|sending|send|spamming|spam|emails?|emailing)\b",
        r"\b(don't|dont|do not|never)\s+(text|txt|message|contact|email|send|call)\b",
        r"\b(remove|delete|take)\s+(me|my|this)\b.*\b(list|off|number|email|address|contacts?)\b",
        r"\btake me off\b",
        r"\bunsubscribe\b",
        r"\bopt(ing)?\s*(me\s+)?out\b",
        r"\bno more\s+(text|txt|message|email|sms)",
        r"\bleave me alone\b",
        r"\bwrong number\b",
        r"\bnot interested\b",
        # Spanish (accents already removed): "no me manden mas mensajes", "dejen de
        # escribirme", "ya no quiero textos", "quitenme de la lista", "numero equivocado".
        r"\bno (me )?(manden|envien|escriban|contacten|llamen|textee?n)\b",
        r"\bdejen? de (mandar|enviar|escribir|contactar|llamar)",
        r"\bno quiero (recibir )?(mas )?(mensajes|textos|correos|emails|sms)\b",
        r"\b(quitenme|quiteme|borrenme|borreme|sacame|saquenme|eliminenme)\b",
        r"\bnumero equivocado\b",
        r"\bno (me )?(estoy )?interesad[oa]\b|\bno me interesa\b",
    )
]
_NOT_A_REVOCATION = re.compile(r"\b(don't|dont|do not|never)\s+(stop|unsubscribe|remove)\b")
_CANCEL = re.compile(
    r"\bcancel\w*\b|\b(can't|cant|cannot|can not|won't|wont|unable to)\s+(make|come|attend)\b"
    r"|\bno (puedo|podre) (ir|asistir|llegar|venir)\b"
)
_RESCHEDULE = re.compile(
    r"\b(re-?schedul\w*|postpone\w*|re-?book\w*)\b"
    r"|\b(change|move|switch)\s+(it|that|(my|the|our)\s+(appointment|booking|screening|time|day))\b"
    r"|\b(different|another|other|new)\s+(time|day|date|slot)\b"
    r"|\b(reprogramar|reagendar|posponer)\w*\b|\bcambiar (la|mi) (cita|hora|fecha)\b"
    r"|\b(otro dia|otra hora|otra fecha)\b"
)
_BOOK = [
    re.compile(p)
    for p in (
        r"\bbook\b",
        r"\bbook (me|in|a|an|it|one)\b",
        r"\bschedule (me|a|an|it|one|my)\b",
        r"\bsign me up\b",
        r"\bmake an? (appointment|booking)\b",
        r"\b(i'd|id|i would|i want|i wanna|i'd love|i would love) (like |love )?(to )?"
        r"(book|schedule|come in|a screening|an appointment|a free screening|the screening)\b",
        r"\b(what|which|any) (times?|slots?|days?|openings?|availability|appointments?)\b",
        r"\bwhen (can|could|should) i (come|book|get)\b",
        r"\b(are|is) (there|you) (any|anything) (available|open)\b",
        r"\b(cita|agendar|reservar|programar una)\b",
        r"\b(quiero|quisiera|me gustaria) (una |la )?(cita|evaluacion|consulta|ir|venir)\b",
        r"\b(que|cuales) (horarios?|dias|horas)\b",
    )
]
# A day or time is an answer only when the message offers it, not when it mentions
# one in passing ("I'm busy Tuesday, what is this?").
_SLOT_ASK = re.compile(
    r"\b(book|come|schedule|appointment|screening|available|availability|works?|good|fine"
    r"|free|open|can i|could i|how about|what about|i'll take|ill take)\b"
)
_NEGATIVE = re.compile(r"\b(busy|can't|cant|cannot|not|no|never|unavailable|away)\b")
_AFFIRMATIVE = re.compile(
    r"^(yes|yeah|yea|yep|yup|sure|ok|okay|y|absolutely|definitely|please|interested"
    r"|sounds good|i'm interested|im interested|i am interested"
    r"|si|claro|por supuesto|me interesa|esta bien|de acuerdo|vale)"
    r"(\s+(yes|please|pls|thanks|thank you|sure|i would|i'd like that|that would be great"
    r"|por favor|gracias|claro|me interesa))*$"
)


@dataclass(frozen=True, slots=True)
class Context:
    """What the conversation knows when it reads a reply."""

    now: datetime
    zone: ZoneInfo
    offered: int = 0  # slots in the lead's open offer (0: none open)
    has_booking: bool = False


@dataclass(frozen=True, slots=True)
class Classified:
    intent: Intent
    choice: SlotChoice | None = None


def normalise(text: str) -> str:
    """Lower case, one space between words, punctuation, emoji and accents gone
    (apostrophes kept): "¡PARAR!" and "parar", "Sí" and "si" read alike."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    text = unicodedata.normalize("NFKC", "".join(c for c in text if not unicodedata.combining(c)))
    text = re.sub(r"[^\w\s']", " ", text).replace("_", " ")
    return " ".join(word.strip("'") for word in text.split() if word.strip("'"))


def _core(words: list[str]) -> str:
    kept = [w for w in words if w not in POLITE]
    # "STOP STOP" or "stop!!! stop" is still the one keyword.
    deduped = [w for i, w in enumerate(kept) if i == 0 or w != kept[i - 1]]
    return " ".join(deduped)


def is_revocation(text: str) -> bool:
    """Whether free text clearly asks us to stop messaging."""
    if _NOT_A_REVOCATION.search(text):
        return False
    return any(pattern.search(text) for pattern in _REVOCATIONS)


def _offers_a_time(plain: str, context: Context) -> bool:
    if _NEGATIVE.search(plain):
        return False
    return bool(context.offered) or len(plain.split()) <= 6 or bool(_SLOT_ASK.search(plain))


def classify(text: str, context: Context) -> Classified:
    """The intent of one reply, in the precedence the module docstring sets out."""
    plain = normalise(text)
    if not plain:
        return Classified(Intent.OTHER)
    if plain in STOP_KEYWORDS:
        return Classified(Intent.STOP)
    core = _core(plain.split())
    if core in HELP_KEYWORDS:
        return Classified(Intent.HELP)
    if core in START_KEYWORDS:
        return Classified(Intent.START)
    if core in STOP_KEYWORDS:
        cancels = core == "cancel" and context.has_booking
        return Classified(Intent.CANCEL if cancels else Intent.STOP)
    if is_revocation(plain):
        return Classified(Intent.STOP)
    choice = parse_choice(text, context.now, context.zone, context.offered)
    if choice is not None and choice.number is None and not _offers_a_time(plain, context):
        choice = None
    if context.has_booking:
        if _CANCEL.search(plain) and not _RESCHEDULE.search(plain):
            return Classified(Intent.CANCEL)
        if _RESCHEDULE.search(plain):
            return Classified(Intent.RESCHEDULE, choice)
    if choice is not None:
        return Classified(Intent.SLOT_CHOICE, choice)
    if plain.isdigit():
        return Classified(Intent.BOOK)  # an option from an offer that has closed
    if _AFFIRMATIVE.match(plain) or any(pattern.search(plain) for pattern in _BOOK):
        return Classified(Intent.BOOK)
    return Classified(Intent.OTHER)
