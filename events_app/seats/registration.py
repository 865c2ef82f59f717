"""Registering, cancelling and the waiting list: capacity is never exceeded, even in a rush.

Every change of an event's seats happens inside `seating.event_lock` and goes through
`seating.take_seats` / `seating.give_back_seats`; without the lock, two registrations can both see
the last seat free (the classic count-then-insert overbooking).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.models import SEAT_HOLDING, Audience, Event, EventKind, EventSession, EventStatus, Registration, RegistrationStatus
from events_app.mail.outbox import queue_mail
from events_app.core.i18n import LANGUAGES
from events_app.seats import register_sql, seating
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, contact_from, normalise_email, staff_address_allowed
from events_app.seats.participation import clean_postcode, describe_newcomer, district_of


def new_token() -> str:
    """A secret for links: 256 bits from the OS's generator."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Applicant:
    """What a person tells us when registering; checked by `check_applicant`."""

    name: str
    email: str = ""
    phone: str = ""
    language: str = "de"
    companions: int = 0
    answers: dict | None = None
    #: Optional, only for the figures per district.
    postcode: str = ""


@dataclass(frozen=True)
class AudienceRules:
    """The public channels' rules for staff workshops and women-only offers; the back office adds by
    hand without them."""

    staff_domains: tuple[str, ...] = ()
    women_confirmed: bool = False


@dataclass(frozen=True)
class Outcome:
    registration: Registration
    waitlist_position: int | None


def check_applicant(event: Event, applicant: Applicant, *, languages: tuple[str, ...],
                    rules: AudienceRules | None = None, input_problems: dict[str, str] | None = None) -> Applicant:
    """The one check of a registration's input: normalised, or ValidationFailed with every field's
    problem at once (name, contact, companions, language, audience rules, and `input_problems`: what
    reading the form or JSON found, such as unanswered questions), so a bad answer never hides a
    missing name. A language not offered means the first of `languages`."""
    problems: dict[str, str] = {}
    name = clean_text(applicant.name, max_length=200)
    if not name:
        problems["name"] = N_("Please enter your name.")
    email, phone = contact_from(applicant.email, applicant.phone, problems)
    if not email and "email" not in problems:
        if not event.phone_allowed:
            problems["email"] = N_("Please enter an e-mail address.")
        elif not phone and "phone" not in problems:
            problems["email"] = N_("Please enter an e-mail address or a phone number.")
    companions = applicant.companions
    if companions < 0:
        problems["companions"] = N_("The number of companions cannot be negative.")
    elif companions > event.max_companions:
        problems["companions"] = N_("At most %(max)d companions are allowed for this event.")
    language = applicant.language if applicant.language in languages else languages[0]
    params: dict = {"max": event.max_companions}
    if rules is not None:
        problems.update(_audience_problems(event, applicant, rules))
        params["domains"] = ", ".join(rules.staff_domains)
    problems = {**problems, **(input_problems or {})}
    if problems:
        raise errors.ValidationFailed(fields=problems, **params)
    return Applicant(name=name, email=email, phone=phone, language=language,
                     companions=companions, answers=applicant.answers or {}, postcode=clean_postcode(applicant.postcode))


def _audience_problems(event: Event, applicant: Applicant, rules: AudienceRules) -> dict[str, str]:
    problems: dict[str, str] = {}
    if event.audience == Audience.STAFF:
        if not applicant.email.strip():
            problems["email"] = N_("Please enter your work e-mail address.")
        elif not staff_address_allowed(applicant.email, rules.staff_domains):
            problems["email"] = N_("Please use your work e-mail address (%(domains)s).")
    if event.audience == Audience.WOMEN and not rules.women_confirmed:
        problems["women_only"] = (N_("Please confirm that you are a woman: this course is for women only.")
                                  if event.kind == EventKind.COURSE else
                                  N_("Please confirm that you are a woman: this offer is for women only."))
    return problems
def _address_or_nothing(value: str) -> str:
    try:
        return normalise_email(value) if (value or "").strip() else ""
    except ValueError:
        return ""  # check_applicant reports it


def check_open(event: Event, now: datetime) -> None:
    if event.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()
    if event.registration_opens_at and now < event.registration_opens_at:
        raise errors.RegistrationNotOpenYet()
    if event.registration_closes_at and now >= event.registration_closes_at:
        raise errors.RegistrationClosed()


async def check_not_over(event: Event, now: datetime) -> None:
    """An event recorded after it took place (or simply over) takes no more sign-ups from the public;
    organisers may still add the people who came, by hand."""
    last_end = event.last_ends_at  # kept with the dates (events._keep_span): no query in a rush
    if last_end is None:
        ends = await EventSession.filter(event_id=event.id).values_list("ends_at", flat=True)
        last_end = max(ends, default=None)
    if last_end is not None and last_end <= now:
        raise errors.RegistrationClosed()


async def waitlist_position(conn: BaseDBAsyncClient, registration: Registration) -> int | None:
    """1-based place on the waiting list, derived from the queue order (never stored)."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = await Registration.filter(
        Q(queued_at__lt=registration.queued_at) | Q(queued_at=registration.queued_at, id__lt=registration.id),
        event_id=registration.event_id, status=RegistrationStatus.WAITLISTED,
    ).using_db(conn).count()
    return ahead + 1


async def waitlist_positions(event_id: int) -> dict[int, int]:
    """Positions of all waiting registrations of an event, by registration id."""
    waiting = await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED).order_by(
        "queued_at", "id").values_list("id", flat=True)
    return {reg_id: index for index, reg_id in enumerate(waiting, start=1)}


#: The columns `set_status` writes; every save after a change of status includes them.
STATUS_FIELDS = ["status", "sequence", "status_changed_at"]


def set_status(registration: Registration, status: RegistrationStatus, now: datetime) -> None:
    """The one way to change a registration's status (the caller saves STATUS_FIELDS).

    A change raises the registration's sequence and notes the time, which the person's own calendar
    adds to SEQUENCE and LAST-MODIFIED, so calendar clients replace the dates they hold.
    """
    if registration.status is not None and registration.status != status:
        registration.sequence += 1
        registration.status_changed_at = now
    registration.status = status
    if status == RegistrationStatus.WAITLISTED:
        registration.waited = True


def _mail_context(registration: Registration, **extra) -> dict:
    return {"registration_id": registration.id, "event_id": registration.event_id, **extra}


async def queue_registration_mail(conn: BaseDBAsyncClient, registration: Registration, template: str, **extra) -> None:
    """Queue the mail of this kind to the person, in their language, inside the caller's transaction."""
    await queue_mail(
        conn,
        template=template,
        recipient=registration.email,
        language=registration.language,
        context=_mail_context(registration, **extra),
        registration_id=registration.id,
        event_id=registration.event_id,
    )


async def register(
    *,
    event_id: int,
    applicant: Applicant,
    languages: tuple[str, ...] = tuple(LANGUAGES),
    rules: AudienceRules | None = None,
    input_problems: dict[str, str] | None = None,
    via_invitation: bool = False,
    hold_seat: bool = True,
    once_per_email: bool = False,
    now: datetime | None = None,
    event: Event | None = None,
) -> Outcome:
    """Register a person: confirmed if the seats are free, else on the waiting list.

    `hold_seat=False` stores the registration as pending (it holds no seat until
    `confirm_pending`), for sign-ups whose address must be verified first. `once_per_email` refuses
    a second live registration of the same address for the event (public sign-up: no seats taken and
    no mail sent again and again to an address the caller chose). A caller that has loaded the event
    passes it (`event`) to spare a query.

    Everything but the seat decision happens before the event's lock: the checks here, the row's
    values, tokens and the district for the figures. The lock is held only for
    `register_sql.place`, which checks again, under the lock, what may have changed meanwhile
    (cancelled, closed, full, the same address registered).
    """
    now = now or utcnow()
    if event is None or event.id != event_id:
        event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    person = check_applicant(event, applicant, languages=languages, rules=rules, input_problems=input_problems)
    if event.audience == Audience.INVITATION and not via_invitation:
        raise errors.InvitationRequired()
    check_open(event, now)
    if not hold_seat:
        return await _register_pending(event.id, person, once_per_email=once_per_email, now=now)
    row = register_sql.NewRegistration(
        event_id=event.id, name=person.name, email=person.email, phone=person.phone, language=person.language,
        companions=person.companions, seats=1 + person.companions, answers=person.answers or {},
        manage_token=new_token(), checkin_token=new_token(), once_per_email=once_per_email and bool(person.email),
        postcode=clean_postcode(person.postcode), district=await district_of(None, person.postcode))
    if event.offer_hours > 0 and await _offers_due(event.id, now):
        # expired offers pass their seats to the waiting list first, never to a newcomer
        async with seating.event_lock(event.id) as (conn, locked):
            await expire_event_offers(conn, locked, now)
    placed = await register_sql.place(row, now=now)
    if placed.status is None:
        await _why_not_placed(row, now)
    status = RegistrationStatus(placed.status)
    registration = Registration(
        id=placed.id, event_id=row.event_id, name=row.name, email=row.email, phone=row.phone, language=row.language,
        companions=row.companions, seats=row.seats, answers=row.answers, status=status, queued_at=placed.queued_at,
        manage_token=row.manage_token, checkin_token=row.checkin_token, sequence=0, created_at=now, updated_at=now,
        confirmed_at=now if status == RegistrationStatus.CONFIRMED else None, postcode=row.postcode,
        district=row.district, returning=placed.returning, waited=status == RegistrationStatus.WAITLISTED)
    registration._saved_in_db = True
    return Outcome(registration, placed.position)


async def _live_registration_exists(conn: BaseDBAsyncClient, event_id: int, email: str) -> bool:
    return await Registration.filter(
        event_id=event_id, email__iexact=email,
        status__not_in=(RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED)).using_db(conn).exists()


async def _register_pending(event_id: int, person: Applicant, *, once_per_email: bool, now: datetime) -> Outcome:
    """A sign-up that holds no seat yet: the row and its verification mail, under the event lock so two
    identical sign-ups at once cannot both pass the one-address rule."""
    async with seating.event_lock(event_id) as (conn, _):
        if once_per_email and person.email and await _live_registration_exists(conn, event_id, person.email):
            raise errors.AlreadyRegistered()
        registration = Registration(
            event_id=event_id, name=person.name, email=person.email, phone=person.phone, language=person.language,
            companions=person.companions, seats=1 + person.companions, answers=person.answers or {},
            queued_at=utcnow(), postcode=person.postcode, manage_token=new_token(), checkin_token=new_token())
        await describe_newcomer(conn, registration)
        set_status(registration, RegistrationStatus.PENDING, now)
        await registration.save(using_db=conn)
        await queue_registration_mail(conn, registration, "verify_email")
    return Outcome(registration, None)


async def _why_not_placed(row: register_sql.NewRegistration, now: datetime) -> None:
    """The lock found the event unable to take this registration: raise the error that says why."""
    event = await Event.get_or_none(id=row.event_id)
    if event is None:
        raise errors.EventNotFound()
    check_open(event, now)
    if row.once_per_email and await _live_registration_exists(Event._meta.db, row.event_id, row.email):
        raise errors.AlreadyRegistered()
    raise errors.EventFull()


async def place_registration(conn: BaseDBAsyncClient, event: Event, registration: Registration,
                             now: datetime) -> None:
    """Give the registration its seats if they are free, else a place on the waiting list.

    Call only under `seating.event_lock`; invitations and the back office use it for their own flows."""
    if await seating.take_seats(conn, event, registration.seats):
        set_status(registration, RegistrationStatus.CONFIRMED, now)
        registration.confirmed_at = now
    elif event.waitlist:
        set_status(registration, RegistrationStatus.WAITLISTED, now)
        # the clock read under the lock, so queue order is lock order even across processes
        registration.queued_at = utcnow()
        await seating.count_waiting(conn, event, +1)
    else:
        raise errors.EventFull()
    await registration.save(using_db=conn)


async def confirm_pending(*, registration_id: int, now: datetime | None = None) -> Outcome:
    """A verified pending sign-up now competes for a seat like a fresh registration."""
    now = now or utcnow()
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        raise errors.RegistrationNotFound()
    async with seating.event_lock(registration.event_id) as (conn, event):
        registration = await Registration.get(id=registration_id).using_db(conn)
        if registration.status != RegistrationStatus.PENDING:
            return Outcome(registration, await waitlist_position(conn, registration))
        check_open(event, now)
        await expire_event_offers(conn, event, now)
        await place_registration(conn, event, registration, now)
        position = await waitlist_position(conn, registration)
        await queue_registration_mail(conn, registration, "waitlisted" if position else "confirmed", position=position)
        return Outcome(registration, position)


async def promote_waiting(conn: BaseDBAsyncClient, event: Event, now: datetime) -> list[Registration]:
    """Fill free seats from the waiting list, oldest first. Call only under `seating.event_lock`.

    A request for more seats than are free is skipped but keeps its place; with `offer_hours`
    the seats are held as an offer that the person must accept before it expires.
    """
    if event.status == EventStatus.CANCELLED:
        return []
    promoted: list[Registration] = []
    if seating.free_seats(event) <= 0:
        return promoted
    waiting = await Registration.filter(event_id=event.id, status=RegistrationStatus.WAITLISTED).order_by(
        "queued_at", "id").using_db(conn)
    for registration in waiting:
        if seating.free_seats(event) <= 0:
            break
        if not await seating.take_seats(conn, event, registration.seats):
            continue
        if event.offer_hours > 0:
            set_status(registration, RegistrationStatus.OFFERED, now)
            registration.offer_expires_at = now + timedelta(hours=event.offer_hours)
            template = "offered"
        else:
            set_status(registration, RegistrationStatus.CONFIRMED, now)
            registration.confirmed_at = now
            template = "promoted"
        await registration.save(using_db=conn, update_fields=[*STATUS_FIELDS, "offer_expires_at", "confirmed_at",
                                                              "updated_at"])
        await queue_registration_mail(conn, registration, template,
                    offer_expires_at=registration.offer_expires_at.isoformat() if registration.offer_expires_at else None)
        promoted.append(registration)
    # the whole list was at hand: the counter is exact again, whatever happened before
    await seating.count_waiting(conn, event, len(waiting) - len(promoted) - event.waiting)
    return promoted


async def release_seats(conn: BaseDBAsyncClient, event: Event, registration: Registration, status: RegistrationStatus,
                        now: datetime) -> None:
    """Give back the seats a registration held and set its new status. Call only under `seating.event_lock`."""
    if registration.status in SEAT_HOLDING:
        await seating.give_back_seats(conn, event, registration.seats)
    await seating.count_waiting(conn, event, (status == RegistrationStatus.WAITLISTED)
                                - (registration.status == RegistrationStatus.WAITLISTED))
    set_status(registration, status, now)
    registration.offer_expires_at = None
    if status == RegistrationStatus.CANCELLED:
        registration.cancelled_at = now
    await registration.save(using_db=conn, update_fields=[*STATUS_FIELDS, "offer_expires_at", "cancelled_at",
                                                          "updated_at"])


async def _offers_due(event_id: int, now: datetime) -> bool:
    """Checked before taking the lock, so a page view takes the lock only when there is work to do."""
    return await Registration.filter(event_id=event_id, status=RegistrationStatus.OFFERED,
                                     offer_expires_at__lte=now).exists()


async def expire_event_offers(conn: BaseDBAsyncClient, event: Event, now: datetime) -> int:
    """Expire this event's offers past their deadline and pass the seats on. Call only under `seating.event_lock`."""
    due = await Registration.filter(event_id=event.id, status=RegistrationStatus.OFFERED,
                                    offer_expires_at__lte=now).using_db(conn)
    for registration in due:
        await release_seats(conn, event, registration, RegistrationStatus.EXPIRED, now)
        await queue_registration_mail(conn, registration, "offer_expired")
    if due:
        await promote_waiting(conn, event, now)
    return len(due)


async def expire_due_offers(*, now: datetime | None = None) -> int:
    """Worker job: expire every offer past its deadline, event by event, each under its lock."""
    now = now or utcnow()
    event_ids = await Registration.filter(status=RegistrationStatus.OFFERED, offer_expires_at__lte=now
                                          ).distinct().values_list("event_id", flat=True)
    expired = 0
    for event_id in set(event_ids):
        async with seating.event_lock(event_id) as (conn, event):
            expired += await expire_event_offers(conn, event, now)
    return expired


async def _locked_registration(conn: BaseDBAsyncClient, token: str) -> Registration:
    registration = await Registration.get_or_none(manage_token=token).using_db(conn)
    if registration is None:
        raise errors.RegistrationNotFound()
    return registration


async def _event_id_for_token(token: str) -> int:
    event_id = await Registration.filter(manage_token=token).values_list("event_id", flat=True)
    if not event_id:
        raise errors.RegistrationNotFound()
    return event_id[0]


async def find_by_manage_token(token: str, *, now: datetime | None = None) -> Outcome:
    """The registration behind a manage link, with due offers expired first so the page is true."""
    now = now or utcnow()
    event_id = await _event_id_for_token(token)
    if await _offers_due(event_id, now):
        async with seating.event_lock(event_id) as (conn, event):
            await expire_event_offers(conn, event, now)
    registration = await Registration.get(manage_token=token).prefetch_related("event")
    return Outcome(registration, await waitlist_position(registration._meta.db, registration))


async def cancel(*, token: str, now: datetime | None = None) -> Registration:
    """Cancelled by the person: frees the seats and moves the waiting list."""
    now = now or utcnow()
    event_id = await _event_id_for_token(token)
    async with seating.event_lock(event_id) as (conn, event):
        registration = await _locked_registration(conn, token)
        if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
            raise errors.AlreadyCancelled()
        await release_seats(conn, event, registration, RegistrationStatus.CANCELLED, now)
        await queue_registration_mail(conn, registration, "cancelled")
        await promote_waiting(conn, event, now)
        return registration


async def release_for_erasure(*, registration_id: int, now: datetime | None = None) -> None:
    """Give back the seats of a person whose data is to be erased, through the same steps as a
    cancellation (the waiting list moves on), but without a mail: they asked to be forgotten."""
    now = now or utcnow()
    event_id = await Registration.filter(id=registration_id).values_list("event_id", flat=True)
    if not event_id:
        return
    async with seating.event_lock(event_id[0]) as (conn, event):
        registration = await Registration.get(id=registration_id).using_db(conn)
        if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
            return
        await release_seats(conn, event, registration, RegistrationStatus.CANCELLED, now)
        await promote_waiting(conn, event, now)


async def accept_offer(*, token: str, now: datetime | None = None) -> Registration:
    now = now or utcnow()
    event_id = await _event_id_for_token(token)
    async with seating.event_lock(event_id) as (conn, event):
        registration = await _locked_registration(conn, token)
        if registration.status == RegistrationStatus.OFFERED and registration.offer_expires_at <= now:
            await expire_event_offers(conn, event, now)
            expired = True  # committed first, reported after the transaction
        else:
            expired = False
            if registration.status != RegistrationStatus.OFFERED:
                raise errors.OfferNotOpen()
            await _confirm_offer(conn, registration, now)
    if expired:
        raise errors.OfferExpired()
    return registration


async def _confirm_offer(conn: BaseDBAsyncClient, registration: Registration, now: datetime) -> None:
    set_status(registration, RegistrationStatus.CONFIRMED, now)
    registration.confirmed_at = now
    registration.offer_expires_at = None
    await registration.save(using_db=conn, update_fields=[*STATUS_FIELDS, "confirmed_at", "offer_expires_at",
                                                          "updated_at"])
    await queue_registration_mail(conn, registration, "confirmed")


def check_capacity(event: Event, capacity: int) -> None:
    """Refuse a new capacity below the seats already taken. Call only under `seating.event_lock`, so no
    registration can take a seat between this check and the write.

    An unchanged capacity passes even when an organiser has promoted beyond it."""
    if capacity != event.capacity and capacity < event.seats_taken:
        raise errors.CapacityBelowSeatsTaken(
            fields={"capacity": N_("The capacity cannot be lower than the seats already taken: %(taken)d.")},
            taken=event.seats_taken)


async def set_capacity(*, event_id: int, capacity: int, now: datetime | None = None) -> Event:
    """Change the capacity; a raise promotes from the waiting list. Seats already given stay given."""
    now = now or utcnow()
    async with seating.event_lock(event_id) as (conn, event):
        check_capacity(event, capacity)
        event.capacity = capacity
        await event.save(using_db=conn, update_fields=["capacity", "updated_at"])
        await promote_waiting(conn, event, now)
        return event


async def seat_counts(event_id: int) -> dict[str, int]:
    """Seats taken (confirmed + offered), seats waiting, registrations waiting: recounted from rows."""
    counts = {"confirmed": 0, "offered": 0, "waitlisted_seats": 0, "waitlisted": 0}
    held = [RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED]
    rows = await Registration.filter(event_id=event_id, status__in=held).values_list("status", "seats")
    for status, seats in rows:
        status = RegistrationStatus(status)
        if status == RegistrationStatus.WAITLISTED:
            counts["waitlisted"] += 1
            counts["waitlisted_seats"] += seats
        else:
            counts[status.value] += seats
    return counts
