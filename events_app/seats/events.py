"""Events and their sessions: create, change, cancel, list.

A change of time, place or status raises the event's SEQUENCE (calendar clients replace their
copy) and tells registrants through the outbox; a change of capacity moves the waiting list.
Creating, changing and cancelling write the audit entry in the same transaction, whoever calls
(back office, API, scripts).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from tortoise import connections
from tortoise.expressions import Q
from tortoise.fields import JSONField
from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core import audit, db, errors, stamps
from events_app.core.errors import N_
from events_app.core.models import Audience, Event, EventKind, EventSession, EventStatus, Invitation, InvitationState, Question, Registration, RegistrationStatus, SessionStatus, User, Visibility
from events_app.mail.outbox import queue_mail
from events_app.seats import seating
from events_app.seats.registration import check_capacity, promote_waiting
from events_app.seats.signup import add_standard_questions
from events_app.core.timeutil import utcnow

#: Registrations that are told about changes to their event.
ACTIVE = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED)

EDITABLE_FIELDS = (
    "kind", "title", "description", "translations", "location", "location_confidential", "capacity",
    "waitlist", "offer_hours", "max_companions", "phone_allowed", "registration_opens_at",
    "registration_closes_at", "audience", "visibility", "certificate_min_attendance", "retention_days",
)
#: Ten years: longer than any period the office keeps registrations for.
MAX_RETENTION_DAYS = 3650
#: Fields whose change makes calendar clients and registrants need to know.
NOTIFY_FIELDS = ("location", "title")


@dataclass(frozen=True)
class SessionSpec:
    starts_at: datetime
    ends_at: datetime
    id: int | None = None


def check_event_fields(values: dict, sessions: list[SessionSpec] | None, *, creating: bool) -> None:
    problems: dict[str, str] = {}
    if creating:
        for required in ("kind", "title", "capacity"):
            if values.get(required) in (None, ""):
                problems[required] = N_("This field is required.")
        if not sessions:
            problems["sessions"] = N_("An event needs at least one date.")
    if "title" in values and not str(values["title"] or "").strip():
        problems["title"] = N_("This field is required.")
    if values.get("capacity") is not None and values["capacity"] < 0:
        problems["capacity"] = N_("The capacity cannot be negative.")
    for number in ("offer_hours", "max_companions"):
        if values.get(number) is not None and values[number] < 0:
            problems[number] = N_("This number cannot be negative.")
    retention = values.get("retention_days")
    if retention is not None and not 0 <= retention <= MAX_RETENTION_DAYS:
        problems["retention_days"] = N_("Enter a number of days from 0 to %(max)d.")
    percent = values.get("certificate_min_attendance")
    if percent is not None and not 0 <= percent <= 100:
        problems["certificate_min_attendance"] = N_("Enter a percentage from 0 to 100.")
    for spec in sessions or []:
        if spec.ends_at <= spec.starts_at:
            problems["sessions"] = N_("Each date must end after it starts.")
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if opens and closes and closes <= opens:
        problems["registration_closes_at"] = N_("Registration must close after it opens.")
    if problems:
        raise errors.ValidationFailed(fields=problems, max=MAX_RETENTION_DAYS)


async def create_event(*, values: dict, sessions: list[SessionSpec], by: User | None = None,
                       conn: BaseDBAsyncClient | None = None) -> Event:
    """The one way events come to exist (API, back office, duplicates): with the audience's standard questions.

    `by` is the organiser (None: a script such as the demo data); with `conn`, inside the caller's transaction.
    A tour (district tours for women) always keeps its meeting point for confirmed participants."""
    check_event_fields(values, sessions, creating=True)
    if values.get("kind") == EventKind.TOUR:
        values = {**values, "location_confidential": True}
    async with db.transaction(conn) as conn:
        event = await Event.create(**{k: v for k, v in values.items() if k in EDITABLE_FIELDS}, using_db=conn)
        for spec in sessions:
            await EventSession.create(event=event, starts_at=spec.starts_at, ends_at=spec.ends_at, using_db=conn)
        await _keep_span(conn, event)
        await add_standard_questions(conn, event)
        await audit.record("event.created", user=by, event_id=event.id, conn=conn)
        return event


async def _tell_everyone(conn: BaseDBAsyncClient, event: Event, template: str, **extra) -> int:
    registrations = await Registration.filter(event_id=event.id, status__in=ACTIVE).using_db(conn)
    for registration in registrations:
        await queue_mail(conn, template=template, recipient=registration.email, language=registration.language,
                         context={"registration_id": registration.id, "event_id": event.id, **extra},
                         registration_id=registration.id, event_id=event.id)
    return len(registrations)


async def _tell_unanswered_invitees(conn: BaseDBAsyncClient, event: Event, template: str, **extra) -> int:
    """Invitees who have not answered hold no registration: the mail goes to the invitation, in its language.
    Those without an e-mail address are on the organisers' call list (`invitations.call_list`)."""
    pending = await Invitation.filter(event_id=event.id, state=InvitationState.PENDING).exclude(
        email="").using_db(conn)
    for invitation in pending:
        await queue_mail(conn, template=template, recipient=invitation.email, language=invitation.language,
                         context={"invitation_id": invitation.id, "event_id": event.id, **extra}, event_id=event.id)
    return len(pending)


async def _keep_span(conn: BaseDBAsyncClient, event: Event) -> None:
    """Note the first start and the last end on the event (of the scheduled dates, if any), so lists can
    pick and sort upcoming events with an index instead of looking at every date. Called wherever dates
    are added, moved or cancelled."""
    dates = await EventSession.filter(event_id=event.id).using_db(conn).values_list("starts_at", "ends_at", "status")
    shown = [d for d in dates if SessionStatus(d[2]) == SessionStatus.SCHEDULED] or dates
    event.first_starts_at = min((d[0] for d in shown), default=None)
    event.last_ends_at = max((d[1] for d in shown), default=None)
    await Event.filter(id=event.id).using_db(conn).update(first_starts_at=event.first_starts_at,
                                                          last_ends_at=event.last_ends_at)


async def _apply_sessions(conn: BaseDBAsyncClient, event: Event, sessions: list[SessionSpec]) -> bool:
    """Update, add and cancel sessions to match the list. Returns whether any time changed."""
    existing = {s.id: s for s in await EventSession.filter(event_id=event.id).using_db(conn)}
    changed = False
    kept: set[int] = set()
    for spec in sessions:
        current = existing.get(spec.id) if spec.id else None
        if current is None:
            await EventSession.create(event_id=event.id, starts_at=spec.starts_at, ends_at=spec.ends_at, using_db=conn)
            changed = True
            continue
        kept.add(current.id)
        if (current.starts_at, current.ends_at, current.status) != (spec.starts_at, spec.ends_at, SessionStatus.SCHEDULED):
            current.starts_at, current.ends_at = spec.starts_at, spec.ends_at
            current.status = SessionStatus.SCHEDULED
            current.sequence += 1
            await current.save(using_db=conn)
            changed = True
    for session in existing.values():
        if session.id not in kept and session.status != SessionStatus.CANCELLED:
            session.status = SessionStatus.CANCELLED
            session.sequence += 1
            await session.save(using_db=conn)
            changed = True
    return changed


async def update_event(*, event_id: int, values: dict, sessions: list[SessionSpec] | None = None,
                       by: User | None = None, now: datetime | None = None,
                       conn: BaseDBAsyncClient | None = None) -> Event:
    """Change an event under its lock; registrants hear about new times or places.

    A capacity below the seats already taken is refused under the lock, before anything changes."""
    now = now or utcnow()
    check_event_fields(values, sessions, creating=False)
    async with seating.event_lock(event_id, conn=conn) as (conn, event):
        if values.get("capacity") is not None:
            check_capacity(event, values["capacity"])
        notify = False
        audience = event.audience
        changed = []
        for name, value in values.items():
            if name not in EDITABLE_FIELDS or getattr(event, name) == value:
                continue
            notify = notify or name in NOTIFY_FIELDS
            setattr(event, name, value)
            changed.append(name)
        if event.kind == EventKind.TOUR and not event.location_confidential:
            event.location_confidential = True  # tours for women: the meeting point only to the confirmed
        if sessions is not None and await _apply_sessions(conn, event, sessions):
            notify = True
            changed.append("sessions")
            await _keep_span(conn, event)
        if notify:
            event.sequence += 1
        await event.save(using_db=conn)
        if event.audience != audience:
            await add_standard_questions(conn, event)
        if notify and event.status != EventStatus.CANCELLED:
            await _tell_everyone(conn, event, "event_changed", sequence=event.sequence)
        await promote_waiting(conn, event, now)
        await audit.record("event.changed", user=by, event_id=event_id, conn=conn, fields=sorted(changed))
        return event


async def cancel_event(*, event_id: int, reason: str = "", by: User | None = None,
                       conn: BaseDBAsyncClient | None = None) -> Event:
    """Cancel the whole event and tell everyone registered or waiting, and invitees yet to answer."""
    async with seating.event_lock(event_id, conn=conn) as (conn, event):
        if event.status == EventStatus.CANCELLED:
            return event
        event.status = EventStatus.CANCELLED
        event.sequence += 1
        await event.save(using_db=conn)
        await _tell_everyone(conn, event, "event_cancelled", reason=reason)
        if event.audience == Audience.INVITATION:
            await _tell_unanswered_invitees(conn, event, "event_cancelled", reason=reason)
        await audit.record("event.cancelled", user=by, event_id=event_id, conn=conn)
        return event


async def get_event(event_id: int, *, public: bool = True) -> Event:
    """An event with its sessions. Public callers see neither drafts nor invitation-only details."""
    event = await Event.get_or_none(id=event_id).prefetch_related("sessions", "questions")
    if event is None or (public and event.visibility == Visibility.DRAFT):
        raise errors.EventNotFound()
    return event


async def get_event_for_signup(event_id: int) -> Event:
    """An event with its questions (no sessions), as `get_event` gives it to the public, for a sign-up.

    The registration form and API load the event on every request of a rush, so the event is kept per
    process with the content stamp it was read under (core/stamps.py) and read again only after a change
    to events or questions; the seats are never decided from it (the lock reads them). When it is read, it
    is one statement written out: the ORM's query building and prefetching cost several times what the
    database does. The event returned may be shared: callers read it and never change it."""
    conn = connections.get("default")
    try:
        stamp = (stamps.database_of(conn), (await stamps.read()).content)
    except stamps.StampsUnavailable:
        stamp = None
    kept = _signup_events.get(event_id)
    if stamp is not None and kept is not None and kept[0] == stamp:
        return kept[1]
    rows = await conn.execute_query_dict(_signup_query(conn.capabilities.dialect), [event_id])
    if not rows or rows[0]["visibility"] == Visibility.DRAFT.value:
        raise errors.EventNotFound()
    row = dict(rows[0])
    questions = json.loads(row.pop("signup_questions") or "[]")
    event = Event._init_from_db(**row)
    event.questions._set_result_for_query([Question._init_from_db(**question) for question in questions])
    if stamp is not None:
        if len(_signup_events) >= 256:
            _signup_events.clear()
        _signup_events[event_id] = (stamp, event)
    return event


#: event id -> ((database, content stamp), the event as `get_event_for_signup` read it)
_signup_events: dict[int, tuple[tuple, Event]] = {}


@functools.cache
def _signup_query(dialect: str) -> str:
    """The event's row and its questions as a JSON array (ordered like `Question.Meta.ordering`)."""
    if dialect == "postgres":
        return ("SELECT e.*, (SELECT json_agg(q ORDER BY q.position, q.id) FROM question q"
                " WHERE q.event_id = e.id) AS signup_questions FROM event e WHERE e.id = $1")
    columns = sorted(set(Question._meta.fields_db_projection.values()) | {"event_id"})
    json_columns = {Question._meta.fields_db_projection[name] for name, field in Question._meta.fields_map.items()
                    if isinstance(field, JSONField)}
    pairs = ", ".join(f"'{c}', " + (f"json(q.{c})" if c in json_columns else f"q.{c}") for c in columns)
    return (f"SELECT e.*, (SELECT json_group_array(json_object({pairs})) FROM"
            " (SELECT * FROM question WHERE event_id = e.id ORDER BY position, id) q) AS signup_questions"
            " FROM event e WHERE e.id = ?")


#: Most events one page of a listing (home page, API) holds.
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    #: Hands out the page after this one; None on the last page.
    next_cursor: str | None


def _cursor(first_start: datetime, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{first_start.isoformat()}|{event_id}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        start, _, event_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        first_start = datetime.fromisoformat(start)
        if first_start.tzinfo is None or not event_id.isdigit():
            raise ValueError(cursor)
        return first_start.astimezone(timezone.utc), int(event_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise errors.InvalidCursor() from None


async def upcoming_public_events(*, limit: int = 20, cursor: str | None = None, kind: EventKind | None = None,
                                 now: datetime | None = None) -> EventPage:
    """Public, listed events that have not ended, soonest first, `limit` at a time (at most MAX_PAGE_SIZE).

    The database picks the page through the index on (first_starts_at, id), so a page costs three queries
    (the events, their dates, their questions) however many events there are. `cursor` is the previous page's
    `next_cursor`: the (first date, id) after which this page begins, so events added or removed
    meanwhile neither repeat nor skip one.
    """
    now = now or utcnow()
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = Event.filter(visibility=Visibility.PUBLIC, last_ends_at__gte=now).exclude(audience=Audience.INVITATION)
    if kind:
        query = query.filter(kind=EventKind(kind))
    if cursor:
        first_start, event_id = _read_cursor(cursor)
        query = query.filter(Q(first_starts_at__gt=first_start) | Q(first_starts_at=first_start, id__gt=event_id))
    found = await query.order_by("first_starts_at", "id").limit(limit + 1).prefetch_related("sessions", "questions")
    page = list(found[:limit])
    following = _cursor(page[-1].first_starts_at, page[-1].id) if len(found) > limit else None
    return EventPage(page, following)


def first_start(event: Event) -> datetime | None:
    sessions = [s for s in event.sessions if s.status == SessionStatus.SCHEDULED] or list(event.sessions)
    return min((s.starts_at for s in sessions), default=None)
