"""Reminder mails a configurable time before an event (EVENTS_REMINDER_HOURS, default 48).

Each confirmed registration gets one reminder before the event's first date. `reminded_at` is
set by a conditional update in the same transaction as the outbox row, so two workers running
this at once still queue one reminder per person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from events_app.core.models import EventSession, EventStatus, Registration, RegistrationStatus, SessionStatus
from events_app.mail.outbox import queue_mail
from events_app.core.timeutil import utcnow


async def queue_due_reminders(*, hours: int, now: datetime | None = None) -> int:
    """Queue reminders for events whose first date starts within `hours`; returns how many."""
    now = now or utcnow()
    window_end = now + timedelta(hours=hours)
    first_starts: dict[int, datetime] = {}
    for event_id, starts_at in await EventSession.filter(
            status=SessionStatus.SCHEDULED, event__status=EventStatus.SCHEDULED,
            starts_at__lte=window_end).values_list("event_id", "starts_at"):
        if event_id not in first_starts or starts_at < first_starts[event_id]:
            first_starts[event_id] = starts_at
    # a course whose first date has passed gets no reminder for its later dates
    upcoming = {event_id: start for event_id, start in first_starts.items() if start > now}
    if not upcoming:
        return 0
    candidates = await Registration.filter(event_id__in=list(upcoming), status=RegistrationStatus.CONFIRMED,
                                           reminded_at=None).exclude(email="")
    queued = 0
    for registration in candidates:
        starts_at = upcoming[registration.event_id]
        if registration.confirmed_at and registration.confirmed_at > starts_at - timedelta(hours=hours):
            continue  # confirmed inside the window: the confirmation itself is recent enough
        async with in_transaction() as conn:
            claimed = await Registration.filter(id=registration.id, reminded_at=None,
                                                status=RegistrationStatus.CONFIRMED).using_db(conn).update(
                reminded_at=now)
            if not claimed:
                continue
            await queue_mail(conn, template="reminder", recipient=registration.email,
                             language=registration.language,
                             context={"registration_id": registration.id, "event_id": registration.event_id},
                             registration_id=registration.id, event_id=registration.event_id)
            queued += 1
    return queued
