"""What each kind of mail says: the template variables for one outbox row, rendered to subject, text and HTML.

Rendering reads the registration and event as they are when the mail goes out, in the
registrant's language (German when the language is unknown). Subject, text and HTML part come
from `templates/email/<kind>.txt` and `.html`; confirmations and change notices carry the event
as an `.ics` attachment. Confidential meeting points appear only in confirmations, which also carry
the check-in QR code as an inline PNG (mail programs block SVG and data: images) and its link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from events_app.calendar import ical
from events_app.core import i18n, urls
from events_app.core.models import (Event, EventSession, EventStatus, Invitation, MailText, Newsletter, OutboxMessage,
                                    Registration, RegistrationStatus, SessionStatus, Subscription)
from events_app.core.rendering import base_context, environment
from events_app.core.settings import Settings
from events_app.core.timeutil import utcnow
from events_app.core.wording import format_code, greeting
from events_app.mail.failures import PermanentFailure
from events_app.core.contact import contact_code
from events_app.mail import stored
from events_app.mail.mime import one_line

#: Message kinds the engine queues, and the templates that exist for them.
KINDS = ("confirmed", "waitlisted", "offered", "promoted", "offer_expired", "cancelled",
         "cancelled_by_organiser", "event_changed", "event_cancelled", "reminder", "digest",
         "verify_email", "organiser_message", "certificate", "invitation", "invitation_reminder")
#: Kinds that tell the (possibly confidential) meeting point: the person holds a confirmed seat.
CONFIRMATION_KINDS = frozenset({"confirmed", "promoted"})
#: Kinds that carry the event as a calendar file.
CALENDAR_KINDS = frozenset({"confirmed", "promoted", "event_changed"})


def localised(event: Event, language: str, name: str) -> str:
    """The event's title or description in the language, falling back to the German column."""
    value = (event.translations or {}).get(language, {}).get(name)
    return value or getattr(event, name)


@dataclass
class MailData:
    """Everything the templates of a batch need, loaded with a few queries."""

    registrations: dict[int, Registration]
    events: dict[int, Event]
    sessions: dict[int, list[EventSession]]
    #: Calendar files built in this batch, by (event, language, audience): alike for everyone whose
    #: registration never changed status, which is most confirmations.
    calendars: dict[tuple, bytes] = field(default_factory=dict)
    #: Formatted dates of an event's sessions, by (event, language).
    dates: dict[tuple, tuple[list[str], list[str]]] = field(default_factory=dict)
    #: Invitations (receptions) the batch writes to, with their event and sessions.
    invitations: dict[int, Invitation] = field(default_factory=dict)
    #: Subscribers (announcements, newsletters) and the newsletters the batch sends.
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    newsletters: dict[int, Newsletter] = field(default_factory=dict)
    #: The organisers' own wording, by (event, kind, language) (see mail/texts.py).
    own_texts: dict[tuple[int, str, str], MailText] = field(default_factory=dict)


async def load_data(rows: list[OutboxMessage]) -> MailData:
    registration_ids = {r.registration_id for r in rows if r.registration_id}
    registrations = {r.id: r for r in await Registration.filter(id__in=registration_ids)} if registration_ids else {}
    event_ids = {r.event_id for r in rows if r.event_id} | {r.event_id for r in registrations.values()}
    events = {e.id: e for e in await Event.filter(id__in=event_ids)} if event_ids else {}
    sessions: dict[int, list[EventSession]] = {event_id: [] for event_id in event_ids}
    if event_ids:
        for session in await EventSession.filter(event_id__in=event_ids).order_by("starts_at", "id"):
            sessions[session.event_id].append(session)
    # invitations and their reminders, and mail to invitees who have not answered: no registration
    invitation_ids = {r.context["invitation_id"] for r in rows
                      if r.registration_id is None and r.context.get("invitation_id")}
    invitations = ({i.id: i for i in await Invitation.filter(id__in=invitation_ids).prefetch_related(
        "event", "event__sessions")} if invitation_ids else {})
    subscription_ids = {r.context["subscription_id"] for r in rows if (r.context or {}).get("subscription_id")}
    subscriptions = ({s.id: s for s in await Subscription.filter(id__in=subscription_ids)}
                     if subscription_ids else {})
    newsletter_ids = {r.context["newsletter_id"] for r in rows if (r.context or {}).get("newsletter_id")}
    newsletters = {n.id: n for n in await Newsletter.filter(id__in=newsletter_ids)} if newsletter_ids else {}
    own_texts = ({(t.event_id, t.kind, t.language): t for t in await MailText.filter(event_id__in=event_ids)}
                 if event_ids else {})
    return MailData(registrations, events, sessions, invitations=invitations, subscriptions=subscriptions,
                    newsletters=newsletters, own_texts=own_texts)


@lru_cache(maxsize=1)
def _environment():
    """The site's template environment, without the per-render file check (mail templates change on deploy)."""
    return environment().overlay(auto_reload=False, cache_size=100)


def render_parts(kind: str, language: str, settings: Settings, context: dict) -> tuple[str, str, str]:
    """Subject (the text template's `subject` block), text and HTML of one mail."""
    env = _environment()
    values = {**base_context(language, settings), **context}
    text_template = env.get_template(f"email/{kind}.txt")
    subject = one_line((context.get("own_text") or {}).get("subject")
                       or "".join(text_template.blocks["subject"](text_template.new_context(values))))
    text = text_template.render(values).strip() + "\n"
    html = env.get_template(f"email/{kind}.html").render({**values, "subject": subject})
    return subject, text, html


def digest_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """The organisers' digest carries its figures in the row (see digest.py)."""
    figures = row.context or {}
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return {"kind": row.template, "language": language, "registration": None, "calendar_attached": False,
            "events": figures.get("events", []), "failed": figures.get("failed", []),
            "since": datetime.fromisoformat(figures["since"]) if figures.get("since") else utcnow(),
            "until": datetime.fromisoformat(figures["until"]) if figures.get("until") else utcnow(),
            "base_url": settings.base_url}


def invitation_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """An invitation to a reception (or its reminder): written to the invitee, not a registration."""
    invitation = data.invitations.get((row.context or {}).get("invitation_id"))
    if invitation is None:
        raise PermanentFailure("the invitation of this message no longer exists")
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return {"kind": row.template, "language": language, "registration": None, "calendar_attached": False,
            "invitation": invitation, "event": invitation.event, "code": format_code(invitation.code),
            "link": urls.rsvp_page(settings.base_url, invitation.token), "rsvp_url": urls.rsvp_form(settings.base_url),
            "greeting": greeting(invitation)}


INVITATION_KINDS = frozenset({"invitation", "invitation_reminder"})

def stored_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """Bookings, partner applications, interpreters: the facts are in the row (see mail/stored.py)."""
    event = data.events.get(row.event_id) if row.event_id else None
    if event is None:
        raise PermanentFailure("the event of this message no longer exists")
    return stored.context(row, event, settings)

def _subscription(row: OutboxMessage, data: MailData) -> Subscription:
    subscription = data.subscriptions.get((row.context or {}).get("subscription_id"))
    if subscription is None:  # unsubscribed or expired since: nobody to write to
        raise PermanentFailure("the subscription of this message no longer exists")
    return subscription


def _subscriber_context(row: OutboxMessage, subscription: Subscription, settings: Settings) -> dict:
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return {"kind": row.template, "language": language, "registration": None, "calendar_attached": False,
            "subscription": subscription, "unsubscribe_url": urls.unsubscribe(settings.base_url, subscription.token)}


def subscription_confirm_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """The double opt-in mail: the only mail an address gets before its owner follows the link."""
    subscription = _subscription(row, data)
    context = _subscriber_context(row, subscription, settings)
    asked = subscription.pending or {}
    context.update(unsubscribe_url="", kinds=asked.get("kinds", []), newsletter=bool(asked.get("newsletter")),
                   confirm_url=urls.subscription_confirmation(settings.base_url, subscription.token))
    return context


def announcement_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """A newly opened event of a kind the subscriber asked for."""
    subscription = _subscription(row, data)
    event = data.events.get(row.event_id)
    if event is None:
        raise PermanentFailure("the event of this message no longer exists")
    context = _subscriber_context(row, subscription, settings)
    language = context["language"]
    if (event.id, language) not in data.dates:
        fmt = i18n.Formatter(language, settings.timezone)
        shown = [s for s in data.sessions.get(event.id, []) if s.status == SessionStatus.SCHEDULED]
        data.dates[event.id, language] = ([fmt.span(s.starts_at, s.ends_at) for s in shown], [])
    context.update(event=event, title=localised(event, language, "title"), dates=data.dates[event.id, language][0],
                   show_location=bool(event.location) and not event.location_confidential,
                   location_withheld=event.location_confidential,
                   event_url=urls.event_page(settings.base_url, event.id))
    return context


def newsletter_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """A newsletter in the subscriber's language, German when it has no text in theirs.

    A test mail goes to an organiser, who has no subscription: its unsubscribe link is a sample.
    """
    newsletter = data.newsletters.get((row.context or {}).get("newsletter_id"))
    if newsletter is None:
        raise PermanentFailure("the newsletter of this message no longer exists")
    if (row.context or {}).get("test"):
        language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        context = {"kind": row.template, "language": language, "registration": None, "calendar_attached": False,
                   "subscription": None, "unsubscribe_url": "", "test": True}
    else:
        context = _subscriber_context(row, _subscription(row, data), settings)
    texts = newsletter.texts or {}
    language = context["language"] if context["language"] in texts else i18n.DEFAULT_LANGUAGE
    text = texts.get(language) or {}
    context.update(language=language, newsletter_subject=text.get("subject", ""),
                   newsletter_body=text.get("body", ""))
    return context


#: Kinds whose variables do not come from a registration: kind -> function(row, data, settings) -> context.
OTHER_CONTEXTS = {"digest": digest_context, "invitation": invitation_context,
                  "invitation_reminder": invitation_context, "subscription_confirm": subscription_confirm_context,
                  "announcement": announcement_context, "newsletter": newsletter_context,
                  **{kind: stored_context for kind in stored.KINDS}}


def _contact_query(registration, event, settings) -> dict[str, str]:
    """`?contact=` for the manage link of a confidential event (core/contact.py); nothing otherwise."""
    if not (event.location_confidential and registration.email):
        return {}
    return {"contact": contact_code(registration_id=registration.id, email=registration.email,
                                    secret_key=settings.secret_key)}


def _own_text(text: MailText | None) -> dict:
    """The organiser's subject and opening paragraph, as the templates use them (empty: the built-in ones)."""
    return {"subject": text.subject, "intro": text.body} if text else {}


def mail_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """Template variables for one row: the registration and event as they are now.

    A row without a registration but with an `invitation_id` writes to a reception's invitee who has
    not answered (e.g. the event is cancelled): `registration` is then None.
    """
    if row.template in OTHER_CONTEXTS:
        return OTHER_CONTEXTS[row.template](row, data, settings)
    registration = data.registrations.get(row.registration_id) if row.registration_id else None
    invitation = None if row.registration_id else data.invitations.get((row.context or {}).get("invitation_id"))
    event_id = row.event_id or (registration.event_id if registration else None)
    event = data.events.get(event_id) if event_id else None
    if event is None:
        raise PermanentFailure("the event of this message no longer exists")
    if registration is None and invitation is None:  # deleted or anonymised since: the person is not written to
        raise PermanentFailure("the registration of this message no longer exists")
    if row.template not in KINDS:
        raise PermanentFailure(f"unknown message kind {row.template!r}")
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    all_sessions = data.sessions.get(event.id, [])
    scheduled = [s for s in all_sessions if s.status == SessionStatus.SCHEDULED]
    extra = row.context or {}
    offer_expires_at = extra.get("offer_expires_at")
    if (event.id, language) not in data.dates:
        fmt = i18n.Formatter(language, settings.timezone)
        data.dates[event.id, language] = ([fmt.span(s.starts_at, s.ends_at) for s in scheduled],
                                          [fmt.span(s.starts_at, s.ends_at) for s in all_sessions
                                           if s.status == SessionStatus.CANCELLED])
    dates, cancelled_dates = data.dates[event.id, language]
    # only people holding a seat get the dates into their calendar and a check-in code
    holds_seat = (registration is not None and event.status != EventStatus.CANCELLED
                  and registration.status == RegistrationStatus.CONFIRMED)
    checkin_url = (urls.checkin_link(settings.base_url, registration)
                   if holds_seat and row.template in CONFIRMATION_KINDS else "")
    return {
        "kind": row.template,
        "language": language,
        "registration": registration,
        "name": registration.name if registration else f"{invitation.first_name} {invitation.last_name}".strip(),
        "event": event,
        "title": localised(event, language, "title"),
        "sessions": scheduled,
        "dates": dates,
        "cancelled_dates": cancelled_dates,
        "show_location": bool(event.location) and (not event.location_confidential
                                                   or row.template in CONFIRMATION_KINDS),
        "location_withheld": event.location_confidential and row.template not in CONFIRMATION_KINDS,
        # with a confidential meeting point, the link carries a code: whoever opens it read this mail
        "manage_url": (urls.manage_page(settings.base_url, registration.manage_token,
                                        **_contact_query(registration, event, settings)) if registration
                       else urls.rsvp_page(settings.base_url, invitation.token)),
        "event_url": urls.event_page(settings.base_url, event.id),
        "position": extra.get("position"),
        "offer_expires_at": datetime.fromisoformat(offer_expires_at) if offer_expires_at else None,
        "reason": extra.get("reason") or "",
        "verify_url": (urls.verification_link(settings.base_url, registration, secret_key=settings.secret_key)
                       if registration and row.template == "verify_email" else ""),
        "message_subject": extra.get("subject") or "",
        "message_body": extra.get("body") or "",
        "certificate_url": urls.own_certificate(settings.base_url, registration.manage_token) if registration else "",
        "calendar_attached": holds_seat and row.template in CALENDAR_KINDS,
        "checkin_url": checkin_url,
        "checkin_qr_cid": f"checkin.{row.id}@{urls.site_host(settings.base_url)}",
        "own_text": _own_text(data.own_texts.get((event.id, row.template, language))),
    }


def event_ics(event: Event, sessions: list[EventSession], *, settings: Settings, language: str,
               audience: ical.Audience) -> bytes:
    """The event as the person's own feed shows it (same UIDs and SEQUENCE), so clients update one entry."""
    title, _ = ical.localized_text(event, language)
    return ical.build_calendar(((event, session) for session in sessions), name=title, language=language,
                                   base_url=settings.base_url, timezone=settings.timezone, audience=audience)
