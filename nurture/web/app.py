"""The public web tier: article pages, lead capture, message links and /healthz.

Run it with `uvicorn --factory nurture.web.app:create_app`. It writes rows only and
never talks to the broker: the dispatcher finds the new enrollments by their due time.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from nurture.clock import anchored_clock
from nurture.config import get_settings
from nurture.db import get_sessionmaker
from nurture.telemetry.counters import counter_store
from nurture.web import (
    access_log,
    api,
    booking,
    confirm,
    health,
    metrics,
    preferences,
    public,
    short_links,
    webhooks_sendgrid,
    webhooks_sendgrid_inbound,
    webhooks_twilio,
)
from nurture.web.admin import (
    bookings as admin_bookings,
)
from nurture.web.admin import (
    campaign_editor as admin_campaign_editor,
)
from nurture.web.admin import (
    campaigns as admin_campaigns,
)
from nurture.web.admin import (
    clinic as admin_clinic,
)
from nurture.web.admin import (
    inbox as admin_inbox,
)
from nurture.web.admin import (
    lead_import as admin_lead_import,
)
from nurture.web.admin import (
    leads as admin_leads,
)
from nurture.web.admin import (
    results as admin_results,
)
from nurture.web.admin import routes as admin_routes
from nurture.web.admin import (
    staff as admin_staff,
)
from nurture.web.admin import (
    webhooks as admin_webhooks,
)
from nurture.web.admin.auth import register_access_errors
from nurture.web.api_schema import public_openapi
from nurture.web.body_limits import BodyLimits
from nurture.web.errors import register_error_pages
from nurture.web.headers import SecurityHeaders
from nurture.web.pages import make_templates
from nurture.web.shedding import LoadShedding
from nurture.web.throttle import Throttle, throttle_storage


def create_app() -> FastAPI:
    """The ASGI app, configured from the process settings."""
    settings = get_settings()
    # The lead-capture API is documented at /api/openapi.json; nothing else is in it, and
    # no interactive docs page (third-party scripts) is served on the patients' site.
    app = FastAPI(title="Nurture", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.openapi = lambda: public_openapi(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.templates = make_templates(settings)
    app.state.clock = anchored_clock(get_sessionmaker(), settings.time_scale)
    app.state.counters = counter_store(settings.celery_broker_url)
    app.state.throttle = Throttle(throttle_storage(settings.celery_broker_url))
    static = StaticFiles(directory=settings.templates_dir / "web" / "static")
    app.mount("/static", static, name="static")
    for module in (
        public,
        api,
        preferences,
        short_links,
        booking,
        confirm,
        health,
        metrics,
        webhooks_sendgrid,
        webhooks_sendgrid_inbound,
        webhooks_twilio,
        admin_routes,
        admin_campaigns,
        admin_campaign_editor,
        admin_leads,
        admin_lead_import,
        admin_inbox,
        admin_bookings,
        admin_clinic,
        admin_results,
        admin_staff,
        admin_webhooks,
    ):
        app.include_router(module.router, include_in_schema=module is api)
    # The front desk's calendar feed sits outside /admin: calendar apps send no cookie.
    app.include_router(admin_bookings.feed_router, include_in_schema=False)
    register_error_pages(app)
    access_log.install()  # link tokens never reach the access log
    register_access_errors(app)
    # Outermost last: headers on every answer, then shedding (the cheapest refusal),
    # then body limits, so neither a flood nor a huge body reaches a route.
    app.add_middleware(BodyLimits)
    app.add_middleware(
        LoadShedding,
        max_active=settings.web_max_active,
        max_wait=settings.web_max_wait_seconds,
    )
    app.add_middleware(SecurityHeaders)
    return app
