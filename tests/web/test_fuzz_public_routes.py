"""Property-based fuzzing of every public route, with a fixed budget of examples each:
no input gets a server error, and a refused request writes nothing.

The lead API is fuzzed by Schemathesis from the app's own OpenAPI document; the routes
outside it (article pages, the booking, unsubscribe, preference and confirmation links,
and the four webhooks, signed or authenticated as their providers would) by Hypothesis
strategies. Examples are derandomized, so CI sees the same ones on every run.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from nurture.clock import utcnow
from nurture.config import Settings
from nurture.leads.capture import CaptureResult
from nurture.links import confirm_url, make_token
from nurture.messages.short_links import ShortLink
from nurture.web import api
from nurture.web.api_schema import public_openapi
from tests.deliverability.conftest import new_signer
from tests.factories import ARTICLE, capture
from tests.harness import Harness
from tests.support import Database, every_row, tamper

# Fuzzing budgets of seconds each; left out of `make quick`, run by `make test`.
pytestmark = pytest.mark.slow

BUDGET = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PUBLIC = "https://care.example.test"
TWILIO_TOKEN = "fuzz-twilio-token"
INBOUND_USER, INBOUND_PASSWORD = "parse", "fuzz-inbound-password"
SIGNER = new_signer()
CLASSICS = [
    "\x00",
    "\ufffd",
    "' OR 1=1 --",
    "{{ 7*7 }}",
    "<script>alert(1)</script>",
    "9" * 400,
    "9999-12-31T23:59:59-14:00",
    "-1",
    "1e309",
]
# Text as an attacker types it: any code point but lone surrogates (no client can encode
# those), NULs included, and the classics.
nasty = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(CLASSICS)
form = st.dictionaries(nasty, nasty, max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(nasty, inner, max_size=4),
    max_leaves=16,
)


@pytest.fixture
def app(app: FastAPI, settings: Settings) -> FastAPI:
    app.state.settings = settings.model_copy(
        update={
            "twilio_auth_token": TWILIO_TOKEN,
            "sendgrid_webhook_public_key": SIGNER.public_key_b64,
            "sendgrid_inbound_user": INBOUND_USER,
            "sendgrid_inbound_password": INBOUND_PASSWORD,
            # Fuzzing the routes, not the rate limiter (it has tests of its own).
            "capture_rate_limit": "1000000/minute",
        }
    )
    return app


@pytest.fixture
def lead(db: Database, clock: Any, settings: Settings, campaign: int) -> CaptureResult:
    return capture(db.factory, clock, settings, phone="+12175550199")


Send = Callable[[], httpx.Response]


class Fuzz:
    """Sends each example, checks it, and counts the answers, so a test can also show that
    its examples got past the door (a fuzzer stopped at 403 every time proves little)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: Counter[int] = Counter()

    def send(self, send: Send) -> httpx.Response:
        """Send; no server error ever, and a 4xx leaves every table as it was."""
        before = every_row(self.db)
        response = send()
        assert response.status_code < 500, (response.status_code, response.text[:500])
        if 400 <= response.status_code < 500:
            assert every_row(self.db) == before, f"a refused {response.status_code} wrote"
        self.seen[response.status_code] += 1
        return response

    def answered(self, *statuses: int) -> None:
        """Each of `statuses` was seen at least once."""
        assert all(self.seen[status] for status in statuses), dict(self.seen)


@pytest.fixture
def fuzz(db: Database) -> Fuzz:
    return Fuzz(db)


# --- The lead API, from its OpenAPI document ---------------------------------------------


def _lead_api_document() -> dict[str, Any]:
    # The document the app serves at /api/openapi.json, built from the API's own router.
    documented = FastAPI()
    documented.include_router(api.router)
    return public_openapi(documented)


LEAD_API = schemathesis.openapi.from_dict(_lead_api_document())["/api/leads"]["POST"]


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _as_httpx(case: Case) -> dict[str, Any]:
    """Schemathesis's request, for the in-process client (form values must be text)."""
    sent = case.as_transport_kwargs(base_url="http://testserver")
    request: dict[str, Any] = {"headers": sent["headers"], "params": sent["params"]}
    if "json" in sent:
        request["json"] = sent["json"]
    if isinstance(sent.get("data"), dict):
        request["data"] = {
            name: [str(v) for v in value] if isinstance(value, list) else _text(value)
            for name, value in sent["data"].items()
        }
    elif "data" in sent:
        request["content"] = sent["data"]
    if "files" in sent:
        request["files"] = [(name, (file, _text(body))) for name, (file, body) in sent["files"]]
    return request


def test_the_lead_api_never_fails_on_any_input_its_schema_allows_or_not(
    client: TestClient, fuzz: Fuzz, campaign: int
) -> None:
    person = {
        "article": ARTICLE,
        "first_name": "Dana",
        "email": "dana@example.com",
        "consent_email": "yes",
    }

    @BUDGET
    @given(case=LEAD_API.as_strategy(), real=st.sets(st.sampled_from(sorted(person))))
    def examples(case: Case, real: set[str]) -> None:
        # A real person's fields over some generated forms, so that examples also reach
        # capture itself, not only the validation in front of it.
        whole = len(real) == len(person)
        request = {"data": person} if whole else _as_httpx(case)
        fuzz.send(lambda: client.post("/api/leads", **request))

    examples()
    fuzz.answered(201, 422)


# --- Article pages and the download form ---------------------------------------------------


def test_article_pages_and_the_download_form_never_fail(
    client: TestClient, fuzz: Fuzz, campaign: int
) -> None:
    @BUDGET
    @given(slug=nasty | st.just(ARTICLE), welcome=nasty, data=form, person=st.booleans())
    def examples(slug: str, welcome: str, data: dict[str, str], person: bool) -> None:
        path = f"/articles/{quote(slug, safe='')}"
        fuzz.send(lambda: client.get(path))
        fuzz.send(lambda: client.get(f"{path}/read", params={"welcome": welcome}))
        if person:  # a real visitor's fields, with the fuzzed ones mixed in
            data = {
                "first_name": "Dana",
                "email": "dana@example.com",
                "consent_email": "yes",
            } | data
        fuzz.send(lambda: client.post(f"{path}/download", data=data))

    examples()
    fuzz.answered(200, 404, 422, 303)


# --- Links in messages ------------------------------------------------------------------


SUFFIXES = {
    "book": ["", "/cancel", "/reschedule", "/calendar.ics"],
    "unsubscribe": [""],
    "preferences": [""],
    "confirm": [""],
}


def link_tokens(settings: Settings, lead: CaptureResult) -> dict[str, str]:
    """A valid token for each kind of link a message carries."""
    public_id = lead.lead_public_id
    confirm = confirm_url(settings, public_id, "hamstring-sciatica", ARTICLE)
    return {
        "book": make_token(settings, "book", {"lead": public_id}),
        "unsubscribe": make_token(settings, "unsubscribe", {"lead": public_id, "channel": "sms"}),
        "preferences": make_token(settings, "unsubscribe", {"lead": public_id, "channel": "all"}),
        "confirm": confirm.rsplit("/", 1)[1],
    }


def test_booking_unsubscribe_preference_and_confirmation_links_never_fail(
    client: TestClient, fuzz: Fuzz, settings: Settings, lead: CaptureResult
) -> None:
    good = link_tokens(settings, lead)
    tokens = st.sampled_from(sorted(good)).flatmap(
        lambda page: st.tuples(
            st.just(page),
            st.sampled_from([good[page], tamper(good[page])])
            | nasty.map(lambda text: quote(text, safe="")),
        )
    )

    @BUDGET
    @given(data=st.data())
    def examples(data: st.DataObject) -> None:
        page, token = data.draw(tokens)
        path = f"/{page}/{token}{data.draw(st.sampled_from(SUFFIXES[page]))}"
        keys = st.sampled_from(["after", "slot", "stop_email", "pause", "x"])
        query = data.draw(st.dictionaries(keys, nasty, max_size=2))
        fields = data.draw(st.dictionaries(keys, nasty, max_size=3))
        fuzz.send(lambda: client.get(path, params=query))
        if not path.endswith(".ics"):
            fuzz.send(lambda: client.post(path, data=fields))

    examples()
    fuzz.answered(200, 400)


def test_short_links_never_fail(
    client: TestClient,
    fuzz: Fuzz,
    db: Database,
    clock: Any,
    settings: Settings,
    lead: CaptureResult,
) -> None:
    harness = Harness(db, clock, settings)
    harness.run_for(timedelta(hours=3))
    with db.factory() as session:
        real = session.scalars(select(ShortLink.code)).all()
    assert real, "the lead's first text carries a short link"
    codes = st.sampled_from(real) | nasty.map(lambda text: quote(text, safe=""))
    agents = st.sampled_from(["Mozilla/5.0", "facebookexternalhit/1.1", ""]) | nasty.filter(
        lambda text: text.isascii() and text.isprintable()
    )

    @BUDGET
    @given(code=codes, agent=agents, head=st.booleans())
    def examples(code: str, agent: str, head: bool) -> None:
        send = client.head if head else client.get
        headers = {"User-Agent": agent}
        fuzz.send(lambda: send(f"/r/{code}", headers=headers, follow_redirects=False))

    examples()
    fuzz.answered(302, 404)


# --- Webhooks, signed or authenticated as their providers would ---------------------------


TWILIO_FIELDS = st.tuples(
    st.fixed_dictionaries(
        {"MessageSid": nasty, "From": nasty | st.just("+12175550199")},
        optional={"Body": nasty, "MessageStatus": nasty, "ErrorCode": nasty, "OptOutType": nasty},
    ),
    form,
).map(lambda pair: {**pair[1], **pair[0]})


def test_twilio_webhooks_signed_by_twilio_never_fail(
    client: TestClient, fuzz: Fuzz, lead: CaptureResult
) -> None:
    @BUDGET
    @given(
        path=st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status"]),
        fields=TWILIO_FIELDS,
    )
    def examples(path: str, fields: dict[str, str]) -> None:
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", fields)
        headers = {"X-Twilio-Signature": signature}
        fuzz.send(lambda: client.post(path, data=fields, headers=headers))

    examples()
    fuzz.answered(200, 400)


EVENT = st.fixed_dictionaries(
    {"sg_event_id": nasty, "event": st.sampled_from(["delivered", "open", "bounce"]) | nasty},
    optional={
        "email": nasty,
        "message_ref": nasty,
        "timestamp": st.integers() | st.floats() | nasty,
        "type": nasty,
        "status": nasty,
        "reason": nasty,
    },
)


def test_sendgrid_event_batches_signed_by_sendgrid_never_fail(
    client: TestClient, fuzz: Fuzz, lead: CaptureResult
) -> None:
    @BUDGET
    @given(batch=st.lists(EVENT | json_values, max_size=6) | json_values)
    def examples(batch: Any) -> None:
        body = json.dumps(batch).encode()
        headers = SIGNER.headers(body, utcnow())
        fuzz.send(lambda: client.post("/webhooks/sendgrid/events", content=body, headers=headers))

    examples()
    fuzz.answered(200, 400)


INBOUND_FIELDS = st.fixed_dictionaries(
    {"from": nasty | st.just("Dana <dana@example.com>"), "text": nasty},
    optional={"to": nasty, "subject": nasty, "headers": nasty, "charsets": nasty},
)


def test_sendgrid_inbound_parse_posts_with_the_right_credentials_never_fail(
    client: TestClient, fuzz: Fuzz, lead: CaptureResult
) -> None:
    auth = base64.b64encode(f"{INBOUND_USER}:{INBOUND_PASSWORD}".encode()).decode()

    @BUDGET
    @given(fields=INBOUND_FIELDS)
    def examples(fields: dict[str, str]) -> None:
        files = {name: (None, value) for name, value in fields.items()}
        headers = {"Authorization": f"Basic {auth}"}
        fuzz.send(lambda: client.post("/webhooks/sendgrid/inbound", files=files, headers=headers))

    examples()
    fuzz.answered(200, 400)
