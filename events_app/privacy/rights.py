"""People's rights: what we store about a person (Art. 15 GDPR) and erasing it (Art. 17 GDPR).

A person is found by e-mail address (case does not matter) or phone number (only its digits count).
Erasure first gives back seats of events still to come through the engine's cancellation steps, so
the waiting list moves on, then anonymises exactly as the retention job does. The audit entry names
the person only by a hash of the address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.models import (Attendance, AuditEntry, Certificate, CheckIn, Event, EventSession, Invitation,
                                    OutboxMessage, PartnerApplication, Registration, RegistrationStatus, SlotBooking,
                                    Subscription, User)
from events_app.core.settings import Settings
from events_app.core.timeutil import utcnow
from events_app.core.validation import is_phone_number, normalise_email
from events_app.privacy import anonymise
from events_app.privacy.anonymise import Removal
from events_app.privacy.retention import compact, secure_delete_on
from events_app.seats.registration import release_for_erasure

#: Statuses that hold a seat or a place in the queue: given back before an erasure.
RELEASED = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED,
            RegistrationStatus.PENDING)


@dataclass(frozen=True)
class Subject:
    """Whom a request is about: an e-mail address or the digits of a phone number."""

    email: str = ""
    phone_digits: str = ""

    @property
    def shown(self) -> str:
        return self.email or self.phone_digits

    def hash(self) -> str:
        """What the audit log keeps instead of the address: its SHA-256."""
        value = f"email:{self.email.lower()}" if self.email else f"phone:{self.phone_digits}"
        return hashlib.sha256(value.encode()).hexdigest()


def _digits(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return "49" + digits[1:] if digits.startswith("0") and not digits.startswith("00") else digits.removeprefix("00")


def subject_from(*, email: str | None = None, phone: str | None = None) -> Subject:
    """Check the request's one identifier, or ValidationFailed naming the field."""
    email, phone = (email or "").strip(), (phone or "").strip()
    if email and phone or not email and not phone:
        raise errors.ValidationFailed(fields={"email": N_("Please give either an e-mail address or a phone number.")})
    if email:
        try:
            return Subject(email=normalise_email(email).lower())
        except ValueError as exc:
            raise errors.ValidationFailed(fields={"email": str(exc)}) from None
    if not is_phone_number(phone):
        raise errors.ValidationFailed(fields={"phone": N_("This phone number is not valid.")})
    return Subject(phone_digits=_digits(phone))


def _matches(subject: Subject, email: str, phone: str) -> bool:
    if subject.email:
        return bool(email) and email.lower() == subject.email
    return bool(phone) and _digits(phone) == subject.phone_digits


async def _find(subject: Subject) -> tuple[list[Registration], list[Invitation]]:
    if subject.email:
        registrations = await Registration.filter(email__iexact=subject.email, anonymised_at__isnull=True)
        invitations = await Invitation.filter(email__iexact=subject.email, anonymised_at__isnull=True)
    else:  # phone numbers are stored as typed: compare their digits
        registrations = [r for r in await Registration.filter(anonymised_at__isnull=True).exclude(phone="")
                         if _matches(subject, "", r.phone)]
        invitations = [i for i in await Invitation.filter(anonymised_at__isnull=True).exclude(phone="")
                       if _matches(subject, "", i.phone)]
    # an invitee's answer is a registration that may carry neither address (a letter, answered by code)
    linked = {i.registration_id for i in invitations if i.registration_id} - {r.id for r in registrations}
    if linked:
        registrations += await Registration.filter(id__in=list(linked), anonymised_at__isnull=True)
    return registrations, invitations


async def _find_other(subject: Subject) -> tuple[list[SlotBooking], list[PartnerApplication]]:
    """Consultation bookings and stand applications of the person (not yet anonymised)."""
    if subject.email:
        return (await SlotBooking.filter(email__iexact=subject.email),
                await PartnerApplication.filter(email__iexact=subject.email))
    return ([b for b in await SlotBooking.exclude(phone="") if _matches(subject, "", b.phone)],
            [p for p in await PartnerApplication.exclude(phone="") if _matches(subject, "", p.phone)])


# --- access -------------------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _event_json(event: Event, sessions: list[EventSession]) -> dict:
    return {"id": event.id, "kind": event.kind.value, "title": event.title,
            "dates": [{"starts_at": _time(s.starts_at), "ends_at": _time(s.ends_at)} for s in sessions]}


def _mail_json(message: OutboxMessage) -> dict:
    return {"kind": message.template, "recipient": message.recipient, "state": message.state.value,
            "queued_at": _time(message.created_at), "sent_at": _time(message.sent_at)}


async def personal_data(subject: Subject) -> dict:
    """Everything stored about the person, readable. Links' tokens and codes are left out: they are
    keys to the records, not information about the person, and the answer may travel by mail."""
    registrations, invitations = await _find(subject)
    event_ids = {r.event_id for r in registrations} | {i.event_id for i in invitations}
    events = {e.id: e for e in await Event.filter(id__in=list(event_ids) or [0])}
    sessions: dict[int, list[EventSession]] = {}
    for session in await EventSession.filter(event_id__in=list(event_ids) or [0]).order_by("starts_at"):
        sessions.setdefault(session.event_id, []).append(session)
    session_start = {s.id: s.starts_at for group in sessions.values() for s in group}
    registration_ids = [r.id for r in registrations]
    attendance = await Attendance.filter(registration_id__in=registration_ids or [0])
    checkins = await CheckIn.filter(registration_id__in=registration_ids or [0])
    certificates = await Certificate.filter(registration_id__in=registration_ids or [0])
    mails = await OutboxMessage.filter(registration_id__in=registration_ids or [0]).order_by("id")
    if subject.email:
        mails += await OutboxMessage.filter(recipient__iexact=subject.email, registration_id__isnull=True).order_by("id")
    accounts = await User.filter(email__iexact=subject.email) if subject.email else []
    booked, applied = await _find_other(subject)
    subscription = await Subscription.get_or_none(email=subject.email) if subject.email else None

    def registration_json(r: Registration) -> dict:
        return {
            "id": r.id, "event": _event_json(events[r.event_id], sessions.get(r.event_id, [])),
            "name": r.name, "email": r.email, "phone": r.phone, "language": r.language, "postcode": r.postcode,
            "district": r.district, "status": r.status.value, "seats": r.seats, "companions": r.companions,
            "answers": r.answers, "registered_at": _time(r.created_at), "confirmed_at": _time(r.confirmed_at),
            "cancelled_at": _time(r.cancelled_at),
            "attendance": [{"date": _time(session_start.get(a.session_id)), "present": a.present}
                           for a in attendance if a.registration_id == r.id],
            "checkins": [{"date": _time(session_start.get(c.session_id)), "arrived_at": _time(c.arrived_at),
                          "companions_arrived": c.companions_arrived} for c in checkins if c.registration_id == r.id],
            "certificates": [{"serial": c.serial, "issued_at": _time(c.issued_at), "revoked_at": _time(c.revoked_at)}
                             for c in certificates if c.registration_id == r.id],
            "mails": [_mail_json(m) for m in mails if m.registration_id == r.id],
        }

    return {
        "subject": {"email": subject.email} if subject.email else {"phone": subject.phone_digits},
        "generated_at": _time(utcnow()),
        "registrations": [registration_json(r) for r in sorted(registrations, key=lambda r: r.id)],
        "invitations": [{
            "id": i.id, "event": _event_json(events[i.event_id], sessions.get(i.event_id, [])),
            "salutation": i.salutation, "first_name": i.first_name, "last_name": i.last_name,
            "birth_date": i.birth_date.isoformat() if i.birth_date else None, "street": i.street,
            "postcode": i.postcode, "city": i.city, "email": i.email, "phone": i.phone, "file_number": i.file_number,
            "note": i.note, "language": i.language, "state": i.state.value, "companions": i.companions,
            "needs": i.needs, "registration_id": i.registration_id, "mailed_at": _time(i.mailed_at),
            "answered_at": _time(i.answered_at),
        } for i in sorted(invitations, key=lambda i: i.id)],
        "other_mails": [_mail_json(m) for m in mails if m.registration_id is None],
        "staff_accounts": [{"email": u.email, "name": u.name, "role": u.role.value, "active": u.active,
                            "created_at": _time(u.created_at)} for u in accounts],
        "consultation_bookings": [{
            "id": b.id, "event_id": b.event_id, "name": b.name, "email": b.email, "phone": b.phone,
            "language": b.language, "interpreter_language": b.interpreter_language, "note": b.note,
            "status": b.status.value, "booked_at": _time(b.created_at), "cancelled_at": _time(b.cancelled_at),
        } for b in booked],
        "partner_applications": [{
            "id": p.id, "event_id": p.event_id, "organisation": p.organisation, "contact_name": p.contact_name,
            "email": p.email, "phone": p.phone, "language": p.language, "presents": p.presents, "needs": p.needs,
            "answers": p.answers, "status": p.status.value, "applied_at": _time(p.created_at),
        } for p in applied],
        "subscription": {"email": subscription.email, "language": subscription.language, "kinds": subscription.kinds,
                         "newsletter": subscription.newsletter, "confirmed_at": _time(subscription.confirmed_at),
                         "consent": subscription.consent} if subscription else None,
    }


# --- erasure ------------------------------------------------------------------------------------------


async def _upcoming(event_ids: set[int], now: datetime) -> set[int]:
    """Events with a date still to come: there the person's seat goes back to the waiting list first."""
    last: dict[int, datetime] = {}
    for event_id, ends_at in await EventSession.filter(event_id__in=list(event_ids) or [0]).values_list(
            "event_id", "ends_at"):
        last[event_id] = max(ends_at, last.get(event_id, ends_at))
    return {event_id for event_id, ends in last.items() if ends > now}


async def _remove(settings: Settings, registrations: list[Registration], invitations: list[Invitation], *,
                  subject_email: str, now: datetime) -> Removal:
    """Release seats of events to come, then anonymise in one transaction."""
    upcoming = await _upcoming({r.event_id for r in registrations}, now)
    for registration in registrations:
        if registration.event_id in upcoming and registration.status in RELEASED:
            await release_for_erasure(registration_id=registration.id, now=now)
    removal = Removal()
    await secure_delete_on()
    registration_ids = {r.id for r in registrations}
    invitation_ids = {i.id for i in invitations}
    async with in_transaction() as conn:
        fresh = await Registration.filter(id__in=list(registration_ids) or [0]).using_db(conn)
        await anonymise.registrations(conn, fresh, now=now, removal=removal, dry_run=False)
        # unlike retention, a request to erase also ends what the certificate's verification page shows
        removal.add("certificate", await Certificate.filter(
            registration_id__in=list(registration_ids) or [0], details_deleted_at__isnull=True).using_db(conn).update(
            holder_name="", details_deleted_at=now))
        await anonymise.invitations(conn, invitations, now=now, removal=removal, dry_run=False)
        mails = OutboxMessage.filter(registration_id__in=list(registration_ids) or [0])
        if subject_email:
            mails = OutboxMessage.filter(id__in=list(
                set(await mails.using_db(conn).values_list("id", flat=True))
                | set(await OutboxMessage.filter(recipient__iexact=subject_email).using_db(conn).values_list(
                    "id", flat=True))) or [0])
        await anonymise.mails(conn, mails, removal=removal, dry_run=False)
        event_ids = {r.event_id for r in registrations} | {i.event_id for i in invitations}
        entries = [e.id for e in await AuditEntry.filter(event_id__in=list(event_ids) or [0]).using_db(conn)
                   if (e.detail or {}).get("registration_id") in registration_ids
                   or (e.detail or {}).get("invitation_id") in invitation_ids]
        await anonymise.audit_entries(conn, AuditEntry.filter(id__in=entries or [0]), removal=removal, dry_run=False)
    removal.event_ids -= upcoming  # letters of a reception still to come are made again when needed
    anonymise.files(settings.var_dir, removal, dry_run=False)
    await compact(settings)
    return removal


async def erase(settings: Settings, subject: Subject, *, by: User | None, now: datetime | None = None) -> dict[str, int]:
    """Erase the person everywhere; returns what was removed per table. Audited with the address's hash."""
    now = now or utcnow()
    registrations, invitations = await _find(subject)
    removal = await _remove(settings, registrations, invitations, subject_email=subject.email, now=now)
    booked, applied = await _find_other(subject)
    async with in_transaction() as conn:
        await anonymise.bookings(conn, booked, removal=removal, dry_run=False)
        await anonymise.partners(conn, applied, removal=removal, dry_run=False)
        if subject.email:
            removal.add("subscription", await Subscription.filter(email=subject.email).using_db(conn).delete())
    await audit.record("personal_data.erased", user=by, subject_sha256=subject.hash(),
                       by_identifier="email" if subject.email else "phone", **removal.counts)
    return dict(sorted(removal.counts.items()))


async def erase_own_registration(settings: Settings, *, token: str, now: datetime | None = None) -> int:
    """The person deletes their registration from their own page; returns the event's id."""
    now = now or utcnow()
    registration = await Registration.get_or_none(manage_token=token, anonymised_at__isnull=True)
    if registration is None:
        raise errors.RegistrationNotFound()
    invitations = await Invitation.filter(registration_id=registration.id, anonymised_at__isnull=True)
    removal = await _remove(settings, [registration], invitations, subject_email="", now=now)
    await audit.record("personal_data.erased_by_person", user=None, event_id=registration.event_id,
                       registration_id=registration.id, **removal.counts)
    return registration.event_id
