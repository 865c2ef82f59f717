"""Announcements of newly opened events and newsletters: written to the outbox as bulk mail.

Bulk mail goes through the outbox like every other mail, in large inserts, and the worker sends
mail about a person's own registration first, so a confirmation never waits behind a newsletter.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from events_app.core.models import (Announcement, Audience, Event, EventSession, EventStatus, Newsletter,
                                    SessionStatus, Subscription, User, Visibility)
from events_app.core.timeutil import utcnow
from events_app.mail.outbox import queue_bulk_mail, queue_mail
from events_app.newsletter.subscriptions import SUBSCRIBABLE_KINDS
from events_app.seats.signup import staff_address_allowed

SUBJECT_MAX = 200
BODY_MAX = 20_000


async def _announceable(now: datetime) -> list[Event]:
    """Public events of a subscribable kind whose registration is open now and not yet announced."""
    return await Event.filter(
        Q(registration_opens_at__isnull=True) | Q(registration_opens_at__lte=now),
        Q(registration_closes_at__isnull=True) | Q(registration_closes_at__gt=now),
        announced_at__isnull=True, visibility=Visibility.PUBLIC, status=EventStatus.SCHEDULED,
        kind__in=SUBSCRIBABLE_KINDS,
    ).exclude(audience=Audience.INVITATION).order_by("id")


async def announce_due(*, staff_domains: tuple[str, ...], now: datetime | None = None) -> int:
    """Tell each confirmed subscriber of its kind about every event whose registration opened.

    One event at a time, in one transaction: the event is claimed by a conditional update, so two
    workers never announce it twice, and the (event, subscription) pairs are unique besides.
    Returns the number of mails queued.
    """
    now = now or utcnow()
    queued = 0
    for event in await _announceable(now):
        async with in_transaction() as conn:
            claimed = await Event.filter(id=event.id, announced_at__isnull=True).using_db(conn).update(
                announced_at=now)
            if not claimed:
                continue
            upcoming = await EventSession.filter(event_id=event.id, status=SessionStatus.SCHEDULED,
                                                 starts_at__gt=now).using_db(conn).exists()
            if not upcoming:  # recorded after it took place: nothing to announce
                continue
            kind = event.kind.value
            subscribers = [s for s in await Subscription.filter(confirmed_at__isnull=False).using_db(conn)
                           if kind in (s.kinds or [])
                           and (event.audience != Audience.STAFF or staff_address_allowed(s.email, staff_domains))]
            told = set(await Announcement.filter(event_id=event.id).using_db(conn).values_list(
                "subscription_id", flat=True))
            subscribers = [s for s in subscribers if s.id not in told]
            if not subscribers:
                continue
            await Announcement.bulk_create([Announcement(event_id=event.id, subscription_id=s.id)
                                            for s in subscribers], batch_size=500, using_db=conn)
            queued += await queue_bulk_mail(conn, template="announcement", event_id=event.id, messages=[
                (s.email, s.language, {"subscription_id": s.id}) for s in subscribers])
    return queued


def check_texts(texts: dict) -> dict:
    """Subject and text per language; German is required, the others fall back to it."""
    problems: dict[str, str] = {}
    cleaned: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        entry = texts.get(language) or {}
        subject = " ".join(str(entry.get("subject") or "").split())[:SUBJECT_MAX]
        body = str(entry.get("body") or "").replace("\r\n", "\n").strip()
        if len(body) > BODY_MAX:
            problems[f"body_{language}"] = N_("This text is too long.")
        if subject and not body:
            problems[f"body_{language}"] = N_("Please write the text for this subject.")
        if body and not subject:
            problems[f"subject_{language}"] = N_("Please write a subject for this text.")
        if subject and body:
            cleaned[language] = {"subject": subject, "body": body}
    if DEFAULT_LANGUAGE not in cleaned and f"subject_{DEFAULT_LANGUAGE}" not in problems:
        problems[f"subject_{DEFAULT_LANGUAGE}"] = N_("The German subject and text are required.")
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return cleaned


async def save_newsletter(*, texts: dict, by: User, newsletter_id: int | None = None) -> Newsletter:
    """Create or change a newsletter that has not been sent."""
    cleaned = check_texts(texts)
    if newsletter_id is None:
        return await Newsletter.create(texts=cleaned, created_by=by)
    newsletter = await get_newsletter(newsletter_id)
    if newsletter.sent_at is not None:
        raise errors.NewsletterAlreadySent()
    newsletter.texts = cleaned
    await newsletter.save(update_fields=["texts"])
    return newsletter


async def get_newsletter(newsletter_id: int) -> Newsletter:
    newsletter = await Newsletter.get_or_none(id=newsletter_id)
    if newsletter is None:
        raise errors.NotFound()
    return newsletter


async def recipients_count() -> int:
    return await Subscription.filter(confirmed_at__isnull=False, newsletter=True).count()


async def send_test(*, newsletter_id: int, to: User) -> None:
    """The newsletter to the organiser alone, in each language it has, to read before sending."""
    newsletter = await get_newsletter(newsletter_id)
    async with in_transaction() as conn:
        for language in newsletter.texts:
            await queue_mail(conn, template="newsletter", recipient=to.email, language=language,
                             context={"newsletter_id": newsletter.id, "test": True})


async def send_newsletter(*, newsletter_id: int, by: User) -> int:
    """Queue the newsletter for every confirmed newsletter subscriber, in their language.

    Claimed by a conditional update first, so a second click or a second organiser sends nothing.
    """
    async with in_transaction() as conn:
        claimed = await Newsletter.filter(id=newsletter_id, sent_at__isnull=True).using_db(conn).update(
            sent_at=utcnow())
        if not claimed:
            await get_newsletter(newsletter_id)
            raise errors.NewsletterAlreadySent()
        subscribers = await Subscription.filter(confirmed_at__isnull=False, newsletter=True).using_db(conn).values_list(
            "id", "email", "language")
        count = await queue_bulk_mail(conn, template="newsletter", messages=[
            (email, language, {"subscription_id": subscription_id, "newsletter_id": newsletter_id})
            for subscription_id, email, language in subscribers])
        await Newsletter.filter(id=newsletter_id).using_db(conn).update(recipients=count)
        await audit.record("newsletter.sent", user=by, conn=conn, newsletter=newsletter_id, recipients=count)
    return count


async def list_newsletters() -> list[Newsletter]:
    return await Newsletter.all().order_by("-created_at", "-id")
