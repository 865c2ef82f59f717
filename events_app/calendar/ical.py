"""Events as iCalendar (RFC 5545): pure functions from loaded events to bytes, built with icalendar.

No database and no web here: callers pass events with their sessions loaded (feeds in
`feeds.py`, mail attachments in the mail module), so the same code makes every calendar.

Choices, so that Outlook, Thunderbird, Google and Apple Calendar keep a correct copy:

- **One VEVENT per session.** A course's eight dates are eight VEVENTs, not one VEVENT with
  RDATEs: a single date can be moved or cancelled on its own (its own SEQUENCE and STATUS),
  which RDATE/EXDATE handling gets wrong in several clients.
- **Stable UID** `event-<event id>-session-<session id>@<host of EVENTS_BASE_URL>`, the same in
  every feed and in mail attachments, so a client never shows a date twice.
- **SEQUENCE** = event.sequence + session.sequence; both only ever grow (`events.py` raises them
  on every change of time, place or status), so the sum grows with every such change. A person's
  own calendar (personal feed, mail attachments) adds registration.sequence, raised on every change
  of the registration's status (`registration.set_status`): waiting, offered, confirmed, cancelled.
- **DTSTAMP = LAST-MODIFIED** = the latest of the event's and the session's last change (and, in a
  person's own calendar, of the registration's status). The bytes are then a function of the data
  alone: two downloads of an unchanged feed are identical, which is what a strong ETag promises.
- **Cancelled** events and dates stay in feeds with STATUS:CANCELLED (and "Cancelled:" before the
  title, for clients that ignore STATUS) until they are a while in the past, so subscribed clients
  remove them instead of keeping a date that no longer happens.
- Times carry `TZID=Europe/Berlin` and the calendar gets a VTIMEZONE covering only the dates in it
  (`add_missing_timezones(first, last)`), so a date on the day clocks change keeps its wall time.
- Only public facts: title, description, place, link. Never attendee names or seat counts. A
  confidential meeting point (women's courses) appears only when the caller says the reader may
  see it (a confirmed participant's own calendar).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

from events_app.core import i18n, urls
from events_app.core.errors import N_
from events_app.core.models import EventStatus, RegistrationStatus, SessionStatus

PRODID = "-//Integrationsbuero Giessen//events_app//DE"

#: Where a registration stands, as the STATUS of its dates in the person's own calendar.
_REGISTRATION_STATUS = {
    RegistrationStatus.CONFIRMED: "CONFIRMED",
    RegistrationStatus.OFFERED: "TENTATIVE",
    RegistrationStatus.WAITLISTED: "TENTATIVE",
    RegistrationStatus.PENDING: "TENTATIVE",
    RegistrationStatus.CANCELLED: "CANCELLED",
    RegistrationStatus.EXPIRED: "CANCELLED",
}


@dataclass(frozen=True)
class Audience:
    """Who reads the calendar, which decides what it may show.

    `show_confidential_location`: the reader may see a confidential meeting point.
    `registration_status`: the reader's own registration, for a personal calendar (else None).
    `registration_sequence`, `registration_changed`: its sequence and last change of status, which
    a personal calendar adds to each date's SEQUENCE and LAST-MODIFIED.
    """

    show_confidential_location: bool = False
    registration_status: RegistrationStatus | None = None
    registration_sequence: int = 0
    registration_changed: datetime | None = None


PUBLIC = Audience()


def registrant_audience(registration, *, by_mail: bool = False) -> Audience:
    """A registrant's own calendar: the confidential meeting point only once confirmed and the contact
    verified (core/contact.py); a mail attachment goes to the address itself, so there confirmed is enough."""
    status = RegistrationStatus(registration.status)
    verified = by_mail or getattr(registration, "contact_verified_at", None) is not None
    return Audience(show_confidential_location=status == RegistrationStatus.CONFIRMED and verified,
                    registration_status=status,
                    registration_sequence=registration.sequence,
                    registration_changed=registration.status_changed_at)


def session_uid(event_id: int, session_id: int, base_url: str) -> str:
    """The UID of one date of an event: the same in every feed, download and mail attachment."""
    return f"event-{event_id}-session-{session_id}@{urls.site_host(base_url)}"


def localized_text(event, language: str) -> tuple[str, str]:
    """Title and description in the language, falling back to German (the columns)."""
    texts = (event.translations or {}).get(language) or {}
    return texts.get("title") or event.title, texts.get("description") or event.description


def _status(event, session, audience: Audience) -> str:
    if event.status == EventStatus.CANCELLED or session.status == SessionStatus.CANCELLED:
        return "CANCELLED"
    if audience.registration_status is not None:
        return _REGISTRATION_STATUS[audience.registration_status]
    return "CONFIRMED"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def session_vevent(event, session, *, language: str, base_url: str, timezone: str = "Europe/Berlin",
                   audience: Audience = PUBLIC) -> icalendar.Event:
    """One date of an event as a VEVENT."""
    zone = _zone(timezone)
    title, description = localized_text(event, language)
    status = _status(event, session, audience)
    url = urls.event_page(base_url, event.id)
    if status == "CANCELLED":
        title = i18n.gettext(language, N_("Cancelled: %(title)s"), title=title)
    changed = max(event.updated_at, session.updated_at, audience.registration_changed or session.updated_at)
    text = f"{description.strip()}\n\n{url}" if description.strip() else url

    vevent = icalendar.Event()
    vevent.add("uid", session_uid(event.id, session.id, base_url))
    vevent.add("dtstamp", changed)
    vevent.add("last-modified", changed)
    vevent.add("sequence", event.sequence + session.sequence + audience.registration_sequence)
    vevent.add("dtstart", session.starts_at.astimezone(zone))
    vevent.add("dtend", session.ends_at.astimezone(zone))
    vevent.add("summary", title)
    vevent.add("description", text)
    if event.location and (not event.location_confidential or audience.show_confidential_location):
        vevent.add("location", event.location)
    vevent.add("url", url)
    vevent.add("status", status)
    return vevent


def build_calendar(pairs: Iterable[tuple[object, object]], *, name: str, language: str, base_url: str,
                   timezone: str = "Europe/Berlin", audience: Audience = PUBLIC) -> bytes:
    """(event, session) pairs as one VCALENDAR, METHOD:PUBLISH, with a VTIMEZONE for their dates."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", " ".join(name.split()))  # one line: clients show it as a label
    calendar.add("x-wr-timezone", timezone)
    first: date | None = None
    last: date | None = None
    for event, session in pairs:
        calendar.add_component(session_vevent(event, session, language=language, base_url=base_url,
                                              timezone=timezone, audience=audience))
        if first is None or session.starts_at.date() < first:
            first = session.starts_at.date()
        if last is None or session.ends_at.date() > last:
            last = session.ends_at.date()
    if first is not None and last is not None:
        # a day of margin each side: the UTC date can differ from the local date
        calendar.add_missing_timezones(first - timedelta(days=1), last + timedelta(days=2))
    return calendar.to_ical()


def event_ics(event, *, language: str, base_url: str, timezone: str = "Europe/Berlin",
              audience: Audience = PUBLIC) -> bytes:
    """A single event with all its dates: the download on the event page and the mail attachment.

    `event.sessions` must be loaded (e.g. `events.get_event` or `prefetch_related("sessions")`).
    For a mail to a registrant use `registration_ics`.
    """
    title, _ = localized_text(event, language)
    return build_calendar(((event, session) for session in event.sessions), name=title, language=language,
                          base_url=base_url, timezone=timezone, audience=audience)


def registration_ics(event, registration, *, base_url: str, timezone: str = "Europe/Berlin") -> bytes:
    """The attachment for a mail to a registrant: their event, in their language, as they may see it.

    The meeting point is shown only to confirmed registrations; the dates are TENTATIVE while the
    person waits and CANCELLED once the registration is cancelled or the offer expired.
    """
    audience = registrant_audience(registration, by_mail=True)
    language = registration.language if registration.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return event_ics(event, language=language, base_url=base_url, timezone=timezone, audience=audience)


def calendar_name(language: str, *, kind_label: str | None = None) -> str:
    """X-WR-CALNAME of the public feeds, in the feed's language."""
    if kind_label:
        return i18n.gettext(language, N_("Integration office Gießen: %(kind)s"),
                            kind=i18n.gettext(language, kind_label))
    return i18n.gettext(language, N_("Integration office Gießen: events"))


#: Names of the kinds of event, for per-kind feeds.
KIND_LABELS = {
    "reception": N_("Receptions"),
    "workshop": N_("Workshops"),
    "festival": N_("Festivals"),
    "course": N_("Courses"),
    "tour": N_("Tours"),
    "consultation": N_("Consultation hours"),
}


def booking_uid(booking_id: int, base_url: str) -> str:
    """The UID of a booked consultation slot: the same in every mail about it and on its page."""
    return f"booking-{booking_id}@{urls.site_host(base_url)}"


def appointment_ics(*, uid: str, title: str, starts_at: datetime, ends_at: datetime, location: str,
                    url: str, changed: datetime, sequence: int = 0, cancelled: bool = False,
                    timezone: str = "Europe/Berlin") -> bytes:
    """One personal appointment (a booked consultation slot) as a VCALENDAR with one VEVENT."""
    zone = _zone(timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", uid)
    vevent.add("dtstamp", changed)
    vevent.add("last-modified", changed)
    vevent.add("sequence", sequence)
    vevent.add("dtstart", starts_at.astimezone(zone))
    vevent.add("dtend", ends_at.astimezone(zone))
    vevent.add("summary", title)
    if location:
        vevent.add("location", location)
    vevent.add("url", url)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(vevent)
    calendar.add_missing_timezones(starts_at.date() - timedelta(days=1), ends_at.date() + timedelta(days=2))
    return calendar.to_ical()
