"""The retention job: every event past its retention period loses its people's personal data.

An event's period is `Event.retention_days` (or EVENTS_RETENTION_DAYS when it has none) counted from
its last date. The worker runs the job once a day; `events-app purge [--dry-run]` runs it now. It
also clears the names kept for certificate verification after EVENTS_CERTIFICATE_RETENTION_DAYS and
drops throttling records of wrong RSVP codes older than a day.

On SQLite, deleted and overwritten values would linger in free pages and in the write-ahead log:
the job turns `secure_delete` on, then rewrites the file (VACUUM) and empties the log. PostgreSQL
keeps old row versions until VACUUM reuses their space (docs/operations.md says what to run).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from tortoise import Tortoise
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from events_app.core.models import (AuditEntry, Certificate, Event, EventSession, Invitation, OutboxMessage,
                                    PartnerApplication, Registration, SlotBooking, ThrottleCounter)
from events_app.core.settings import Settings
from events_app.core.timeutil import utcnow
from events_app.privacy import anonymise
from events_app.privacy.anonymise import Removal

log = logging.getLogger(__name__)
#: Set when compacting failed, so the next run compacts even if it removes nothing.
_compaction_due = False
#: Uploaded invitee lists are deleted a day after upload (the import page keeps them between preview and import).
UPLOAD_KEEP_SECONDS = 24 * 3600


def period_days(event: Event, settings: Settings) -> int:
    return event.retention_days if event.retention_days is not None else settings.retention_days


async def due_events(settings: Settings, now: datetime) -> list[Event]:
    """Events whose last date plus their retention period lies before `now`."""
    last_dates: dict[int, datetime] = {}
    for event_id, ends_at in await EventSession.all().values_list("event_id", "ends_at"):
        if event_id not in last_dates or ends_at > last_dates[event_id]:
            last_dates[event_id] = ends_at
    events = await Event.filter(id__in=list(last_dates)) if last_dates else []
    return [event for event in events
            if last_dates[event.id] + timedelta(days=period_days(event, settings)) <= now]


async def _event(event: Event, *, now: datetime, dry_run: bool) -> Removal:
    removal = Removal()
    async with in_transaction() as conn:
        found = await Registration.filter(event_id=event.id, anonymised_at__isnull=True).using_db(conn)
        await anonymise.registrations(conn, found, now=now, removal=removal, dry_run=dry_run)
        invited = await Invitation.filter(event_id=event.id, anonymised_at__isnull=True).using_db(conn)
        await anonymise.invitations(conn, invited, now=now, removal=removal, dry_run=dry_run)
        await anonymise.bookings(conn, await SlotBooking.filter(event_id=event.id).using_db(conn),
                                 removal=removal, dry_run=dry_run)
        await anonymise.partners(conn, await PartnerApplication.filter(event_id=event.id).using_db(conn),
                                 removal=removal, dry_run=dry_run)
        registration_ids = await Registration.filter(event_id=event.id).using_db(conn).values_list("id", flat=True)
        await anonymise.mails(conn, OutboxMessage.filter(Q(event_id=event.id) | Q(registration_id__in=list(
            registration_ids) or [0])), removal=removal, dry_run=dry_run)
        await anonymise.audit_entries(conn, AuditEntry.filter(event_id=event.id), removal=removal, dry_run=dry_run)
        if not dry_run and event.anonymised_at is None:
            await Event.filter(id=event.id).using_db(conn).update(anonymised_at=now)
    removal.event_ids.add(event.id)
    return removal


async def _certificate_details(settings: Settings, now: datetime, *, dry_run: bool) -> int:
    """Past the certificate period the verification page says only that the certificate existed."""
    query = Certificate.filter(details_deleted_at__isnull=True,
                               issued_at__lte=now - timedelta(days=settings.certificate_retention_days))
    if dry_run:
        return await query.count()
    return await query.update(holder_name="", details_deleted_at=now)


def _old_uploads(settings: Settings, *, dry_run: bool) -> int:
    folder = settings.var_dir / "imports"
    if not folder.is_dir():
        return 0
    cutoff = time.time() - UPLOAD_KEEP_SECONDS
    old = [path for path in folder.iterdir() if path.is_file() and path.stat().st_mtime < cutoff]
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return len(old)


async def compact(settings: Settings) -> None:
    """Make sure removed values are gone from the database files, not only from its tables."""
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_script("VACUUM")
        await conn.execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        for table in ("registration", "invitation", "outbox_message", "audit_entry", "certificate"):
            await conn.execute_script(f"VACUUM ANALYZE {table}")


async def secure_delete_on() -> None:
    """SQLite overwrites deleted content with zeros from here on (this connection)."""
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "sqlite":
        await conn.execute_script("PRAGMA secure_delete = ON")


async def purge(settings: Settings, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Run the retention job; returns the rows and files removed (or, with dry_run, that would be) per table."""
    now = now or utcnow()
    if not dry_run:
        await secure_delete_on()
    total = Removal()
    for event in await due_events(settings, now):
        total.merge(await _event(event, now=now, dry_run=dry_run))
    anonymise.files(settings.var_dir, total, dry_run=dry_run)
    total.add("certificate", await _certificate_details(settings, now, dry_run=dry_run))
    # throttle counters hold only hashes, and only until their window ends
    expired = ThrottleCounter.filter(expires_at__lt=now.timestamp())
    total.add("throttle_counter", await expired.count() if dry_run else await expired.delete())
    total.add("var/imports", _old_uploads(settings, dry_run=dry_run))
    global _compaction_due
    if not dry_run and (total.counts or _compaction_due):
        try:
            await compact(settings)
            _compaction_due = False
        except Exception:  # e.g. a long reader held the file: the data is gone from the tables, compact next run
            log.exception("compacting the database after the retention job failed; the next run tries again")
            _compaction_due = True
    return dict(sorted(total.counts.items()))
