"""What a person changes on their own page (/r/{token}): companions, language, phone, answers, and taking
back a cancellation while the seat is still free.

Everything runs under the event's lock with the registration engine's own steps (`place_registration`,
`release_seats`, `promote_waiting`), so the personal page counts seats exactly like a registration:
more companions only if the seats are free (else nothing changes), fewer move the waiting list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES
from events_app.core.models import SEAT_HOLDING, EventStatus, Invitation, Registration, RegistrationStatus
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, normalise_phone
from events_app.seats.registration import (STATUS_FIELDS, check_open, expire_event_offers, promote_waiting,
                                           queue_registration_mail, set_status)
from events_app.seats.seating import event_lock, give_back_seats, take_seats

#: How long after cancelling the page offers to take it back (if the seat is still free then).
UNDO_WINDOW = timedelta(hours=24)
#: Registrations in these states can still be changed by the person.
CHANGEABLE = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED,
              RegistrationStatus.PENDING)


@dataclass(frozen=True)
class Changes:
    """What the person asks to change; None leaves a value as it is."""

    companions: int | None = None
    language: str | None = None
    phone: str | None = None
    #: Answers to the event's questions, already checked against their kinds by the form layer.
    answers: dict | None = None


async def _locked(conn, token: str) -> Registration:
    registration = await Registration.get_or_none(manage_token=token).using_db(conn)
    if registration is None:
        raise errors.RegistrationNotFound()
    return registration


async def _event_id(token: str) -> int:
    found = await Registration.filter(manage_token=token).values_list("event_id", flat=True)
    if not found:
        raise errors.RegistrationNotFound()
    return found[0]


async def is_invitation(registration_id: int) -> bool:
    """A reception's invitee answers on the invitation page, where the invitation's own limit applies."""
    return await Invitation.exists(registration_id=registration_id)


def _check(registration: Registration, event, changes: Changes) -> dict:
    problems: dict[str, str] = {}
    values: dict = {}
    if changes.companions is not None:
        if changes.companions < 0:
            problems["companions"] = N_("The number of companions cannot be negative.")
        elif changes.companions > event.max_companions:
            problems["companions"] = N_("At most %(max)d companions are allowed for this event.")
        else:
            values["companions"] = changes.companions
    if changes.language is not None:
        if changes.language not in LANGUAGES:
            problems["language"] = N_("This language is not offered.")
        else:
            values["language"] = changes.language
    if changes.phone is not None:
        phone = clean_text(changes.phone, max_length=50)
        if phone:
            try:
                phone = normalise_phone(phone)
            except ValueError as exc:
                problems["phone"] = str(exc)
        if not phone and not registration.email and "phone" not in problems:
            problems["phone"] = N_("Please keep a phone number: without it we cannot reach you.")
        values["phone"] = phone
    if changes.answers is not None:
        values["answers"] = changes.answers
    if problems:
        raise errors.ValidationFailed(fields=problems, max=event.max_companions)
    return values


async def change(*, token: str, changes: Changes, now: datetime | None = None) -> Registration:
    """Apply the person's changes in one step under the event lock, until registration closes.

    More companions on a held seat need free seats (MoreSeatsUnavailable otherwise, nothing changed);
    fewer give seats back and move the waiting list. On the waiting list the request just changes size.
    """
    now = now or utcnow()
    async with event_lock(await _event_id(token)) as (conn, event):
        registration = await _locked(conn, token)
        if registration.status not in CHANGEABLE:
            raise errors.RegistrationStateConflict()
        check_open(event, now)
        await expire_event_offers(conn, event, now)
        await registration.refresh_from_db(using_db=conn)
        values = _check(registration, event, changes)
        if "companions" in values and await is_invitation(registration.id):
            raise errors.RegistrationStateConflict()  # the invitation page changes an invitee's companions
        fields = ["updated_at"]
        moved = False
        companions = values.pop("companions", None)
        if companions is not None and companions != registration.companions:
            extra = 1 + companions - registration.seats
            if registration.status in SEAT_HOLDING:
                if extra > 0 and not await take_seats(conn, event, extra):
                    raise errors.MoreSeatsUnavailable()
                if extra < 0:
                    await give_back_seats(conn, event, -extra)
            registration.companions, registration.seats = companions, 1 + companions
            fields += ["companions", "seats"]
            moved = extra < 0 or registration.status == RegistrationStatus.WAITLISTED
        for name, value in values.items():
            setattr(registration, name, value)
            fields.append(name)
        await registration.save(using_db=conn, update_fields=fields)
        if moved:
            await promote_waiting(conn, event, now)
        return registration


def can_undo(registration: Registration, now: datetime) -> bool:
    """Whether the page offers "take back my cancellation" (the seat may still have gone meanwhile)."""
    return (registration.status == RegistrationStatus.CANCELLED and registration.cancelled_at is not None
            and registration.confirmed_at is not None  # held a seat: a waiting or unverified request stays gone
            and now - registration.cancelled_at <= UNDO_WINDOW)


async def undo_cancel(*, token: str, now: datetime | None = None) -> Registration:
    """Take back one's own cancellation: the seat comes back if it is still free (nobody got it meanwhile),
    within UNDO_WINDOW and while registration is open; else UndoNotPossible and nothing changes."""
    now = now or utcnow()
    async with event_lock(await _event_id(token)) as (conn, event):
        registration = await _locked(conn, token)
        if not can_undo(registration, now) or event.status == EventStatus.CANCELLED:
            raise errors.UndoNotPossible()
        check_open(event, now)
        await expire_event_offers(conn, event, now)
        if not await take_seats(conn, event, registration.seats):
            raise errors.UndoNotPossible()
        set_status(registration, RegistrationStatus.CONFIRMED, now)
        registration.confirmed_at = now
        registration.cancelled_at = None
        await registration.save(using_db=conn, update_fields=[*STATUS_FIELDS, "confirmed_at", "cancelled_at",
                                                              "updated_at"])
        await queue_registration_mail(conn, registration, "confirmed")
        return registration
