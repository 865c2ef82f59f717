"""Booking a consultation slot: never twice, and one slot per person and day.

Two guards, each enough on its own: the booking runs under the event lock (PostgreSQL row lock,
SQLite BEGIN IMMEDIATE) and reads before it writes; and the booking row carries the slot id and the
person's day while it holds them, in columns the database keeps unique (`held_slot`, `held_day`).
Cancelling clears both in the same statement, so the slot is free again at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from events_app.core import audit, errors, i18n
from events_app.core.errors import N_
from events_app.core.languages import language_key
from events_app.core.models import (Audience, BookingStatus, ConsultationSlot, Event, EventKind, EventStatus, SlotBooking,
                                    User, Visibility)
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, contact_from
from events_app.mail.outbox import queue_mail
from events_app.seats.seating import event_lock

#: How many free slots a "taken" answer suggests.
SUGGESTIONS = 3


@dataclass(frozen=True)
class Booker:
    """Who books: e-mail or phone (at least one), the language for mails, an interpreter's language if needed."""

    name: str
    email: str = ""
    phone: str = ""
    language: str = "de"
    interpreter_language: str = ""
    note: str = ""
    #: The person confirmed that she is a woman (consultation hours for women only).
    women_confirmed: bool = False


def check_booker(booker: Booker, *, women_only: bool = False) -> Booker:
    problems: dict[str, str] = {}
    if women_only and not booker.women_confirmed:
        problems["women_only"] = N_("Please confirm that you are a woman: this offer is for women only.")
    name = clean_text(booker.name, max_length=200)
    if not name:
        problems["name"] = N_("Please enter your name.")
    email, phone = contact_from(booker.email, booker.phone, problems)
    if not email and not phone and "email" not in problems and "phone" not in problems:
        problems["email"] = N_("Please enter an e-mail address or a phone number.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    language = booker.language if booker.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return Booker(name=name, email=email, phone=phone, language=language,
                  interpreter_language=language_key(booker.interpreter_language),
                  note=clean_text(booker.note, max_length=2000), women_confirmed=booker.women_confirmed)


def contact_key(email: str, phone: str) -> str:
    """The same person by e-mail (case-insensitive) or, without one, by the digits of the phone number."""
    if email:
        return email.casefold()
    digits = re.sub(r"\D", "", phone)
    return "+49" + digits[1:] if digits.startswith("0") and not digits.startswith("00") else "+" + digits.lstrip("0")


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def day_key(event_id: int, contact: str, day: date) -> str:
    return f"{event_id}:{day.isoformat()}:{contact}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def next_free(conn: BaseDBAsyncClient, event_id: int, *, after: datetime, limit: int = SUGGESTIONS
                    ) -> list[ConsultationSlot]:
    held = await SlotBooking.filter(event_id=event_id, held_slot__not_isnull=True).using_db(conn).values_list(
        "held_slot", flat=True)
    query = ConsultationSlot.filter(event_id=event_id, starts_at__gt=after).using_db(conn)
    if held:
        query = query.exclude(id__in=list(held))
    return list(await query.order_by("starts_at", "id").limit(limit))


def _slot_taken(slots: list[ConsultationSlot], timezone: str) -> errors.SlotTaken:
    zone = ZoneInfo(timezone)
    text = ", ".join(slot.starts_at.astimezone(zone).strftime("%d.%m.%Y %H:%M") for slot in slots)
    return errors.SlotTaken(next_free=[{"id": s.id, "starts_at": s.starts_at.isoformat(),
                                        "ends_at": s.ends_at.isoformat()} for s in slots], next_text=text)


def _mail_context(booking: SlotBooking, slot: ConsultationSlot, **extra) -> dict:
    return {"booking_id": booking.id, "name": booking.name, "starts_at": slot.starts_at.isoformat(),
            "ends_at": slot.ends_at.isoformat(), "token": booking.manage_token, "sequence": booking.sequence,
            "interpreter_language": booking.interpreter_language, **extra}


async def _tell(conn: BaseDBAsyncClient, booking: SlotBooking, slot: ConsultationSlot, template: str,
                **extra) -> None:
    await queue_mail(conn, template=template, recipient=booking.email, language=booking.language,
                     context=_mail_context(booking, slot, **extra), event_id=booking.event_id)


async def _check_free(conn: BaseDBAsyncClient, slot: ConsultationSlot, contact: str, *, timezone: str,
                      now: datetime, ignore_booking: int | None = None) -> str:
    """Raise when the slot is past or held, or the person holds another slot that day; returns the day key."""
    if slot.starts_at <= now:
        raise errors.SlotPast()
    key = day_key(slot.event_id, contact, local_day(slot.starts_at, timezone))
    holders = await SlotBooking.filter(Q(held_slot=slot.id) | Q(held_day=key)).exclude(
        id=ignore_booking or 0).using_db(conn)
    if any(holder.held_slot == slot.id for holder in holders):
        raise _slot_taken(await next_free(conn, slot.event_id, after=max(now, slot.starts_at)), timezone)
    if holders:
        raise errors.OneSlotPerDay()
    return key


async def _refused_by_database(slot: ConsultationSlot, key: str, timezone: str, now: datetime) -> errors.DomainError:
    """After a unique column refused the insert: which guarantee it was, as the error the person sees."""
    if await SlotBooking.filter(held_slot=slot.id).exists():
        async with in_transaction() as conn:
            return _slot_taken(await next_free(conn, slot.event_id, after=max(now, slot.starts_at)), timezone)
    if await SlotBooking.filter(held_day=key).exists():
        return errors.OneSlotPerDay()
    return errors.SlotTaken(next_free=[], next_text="")


def _check_event(event: Event, *, public: bool) -> None:
    if event.kind != EventKind.CONSULTATION or (public and event.visibility == Visibility.DRAFT):
        raise errors.SlotNotFound()
    if event.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()


async def book(*, slot_id: int, booker: Booker, timezone: str, by: User | None = None,
               now: datetime | None = None) -> SlotBooking:
    """Book one slot for a person (`by`: the organiser booking for someone on the phone, who asks
    the women-only question themselves)."""
    now = now or utcnow()
    slot = await ConsultationSlot.get_or_none(id=slot_id)
    if slot is None:
        raise errors.SlotNotFound()
    key = ""
    try:
        async with event_lock(slot.event_id) as (conn, event):
            _check_event(event, public=by is None)
            booker = check_booker(booker, women_only=by is None and event.audience == Audience.WOMEN)
            key = await _check_free(conn, slot, contact_key(booker.email, booker.phone), timezone=timezone, now=now)
            booking = await SlotBooking.create(
                slot_id=slot.id, event_id=slot.event_id, name=booker.name, email=booker.email, phone=booker.phone,
                language=booker.language, interpreter_language=booker.interpreter_language, note=booker.note,
                status=BookingStatus.BOOKED, held_slot=slot.id, held_day=key, manage_token=new_token(),
                booked_by_id=by.id if by else None, using_db=conn)
            await _tell(conn, booking, slot, "slot_booked")
            if by is not None:
                await audit.record("booking.added", user=by, event_id=slot.event_id, conn=conn, booking=booking.id)
    except IntegrityError:
        raise await _refused_by_database(slot, key, timezone, now) from None
    return booking


async def find_by_booking_token(token: str) -> SlotBooking:
    booking = await SlotBooking.get_or_none(manage_token=token).prefetch_related("slot", "event")
    if booking is None:
        raise errors.BookingNotFound()
    return booking


async def _release(conn: BaseDBAsyncClient, booking: SlotBooking, now: datetime) -> None:
    booking.status = BookingStatus.CANCELLED
    booking.held_slot = None
    booking.held_day = None
    booking.cancelled_at = now
    booking.sequence += 1
    await booking.save(using_db=conn, update_fields=["status", "held_slot", "held_day", "cancelled_at", "sequence"])


async def cancel(*, token: str | None = None, booking_id: int | None = None, by: User | None = None,
                 reason: str = "", now: datetime | None = None) -> SlotBooking:
    """Cancel by the person's link (`token`) or by an organiser (`booking_id`, `by`): the slot is free at once."""
    now = now or utcnow()
    found = await (SlotBooking.get_or_none(manage_token=token) if token else SlotBooking.get_or_none(id=booking_id))
    if found is None:
        raise errors.BookingNotFound()
    async with event_lock(found.event_id) as (conn, _event):
        booking = await SlotBooking.select_for_update().using_db(conn).get(id=found.id)
        if booking.status == BookingStatus.CANCELLED:
            raise errors.BookingCancelled()
        await _release(conn, booking, now)
        slot = await ConsultationSlot.get(id=booking.slot_id).using_db(conn)
        await _tell(conn, booking, slot, "slot_cancelled", by_organiser=by is not None,
                    reason=clean_text(reason, max_length=1000))
        await audit.record("booking.cancelled", user=by, event_id=booking.event_id, conn=conn, booking=booking.id)
    return booking


async def cancel_all(*, event_id: int, reason: str = "", by: User | None = None, now: datetime | None = None) -> int:
    """The consultation hour is cancelled: every booking is, and each person gets a mail; returns how many."""
    now = now or utcnow()
    async with event_lock(event_id) as (conn, _event):
        held = await SlotBooking.filter(event_id=event_id, status=BookingStatus.BOOKED).using_db(conn) \
            .prefetch_related("slot")
        for booking in held:
            await _release(conn, booking, now)
            await _tell(conn, booking, booking.slot, "slot_cancelled", by_organiser=True,
                        reason=clean_text(reason, max_length=1000))
        if held:
            await audit.record("booking.cancelled_all", user=by, event_id=event_id, conn=conn, count=len(held))
    return len(held)


async def move(*, booking_id: int, slot_id: int, by: User, timezone: str, now: datetime | None = None
               ) -> SlotBooking:
    """An organiser moves a booking to another free slot of the same event; the person gets a mail."""
    now = now or utcnow()
    found = await SlotBooking.get_or_none(id=booking_id)
    if found is None:
        raise errors.BookingNotFound()
    target = await ConsultationSlot.get_or_none(id=slot_id, event_id=found.event_id)
    if target is None:
        raise errors.SlotNotFound()
    key = ""
    try:
        async with event_lock(found.event_id) as (conn, _event):
            booking = await SlotBooking.select_for_update().using_db(conn).get(id=found.id)
            if booking.status == BookingStatus.CANCELLED:
                raise errors.BookingCancelled()
            key = await _check_free(conn, target, contact_key(booking.email, booking.phone), timezone=timezone,
                                    now=now, ignore_booking=booking.id)
            # clear first, so the unique columns never see the old and the new value at once
            await SlotBooking.filter(id=booking.id).using_db(conn).update(held_slot=None, held_day=None)
            booking.slot_id, booking.held_slot, booking.held_day = target.id, target.id, key
            booking.sequence += 1
            await booking.save(using_db=conn, update_fields=["slot_id", "held_slot", "held_day", "sequence"])
            await _tell(conn, booking, target, "slot_moved")
            await audit.record("booking.moved", user=by, event_id=booking.event_id, conn=conn, booking=booking.id,
                               slot=target.id)
    except IntegrityError:
        raise await _refused_by_database(target, key, timezone, now) from None
    return booking


async def day_list(*, event_id: int, day: date, timezone: str) -> list[SlotBooking]:
    """The day's bookings in time order, for the desk."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return list(await SlotBooking.filter(event_id=event_id, status=BookingStatus.BOOKED,
                                         slot__starts_at__gte=start, slot__starts_at__lt=end)
                .prefetch_related("slot").order_by("slot__starts_at", "id"))


async def queue_due_reminders(*, hours: int, now: datetime | None = None) -> int:
    """One reminder per booking whose slot starts within `hours` (claimed by a conditional update)."""
    now = now or utcnow()
    due = await SlotBooking.filter(status=BookingStatus.BOOKED, reminded_at=None, slot__starts_at__gt=now,
                                   slot__starts_at__lte=now + timedelta(hours=hours)).exclude(email="") \
        .prefetch_related("slot")
    queued = 0
    for booking in due:
        if booking.created_at > booking.slot.starts_at - timedelta(hours=hours):
            continue  # booked inside the window: the confirmation is reminder enough
        async with in_transaction() as conn:
            claimed = await SlotBooking.filter(id=booking.id, reminded_at=None, status=BookingStatus.BOOKED) \
                .using_db(conn).update(reminded_at=now)
            if claimed:
                await _tell(conn, booking, booking.slot, "slot_reminder")
                queued += 1
    return queued
