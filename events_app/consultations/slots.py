"""Consultation hours: bookable slots made from a weekly pattern, in local (Europe/Berlin) time.

The organiser says "Tuesdays 10:00-12:00, 20 minutes, from 3 March to 30 June, not on these days";
each slot's local wall-clock time is turned into UTC on its own date, so slots stay at 10:00 local
time across the change to and from summer time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.models import ConsultationSlot, Event, EventKind, SlotBooking, User
from events_app.seats.seating import event_lock
from events_app.core.timeutil import FIRST_YEAR, LAST_YEAR

#: A pattern may span at most this many days and make at most this many slots at once.
MAX_DAYS = 366
MAX_SLOTS = 2000
MIN_MINUTES = 5


@dataclass(frozen=True)
class Pattern:
    """A weekly pattern: ISO weekday (1 = Monday), local start and end, slot length, first and last date."""

    weekday: int
    start: time
    end: time
    minutes: int
    first: date
    last: date
    skip: frozenset[date] = frozenset()


def _time(value) -> time:
    text = str(value or "").strip()
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(N_("Please enter a time like 10:00."))
    try:
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(N_("Please enter a time like 10:00.")) from None


def _date(value) -> date:
    try:
        day = date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValueError(N_("Please enter a date like 2026-03-03.")) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # far dates overflow once shifted to UTC
        raise ValueError(N_("Please enter a date like 2026-03-03."))
    return day


def check_pattern(data: dict) -> Pattern:
    """The pattern from form or JSON values, or ValidationFailed with a message per field."""
    problems: dict[str, str] = {}
    values: dict = {}
    weekday = data.get("weekday")
    if isinstance(weekday, bool) or str(weekday).strip() not in {str(n) for n in range(1, 8)}:
        problems["weekday"] = N_("Please choose a weekday (1 = Monday to 7 = Sunday).")
    else:
        values["weekday"] = int(str(weekday).strip())
    for name in ("start", "end"):
        try:
            values[name] = _time(data.get(name))
        except ValueError as exc:
            problems[name] = str(exc)
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not (str(minutes).strip().isascii() and str(minutes).strip().isdigit()) or not (
            MIN_MINUTES <= int(str(minutes).strip()) <= 480):
        problems["minutes"] = N_("Please enter a slot length between 5 and 480 minutes.")
    else:
        values["minutes"] = int(str(minutes).strip())
    for name in ("first", "last"):
        try:
            values[name] = _date(data.get(name))
        except ValueError as exc:
            problems[name] = str(exc)
    skip_raw = data.get("skip") or []
    if isinstance(skip_raw, str):
        skip_raw = [part for part in skip_raw.replace(",", " ").split() if part]
    skip: set[date] = set()
    if not isinstance(skip_raw, list):
        problems["skip"] = N_("Please enter the dates to skip like 2026-03-03.")
    else:
        for item in skip_raw:
            try:
                skip.add(_date(item))
            except ValueError:
                problems["skip"] = N_("Please enter the dates to skip like 2026-03-03.")
    if "start" in values and "end" in values and values["end"] <= values["start"]:
        problems["end"] = N_("The end must be after the start.")
    if "first" in values and "last" in values:
        if values["last"] < values["first"]:
            problems["last"] = N_("The last date must not be before the first.")
        elif (values["last"] - values["first"]).days > MAX_DAYS:
            problems["last"] = N_("A pattern can cover at most one year.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return Pattern(skip=frozenset(skip), **values)


def plan(pattern: Pattern, *, timezone: str) -> list[tuple[datetime, datetime]]:
    """The slots a pattern makes, as (start, end) in UTC; nothing is stored (the form's preview)."""
    zone = ZoneInfo(timezone)
    slots: list[tuple[datetime, datetime]] = []
    day = pattern.first + timedelta(days=(pattern.weekday - pattern.first.isoweekday()) % 7)
    length = timedelta(minutes=pattern.minutes)
    while day <= pattern.last:
        if day not in pattern.skip:
            start = datetime.combine(day, pattern.start)
            end_of_hours = datetime.combine(day, pattern.end)
            while start + length <= end_of_hours:
                # wall-clock arithmetic first, then the zone: 10:20 stays 10:20 on a day of a time change
                slots.append((start.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")),
                              (start + length).replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))))
                start += length
                if len(slots) > MAX_SLOTS:
                    raise errors.ValidationFailed(fields={"minutes": N_("This pattern makes too many slots.")})
        day += timedelta(days=7)
    return slots


async def create_slots(*, event_id: int, pattern: Pattern, timezone: str, by: User | None = None
                       ) -> list[ConsultationSlot]:
    """Store the pattern's slots under the event lock; a slot that exists already (same start) is kept as it is."""
    planned = plan(pattern, timezone=timezone)
    async with event_lock(event_id) as (conn, event):
        if event.kind != EventKind.CONSULTATION:
            raise errors.NotConsultation()
        existing = set(await ConsultationSlot.filter(event_id=event_id).using_db(conn).values_list(
            "starts_at", flat=True))
        existing = {value.timestamp() for value in existing}
        new = [ConsultationSlot(event_id=event_id, starts_at=start, ends_at=end)
               for start, end in planned if start.timestamp() not in existing]
        if new:
            await ConsultationSlot.bulk_create(new, using_db=conn)
        await audit.record("slots.created", user=by, event_id=event_id, conn=conn, count=len(new),
                           weekday=pattern.weekday, first=pattern.first.isoformat(), last=pattern.last.isoformat())
        starts = [slot.starts_at for slot in new]
        return list(await ConsultationSlot.filter(event_id=event_id, starts_at__in=starts).using_db(conn)) if starts else []


@dataclass(frozen=True)
class SlotView:
    slot: ConsultationSlot
    free: bool


async def list_slots(*, event_id: int, since: datetime | None = None) -> list[SlotView]:
    """The event's slots (from `since` on) with whether each is free; nothing about who booked."""
    query = ConsultationSlot.filter(event_id=event_id)
    if since is not None:
        query = query.filter(starts_at__gte=since)
    slots = await query.order_by("starts_at", "id")
    held = set(await SlotBooking.filter(event_id=event_id, held_slot__not_isnull=True).values_list(
        "held_slot", flat=True))
    return [SlotView(slot=slot, free=slot.id not in held) for slot in slots]


async def consultation_event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    if event.kind != EventKind.CONSULTATION:
        raise errors.NotConsultation()
    return event
