"""Global Village partner stands: applications, the organisers' decisions, the stands and who waits for one.

Stands are counted like seats: `Event.stands_taken` is read, compared with `Event.stands` and written
back only under the event lock (`seats.seating.event_lock`), so accepting in a rush, a
withdrawal and a change of the number of stands never give one stand twice. An accepted application
without a free stand waits in order of acceptance (`queued_at`) and gets the next stand that frees.
Every decision is a mail to the partner in their language, written in the same transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_app.core import audit, errors, i18n
from events_app.core.errors import N_
from events_app.core.models import (Event, EventKind, EventStatus, PartnerApplication, PartnerStatus, Question,
                                    User, Visibility)
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text, normalise_email, normalise_phone
from events_app.mail.outbox import queue_mail
from events_app.seats.seating import event_lock

P = PartnerStatus
#: What a stand may need, asked as yes/no on the form (plus free text).
NEEDS = {"table": N_("Table"), "power": N_("Power"), "tent": N_("Tent"), "food_permit": N_("Food permit")}
DECISIONS = ("accept", "decline", "pending")
#: Statuses an organiser may accept from.
OPEN = (P.PENDING, P.DECLINED)


@dataclass(frozen=True)
class PartnerForm:
    organisation: str
    contact_name: str
    email: str
    phone: str = ""
    language: str = "de"
    presents: str = ""
    languages: tuple[str, ...] = ()
    needs: dict = field(default_factory=dict)
    answers: dict = field(default_factory=dict)


#: Custom questions with these keys repeat the form's own fields (a festival's visitor form may ask them).
OWN_FIELDS = frozenset({"organisation", "contact_name", "email", "phone", "presents", "languages", *NEEDS})


def partner_questions(event: Event) -> list[Question]:
    """The event's custom questions the partner form asks besides its own fields."""
    return [question for question in event.questions if question.key not in OWN_FIELDS]


def check_form(form: PartnerForm, questions: list[Question]) -> PartnerForm:
    """The application normalised, or ValidationFailed with a message per field."""
    problems: dict[str, str] = {}
    organisation = clean_text(form.organisation, max_length=200)
    contact = clean_text(form.contact_name, max_length=200)
    if not organisation:
        problems["organisation"] = N_("Please enter the name of your organisation.")
    if not contact:
        problems["contact_name"] = N_("Please enter a contact person.")
    email = phone = ""
    try:
        email = normalise_email(form.email)
    except ValueError as exc:
        problems["email"] = str(exc)
    if form.phone.strip():
        try:
            phone = normalise_phone(form.phone)
        except ValueError as exc:
            problems["phone"] = str(exc)
    needs = {key: bool(form.needs.get(key)) for key in NEEDS}
    needs["other"] = clean_text(str(form.needs.get("other") or ""), max_length=1000)
    answers: dict[str, str] = {}
    for question in questions:
        value = clean_text(str(form.answers.get(question.key) or ""), max_length=1000)
        if question.kind == "choice" and value and value not in question.choices:
            problems[f"q_{question.key}"] = N_("This value is not one of the allowed options.")
        if question.required and not value:
            problems[f"q_{question.key}"] = N_("Please answer this question.")
        if value:
            answers[question.key] = value
    if problems:
        raise errors.ValidationFailed(fields=problems)
    languages = tuple(dict.fromkeys(clean_text(item, max_length=50) for item in form.languages if item.strip()))[:20]
    return PartnerForm(organisation=organisation, contact_name=contact, email=email, phone=phone,
                       language=form.language if form.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE,
                       presents=clean_text(form.presents, max_length=2000), languages=languages, needs=needs,
                       answers=answers)


async def festival(event_id: int, *, public: bool) -> Event:
    event = await Event.get_or_none(id=event_id).prefetch_related("questions")
    if event is None or (public and event.visibility == Visibility.DRAFT):
        raise errors.EventNotFound()
    if event.kind != EventKind.FESTIVAL:
        raise errors.NotFestival()
    return event


def _context(partner: PartnerApplication, **extra) -> dict:
    return {"partner_id": partner.id, "name": partner.contact_name, "organisation": partner.organisation,
            "token": partner.manage_token, "stand_number": partner.stand_number, **extra}


async def _tell(conn: BaseDBAsyncClient, partner: PartnerApplication, template: str, **extra) -> None:
    await queue_mail(conn, template=template, recipient=partner.email, language=partner.language,
                     context=_context(partner, **extra), event_id=partner.event_id)


async def apply(*, event_id: int, form: PartnerForm, now: datetime | None = None) -> PartnerApplication:
    """A partner applies for a stand: PENDING, with a "received" mail."""
    event = await festival(event_id, public=True)
    if event.status == EventStatus.CANCELLED:
        raise errors.EventCancelled()
    form = check_form(form, partner_questions(event))
    async with in_transaction() as conn:  # holds no stand yet: no need to wait for the event lock
        partner = await PartnerApplication.create(
            event_id=event_id, organisation=form.organisation, contact_name=form.contact_name, email=form.email,
            phone=form.phone, language=form.language, presents=form.presents, languages=list(form.languages),
            needs=form.needs, answers=form.answers, status=P.PENDING, manage_token=secrets.token_urlsafe(32),
            using_db=conn)
        await _tell(conn, partner, "partner_received")
    return partner


async def _save(conn: BaseDBAsyncClient, partner: PartnerApplication, *names: str) -> None:
    await partner.save(using_db=conn, update_fields=["status", "queued_at", "updated_at", *names])


async def _release(conn: BaseDBAsyncClient, event: Event, partner: PartnerApplication) -> bool:
    """Give back the partner's stand if it holds one (the caller sets the new status and saves)."""
    if partner.status != P.ACCEPTED:
        return False
    event.stands_taken -= 1
    partner.stand_number = ""
    return True


async def promote_waiting(conn: BaseDBAsyncClient, event: Event, now: datetime) -> list[PartnerApplication]:
    """Free stands go to accepted applications waiting, oldest acceptance first (under the event lock)."""
    promoted = []
    while event.stands_taken < event.stands:
        nxt = await PartnerApplication.filter(event_id=event.id, status=P.WAITING).using_db(conn) \
            .order_by("queued_at", "id").first()
        if nxt is None:
            break
        nxt.status = P.ACCEPTED
        nxt.decided_at = now
        event.stands_taken += 1
        await _save(conn, nxt, "decided_at")
        await _tell(conn, nxt, "partner_accepted")
        promoted.append(nxt)
    await event.save(using_db=conn, update_fields=["stands_taken"])
    return promoted


async def _locked_partner(conn: BaseDBAsyncClient, partner_id: int, event_id: int) -> PartnerApplication:
    partner = await PartnerApplication.select_for_update().using_db(conn).get_or_none(id=partner_id, event_id=event_id)
    if partner is None:
        raise errors.PartnerNotFound()
    return partner


async def decide(*, partner_id: int, decision: str, reason: str = "", by: User | None = None,
                 now: datetime | None = None) -> PartnerApplication:
    """accept (a stand, or waiting in order when none is free), decline (with a reason) or back to pending."""
    now = now or utcnow()
    if decision not in DECISIONS:
        raise errors.ValidationFailed(fields={"decision": N_("This value is not one of the allowed options.")})
    reason = clean_text(reason or "", max_length=2000)
    if decision == "decline" and not reason:
        raise errors.ValidationFailed(fields={"reason": N_("Please give a reason: the partner reads it.")})
    found = await PartnerApplication.get_or_none(id=partner_id)
    if found is None:
        raise errors.PartnerNotFound()
    async with event_lock(found.event_id) as (conn, event):
        partner = await _locked_partner(conn, partner_id, event.id)
        if partner.status == P.WITHDRAWN:
            raise errors.PartnerStateConflict()
        if decision == "accept":
            if partner.status not in OPEN:
                raise errors.PartnerStateConflict()
            partner.decided_at, partner.reason = now, ""
            if event.stands_taken < event.stands:
                partner.status, partner.queued_at = P.ACCEPTED, None
                event.stands_taken += 1
                template = "partner_accepted"
            else:
                partner.status, partner.queued_at = P.WAITING, now
                template = "partner_waiting"
        else:
            target = P.DECLINED if decision == "decline" else P.PENDING
            if partner.status == target:
                raise errors.PartnerStateConflict()
            await _release(conn, event, partner)
            partner.status, partner.queued_at, partner.decided_at = target, None, now
            partner.reason = reason
            template = "partner_declined" if decision == "decline" else "partner_pending"
        await _save(conn, partner, "decided_at", "reason", "stand_number")
        await _tell(conn, partner, template, reason=reason)
        await promote_waiting(conn, event, now)
        await audit.record("partner.decided", user=by, event_id=event.id, conn=conn, partner=partner.id,
                           decision=decision, status=partner.status.value)
    return partner


async def find_by_partner_token(token: str) -> PartnerApplication:
    partner = await PartnerApplication.get_or_none(manage_token=token).prefetch_related("event")
    if partner is None:
        raise errors.PartnerNotFound()
    return partner


async def withdraw(*, token: str, now: datetime | None = None) -> PartnerApplication:
    """The partner withdraws by their personal link; a freed stand goes to the next one waiting."""
    now = now or utcnow()
    found = await find_by_partner_token(token)
    async with event_lock(found.event_id) as (conn, event):
        partner = await _locked_partner(conn, found.id, event.id)
        if partner.status == P.WITHDRAWN:
            raise errors.PartnerStateConflict()
        await _release(conn, event, partner)
        partner.status, partner.queued_at = P.WITHDRAWN, None
        await _save(conn, partner, "stand_number")
        await _tell(conn, partner, "partner_withdrawn")
        await promote_waiting(conn, event, now)
    return partner


async def tell_event_cancelled(*, event_id: int, reason: str = "") -> int:
    """The festival is cancelled: every partner still in the running (pending, accepted, waiting) is told."""
    async with in_transaction() as conn:
        told = await PartnerApplication.filter(event_id=event_id, status__in=(P.PENDING, P.ACCEPTED, P.WAITING)) \
            .using_db(conn)
        for partner in told:
            await _tell(conn, partner, "partner_event_cancelled", reason=clean_text(reason, max_length=1000))
    return len(told)


async def set_stands(*, event_id: int, stands: int, by: User | None = None, now: datetime | None = None) -> Event:
    """How many stands the festival has; fewer than those given is refused, more go to those waiting."""
    now = now or utcnow()
    async with event_lock(event_id) as (conn, event):
        if event.kind != EventKind.FESTIVAL:
            raise errors.NotFestival()
        if stands < event.stands_taken:
            raise errors.ValidationFailed(fields={"stands": N_(
                "There cannot be fewer stands than partners accepted (%(taken)d).")}, taken=event.stands_taken)
        event.stands = stands
        await event.save(using_db=conn, update_fields=["stands"])
        await promote_waiting(conn, event, now)
        await audit.record("partner.stands", user=by, event_id=event_id, conn=conn, stands=stands)
    return event


async def assign_stand_numbers(*, event_id: int, numbers: dict[int, str], by: User | None = None) -> int:
    """Stand numbers for the site plan, for accepted partners only; returns how many changed."""
    changed = 0
    async with event_lock(event_id) as (conn, _event):
        accepted = {p.id: p for p in await PartnerApplication.filter(event_id=event_id, status=P.ACCEPTED)
                    .using_db(conn)}
        for partner_id, number in numbers.items():
            partner = accepted.get(partner_id)
            number = clean_text(number, max_length=20)
            if partner is not None and partner.stand_number != number:
                partner.stand_number = number
                await partner.save(using_db=conn, update_fields=["stand_number", "updated_at"])
                changed += 1
        await audit.record("partner.stand_numbers", user=by, event_id=event_id, conn=conn, changed=changed)
    return changed


async def list_partners(event_id: int) -> list[PartnerApplication]:
    return list(await PartnerApplication.filter(event_id=event_id).order_by("created_at", "id"))


async def waiting_positions(event_id: int) -> dict[int, int]:
    waiting = await PartnerApplication.filter(event_id=event_id, status=P.WAITING).order_by(
        "queued_at", "id").values_list("id", flat=True)
    return {partner_id: place for place, partner_id in enumerate(waiting, start=1)}


def needs_text(partner: PartnerApplication, language: str) -> str:
    """The stand's needs as one line in the reader's language."""
    needs = partner.needs or {}
    parts = [i18n.gettext(language, label) for key, label in NEEDS.items() if needs.get(key)]
    if needs.get("other"):
        parts.append(needs["other"])
    return i18n.format_list(parts, language)


