"""Mail through the outbox, delivered to a real SMTP server (aiosmtpd) and read back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar

from events_app import events, outbox, registration
from events_app.events import SessionSpec
from events_app.models import OutboxMessage, OutboxState
from events_app.registration import Applicant
from tests.helpers import both_databases, make_event

BERLIN = "Europe/Berlin"


def at(day: int, hour: int, month: int = 11, year: int = 2031) -> datetime:
    """A UTC time (November: Berlin is UTC+1)."""
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


def parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def attached_calendar(message) -> icalendar.Calendar | None:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_payload(decode=True))
    return None


async def course(**overrides):
    sessions = [SessionSpec(at(3 + 7 * week, 17), at(3 + 7 * week, 19)) for week in range(3)]
    values = {"kind": "course", "title": "Schwimmkurs für Frauen", "capacity": 2, "location": "Hallenbad Ost",
              "sessions": sessions}
    values.update(overrides)
    return await make_event(**values)


async def test_confirmation_has_both_parts_dates_link_and_calendar(db, smtp_settings, smtp_server):
    event = await course()
    outcome = await registration.register(event_id=event.id, applicant=Applicant(
        name="Amina K.", email="amina@example.org"))
    report = await outbox.deliver_due(smtp_settings)
    assert report.sent == 1
    [message] = smtp_server.to("amina@example.org")
    assert message["To"] == "amina@example.org"
    print(message)
