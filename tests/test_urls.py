"""Every address core/urls.py builds is served by a route in web/routes.py, so the two never drift apart."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from urllib.parse import urlsplit

from starlette.routing import Match

from events_app.core import urls
from events_app.web.routes import routes

BASE = "https://events.giessen.de"
REGISTRATION = SimpleNamespace(id=7, event_id=3, email="erika@giessen.de", manage_token="tok_abc",
                               checkin_token="chk_xyz")

BUILT = {
    "event_list": urls.event_list(BASE, cursor="abc"),
    "api_events": urls.api_events(BASE, limit="100", cursor="abc"),
    "event_page": urls.event_page(BASE, 3),
    "event_calendar": urls.event_calendar(BASE, 3),
    "public_calendar": urls.public_calendar(BASE),
    "public_calendar_kind": urls.public_calendar(BASE, "course"),
    "staff_calendar": urls.staff_calendar(BASE, "cal_secret"),
    "manage_page": urls.manage_page(BASE, "tok_abc", done="cancelled"),
    "registration_calendar": urls.registration_calendar(BASE, "tok_abc"),
    "own_certificate": urls.own_certificate(BASE, "tok_abc"),
    "verification_link": urls.verification_link(BASE, REGISTRATION, secret_key="k"),
    "certificate_check": urls.certificate_check(BASE, "TB-2026-0001"),
    "checkin_link": urls.checkin_link(BASE, REGISTRATION),
    "rsvp_form": urls.rsvp_form(BASE),
    "rsvp_page": urls.rsvp_page(BASE, "inv_token", done="accepted"),
    "booking_page": urls.booking_page(BASE, "book_token", new="1"),
    "booking_calendar": urls.booking_calendar(BASE, "book_token"),
    "partner_page": urls.partner_page(BASE, "partner_token", new="1"),
    "partner_application_form": urls.partner_application_form(BASE, 3),
    "subscription_confirmation": urls.subscription_confirmation(BASE, "sub_token"),
    "unsubscribe": urls.unsubscribe(BASE, "sub_token"),
}


def _served(path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in routes)


def test_every_built_address_is_a_route_of_the_site():
    not_served = {name: url for name, url in BUILT.items() if not _served(urlsplit(url).path)}
    assert not_served == {}
    assert all(url.startswith(BASE + "/") for url in BUILT.values())


def test_a_path_without_base_url_and_an_address_with_one_agree():
    assert urls.manage_page("", "tok_abc", new="1") == "/r/tok_abc?new=1"
    assert urls.manage_page(BASE + "/", "tok_abc") == BASE + "/r/tok_abc"
    assert urls.checkin_link(BASE, REGISTRATION) == BASE + "/admin/checkin/3?token=chk_xyz"
    assert urls.webcal(urls.public_calendar(BASE, "tour")) == "webcal://events.giessen.de/calendar/tour.ics"
    assert urls.site_host(BASE) == "events.giessen.de" and urls.site_host("") == "localhost"


def test_every_builder_is_checked_here():
    """A new address added to core/urls.py without a line in BUILT would escape the route check."""
    builders = {name for name, value in vars(urls).items() if inspect.isfunction(value)
                and value.__module__ == urls.__name__ and not name.startswith("_")}
    assert builders - set(BUILT) == {"site_host", "webcal"}


def test_the_route_check_catches_an_address_without_a_route():
    assert not _served("/r/tok_abc/nowhere")
