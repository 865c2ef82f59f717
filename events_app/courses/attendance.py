"""Attendance per date: who was there, recorded at the door or from a tick list afterwards.

Recording is idempotent (one row per person and date, the last tick wins), and cancelled dates
take no attendance: they count neither for nor against a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.models import Attendance, EventSession, Registration, RegistrationStatus, SessionStatus
from events_app.core.timeutil import utcnow


async def check_open_date(*, event_id: int, session_id: int, conn: BaseDBAsyncClient | None = None,
                          now: datetime | None = None) -> EventSession:
    """Attendance is recorded only on a date of the event itself that is not cancelled, and (with `now`)
    that has begun: nobody can have attended a date still to come, so no certificate rests on one."""
    session = await EventSession.get_or_none(id=session_id, event_id=event_id).using_db(conn)
    if session is None:
        raise errors.SessionNotFound()
    if session.status == SessionStatus.CANCELLED:
        raise errors.SessionCancelled()
    if now is not None and session.starts_at > now:
        raise errors.DateNotBegun(fields={"session_id": errors.DateNotBegun.title})
    return session


async def record(*, registration_id: int, session_id: int, present: bool, user_id: int | None = None,
                 now: datetime | None = None) -> Attendance:
    """Mark a confirmed participant present or absent on one (not cancelled) date of their event."""
    now = now or utcnow()
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        raise errors.RegistrationNotFound()
    await check_open_date(event_id=registration.event_id, session_id=session_id, now=now)
    if registration.status != RegistrationStatus.CONFIRMED:
        raise errors.NotAParticipant()
    values = {"present": present, "recorded_at": now, "recorded_by_id": user_id}
    try:
        async with in_transaction() as conn:
            return await set_presence(conn, registration_id=registration_id, session_id=session_id, present=present,
                                      user_id=user_id, now=now)
    except IntegrityError:  # a parallel tick created the row first: update it
        async with in_transaction() as conn:
            await Attendance.filter(registration_id=registration_id, session_id=session_id).using_db(conn).update(
                **values)
            return await Attendance.get(registration_id=registration_id, session_id=session_id).using_db(conn)


async def set_presence(conn: BaseDBAsyncClient, *, registration_id: int, session_id: int, present: bool,
                       user_id: int | None, now: datetime) -> Attendance:
    """Write presence inside the caller's transaction (the tick list, the API and the door's check-in)."""
    values = {"present": present, "recorded_at": now, "recorded_by_id": user_id}
    row, created = await Attendance.get_or_create(
        registration_id=registration_id, session_id=session_id, defaults=values, using_db=conn)
    if not created:
        await Attendance.filter(id=row.id).using_db(conn).update(**values)
        row.update_from_dict(values)
    return row


@dataclass(frozen=True)
class TickRow:
    """One line of a date's tick list."""

    registration: Registration
    present: bool | None  # None: not recorded yet


async def tick_list(*, event_id: int, session_id: int) -> list[TickRow]:
    """Confirmed participants of the event, by name, with what was recorded for this date."""
    await check_open_date(event_id=event_id, session_id=session_id)
    people = await Registration.filter(event_id=event_id, status=RegistrationStatus.CONFIRMED).order_by("name", "id")
    marks = dict(await Attendance.filter(session_id=session_id).values_list("registration_id", "present"))
    return [TickRow(person, marks.get(person.id)) for person in people]


async def save_tick_list(*, event_id: int, session_id: int, present: dict[int, bool], user_id: int,
                         now: datetime | None = None) -> int:
    """Record one date from the tick list, all or nothing: each listed participant present or absent.

    Rows that already say the same are left alone, so who recorded them (e.g. the door) stays visible.
    Returns how many rows changed.
    """
    now = now or utcnow()
    async with in_transaction() as conn:
        await check_open_date(event_id=event_id, session_id=session_id, conn=conn, now=now)
        participants = await Registration.filter(
            id__in=list(present), event_id=event_id, status=RegistrationStatus.CONFIRMED).using_db(conn).values_list(
            "id", flat=True)
        if set(participants) != set(present):
            raise errors.NotAParticipant()
        recorded = dict(await Attendance.filter(session_id=session_id).using_db(conn).values_list(
            "registration_id", "present"))
        changed = {rid: value for rid, value in present.items() if recorded.get(rid) != value}
        for registration_id, value in changed.items():
            await set_presence(conn, registration_id=registration_id, session_id=session_id, present=value,
                               user_id=user_id, now=now)
        ticked = sum(present.values())
        await audit.record("attendance.saved", user=user_id, event_id=event_id, conn=conn, session_id=session_id,
                           present=ticked, absent=len(present) - ticked, changed=len(changed))
        return len(changed)


async def marks(*, event_id: int) -> dict[tuple[int, int], bool]:
    """What was recorded for the event, keyed by (registration id, session id): present or absent."""
    rows = await Attendance.filter(registration__event_id=event_id).values_list(
        "registration_id", "session_id", "present")
    return {(registration_id, session_id): present for registration_id, session_id, present in rows}


@dataclass(frozen=True)
class AttendanceSummary:
    registration_id: int
    attended: int  # dates present, cancelled dates not counted
    countable: int  # dates of the event not cancelled
    attended_session_ids: tuple[int, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.attended / self.countable if self.countable else 0.0


async def summaries(*, event_id: int) -> dict[int, AttendanceSummary]:
    """Attendance of every registration of the event that has any, keyed by registration id."""
    countable = set(await EventSession.filter(event_id=event_id).exclude(status=SessionStatus.CANCELLED)
                    .values_list("id", flat=True))
    present: dict[int, list[int]] = {}
    rows = await Attendance.filter(registration__event_id=event_id, present=True).values_list(
        "registration_id", "session_id")
    for registration_id, session_id in rows:
        if session_id in countable:
            present.setdefault(registration_id, []).append(session_id)
    registration_ids = await Registration.filter(event_id=event_id).values_list("id", flat=True)
    return {rid: AttendanceSummary(rid, len(present.get(rid, [])), len(countable), tuple(sorted(present.get(rid, []))))
            for rid in registration_ids}
