"""The organisers' optional daily digest: what changed in the last day, and mail that failed.

Off unless EVENTS_DIGEST_HOUR is set. From that local hour on, each active organiser and admin
gets one digest a day, and only when there is something to tell. The figures are computed when
the digest is queued and stored in the outbox row, so the mail says what was true at that hour.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from events_app.core.settings import Settings
from events_app.core.models import Event, EventStatus, OutboxMessage, OutboxState, Registration, RegistrationStatus, Role, User
from events_app.mail.outbox import queue_mail
from events_app.core.timeutil import utcnow

#: Failed mail is listed for this long (a message is retried for up to two days before it fails).
FAILED_WINDOW = timedelta(days=3)


async def digest_figures(*, since: datetime, now: datetime) -> dict:
    """Per event with activity since `since`: new, cancelled, confirmed seats, waiting; plus failed mail."""
    changed_ids = set(await Registration.filter(created_at__gte=since).values_list("event_id", flat=True))
    changed_ids |= set(await Registration.filter(cancelled_at__gte=since).values_list("event_id", flat=True))
    events = []
    for event in await Event.filter(id__in=changed_ids).order_by("id"):
        regs = await Registration.filter(event_id=event.id).values_list("status", "seats", "created_at",
                                                                       "cancelled_at")
        events.append({
            "id": event.id,
            "title": event.title,
            "cancelled": event.status == EventStatus.CANCELLED,
            "new": sum(1 for _, _, created, _ in regs if created >= since),
            "cancellations": sum(1 for _, _, _, cancelled in regs if cancelled and cancelled >= since),
            "seats_taken": event.seats_taken,
            "capacity": event.capacity,
            "waiting": sum(1 for status, _, _, _ in regs if RegistrationStatus(status) == RegistrationStatus.WAITLISTED),
        })
    failed = [
        {"recipient": recipient, "template": template, "error": error[:300], "event_id": event_id}
        for recipient, template, error, event_id in await OutboxMessage.filter(
            state=OutboxState.FAILED, created_at__gte=now - FAILED_WINDOW).exclude(
            template="digest").order_by("id").values_list("recipient", "template", "last_error", "event_id")
    ]
    return {"events": events, "failed": failed, "since": since.isoformat(), "until": now.isoformat()}


async def queue_daily_digest(settings: Settings, *, now: datetime | None = None) -> int:
    """Queue today's digest for each organiser who has not had it yet; returns how many were queued."""
    if settings.digest_hour < 0:
        return 0
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    if local.hour < settings.digest_hour:
        return 0
    # in UTC: SQLite compares stored times as text, so a +01:00 bound would be an hour off
    today_start = datetime.combine(local.date(), time(settings.digest_hour), tzinfo=zone).astimezone(timezone.utc)
    figures = await digest_figures(since=now - timedelta(days=1), now=now)
    if not figures["events"] and not figures["failed"]:
        return 0
    queued = 0
    organisers = await User.filter(active=True, role__in=[Role.ORGANISER, Role.ADMIN]).values_list("id", flat=True)
    for user_id in organisers:
        async with in_transaction() as conn:
            # the user's row lock serialises two workers deciding about the same digest
            user = await User.select_for_update().using_db(conn).get(id=user_id)
            if await OutboxMessage.filter(template="digest", recipient=user.email,
                                          created_at__gte=today_start).using_db(conn).exists():
                continue
            await queue_mail(conn, template="digest", recipient=user.email, language=settings.default_language,
                             context=figures)
            queued += 1
    return queued
