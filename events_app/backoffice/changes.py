"""What organisers do to events and registrations by hand, each step audited.

Every action that touches seats runs under `seating.event_lock` and reuses the engine's own
steps (`place_registration`, `release_seats`, `promote_waiting`), so hand-made changes keep the counter exact. The
audit entry is written in the same transaction as the change it records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.functions import Count, Min, Sum
from tortoise.transactions import in_transaction

from events_app.core import audit, db, errors
from events_app.seats import events, seating
from events_app.seats.registration import (
    Applicant, Outcome, STATUS_FIELDS, check_applicant, expire_event_offers, new_token,
    place_registration, promote_waiting, queue_registration_mail, release_seats, set_status,
    waitlist_position,
)
from events_app.core.errors import N_
from events_app.core.models import (SEAT_HOLDING, DoorAssignment, Event, EventKind, EventSession, EventStatus, OutboxMessage,
                                    OutboxState, Question, Registration, RegistrationStatus, Role, SessionStatus, User,
                                    Visibility)
from events_app.mail.outbox import queue_mail
from events_app.seats.participation import describe_newcomer
from events_app.seats.signup import add_standard_questions, builtin_label
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, normalise_email, normalise_phone

QUESTION_KINDS = ("text", "choice", "yesno", "number")
#: Mail template for a free-text message from the organisers; context: event_id, registration_id, subject, body.
ORGANISER_MESSAGE_TEMPLATE = "organiser_message"


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    label: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    required: bool = False
    #: {language: {"label": ..., "choices": [...]}} besides German
    translations: dict = field(default_factory=dict)


def check_questions(specs: list[QuestionSpec]) -> None:
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for spec in specs:
        if not spec.key or not spec.key.replace("_", "").isalnum() or not spec.key.isascii():
            problems["questions"] = N_("Question keys may use only letters, digits and underscores.")
        elif spec.key in seen:
            problems["questions"] = N_("Each question needs its own key.")
        elif not spec.label.strip():
            problems["questions"] = N_("Each question needs a label.")
        elif spec.kind not in QUESTION_KINDS:
            problems["questions"] = N_("This value is not one of the allowed options.")
        elif spec.kind == "choice" and not spec.choices:
            problems["questions"] = N_("A choice question needs at least one option.")
        elif any(text.get("choices") and len(text["choices"]) != len(spec.choices)
                 for text in spec.translations.values()):
            problems["questions"] = N_("A translation of the options needs as many options as the German list.")
        seen.add(spec.key)
    if problems:
        raise errors.ValidationFailed(fields=problems)


async def _write_questions(conn, event: Event, specs: list[QuestionSpec]) -> None:
    """Replace the event's questions, keeping its audience's standard ones (see `signup`). Answers
    already given stay stored with the registrations."""
    await Question.filter(event_id=event.id).using_db(conn).delete()
    for position, spec in enumerate(specs):
        msgid = builtin_label(spec.key, spec.label, audience=event.audience, kind=event.kind)
        await Question.create(event_id=event.id, key=spec.key, label=msgid or spec.label.strip()[:300],
                              kind=spec.kind, choices=list(spec.choices), required=spec.required, position=position,
                              builtin=msgid is not None, translations=spec.translations, using_db=conn)
    await add_standard_questions(conn, event)


async def _write_door_staff(conn, event_id: int, door_user_ids: list[int]) -> None:
    await DoorAssignment.filter(event_id=event_id).using_db(conn).delete()
    valid = await User.filter(id__in=door_user_ids, role=Role.DOOR).using_db(conn).values_list("id", flat=True)
    for user_id in valid:
        await DoorAssignment.create(event_id=event_id, user_id=user_id, using_db=conn)


async def create_event(*, values: dict, sessions: list[events.SessionSpec], questions: list[QuestionSpec],
                       door_user_ids: list[int] | None = None, by: User,
                       conn: BaseDBAsyncClient | None = None) -> Event:
    """The event, its dates, questions and door staff, committed at once (or not at all)."""
    check_questions(questions)
    async with db.transaction(conn) as conn:
        event = await events.create_event(values=values, sessions=sessions, by=by, conn=conn)
        await _write_questions(conn, event, questions)
        await _write_door_staff(conn, event.id, door_user_ids or [])
        return event


async def update_event(*, event_id: int, values: dict, sessions: list[events.SessionSpec] | None,
                       questions: list[QuestionSpec] | None, door_user_ids: list[int] | None = None, by: User,
                       conn: BaseDBAsyncClient | None = None) -> Event:
    """The change, the questions and the door staff in one transaction under the event lock. Questions and
    door staff are replaced when given and kept when None (an API PATCH)."""
    if questions is not None:
        check_questions(questions)
    async with db.transaction(conn) as conn:
        event = await events.update_event(event_id=event_id, values=values, sessions=sessions, by=by, conn=conn)
        if questions is not None:
            await _write_questions(conn, event, questions)
        if door_user_ids is not None:
            await _write_door_staff(conn, event_id, door_user_ids)
        return event


async def duplicate_event(*, event_id: int, shift_days: int = 0, by: User,
                          conn: BaseDBAsyncClient | None = None) -> Event:
    """A copy as a draft (e.g. next term's course from this one), dates moved by `shift_days`; the copy,
    its questions and the audit entry commit together."""
    source = await Event.get_or_none(id=event_id).prefetch_related("sessions", "questions")
    if source is None:
        raise errors.EventNotFound()
    values = {name: getattr(source, name) for name in events.EDITABLE_FIELDS}
    values["visibility"] = Visibility.DRAFT
    shift = timedelta(days=shift_days)
    for name in ("registration_opens_at", "registration_closes_at"):
        if values[name]:
            values[name] += shift
    sessions = [events.SessionSpec(s.starts_at + shift, s.ends_at + shift)
                for s in source.sessions if s.status == SessionStatus.SCHEDULED] or [
        events.SessionSpec(s.starts_at + shift, s.ends_at + shift) for s in source.sessions]
    async with db.transaction(conn) as conn:
        copy = await events.create_event(values=values, sessions=sessions, by=by, conn=conn)
        await _write_questions(conn, copy, [QuestionSpec(q.key, q.label, q.kind, tuple(q.choices), q.required,
                                                         dict(q.translations or {}))
                                               for q in source.questions])
        await audit.record("event.duplicated", user=by, event_id=copy.id, conn=conn, source_event_id=source.id,
                           shift_days=shift_days)
        return copy


async def cancel_event(*, event_id: int, reason: str, by: User) -> Event:
    return await events.cancel_event(event_id=event_id, reason=clean_text(reason, max_length=1000), by=by)


async def delete_draft(*, event_id: int, by: User) -> None:
    """Delete an event that was never published and has no registrations; anything else is cancelled instead."""
    async with seating.event_lock(event_id) as (conn, event):
        has_people = await Registration.filter(event_id=event_id).using_db(conn).exists()
        if event.visibility != Visibility.DRAFT or has_people:
            raise errors.EventNotDeletable()
        await audit.record("event.deleted", user=by, conn=conn, deleted_event_id=event_id, title=event.title)
        await event.delete(using_db=conn)


# ---------------------------------------------------------------- dashboard


@dataclass
class EventSummary:
    event: Event
    starts_at: datetime | None
    taken: int
    waiting: int
    waiting_seats: int
    percent: int


async def summarise(event: Event) -> EventSummary:
    return (await summaries([event]))[0]


async def summaries(listed: list[Event]) -> list[EventSummary]:
    """Summaries of many events from one grouped query (no query per event)."""
    ids = [event.id for event in listed]
    held = [RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED]
    rows = await (Registration.filter(event_id__in=ids, status__in=held).annotate(count=Count("id"), seats=Sum("seats"))
                  .group_by("event_id", "status").values_list("event_id", "status", "count", "seats")) if ids else []
    figures: dict[int, dict] = {}
    for event_id, status, count, seats in rows:
        entry = figures.setdefault(event_id, {"taken": 0, "waiting": 0, "waiting_seats": 0})
        if RegistrationStatus(status) == RegistrationStatus.WAITLISTED:
            entry["waiting"] += count
            entry["waiting_seats"] += seats or 0
        else:
            entry["taken"] += seats or 0
    result = []
    for event in listed:
        entry = figures.get(event.id, {"taken": 0, "waiting": 0, "waiting_seats": 0})
        percent = min(100, round(100 * entry["taken"] / event.capacity)) if event.capacity else 100
        result.append(EventSummary(event, events.first_start(event), entry["taken"], entry["waiting"],
                                   entry["waiting_seats"], percent))
    return result


#: How the event list can be ordered.
EVENT_SORTS = ("date", "title", "newest")
EVENT_WHEN = ("upcoming", "past", "all")
EVENTS_PER_PAGE = 50


async def find_events(*, search: str = "", kind: str = "", state: str = "", when: str = "upcoming",
                      sort: str = "date", page: int = 1, now: datetime | None = None
                      ) -> tuple[list[EventSummary], int]:
    """The back office's event list: searched, filtered and sorted in the database, one page at a time.

    `state` is scheduled, cancelled or draft; `when` upcoming (a date still to come), past or all.
    Returns the page's summaries and the number of events found.
    """
    now = now or utcnow()
    query = Event.all()
    if search.strip():
        query = query.filter(title__icontains=search.strip()[:100])
    if kind in {k.value for k in EventKind}:
        query = query.filter(kind=kind)
    if state == "draft":
        query = query.filter(visibility=Visibility.DRAFT)
    elif state in {s.value for s in EventStatus}:
        query = query.filter(status=state)
    coming = EventSession.filter(ends_at__gte=now).values_list("event_id", flat=True)
    if when == "upcoming":
        query = query.filter(id__in=Subquery(coming))
    elif when == "past":
        query = query.exclude(id__in=Subquery(coming))
    found = await query.count()
    if sort == "title":
        query = query.order_by("title", "id")
    elif sort == "newest":
        query = query.order_by("-created_at", "-id")
    else:  # by first date: upcoming soonest first, past most recent first
        query = query.annotate(first=Min("sessions__starts_at")).order_by("-first" if when == "past" else "first", "id")
    page = max(1, min(page, -(-found // EVENTS_PER_PAGE) or 1))
    listed = await query.offset((page - 1) * EVENTS_PER_PAGE).limit(EVENTS_PER_PAGE).prefetch_related("sessions")
    return await summaries(listed), found


async def upcoming(*, now: datetime | None = None) -> list[EventSummary]:
    """Every event (drafts too) with a date still to come, soonest first."""
    now = now or utcnow()
    ids = await EventSession.filter(ends_at__gte=now).values_list("event_id", flat=True)
    listed = await Event.filter(id__in=set(ids)).prefetch_related("sessions")
    found = await summaries(list(listed))  # one grouped query, not one per event
    found.sort(key=lambda s: (s.starts_at is None, s.starts_at or now))
    return found


async def attention(*, now: datetime | None = None, within_hours: int = 24) -> dict:
    """What needs an organiser: seat offers expiring soon, mails that failed or wait for another try."""
    now = now or utcnow()
    expiring = await Registration.filter(
        status=RegistrationStatus.OFFERED, offer_expires_at__lte=now + timedelta(hours=within_hours)
    ).order_by("offer_expires_at").prefetch_related("event")
    failed = await OutboxMessage.filter(state=OutboxState.FAILED).order_by("-created_at").limit(100).prefetch_related(
        "event")
    retrying = await OutboxMessage.filter(state=OutboxState.RETRY).order_by("next_attempt_at").limit(
        100).prefetch_related("event")
    return {"expiring_offers": expiring, "failed_mails": failed, "retrying_mails": retrying}


# ---------------------------------------------------------------- registrations


async def find_registrations(*, event_id: int, status: str = "", language: str = "", search: str = "",
                             answer_key: str = "", answer_value: str = "") -> list[Registration]:
    query = Registration.filter(event_id=event_id)
    if status:
        query = query.filter(status=status)
    if language:
        query = query.filter(language=language)
    search = search.strip()
    if search:
        query = query.filter(Q(name__icontains=search) | Q(email__icontains=search) | Q(phone__icontains=search))
    found = await query.order_by("created_at", "id")
    if answer_key:
        wanted = answer_value.strip().lower()
        found = [r for r in found if answer_key in (r.answers or {})
                 and (not wanted or str(r.answers[answer_key]).lower() == wanted
                      or (wanted in ("yes", "ja", "true") and r.answers[answer_key] is True)
                      or (wanted in ("no", "nein", "false") and r.answers[answer_key] is False))]
    return found


async def _registration_in_event(conn, registration_id: int, event_id: int) -> Registration:
    found = await Registration.get_or_none(id=registration_id, event_id=event_id).using_db(conn)
    if found is None:
        raise errors.RegistrationNotFound()
    return found


async def add_by_hand(*, event_id: int, applicant: Applicant, languages: tuple[str, ...], by: User,
                      input_problems: dict[str, str] | None = None, now: datetime | None = None) -> Outcome:
    """A sign-up taken on the phone: the same seat rules, but the organiser may add after the
    registration window and to invitation-only events."""
    now = now or utcnow()
    async with seating.event_lock(event_id) as (conn, event):
        if event.status == EventStatus.CANCELLED:
            raise errors.EventCancelled()
        person = check_applicant(event, applicant, languages=languages, input_problems=input_problems)
        await expire_event_offers(conn, event, now)
        registration = Registration(
            event_id=event.id, name=person.name, email=person.email, phone=person.phone, language=person.language,
            companions=person.companions, seats=1 + person.companions, answers=person.answers or {}, queued_at=now,
            postcode=person.postcode, manage_token=new_token(), checkin_token=new_token(),
            contact_verified_at=now)  # the organiser spoke with the person: the contact is known to work
        await describe_newcomer(conn, registration)
        await place_registration(conn, event, registration, now)
        position = await waitlist_position(conn, registration)
        await queue_registration_mail(conn, registration, "waitlisted" if position else "confirmed", position=position)
        await audit.record("registration.added", user=by, event_id=event_id, conn=conn,
                           registration_id=registration.id, status=registration.status.value)
        return Outcome(registration, position)


async def cancel_registration(*, event_id: int, registration_id: int, by: User, reason: str = "",
                              now: datetime | None = None) -> Registration:
    """Cancelled by the organisers: the person is told so (with the reason, if given), not thanked for asking."""
    now = now or utcnow()
    async with seating.event_lock(event_id) as (conn, event):
        registration = await _registration_in_event(conn, registration_id, event_id)
        if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
            raise errors.AlreadyCancelled()
        await release_seats(conn, event, registration, RegistrationStatus.CANCELLED, now)
        await queue_registration_mail(conn, registration, "cancelled_by_organiser", reason=clean_text(reason, max_length=1000))
        promoted = await promote_waiting(conn, event, now)
        await audit.record("registration.cancelled", user=by, event_id=event_id, conn=conn,
                           registration_id=registration_id, promoted=[r.id for r in promoted])
        return registration


async def promote(*, event_id: int, registration_id: int, by: User, beyond_capacity: bool = False,
                  now: datetime | None = None) -> Registration:
    """Confirm someone from the waiting list now, ahead of the queue. Without free seats this
    raises NotEnoughSeats unless the organiser has confirmed going over capacity.

    Going over capacity is the one deliberate exception to "capacity is never exceeded": an
    organiser's explicit choice, never automatic, recorded in the audit log (in the same
    transaction) as `registration.promoted` with `beyond_capacity: true`."""
    now = now or utcnow()
    async with seating.event_lock(event_id) as (conn, event):
        registration = await _registration_in_event(conn, registration_id, event_id)
        if registration.status not in (RegistrationStatus.WAITLISTED, RegistrationStatus.EXPIRED,
                                       RegistrationStatus.PENDING, RegistrationStatus.OFFERED):
            raise errors.RegistrationStateConflict()
        if event.status == EventStatus.CANCELLED:
            raise errors.EventCancelled()
        extra = 0 if registration.status == RegistrationStatus.OFFERED else registration.seats
        over = not seating.has_room(event, extra)
        if over and not beyond_capacity:
            raise errors.NotEnoughSeats()
        await seating.take_seats(conn, event, extra, beyond_capacity=over)
        await seating.count_waiting(conn, event, -(registration.status == RegistrationStatus.WAITLISTED))
        set_status(registration, RegistrationStatus.CONFIRMED, now)
        registration.confirmed_at = now
        registration.offer_expires_at = None
        await registration.save(using_db=conn, update_fields=[*STATUS_FIELDS, "confirmed_at",
                                                              "offer_expires_at", "updated_at"])
        await queue_registration_mail(conn, registration, "promoted")
        await audit.record("registration.promoted", user=by, event_id=event_id, conn=conn,
                           registration_id=registration_id, beyond_capacity=over)
        return registration


async def move_to_waitlist(*, event_id: int, registration_id: int, by: User,
                           now: datetime | None = None) -> Outcome:
    """Back to the end of the waiting list; the freed seats go to whoever waits longest."""
    now = now or utcnow()
    async with seating.event_lock(event_id) as (conn, event):
        registration = await _registration_in_event(conn, registration_id, event_id)
        if registration.status not in SEAT_HOLDING:
            raise errors.RegistrationStateConflict()
        await release_seats(conn, event, registration, RegistrationStatus.WAITLISTED, now)
        registration.queued_at = now
        registration.confirmed_at = None
        await registration.save(using_db=conn, update_fields=["queued_at", "confirmed_at", "updated_at"])
        promoted = await promote_waiting(conn, event, now)
        await registration.refresh_from_db(using_db=conn)
        position = await waitlist_position(conn, registration)
        if position:
            await queue_registration_mail(conn, registration, "waitlisted", position=position)
        await audit.record("registration.moved_to_waitlist", user=by, event_id=event_id, conn=conn,
                           registration_id=registration_id, promoted=[r.id for r in promoted])
        return Outcome(registration, position)


#: Which mail a registration gets again, by its status.
RESEND_TEMPLATES = {RegistrationStatus.CONFIRMED: "confirmed", RegistrationStatus.WAITLISTED: "waitlisted",
                    RegistrationStatus.OFFERED: "offered", RegistrationStatus.CANCELLED: "cancelled",
                    RegistrationStatus.EXPIRED: "offer_expired"}
#: A cancellation is told in the words of who cancelled: the person or the organisers.
CANCELLATION_TEMPLATES = ("cancelled", "cancelled_by_organiser")


async def resend_mail(*, event_id: int, registration_id: int, by: User) -> OutboxMessage | None:
    async with in_transaction() as conn:
        registration = await _registration_in_event(conn, registration_id, event_id)
        template = RESEND_TEMPLATES.get(registration.status)
        if template is None:
            raise errors.RegistrationStateConflict()
        if registration.status == RegistrationStatus.CANCELLED:
            told = await OutboxMessage.filter(registration_id=registration.id, template__in=CANCELLATION_TEMPLATES
                                              ).order_by("-id").using_db(conn).first()
            template = told.template if told else template
        extra = {}
        if registration.status == RegistrationStatus.WAITLISTED:
            extra["position"] = await waitlist_position(conn, registration)
        if registration.status == RegistrationStatus.OFFERED and registration.offer_expires_at:
            extra["offer_expires_at"] = registration.offer_expires_at.isoformat()
        message = await queue_mail(conn, template=template, recipient=registration.email,
                                   language=registration.language,
                                   context={"registration_id": registration.id, "event_id": event_id, **extra},
                                   registration_id=registration.id, event_id=event_id)
        await audit.record("registration.mail_resent", user=by, event_id=event_id, conn=conn,
                           registration_id=registration_id, template=template)
        return message


async def update_contact(*, event_id: int, registration_id: int, name: str, email: str, phone: str,
                         language: str, languages: tuple[str, ...], by: User) -> Registration:
    problems: dict[str, str] = {}
    name = clean_text(name, max_length=200)
    if not name:
        problems["name"] = N_("Please enter your name.")
    try:
        email = normalise_email(email) if email.strip() else ""
    except ValueError as exc:
        problems["email"] = str(exc)
    try:
        phone = normalise_phone(phone) if phone.strip() else ""
    except ValueError as exc:
        problems["phone"] = str(exc)
    if language not in languages:
        problems["language"] = N_("This language is not offered.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    async with in_transaction() as conn:
        registration = await _registration_in_event(conn, registration_id, event_id)
        new = {"name": name, "email": email, "phone": phone, "language": language}
        changed = sorted(k for k, v in new.items() if getattr(registration, k) != v)
        for key, value in new.items():
            setattr(registration, key, value)
        await registration.save(using_db=conn, update_fields=[*new, "updated_at"])
        await audit.record("registration.contact_changed", user=by, event_id=event_id, conn=conn,
                           registration_id=registration_id, fields=changed)
        return registration


MESSAGE_GROUPS = {"confirmed": (RegistrationStatus.CONFIRMED,), "waitlisted": (RegistrationStatus.WAITLISTED,)}


def check_message(*, group: str, subject: str, body: str, selected: bool = False) -> tuple[str, str]:
    """The message's subject and body as they will be sent; ValidationFailed for a missing part.
    `selected`: the message goes to registrations ticked in the list rather than to a group."""
    problems = {}
    subject = clean_text(subject, max_length=200).replace("\n", " ")
    body = clean_text(body, max_length=10_000)
    if group not in MESSAGE_GROUPS and not (group == "selected" and selected):
        problems["group"] = N_("This value is not one of the allowed options.")
    if not subject:
        problems["subject"] = N_("This field is required.")
    if not body:
        problems["body"] = N_("This field is required.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return subject, body


@dataclass(frozen=True)
class MessageReach:
    """Whom a message to a group reaches: by mail, and who has only a phone number (to call)."""

    by_mail: int
    phone_only: int


async def message_audience(*, event_id: int, group: str) -> MessageReach:
    """Counted before sending, so the organiser confirms how many people the message reaches."""
    if group not in MESSAGE_GROUPS:
        raise errors.ValidationFailed(fields={"group": N_("This value is not one of the allowed options.")})
    emails = await Registration.filter(event_id=event_id, status__in=MESSAGE_GROUPS[group]).values_list(
        "email", flat=True)
    return MessageReach(by_mail=sum(1 for e in emails if e), phone_only=sum(1 for e in emails if not e))


async def message_group(*, event_id: int, group: str, subject: str, body: str, by: User,
                        registration_ids: list[int] | None = None) -> int:
    """Queue the organisers' message to everyone confirmed (or waiting), or to the chosen registrations
    (`group="selected"`). Returns the number of mails."""
    subject, body = check_message(group=group, subject=subject, body=body, selected=bool(registration_ids))
    async with in_transaction() as conn:
        if not await Event.filter(id=event_id).using_db(conn).exists():
            raise errors.EventNotFound()
        queued = 0
        chosen = (Registration.filter(event_id=event_id, id__in=registration_ids) if group == "selected"
                  else Registration.filter(event_id=event_id, status__in=MESSAGE_GROUPS[group]))
        for registration in await chosen.using_db(conn):
            message = await queue_mail(conn, template=ORGANISER_MESSAGE_TEMPLATE, recipient=registration.email,
                                       language=registration.language,
                                       context={"event_id": event_id, "registration_id": registration.id,
                                                "subject": subject, "body": body},
                                       registration_id=registration.id, event_id=event_id)
            queued += message is not None
        await audit.record("event.message_sent", user=by, event_id=event_id, conn=conn, group=group, mails=queued)
        return queued


#: What can be done to many registrations at once from the list.
BULK_ACTIONS = ("confirm", "waitlist", "message", "export")


@dataclass
class BulkOutcome:
    done: int = 0
    #: left as they were: no free seat, or not in a state the action applies to
    skipped: int = 0


async def confirm_many(*, event_id: int, registration_ids: list[int], by: User) -> BulkOutcome:
    """Give each chosen registration a seat while seats are free, oldest request first; the others stay."""
    outcome = BulkOutcome()
    chosen = await Registration.filter(event_id=event_id, id__in=registration_ids).order_by("queued_at", "id")
    for registration in chosen:
        if registration.status not in (RegistrationStatus.WAITLISTED, RegistrationStatus.EXPIRED,
                                       RegistrationStatus.PENDING, RegistrationStatus.OFFERED):
            outcome.skipped += 1
            continue
        try:
            await promote(event_id=event_id, registration_id=registration.id, by=by)
            outcome.done += 1
        except (errors.NotEnoughSeats, errors.RegistrationStateConflict):
            outcome.skipped += 1
    return outcome


async def waitlist_many(*, event_id: int, registration_ids: list[int], by: User) -> BulkOutcome:
    """Move each chosen confirmed (or offered) registration back to the waiting list."""
    outcome = BulkOutcome()
    for registration in await Registration.filter(event_id=event_id, id__in=registration_ids).order_by("id"):
        if registration.status not in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED):
            outcome.skipped += 1
            continue
        await move_to_waitlist(event_id=event_id, registration_id=registration.id, by=by)
        outcome.done += 1
    return outcome


# ---------------------------------------------------------------- mail


async def registration_mails(*, registration_id: int) -> list[OutboxMessage]:
    """Every mail queued for a registration, newest first, with its state and last error."""
    return await OutboxMessage.filter(registration_id=registration_id).order_by("-id")


async def requeue_mail(*, message_id: int, by: User, now: datetime | None = None) -> OutboxMessage:
    """Give a mail that failed for good another try, e.g. after the organiser corrected the address.

    A registration's mail goes to its current address. The retry window (delivery.GIVE_UP_AFTER) starts
    again, so counting begins anew from now.
    """
    now = now or utcnow()
    async with in_transaction() as conn:
        message = await OutboxMessage.select_for_update().using_db(conn).get_or_none(id=message_id)
        if message is None:
            raise errors.MailNotFound()
        if message.state != OutboxState.FAILED:
            raise errors.MailNotFailed()
        recipient = message.recipient
        if message.registration_id:
            registration = await Registration.get_or_none(id=message.registration_id).using_db(conn)
            if registration is not None:
                recipient = registration.email
        if not recipient:
            raise errors.NoEmailAddress()
        message.state, message.recipient, message.attempts = OutboxState.QUEUED, recipient, 0
        message.next_attempt_at = message.created_at = now
        await message.save(using_db=conn, update_fields=["state", "recipient", "attempts", "next_attempt_at",
                                                         "created_at"])
        await audit.record("mail.requeued", user=by, event_id=message.event_id, conn=conn,
                           registration_id=message.registration_id, mail_id=message.id, template=message.template)
        return message
