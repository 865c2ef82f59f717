"""Subscriptions with double opt-in: asking, confirming, leaving.

A request never tells whether the address is known: every request for an address is handled the
same way (one row written, at most one confirmation mail an hour), and what it asks for waits in
`pending` until the link in that mail is followed. Leaving deletes the address.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from events_app.core.models import (Event, EventKind, EventStatus, OutboxMessage, OutboxState, Registration,
                                    RegistrationStatus, SessionStatus, Subscription)
from events_app.core.timeutil import utcnow
from events_app.core.validation import normalise_email
from events_app.mail.outbox import queue_mail
from events_app.seats.signup import staff_address_allowed

#: Kinds of events one can hear about; receptions are by invitation and never announced.
SUBSCRIBABLE_KINDS = (EventKind.COURSE.value, EventKind.WORKSHOP.value, EventKind.TOUR.value,
                      EventKind.CONSULTATION.value, EventKind.FESTIVAL.value)
#: Staff workshops are announced only to work addresses.
STAFF_KINDS = frozenset({EventKind.WORKSHOP.value})
#: At most one confirmation mail per address in this time.
CONFIRMATION_INTERVAL = timedelta(hours=1)
#: Subscriptions never confirmed are deleted after this time.
UNCONFIRMED_KEPT = timedelta(days=7)
#: Mail kinds that go to subscribers (and are removed from the outbox when they leave).
SUBSCRIBER_MAIL_KINDS = ("subscription_confirm", "announcement", "newsletter")


@dataclass(frozen=True)
class Request:
    """What a person asked for, checked."""

    email: str
    kinds: tuple[str, ...]
    newsletter: bool
    language: str


def check_request(*, email, kinds, newsletter, language, staff_domains: Iterable[str]) -> Request:
    """Every problem of a subscription request at once, as ValidationFailed with a message per field."""
    problems: dict[str, str] = {}
    address = ""
    try:
        address = normalise_email(email if isinstance(email, str) else "")
    except ValueError as exc:
        problems["email"] = str(exc)
    if kinds is None:
        kinds = []
    if isinstance(kinds, str):
        kinds = [kinds]
    chosen: list[str] = []
    if not isinstance(kinds, (list, tuple)) or not all(isinstance(k, str) for k in kinds):
        problems["kinds"] = N_("Please choose from the kinds of events offered.")
    else:
        for kind in kinds:
            if kind not in SUBSCRIBABLE_KINDS:
                problems["kinds"] = N_("Please choose from the kinds of events offered.")
            elif kind not in chosen:
                chosen.append(kind)
    if not isinstance(newsletter, bool):
        problems["newsletter"] = N_("Please answer yes or no.")
        newsletter = False
    if "kinds" not in problems and not chosen and not newsletter:
        problems["kinds"] = N_("Please choose at least one kind of event or the newsletter.")
    if (address and "kinds" not in problems and STAFF_KINDS & set(chosen)
            and not staff_address_allowed(address, staff_domains)):
        problems["kinds"] = N_("Workshops for city staff can only be subscribed to with a work e-mail address.")
    if language in (None, ""):
        language = DEFAULT_LANGUAGE
    if language not in LANGUAGES:
        problems["language"] = N_("Please choose one of the languages offered.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    order = {kind: i for i, kind in enumerate(SUBSCRIBABLE_KINDS)}
    return Request(email=address, kinds=tuple(sorted(chosen, key=order.__getitem__)), newsletter=newsletter,
                   language=language)


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def request_subscription(*, request: Request, source: str, conn: BaseDBAsyncClient | None = None,
                               now: datetime | None = None) -> None:
    """Store what was asked for and queue the confirmation mail, at most one an hour.

    Known and unknown addresses take the same path and the caller learns nothing: the answer is
    always the same, and the owner of the address decides by following the link (or not).
    """
    if conn is None:
        try:
            async with in_transaction() as conn:
                return await request_subscription(request=request, source=source, conn=conn, now=now)
        except IntegrityError:  # the same new address asked twice at once: the other request stored it
            async with in_transaction() as conn:
                return await request_subscription(request=request, source=source, conn=conn, now=now)
    now = now or utcnow()
    pending = {"kinds": list(request.kinds), "newsletter": request.newsletter, "language": request.language,
               "source": source, "asked_at": now.isoformat()}
    subscription = await Subscription.filter(email=request.email).using_db(conn).select_for_update().first()
    if subscription is None:
        subscription = await Subscription.create(email=request.email, language=request.language, token=new_token(),
                                                 pending=pending, using_db=conn)
    else:
        subscription.pending = pending
    recent = (subscription.confirmation_sent_at is not None
              and now - subscription.confirmation_sent_at < CONFIRMATION_INTERVAL)
    if not recent:
        subscription.confirmation_sent_at = now
    await subscription.save(using_db=conn, update_fields=["pending", "confirmation_sent_at"])
    if not recent:
        await queue_mail(conn, template="subscription_confirm", recipient=subscription.email,
                         language=request.language, context={"subscription_id": subscription.id})


async def find_by_subscription_token(token: str) -> Subscription:
    """The subscription of a link, or SubscriptionNotFound (forged, used up or deleted)."""
    if not token or len(token) > 64:
        raise errors.SubscriptionNotFound()
    subscription = await Subscription.get_or_none(token=token)
    if subscription is None:
        raise errors.SubscriptionNotFound()
    return subscription


async def confirm(*, token: str, now: datetime | None = None) -> Subscription:
    """Apply what the link's request asked for and record the consent. A used link changes nothing."""
    now = now or utcnow()
    async with in_transaction() as conn:
        subscription = await Subscription.filter(token=token).using_db(conn).select_for_update().first() \
            if token and len(token) <= 64 else None
        if subscription is None:
            raise errors.SubscriptionNotFound()
        asked = subscription.pending
        if not asked:
            if subscription.confirmed_at is None:
                raise errors.SubscriptionNotFound()
            return subscription  # confirmed before: the same page again, nothing changes
        subscription.kinds = list(asked.get("kinds", []))
        subscription.newsletter = bool(asked.get("newsletter"))
        subscription.language = asked.get("language") or subscription.language
        subscription.consent = {"method": "double opt-in: link in a confirmation mail, then a button",
                                "source": asked.get("source", ""), "asked_at": asked.get("asked_at", ""),
                                "confirmed_at": now.isoformat()}
        subscription.confirmed_at = subscription.confirmed_at or now
        subscription.pending = {}
        # a fresh secret: the confirmation link cannot be used again, the next mails carry the new one
        subscription.token = new_token()
        await subscription.save(using_db=conn)
    return subscription


async def subscribe_after_waiting(*, manage_token: str, now: datetime | None = None) -> Subscription:
    """A person whose wait ended without a seat asks to hear about the next date of the same kind.

    Their personal link (sent to their address) shows they own it, so this needs no second mail.
    """
    now = now or utcnow()
    registration = (await Registration.get_or_none(manage_token=manage_token).prefetch_related("event__sessions")
                    if manage_token and len(manage_token) <= 64 else None)
    if registration is None:
        raise errors.RegistrationNotFound()
    if not waited_without_seat(registration, registration.event, now=now):
        raise errors.SubscriptionNotPossible()
    kind = registration.event.kind.value
    async with in_transaction() as conn:
        subscription = await Subscription.filter(email=registration.email).using_db(conn).select_for_update().first()
        consent = {"method": "button on the personal page of a registration that waited without a seat",
                   "source": f"registration {registration.id}", "asked_at": now.isoformat(),
                   "confirmed_at": now.isoformat()}
        if subscription is None:
            subscription = await Subscription.create(
                email=registration.email, language=registration.language, token=new_token(), kinds=[kind],
                consent=consent, confirmed_at=now, using_db=conn)
        else:
            if kind not in subscription.kinds:
                subscription.kinds = [*subscription.kinds, kind]
            if subscription.confirmed_at is None:
                subscription.confirmed_at = now
                subscription.consent = consent
                subscription.newsletter = False
                subscription.kinds = [kind]
                subscription.pending = {}
            await subscription.save(using_db=conn)
    return subscription


def waited_without_seat(registration: Registration, event: Event, *, now: datetime | None = None) -> bool:
    """Whether the personal page offers to hear about the next date (never done automatically): the
    person's offer expired, or they still waited when the event began, closed or was cancelled."""
    if not registration.email or event.kind.value not in SUBSCRIBABLE_KINDS:
        return False
    if registration.status == RegistrationStatus.EXPIRED:
        return True
    now = now or utcnow()
    starts = [s.starts_at for s in event.sessions if s.status == SessionStatus.SCHEDULED]
    over = (event.status == EventStatus.CANCELLED
            or (event.registration_closes_at is not None and event.registration_closes_at <= now)
            or (bool(starts) and min(starts) <= now))
    return over and registration.status == RegistrationStatus.WAITLISTED


async def unsubscribe(*, token: str, keep_kinds: Iterable[str] = (), keep_newsletter: bool = False) -> bool:
    """Leave: everything, or all but what is kept. Returns True when the address was deleted.

    Deleting removes the address itself (no "unsubscribed" flag is kept) and its unsent mails.
    """
    async with in_transaction() as conn:
        subscription = await Subscription.filter(token=token).using_db(conn).select_for_update().first() \
            if token and len(token) <= 64 else None
        if subscription is None:
            raise errors.SubscriptionNotFound()
        kept = [kind for kind in subscription.kinds if kind in set(keep_kinds)]
        newsletter = keep_newsletter and subscription.newsletter
        if kept or newsletter:
            subscription.kinds, subscription.newsletter = kept, newsletter
            await subscription.save(using_db=conn, update_fields=["kinds", "newsletter"])
            return False
        await OutboxMessage.filter(recipient=subscription.email, template__in=SUBSCRIBER_MAIL_KINDS,
                                   state__in=(OutboxState.QUEUED, OutboxState.RETRY)).using_db(conn).delete()
        await subscription.delete(using_db=conn)
        return True


async def delete_unconfirmed(*, now: datetime | None = None) -> int:
    """Subscriptions never confirmed within UNCONFIRMED_KEPT are deleted; returns how many."""
    cutoff = (now or utcnow()) - UNCONFIRMED_KEPT
    return await Subscription.filter(confirmed_at__isnull=True, created_at__lt=cutoff).delete()


async def counts() -> dict:
    """Confirmed subscribers per kind and per language, and of the newsletter: what organisers see."""
    by_kind = {kind: 0 for kind in SUBSCRIBABLE_KINDS}
    by_language: dict[str, int] = {}
    newsletter = total = 0
    for kinds, wants_newsletter, language in await Subscription.filter(confirmed_at__isnull=False).values_list(
            "kinds", "newsletter", "language"):
        total += 1
        newsletter += bool(wants_newsletter)
        by_language[language] = by_language.get(language, 0) + 1
        for kind in kinds or []:
            if kind in by_kind:
                by_kind[kind] += 1
    pending = await Subscription.filter(confirmed_at__isnull=True).count()
    return {"total": total, "newsletter": newsletter, "by_kind": by_kind, "by_language": by_language,
            "unconfirmed": pending}


async def confirmed_subscribers() -> list[Subscription]:
    """The list itself: for admins only (course subscribers are sensitive)."""
    return await Subscription.filter(confirmed_at__isnull=False).order_by("email")
