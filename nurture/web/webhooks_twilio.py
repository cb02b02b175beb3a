"""Twilio's webhooks: inbound texts (POST /webhooks/twilio/sms) and delivery reports for
our own texts (POST /webhooks/twilio/status).

Every request must carry a valid X-Twilio-Signature, checked with the twilio SDK's
RequestValidator against PUBLIC_BASE_URL + the path (+ query): the URL Twilio was
given, which is not the one this process sees behind a proxy. A missing or bad
signature gets 403 and changes nothing.

The answer to an inbound text is TwiML in the HTTP response, not a REST API call:
it goes out at once, with no second request to Twilio (and its own failures), no
outbox row and no queue or worker in between. Twilio retries a webhook that timed
out or failed; the MessageSid is unique in inbound_messages, so a retry is answered
with an empty <Response/> and changes nothing: the person never gets two answers.

Twilio's own opt-out handling (the default on long codes, or Advanced Opt-Out on a
Messaging Service) may answer STOP/START/HELP itself. Advanced Opt-Out then tells
us with OptOutType, and we act (revoke or grant consent) without answering again;
otherwise our confirmation is the only one we send: at most one per opt-out, and
never with marketing in it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from nurture.config import Settings
from nurture.deliverability.sms_status import StatusReport, apply_status
from nurture.replies.sms_inbound import InboundSms, receive_sms
from nurture.web.deps import ClockDep, SettingsDep, get_session_factory
from nurture.web.metrics import count_refusal

log = logging.getLogger(__name__)
router = APIRouter()

SIGNATURE_HEADER = "X-Twilio-Signature"
FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


def signed_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public one, whatever host this process sees."""
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{settings.public_base_url.rstrip('/')}{request.url.path}{query}"


def is_signed(settings: Settings, request: Request, form: Mapping[str, str]) -> bool:
    """Whether the request carries Twilio's valid signature for this URL and form."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not (settings.twilio_auth_token and signature):
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(signed_url(settings, request), form, signature))


def twiml(reply: str | None) -> Response:
    """A TwiML answer: one message, or an empty <Response/> that sends nothing."""
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), media_type="application/xml")


def refused() -> JSONResponse:
    return JSONResponse({"error": "invalid or missing X-Twilio-Signature"}, status_code=403)


def bad_field(field: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"field": field, "message": message}]}, status_code=400)


def missing(field: str) -> JSONResponse:
    return bad_field(field, "is required")


async def form_fields(request: Request) -> dict[str, str] | JSONResponse:
    """The posted fields as text; a 400 for a file part (Twilio posts none)."""
    form = await request.form()
    try:
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if not isinstance(value, str):
                return bad_field(name, "files are not accepted here")
            fields[name] = value
        return fields
    finally:
        await form.close()


def unstorable(fields: Mapping[str, str]) -> JSONResponse | None:
    """A 400 naming a field with a NUL character, which no database stores as text."""
    bad = next((name for name, value in fields.items() if "\x00" in name + value), None)
    return bad_field(bad.replace("\x00", ""), "contains a NUL character") if bad else None


def _text(form: Mapping[str, str], *names: str) -> str:
    """The first of `names` the form fills (Twilio still sends some fields under an
    older name too: SmsSid for MessageSid, SmsStatus for MessageStatus)."""
    return next((form[name] for name in names if form.get(name)), "")


# The fields each webhook cannot do without; each by its name and Twilio's older one.
SMS_REQUIRED = (("MessageSid", "SmsSid"), ("From",))
STATUS_REQUIRED = (("MessageSid", "SmsSid"), ("MessageStatus", "SmsStatus"))


async def _signed_form(
    request: Request,
    settings: Settings,
    route: str,
    what: str,
    required: tuple[tuple[str, ...], ...],
) -> Mapping[str, str] | Response:
    """The post's fields once it is a readable form, signed by Twilio, with storable
    values and every required field; otherwise the answer that refuses it."""
    form = await form_fields(request)
    if isinstance(form, JSONResponse):
        return form
    if not is_signed(settings, request, form):
        log.warning("refused %s: bad or missing Twilio signature", what)
        count_refusal(request, route, "signature")
        return refused()
    if problem := unstorable(form):
        return problem
    absent = next((names[0] for names in required if not _text(form, *names)), None)
    return missing(absent) if absent else form


@router.post("/webhooks/twilio/sms")
async def twilio_sms(
    request: Request, factory: FactoryDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Record an inbound text once, act on it, and answer in TwiML."""
    form = await _signed_form(request, settings, "twilio-sms", "an inbound text", SMS_REQUIRED)
    if isinstance(form, Response):
        return form
    sms = InboundSms(
        sid=_text(form, "MessageSid", "SmsSid"),
        sender=_text(form, "From"),
        body=_text(form, "Body"),
        opt_out_type=_text(form, "OptOutType"),
        to=_text(form, "To"),
    )

    def handle() -> str | None:
        with factory.begin() as session:
            return receive_sms(session, settings, sms, clock.now()).reply

    return twiml(await run_in_threadpool(handle))


@router.post("/webhooks/twilio/status")
async def twilio_status(
    request: Request, factory: FactoryDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Apply a delivery report to the message Twilio names; 204 once recorded."""
    form = await _signed_form(
        request, settings, "twilio-status", "a Twilio status report", STATUS_REQUIRED
    )
    if isinstance(form, Response):
        return form
    report = StatusReport(
        sid=_text(form, "MessageSid", "SmsSid"),
        status=_text(form, "MessageStatus", "SmsStatus"),
        error_code=_text(form, "ErrorCode"),
        to=_text(form, "To"),
    )

    def handle() -> None:
        with factory.begin() as session:
            apply_status(session, settings, report, clock.now())

    await run_in_threadpool(handle)
    return Response(status_code=204)
