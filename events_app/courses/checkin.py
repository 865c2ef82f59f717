"""Check-in at the door: who arrived (with how many companions), on which date of the event.

Every arrival belongs to a date (a single-date event's one date, too) and counts as attendance there.
Marking arrival twice changes nothing (one row per registration and date); undo removes it.
Only confirmed registrations can be checked in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from events_app.courses import attendance
from events_app.core import audit, errors
from events_app.core.models import (CheckIn, DoorAssignment, Event, EventSession, EventStatus, Registration,
                                    RegistrationStatus, Role, SessionStatus, User)
from events_app.core.timeutil import utcnow


async def may_check_in(user: User, event_id: int) -> bool:
    """Admins and organisers everywhere; door staff only at the events they are assigned to."""
    if user.role in (Role.ADMIN, Role.ORGANISER):
        return True
    return await DoorAssignment.filter(user_id=user.id, event_id=event_id).exists()


async def events_for(user: User, *, timezone: str, now: datetime | None = None) -> tuple[list[Event], list[Event]]:
    """The events this user may check people in at: (today's, the others), each by their date.

    The others run from the next date on, then the past ones (most recent first), so the door's list
    starts with what happens now and nobody scrolls past last year's events on a phone.
    """
    now = now or utcnow()
    query = Event.filter(status=EventStatus.SCHEDULED)
    if user.role == Role.DOOR:
        query = query.filter(id__in=await DoorAssignment.filter(user_id=user.id).values_list("event_id", flat=True))
    today, upcoming, past = [], [], []
    zone = ZoneInfo(timezone)
    for event in await query.prefetch_related("sessions"):
        session = current_session(list(event.sessions), now, timezone)
        if session is None:
            continue
        event.door_session = session
        if session.starts_at.astimezone(zone).date() == now.astimezone(zone).date():
            today.append(event)
        elif session.ends_at >= now:
            upcoming.append(event)
        else:
            past.append(event)
    today.sort(key=lambda e: e.door_session.starts_at)
    upcoming.sort(key=lambda e: e.door_session.starts_at)
    past.sort(key=lambda e: e.door_session.starts_at, reverse=True)
    return today, upcoming + past


def current_session(sessions: list[EventSession], now: datetime, timezone: str) -> EventSession | None:
    """Today's date of the event (local date), else the next one, else the last; None if all are cancelled.

    A single-date event's one date is chosen like any other: arriving there is attendance, too.
    Today's date stays chosen after it ended: door staff often tick the list once everyone has gone.
    """
    live = sorted((s for s in sessions if s.status == SessionStatus.SCHEDULED), key=lambda s: s.starts_at)
    if not live:
        return None
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    todays = [s for s in live if s.starts_at.astimezone(zone).date() == today]
    if todays:
        started = [s for s in todays if s.starts_at <= now]
        return started[-1] if started else todays[0]
    upcoming = [s for s in live if s.starts_at >= now]
    return upcoming[0] if upcoming else live[-1]


async def session_of(event_id: int, session_id: int | None, *, timezone: str) -> int:
    """The date to record against: the one asked for (a live date of the event) or today's."""
    sessions = await EventSession.filter(event_id=event_id, status=SessionStatus.SCHEDULED)
    if session_id and any(s.id == session_id for s in sessions):
        return session_id
    chosen = current_session(sessions, utcnow(), timezone)
    if chosen is None:
        raise errors.NoDateLeft()
    return chosen.id


async def check_in(*, event_id: int, registration_id: int, session_id: int, companions: int, by: User,
                   now: datetime | None = None) -> CheckIn:
    """Mark arrived on one date, which records attendance there (certificates count it).

    Again for the same person and date, even from two phones at the same moment, it only updates the
    companions: the unique (registration, session) pair lets one insert win, and the other finds its row.
    """
    now = now or utcnow()
    async with in_transaction() as conn:
        registration = await Registration.get_or_none(id=registration_id, event_id=event_id).using_db(conn)
        if registration is None or registration.status != RegistrationStatus.CONFIRMED:
            raise errors.NotCheckedIn()
        await attendance.check_open_date(event_id=event_id, session_id=session_id, conn=conn)
        companions = max(0, min(companions, registration.companions))
        row, created = await CheckIn.get_or_create(
            registration_id=registration_id, session_id=session_id, using_db=conn,
            defaults={"arrived_at": now, "companions_arrived": companions, "by_user_id": by.id})
        if not created:
            if row.companions_arrived != companions:
                row.companions_arrived = companions
                await row.save(using_db=conn, update_fields=["companions_arrived"])
            return row
        await attendance.set_presence(conn, registration_id=registration_id, session_id=session_id, present=True,
                                      user_id=by.id, now=now)
        await audit.record("checkin.arrived", user=by, event_id=event_id, conn=conn, registration_id=registration_id,
                           session_id=session_id)
        return row


async def undo(*, event_id: int, registration_id: int, session_id: int, by: User) -> bool:
    async with in_transaction() as conn:
        deleted = await CheckIn.filter(registration_id=registration_id, registration__event_id=event_id,
                                       session_id=session_id).using_db(conn).delete()
        if deleted:
            await attendance.set_presence(conn, registration_id=registration_id, session_id=session_id, present=False,
                                          user_id=by.id, now=utcnow())
            await audit.record("checkin.undone", user=by, event_id=event_id, conn=conn,
                               registration_id=registration_id, session_id=session_id)
        return bool(deleted)


async def by_token(*, event_id: int, token: str) -> Registration:
    registration = await Registration.get_or_none(checkin_token=token, event_id=event_id)
    if registration is None:
        raise errors.RegistrationNotFound()
    return registration


@dataclass
class DoorCounts:
    expected_people: int
    arrived_people: int
    expected_registrations: int
    arrived_registrations: int


async def arrivals(event_id: int, session_id: int) -> dict[int, CheckIn]:
    rows = await CheckIn.filter(registration__event_id=event_id, session_id=session_id)
    return {row.registration_id: row for row in rows}


async def counts(event_id: int, session_id: int) -> DoorCounts:
    confirmed = await Registration.filter(event_id=event_id, status=RegistrationStatus.CONFIRMED).values_list(
        "id", "seats")
    confirmed_ids = {reg_id for reg_id, _ in confirmed}
    arrived = [row for row in (await arrivals(event_id, session_id)).values() if row.registration_id in confirmed_ids]
    return DoorCounts(expected_people=sum(seats for _, seats in confirmed),
                      arrived_people=sum(1 + row.companions_arrived for row in arrived),
                      expected_registrations=len(confirmed), arrived_registrations=len(arrived))




