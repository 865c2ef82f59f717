"""Every public address, built in one place: mails, letters, certificates, calendars and pages use these.

`base_url` is `EVENTS_BASE_URL` (no trailing slash) for an absolute address, or "" for a path on this
site (a redirect, a link in a page). `web/routes.py` lists the same paths as routes;
`tests/test_urls.py` checks that every address built here is served by a route. A new feature's public
address (a newsletter's unsubscribe link, a consultation slot) is added here with its route.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from events_app.core.signing import verification_code

if TYPE_CHECKING:
    from events_app.core.models import Registration


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def site_host(base_url: str) -> str:
    """The site's host name: the right-hand side of calendar UIDs and Message-IDs."""
    return urlsplit(base_url).hostname or "localhost"


def webcal(url: str) -> str:
    """The subscribe form of a feed's address (webcal:// opens the calendar app instead of downloading)."""
    return "webcal://" + url.split("://", 1)[-1]


# --- events and calendars ------------------------------------------------------------------------

def event_list(base_url: str, **query: str) -> str:
    """The home page: upcoming events, a page at a time (`cursor` names the page)."""
    return f"{_base(base_url)}/" + (f"?{urlencode(query)}" if query else "")


def api_events(base_url: str, **query: str) -> str:
    """The API's list of upcoming events (`limit`, `cursor`)."""
    return f"{_base(base_url)}/api/v1/events" + (f"?{urlencode(query)}" if query else "")


def event_page(base_url: str, event_id: int) -> str:
    return f"{_base(base_url)}/events/{event_id}"


def event_calendar(base_url: str, event_id: int) -> str:
    """One event's dates as a calendar file (not drafts)."""
    return f"{_base(base_url)}/events/{event_id}.ics"


def public_calendar(base_url: str, kind: str = "") -> str:
    """The public feed of every listed event, or of one kind of event."""
    return f"{_base(base_url)}/calendar/{quote(kind)}.ics" if kind else f"{_base(base_url)}/calendar.ics"


def staff_calendar(base_url: str, feed_token: str) -> str:
    """A staff account's private feed (the token is its secret)."""
    return f"{_base(base_url)}/feeds/{feed_token}.ics"


# --- a registration (the manage link /r/{token} and what hangs off it) ---------------------------

def manage_page(base_url: str, manage_token: str, **query: str) -> str:
    """The registrant's own page: status, cancel, accept an offer, calendar, certificate."""
    return f"{_base(base_url)}/r/{manage_token}" + (f"?{urlencode(query)}" if query else "")


def registration_calendar(base_url: str, manage_token: str) -> str:
    return f"{_base(base_url)}/r/{manage_token}/calendar.ics"


def own_certificate(base_url: str, manage_token: str) -> str:
    """The participant's certificate of participation (PDF)."""
    return f"{_base(base_url)}/r/{manage_token}/certificate.pdf"


def verification_link(base_url: str, registration: Registration, *, secret_key: str) -> str:
    """The link in the `verify_email` mail: the manage link plus a signed code bound to the address.

    The manage link alone cannot verify: it is shown on screen.
    """
    code = verification_code(registration_id=registration.id, email=registration.email, secret_key=secret_key)
    return f"{_base(base_url)}/r/{registration.manage_token}/verify?{urlencode({'code': code})}"


def certificate_check(base_url: str, serial: str) -> str:
    """Where anyone can check that a certificate is genuine (printed on it as text and QR code)."""
    return f"{_base(base_url)}/certificates/{quote(serial)}"


def checkin_link(base_url: str, registration: Registration) -> str:
    """The address a confirmation's QR code carries: door staff scan it with the phone's camera."""
    return f"{_base(base_url)}/admin/checkin/{registration.event_id}?{urlencode({'token': registration.checkin_token})}"


# --- receptions ----------------------------------------------------------------------------------

def rsvp_form(base_url: str) -> str:
    """Where an invitee types the code from the letter."""
    return f"{_base(base_url)}/rsvp"


def rsvp_page(base_url: str, invitation_token: str, **query: str) -> str:
    """An invitation's own answer page (the link in its mail and the QR code in its letter)."""
    return f"{_base(base_url)}/rsvp/{invitation_token}" + (f"?{urlencode(query)}" if query else "")


# --- consultation hours and festival partners ----------------------------------------------------

def booking_page(base_url: str, manage_token: str, **query: str) -> str:
    """A consultation booking's own page (see and cancel)."""
    return f"{_base(base_url)}/b/{manage_token}" + (f"?{urlencode(query)}" if query else "")


def booking_calendar(base_url: str, manage_token: str) -> str:
    """The booked appointment as a calendar file (phone-only bookings get no mail with it)."""
    return f"{_base(base_url)}/b/{manage_token}/calendar.ics"


def partner_page(base_url: str, manage_token: str, **query: str) -> str:
    """A festival partner's application page (status, withdraw)."""
    return f"{_base(base_url)}/p/{manage_token}" + (f"?{urlencode(query)}" if query else "")


def partner_application_form(base_url: str, event_id: int) -> str:
    """Where associations apply for a festival stand."""
    return f"{_base(base_url)}/events/{event_id}/partners"


# --- subscriptions (newsletter and announcements) -------------------------------------------------

def subscription_confirmation(base_url: str, subscription_token: str) -> str:
    """The double opt-in link: a page with a button (a GET confirms nothing)."""
    return f"{_base(base_url)}/subscriptions/{subscription_token}/confirm"


def unsubscribe(base_url: str, subscription_token: str) -> str:
    """In every announcement and newsletter, and in its List-Unsubscribe header (RFC 8058 one-click POST)."""
    return f"{_base(base_url)}/unsubscribe/{subscription_token}"
