"""The interpreter pool (Sprachbörse): who interprets which languages, which languages an event needs, and who
is assigned to each need.

Needs are counted from what people asked for: a registration's answer `language_assistance`, an
accepted invitation's `needs`, a consultation booking's `interpreter_language` (per local day, since
each consultation day needs its own interpreter). Names go to the interpreter only when the organiser
ticks it; otherwise the mail says date, place, language and how many people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.languages import language_key
from events_app.core.models import (BookingStatus, Event, EventKind, EventSession, Interpreter,
                                    InterpreterAssignment, Invitation, InvitationState, Registration,
                                    RegistrationStatus, SessionStatus, SlotBooking, User)
from events_app.core.validation import clean_text, contact_from
from events_app.mail.outbox import queue_mail

#: Registrations whose people are expected to come.
COMING = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


@dataclass(frozen=True)
class InterpreterForm:
    name: str
    email: str = ""
    phone: str = ""
    languages: tuple[str, ...] = ()
    note: str = ""


def check_interpreter(form: InterpreterForm) -> InterpreterForm:
    problems: dict[str, str] = {}
    name = clean_text(form.name, max_length=200)
    if not name:
        problems["name"] = N_("Please enter a name.")
    email, phone = contact_from(form.email, form.phone, problems)
    if not email and not phone and "email" not in problems and "phone" not in problems:
        problems["email"] = N_("Please enter an e-mail address or a phone number.")
    languages = tuple(dict.fromkeys(key for key in (language_key(item) for item in form.languages) if key))
    if not languages:
        problems["languages"] = N_("Please name at least one language.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return InterpreterForm(name=name, email=email, phone=phone, languages=languages,
                           note=clean_text(form.note, max_length=2000))


async def add_interpreter(*, form: InterpreterForm, by: User | None = None) -> Interpreter:
    form = check_interpreter(form)
    async with in_transaction() as conn:
        interpreter = await Interpreter.create(name=form.name, email=form.email, phone=form.phone,
                                               languages=list(form.languages), note=form.note, using_db=conn)
        await audit.record("interpreter.added", user=by, conn=conn, interpreter=interpreter.id)
    return interpreter


async def change_interpreter(*, interpreter_id: int, form: InterpreterForm, by: User | None = None) -> Interpreter:
    """A new phone number, another language, a note: the entry is corrected in place, assignments stay."""
    form = check_interpreter(form)
    async with in_transaction() as conn:
        interpreter = await Interpreter.filter(id=interpreter_id, active=True).using_db(conn).first()
        if interpreter is None:
            raise errors.InterpreterNotFound()
        changed = sorted(name for name, value in (("name", form.name), ("email", form.email), ("phone", form.phone),
                                                   ("languages", list(form.languages)), ("note", form.note))
                         if getattr(interpreter, name) != value)
        interpreter.update_from_dict({"name": form.name, "email": form.email, "phone": form.phone,
                                      "languages": list(form.languages), "note": form.note})
        await interpreter.save(using_db=conn)
        # which fields changed, never their values: the audit log keeps no personal data
        await audit.record("interpreter.changed", user=by, conn=conn, interpreter=interpreter.id, fields=changed)
    return interpreter


async def get_interpreter(*, interpreter_id: int) -> Interpreter:
    interpreter = await Interpreter.get_or_none(id=interpreter_id, active=True)
    if interpreter is None:
        raise errors.InterpreterNotFound()
    return interpreter


async def remove_interpreter(*, interpreter_id: int, by: User | None = None) -> None:
    """Out of the pool: the personal data goes, assignments with it (the audit log keeps the id only)."""
    async with in_transaction() as conn:
        deleted = await Interpreter.filter(id=interpreter_id).using_db(conn).delete()
        if not deleted:
            raise errors.InterpreterNotFound()
        await audit.record("interpreter.removed", user=by, conn=conn, interpreter=interpreter_id)


async def list_interpreters() -> list[Interpreter]:
    return list(await Interpreter.filter(active=True).order_by("name", "id"))


@dataclass
class Need:
    language: str
    #: YYYY-MM-DD of a consultation day, "" for the whole event.
    day: str
    people: int = 0
    names: list[str] = field(default_factory=list)
    times: list[tuple[datetime, datetime]] = field(default_factory=list)
    assignment: InterpreterAssignment | None = None


async def language_needs(*, event_id: int, timezone: str) -> list[Need]:
    """Which languages the event needs, how many people, and who is assigned; sorted by day, then most people."""
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    needs: dict[tuple[str, str], Need] = {}

    def count(language: str, day: str, name: str, times: tuple[datetime, datetime] | None = None) -> None:
        key = language_key(language)
        if not key:
            return
        need = needs.setdefault((key, day), Need(language=key, day=day))
        need.people += 1
        need.names.append(name)
        if times:
            need.times.append(times)

    for registration in await Registration.filter(event_id=event_id, status__in=COMING):
        count(str((registration.answers or {}).get("language_assistance") or ""), "", registration.name)
    for invitation in await Invitation.filter(event_id=event_id, state=InvitationState.ACCEPTED):
        count(str((invitation.needs or {}).get("language_assistance") or ""), "",
              f"{invitation.first_name} {invitation.last_name}".strip())
    zone = ZoneInfo(timezone)
    for booking in await SlotBooking.filter(event_id=event_id, status=BookingStatus.BOOKED).exclude(
            interpreter_language="").prefetch_related("slot").order_by("slot__starts_at"):
        day = booking.slot.starts_at.astimezone(zone).date().isoformat()
        count(booking.interpreter_language, day, booking.name, (booking.slot.starts_at, booking.slot.ends_at))
    for assignment in await InterpreterAssignment.filter(event_id=event_id).prefetch_related("interpreter"):
        need = needs.get((assignment.language, assignment.day))
        if need is not None:
            need.assignment = assignment
    return sorted(needs.values(), key=lambda n: (n.day, -n.people, n.language))


async def assign(*, event_id: int, language: str, day: str = "", interpreter_id: int, share_names: bool = False,
                 by: User | None = None, timezone: str) -> InterpreterAssignment:
    """Assign an interpreter to one need (replacing an earlier one) and mail them date, place and language."""
    key = language_key(language)
    current = {(n.language, n.day): n for n in await language_needs(event_id=event_id, timezone=timezone)}
    need = current.get((key, day))
    if need is None:
        raise errors.ValidationFailed(fields={"language": N_("Nobody at this event asked for this language.")})
    interpreter = await Interpreter.get_or_none(id=interpreter_id, active=True)
    if interpreter is None:
        raise errors.InterpreterNotFound()
    event = await Event.get(id=event_id)
    times = need.times or [(s.starts_at, s.ends_at) for s in await EventSession.filter(
        event_id=event_id, status=SessionStatus.SCHEDULED).order_by("starts_at")]
    async with in_transaction() as conn:
        await InterpreterAssignment.filter(event_id=event_id, language=key, day=day).using_db(conn).delete()
        assignment = await InterpreterAssignment.create(event_id=event_id, language=key, day=day,
                                                        interpreter_id=interpreter.id, share_names=share_names,
                                                        assigned_by_id=by.id if by else None, using_db=conn)
        await queue_mail(conn, template="interpreter_assigned", recipient=interpreter.email, language="de",
                         event_id=event_id, context={
                             "name": interpreter.name, "need_language": key, "people": need.people,
                             "place": event.location, "day": day,
                             "consultation": event.kind == EventKind.CONSULTATION,
                             "times": [[start.isoformat(), end.isoformat()] for start, end in times],
                             "names": sorted(need.names) if share_names else []})
        await audit.record("interpreter.assigned", user=by, event_id=event_id, conn=conn,
                           interpreter=interpreter.id, language=key, day=day, share_names=share_names)
    return assignment


def parse_day(value: str) -> str:
    """"" or a valid YYYY-MM-DD, else ValidationFailed."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise errors.ValidationFailed(fields={"day": N_("Please enter a date like 2026-03-03.")}) from None
