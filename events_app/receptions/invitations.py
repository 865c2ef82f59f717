"""Naturalisation receptions: invitee lists, RSVP codes, answers with companions, reminders, door list.

The flow: the organiser uploads the authority's list and imports the rows they accept
(`invitation_import.py`). Each invitation gets a code a person can type and a long link token.
Invitees answer with either (`answer`); an acceptance becomes a Registration placed under the
event lock exactly like a public one, so companions count against the capacity and a full hall
means the waiting list with the usual promotion.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_app.core import audit, errors, placeholders
from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES
from events_app.core.models import SEAT_HOLDING, Audience, Event, EventStatus, Invitation, InvitationState, ReceptionLetter, Registration, RegistrationStatus, User
from events_app.mail.outbox import queue_mail
from events_app.seats import seating
from events_app.seats.participation import describe_newcomer
from events_app.seats.registration import accept_offer, expire_event_offers, place_registration, release_seats, queue_registration_mail, check_open, new_token, promote_waiting
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, normalise_phone


# --- codes -------------------------------------------------------------------------------------

#: Digits and capitals without 0/O, 1/I/L: nothing a reader can confuse in print or handwriting.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 31 symbols: 10 characters would give 49.5 bits, so codes have 11 (54.5 bits).
CODE_LENGTH = 11
CODE_BITS = CODE_LENGTH * math.log2(len(CODE_ALPHABET))

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """What the person typed, without spaces or hyphens, in capitals."""
    return re.sub(r"[^0-9A-Za-z]", "", typed or "").upper()[:32]


def check_invitation_event(event: Event) -> None:
    if event.audience != Audience.INVITATION:
        raise errors.ValidationFailed(N_("Invitations can only be imported for an event by invitation."),
                                      fields={"event": N_("Invitations can only be imported for an event by invitation.")})


async def invitation_event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    check_invitation_event(event)
    return event


# --- finding an invitation: code or link ----------------------------------------------------------
# Wrong codes are throttled at the web edge (per client address and in total), where the address is known.


async def find_by_code(*, code: str) -> Invitation:
    """The invitation for a typed code, or InvitationNotFound."""
    normalised = normalise_code(code)
    invitation = None
    if len(normalised) == CODE_LENGTH:
        invitation = await Invitation.get_or_none(code=normalised)
    if invitation is None:
        raise errors.InvitationNotFound()
    return invitation


async def find_by_invitation_token(token: str) -> Invitation:
    invitation = await Invitation.get_or_none(token=token) if token else None
    if invitation is None:
        raise errors.InvitationNotFound()
    return invitation


# --- answering ---------------------------------------------------------------------------------

NEEDS = ("language_assistance", "accessibility")


@dataclass(frozen=True)
class Reply:
    accept: bool
    companions: int = 0
    language: str = "de"
    #: {"language_assistance": "...", "accessibility": "..."}; empty values are dropped
    needs: dict | None = None
    #: A phone number, asked of invitees without an e-mail address (a seat offer must reach them);
    #: None leaves the one on file unchanged.
    phone: str | None = None


def check_reply(invitation: Invitation, reply: Reply) -> Reply:
    problems = {}
    companions = reply.companions if reply.accept else 0
    if companions < 0:
        problems["companions"] = N_("The number of companions cannot be negative.")
    elif companions > invitation.max_companions:
        problems["companions"] = N_("At most %(max)d companions are allowed for this event.")
    if reply.language not in LANGUAGES:
        problems["language"] = N_("This language is not offered.")
    phone = None
    if reply.phone is not None:
        phone = clean_text(reply.phone, max_length=50)
        if phone:
            try:
                phone = normalise_phone(phone)
            except ValueError as exc:
                problems["phone"] = str(exc)
    if problems:
        raise errors.ValidationFailed(fields=problems, max=invitation.max_companions)
    needs = {name: clean_text(str(value), max_length=300) for name, value in (reply.needs or {}).items()
             if name in NEEDS and value and clean_text(str(value), max_length=300)}
    return Reply(accept=reply.accept, companions=companions, language=reply.language, needs=needs, phone=phone)


async def answer(*, invitation_id: int, reply: Reply, now: datetime | None = None) -> Invitation:
    """Accept or decline, or change the answer, until the registration deadline.

    An acceptance is a Registration placed under the event lock (confirmed if the seats for the
    invitee and companions are free, else on the waiting list). A decline cancels it and moves
    the waiting list. More companions on a confirmed registration are granted only if the seats
    are free (MoreSeatsUnavailable otherwise, nothing changed); fewer free seats for others.
    """
    now = now or utcnow()
    found = await Invitation.get_or_none(id=invitation_id)
    if found is None:
        raise errors.InvitationNotFound()
    async with seating.event_lock(found.event_id) as (conn, event):
        invitation = await Invitation.get(id=invitation_id).using_db(conn)
        check_open(event, now)
        reply = check_reply(invitation, reply)
        await expire_event_offers(conn, event, now)
        current = None
        if invitation.registration_id:
            current = await Registration.get_or_none(id=invitation.registration_id).using_db(conn)
            if current is not None and current.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
                current = None
        if not reply.accept:
            if current is not None:
                await release_seats(conn, event, current, RegistrationStatus.CANCELLED, now)
                await queue_registration_mail(conn, current, "cancelled")
                await promote_waiting(conn, event, now)
            invitation.state = InvitationState.DECLINED
            invitation.companions = 0
            invitation.status_told = ""
        else:
            if current is None:
                current = await _register(conn, event, invitation, reply, now)
            else:
                await _change_companions(conn, event, current, reply.companions, now)
                current.language = reply.language
                current.answers = reply.needs or {}
                if reply.phone is not None:
                    current.phone = reply.phone
                await current.save(using_db=conn, update_fields=["language", "answers", "phone", "updated_at"])
            invitation.state = InvitationState.ACCEPTED
            invitation.companions = reply.companions
            invitation.registration_id = current.id
            invitation.status_told = current.status.value  # the answer page shows it
        invitation.language = reply.language
        invitation.needs = reply.needs or {}
        if reply.phone is not None:
            invitation.phone = reply.phone
        invitation.answered_at = now
        await invitation.save(using_db=conn)
        return invitation


async def accept_seat(*, invitation_id: int, now: datetime | None = None) -> Registration:
    """The invitee takes the seat offered after waiting: the engine's `accept_offer` on their registration."""
    invitation = await Invitation.get_or_none(id=invitation_id).prefetch_related("registration")
    if invitation is None:
        raise errors.InvitationNotFound()
    if invitation.registration is None:
        raise errors.OfferNotOpen()
    try:
        registration = await accept_offer(token=invitation.registration.manage_token, now=now)
    except errors.OfferExpired:
        await Invitation.filter(id=invitation_id).update(status_told=RegistrationStatus.EXPIRED.value)  # the page says so
        raise
    await Invitation.filter(id=invitation_id).update(status_told=registration.status.value)
    return registration


async def _register(conn: BaseDBAsyncClient, event: Event, invitation: Invitation, reply: Reply,
                    now: datetime) -> Registration:
    registration = Registration(
        event_id=event.id, name=f"{invitation.first_name} {invitation.last_name}".strip(),
        email=invitation.email, phone=invitation.phone if reply.phone is None else reply.phone, language=reply.language,
        companions=reply.companions, seats=1 + reply.companions, answers=reply.needs or {},
        queued_at=now, postcode=invitation.postcode, manage_token=new_token(), checkin_token=new_token(),
    )
    await describe_newcomer(conn, registration)
    await place_registration(conn, event, registration, now)
    waiting = registration.status == RegistrationStatus.WAITLISTED
    await queue_registration_mail(conn, registration, "waitlisted" if waiting else "confirmed")
    return registration


async def _change_companions(conn: BaseDBAsyncClient, event: Event, registration: Registration, companions: int,
                             now: datetime) -> None:
    extra = 1 + companions - registration.seats
    if extra == 0:
        return
    if registration.status in SEAT_HOLDING:
        if extra < 0:
            await seating.give_back_seats(conn, event, -extra)
        elif not await seating.take_seats(conn, event, extra):
            raise errors.MoreSeatsUnavailable()
    registration.seats = 1 + companions
    registration.companions = companions
    await registration.save(using_db=conn, update_fields=["seats", "companions", "updated_at"])
    if extra < 0 or registration.status == RegistrationStatus.WAITLISTED:
        await promote_waiting(conn, event, now)


# --- mail, reminders, letter text ----------------------------------------------------------------

def _mail_due(event_id: int):
    return Invitation.filter(event_id=event_id, mailed_at__isnull=True).exclude(email="")


async def invitation_mails_due(*, event_id: int) -> int:
    """How many invitation mails `send_invitation_mails` would queue now (the organiser confirms this)."""
    return await _mail_due(event_id).count()


async def send_invitation_mails(*, event_id: int, now: datetime | None = None) -> int:
    """Queue the invitation mail for everyone with an address who has not had one yet."""
    now = now or utcnow()
    async with in_transaction() as conn:
        due = await _mail_due(event_id).using_db(conn)
        for invitation in due:
            await queue_mail(conn, template="invitation", recipient=invitation.email, language=invitation.language,
                             context={"invitation_id": invitation.id, "event_id": event_id}, event_id=event_id)
        await Invitation.filter(id__in=[i.id for i in due]).using_db(conn).update(mailed_at=now)
    return len(due)


@dataclass(frozen=True)
class Reminders:
    mailed: int
    #: Invitees without an e-mail address who need a phone call or a letter (see `call_list`).
    to_contact: list[Call]


REMIND_AGAIN_AFTER = timedelta(days=7)


def _reminders_due(event: Event, pending: list[Invitation], now: datetime, again_after: timedelta) -> list[Invitation]:
    if event.status == EventStatus.CANCELLED:
        return []
    return [i for i in pending if i.email and (i.reminded_at is None or i.reminded_at <= now - again_after)]


async def reminders_due(*, event_id: int, now: datetime | None = None) -> int:
    """How many reminder mails `send_reminders` would queue now (the organiser confirms this)."""
    event = await invitation_event(event_id)
    pending = await Invitation.filter(event_id=event_id, state=InvitationState.PENDING)
    return len(_reminders_due(event, pending, now or utcnow(), REMIND_AGAIN_AFTER))


async def send_reminders(*, event_id: int, now: datetime | None = None,
                         again_after: timedelta = REMIND_AGAIN_AFTER) -> Reminders:
    """Remind by mail those who have not answered (at most once a week each, never for a cancelled event)."""
    now = now or utcnow()
    event = await invitation_event(event_id)
    async with in_transaction() as conn:
        pending = await Invitation.filter(event_id=event_id, state=InvitationState.PENDING).using_db(conn)
        due = _reminders_due(event, pending, now, again_after)
        for invitation in due:
            await queue_mail(conn, template="invitation_reminder", recipient=invitation.email,
                             language=invitation.language,
                             context={"invitation_id": invitation.id, "event_id": event_id}, event_id=event_id)
        await Invitation.filter(id__in=[i.id for i in due]).using_db(conn).update(reminded_at=now)
    return Reminders(mailed=len(due), to_contact=await call_list(event_id))


DEFAULT_LETTER = {
    "sender": "Universitätsstadt Gießen · Büro für Integration · Berliner Platz 1 · 35390 Gießen",
    "subject": "Einladung zum Einbürgerungsempfang",
    "body": (
        "herzlichen Glückwunsch zur deutschen Staatsangehörigkeit! Die Universitätsstadt Gießen lädt Sie "
        "herzlich zum Einbürgerungsempfang ein:\n\n"
        "{event_title}\n{event_date}\n{event_location}\n\n"
        "Bitte sagen Sie uns bis zum {deadline}, ob Sie kommen und wie viele Begleitpersonen Sie mitbringen "
        "(höchstens {max_companions})."
    ),
    "closing": "Mit freundlichen Grüßen",
}
#: Placeholders the letter text may use (the hint on the organisers' form names them).
LETTER_PLACEHOLDERS = ("event_title", "event_date", "event_location", "deadline", "max_companions")
#: Days before the reception that the suggested answer deadline falls on.
SUGGESTED_DEADLINE_DAYS = 14


async def get_letter(event_id: int, *, settings=None) -> ReceptionLetter:
    """The reception's letter texts; the signer comes from the settings until the organiser names one."""
    letter = await ReceptionLetter.get_or_none(event_id=event_id)
    if letter is None:
        letter = ReceptionLetter(event_id=event_id, **DEFAULT_LETTER)
    if settings is not None:
        letter.signer_name = letter.signer_name or settings.letter_signer_name
        letter.signer_role = letter.signer_role or settings.letter_signer_role
    return letter


#: Scanned signatures: a PNG or JPEG file, embedded in every letter.
MAX_SIGNATURE_BYTES = 300_000
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def signature_data_uri(data: bytes) -> str:
    """An uploaded PNG/JPEG (recognised by content) as a data: URI; ValidationFailed otherwise."""
    import base64

    media = next((media for magic, media in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
    if media is None:
        raise errors.ValidationFailed(fields={"signature_image": N_("Please choose a PNG or JPEG image.")})
    if len(data) > MAX_SIGNATURE_BYTES:
        raise errors.ValidationFailed(fields={"signature_image": N_("The image is too large: at most %(kilobytes)d KB.")},
                                      kilobytes=MAX_SIGNATURE_BYTES // 1000)
    return f"data:{media};base64,{base64.b64encode(data).decode('ascii')}"


async def save_letter(*, event_id: int, sender: str, subject: str, body: str, closing: str = "",
                      signer_name: str = "", signer_role: str = "", signature_upload: bytes | None = None,
                      remove_signature: bool = False) -> ReceptionLetter:
    """Store the reception's letter texts. Unknown placeholders are refused now, not when printing."""
    await invitation_event(event_id)
    values = {"sender": clean_text(sender, max_length=300), "subject": clean_text(subject, max_length=200),
              "body": clean_text(body, max_length=5000), "closing": clean_text(closing, max_length=500),
              "signer_name": clean_text(signer_name, max_length=200),
              "signer_role": clean_text(signer_role, max_length=200)}
    if not values["body"]:
        raise errors.ValidationFailed(fields={"body": N_("Please write the letter text.")})
    unknown = [name for name in placeholders.PLACEHOLDER.findall(values["body"]) if name not in LETTER_PLACEHOLDERS]
    if unknown:
        raise placeholders.refuse(sorted(set(unknown)))
    image = signature_data_uri(signature_upload) if signature_upload else None
    async with in_transaction() as conn:
        letter = await ReceptionLetter.get_or_none(event_id=event_id).using_db(conn)
        if letter is None:
            letter = ReceptionLetter(event_id=event_id)
        for name, value in values.items():
            setattr(letter, name, value)
        if image is not None:
            letter.signature_image = image
        elif remove_signature:
            letter.signature_image = ""
        await letter.save(using_db=conn)
    return letter


def suggested_deadline(event: Event, timezone: str) -> datetime | None:
    """Two weeks before the reception, end of that day (local time): what the organiser is offered."""
    from zoneinfo import ZoneInfo

    if not event.sessions:
        return None
    zone = ZoneInfo(timezone)
    day = (event.sessions[0].starts_at.astimezone(zone) - timedelta(days=SUGGESTED_DEADLINE_DAYS)).date()
    return datetime(day.year, day.month, day.day, 23, 59, tzinfo=zone).astimezone(ZoneInfo("UTC"))


async def set_answer_deadline(*, event_id: int, deadline: datetime, by: User, now: datetime | None = None) -> Event:
    """The organiser confirms the answer deadline (the reception's registration end) letters will print."""
    now = now or utcnow()
    if deadline.tzinfo is None:
        raise errors.ValidationFailed(fields={"deadline": N_("Please enter a valid date.")})
    if deadline <= now:
        raise errors.ValidationFailed(fields={"deadline": N_("The answer deadline must lie in the future.")})
    async with in_transaction() as conn:
        event = await Event.get_or_none(id=event_id).using_db(conn)
        if event is None:
            raise errors.EventNotFound()
        check_invitation_event(event)
        event.registration_closes_at = deadline
        await event.save(using_db=conn, update_fields=["registration_closes_at", "updated_at"])
        await audit.record("invitations.deadline_set", user=by, event_id=event_id, conn=conn,
                           deadline=deadline.isoformat())
    return event


# --- the organiser's view ---------------------------------------------------------------------

def sort_key(text: str) -> str:
    """German alphabetical order (DIN 5007-1): Ä as A, ß as ss, case ignored; databases sort Ö after Z."""
    text = text.casefold()
    for special, plain in (("ä", "a"), ("ö", "o"), ("ü", "u"), ("ß", "ss")):
        text = text.replace(special, plain)
    return text


async def list_invitations(event_id: int) -> list[Invitation]:
    """The event's invitations in German alphabetical order of last name, first name."""
    invitations = await Invitation.filter(event_id=event_id).prefetch_related("registration")
    return sorted(invitations, key=lambda i: (sort_key(i.last_name), sort_key(i.first_name), i.id))


async def counts(event_id: int) -> dict[str, int]:
    """Invited, answered, accepted (invitations and persons incl. companions), declined, waiting, and
    offered (a seat came free for someone waiting, not yet taken) or expired (the offer was not taken)."""
    invitations = await list_invitations(event_id)
    result = {"invited": len(invitations), "pending": 0, "answered": 0, "accepted": 0, "accepted_persons": 0,
              "declined": 0, "waiting": 0, "waiting_persons": 0, "offered": 0, "offered_persons": 0,
              "expired": 0, "without_email": 0}
    for invitation in invitations:
        result["without_email"] += not invitation.email
        if invitation.state == InvitationState.PENDING:
            result["pending"] += 1
            continue
        result["answered"] += 1
        registration = invitation.registration
        if (invitation.state == InvitationState.DECLINED or registration is None
                or registration.status == RegistrationStatus.CANCELLED):
            result["declined"] += 1
        elif registration.status == RegistrationStatus.EXPIRED:
            result["expired"] += 1
        elif registration.status == RegistrationStatus.WAITLISTED:
            result["waiting"] += 1
            result["waiting_persons"] += registration.seats
        elif registration.status == RegistrationStatus.OFFERED:
            result["offered"] += 1
            result["offered_persons"] += registration.seats
        else:
            result["accepted"] += 1
            result["accepted_persons"] += registration.seats
    return result


# --- whom to phone or write to: invitees without an e-mail address ---------------------------------

#: Not a registration status: the invitee has not answered yet.
NOT_ANSWERED = "not_answered"
#: Not a registration status: the whole event is cancelled.
EVENT_CANCELLED = "event_cancelled"


@dataclass(frozen=True)
class Call:
    invitation: Invitation
    #: NOT_ANSWERED, EVENT_CANCELLED, or the registration's status the invitee has not learnt yet
    #: (offered, confirmed after waiting, expired, ...)
    news: str


def news_for(event: Event, invitation: Invitation) -> str:
    """What the invitee does not know yet ("" for nothing). Needs `invitation.registration` loaded."""
    if invitation.state == InvitationState.DECLINED:
        return ""
    if event.status == EventStatus.CANCELLED:
        return "" if invitation.status_told == EVENT_CANCELLED else EVENT_CANCELLED
    if invitation.state == InvitationState.PENDING:
        return NOT_ANSWERED
    registration = invitation.registration
    if registration is None or registration.status.value == invitation.status_told:
        return ""
    return registration.status.value


async def call_list(event_id: int) -> list[Call]:
    """Invitees without an e-mail address who have not answered, or whose place changed since they last
    heard (promoted, offered a seat, offer expired, event cancelled): mail cannot reach them."""
    event = await Event.get(id=event_id)
    calls = []
    for invitation in await list_invitations(event_id):
        news = "" if invitation.email else news_for(event, invitation)
        if news:
            calls.append(Call(invitation, news))
    return calls


async def mark_told(*, event_id: int, invitation_id: int, news: str, by: User) -> Invitation:
    """The organiser has told the invitee `news` (by phone or letter): they leave the call list until the
    next change. A `news` that is no longer current (it changed meanwhile) is refused."""
    async with in_transaction() as conn:
        invitation = await Invitation.get_or_none(id=invitation_id, event_id=event_id).using_db(conn)
        if invitation is None:
            raise errors.InvitationNotFound()
        event = await Event.get(id=event_id).using_db(conn)
        await invitation.fetch_related("registration", using_db=conn)
        if news in ("", NOT_ANSWERED) or news_for(event, invitation) != news:
            raise errors.RegistrationStateConflict()
        invitation.status_told = news
        await invitation.save(using_db=conn, update_fields=["status_told", "updated_at"])
        await audit.record("invitation.told", user=by, event_id=event_id, conn=conn, invitation_id=invitation_id,
                           news=news)
        return invitation


async def door_list(event_id: int) -> list[Invitation]:
    """Invitees holding seats, sorted by last name, with their companions (for the door)."""
    invitations = await list_invitations(event_id)
    return [i for i in invitations
            if i.state == InvitationState.ACCEPTED and i.registration and i.registration.status in SEAT_HOLDING]
