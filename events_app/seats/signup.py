"""The public sign-up: rules that depend on an event's audience, in front of the registration engine.

Staff workshops take only addresses of the city's domains (setting EVENTS_STAFF_DOMAINS), and the
seat counts only once the person opened the link sent to that address. Until then the sign-up is
PENDING and holds no seat, so a mistyped or someone else's address never blocks a seat, and there
is no hold to expire. The link is valid for `VERIFY_MAX_AGE`; after that the person signs up again.

Domain matching is exact and case-insensitive on the IDNA (ASCII) form of the domain:
`giessen.de` accepts `name@giessen.de` but neither `name@amt.giessen.de`, `giessen.de.evil.org` nor
`evilgiessen.de`. Sub-domains are accepted only when listed as `*.giessen.de` (that entry does not
accept the bare domain; list both when both are wanted), because a sub-domain may be run by someone
other than the city.

Women's courses ask the person to confirm that the offer is for women. Department and supervisor
(staff) and childcare and language assistance (women's courses) are ordinary questions, so their
answers sit in `Registration.answers` with the other custom answers. `events.create_event` adds
them (API, back office and duplicates alike), and so do a change of audience and the back office's
question editor: organisers may reword them but not remove them, as HR's training record needs the
department.
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadData
from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core import errors, i18n
from events_app.seats import registration
from events_app.core.errors import N_
from events_app.core.signing import verification_serializer
from events_app.core.models import Audience, Event, EventKind, Question, Registration, RegistrationStatus
from events_app.seats.registration import Applicant, Outcome
from events_app.core.timeutil import utcnow
from events_app.core.validation import staff_address_allowed  # the staff rule this module describes

#: How long the link in the verification mail works (seconds).
VERIFY_MAX_AGE = 7 * 24 * 3600

#: Childcare is asked in the words of the kind of event (a tour does not talk about a course).
CHILDCARE_LABELS = {
    EventKind.COURSE: N_("I need childcare during the course."),
    EventKind.TOUR: N_("I need childcare during the tour."),
    EventKind.CONSULTATION: N_("I need childcare during the appointment."),
}
CHILDCARE_OTHER = N_("I need childcare during the event.")


def standard_questions(audience: Audience, kind: EventKind) -> tuple[tuple[str, str, str, bool], ...]:
    """The questions every event of this audience and kind gets: (key, label msgid, kind, required)."""
    if audience == Audience.STAFF:
        return (("department", N_("Department or office"), "text", True),
                ("supervisor", N_("Supervisor (optional)"), "text", False))
    if audience == Audience.WOMEN:
        return (("childcare", CHILDCARE_LABELS.get(kind, CHILDCARE_OTHER), "yesno", False),
                ("language_assistance", N_("Language assistance: which language would help you?"), "text", False))
    return ()


def builtin_label(key: str, label: str, *, audience: Audience, kind: EventKind) -> str | None:
    """The message id of a standard question when `label` is its text in any language (the back office
    shows it translated and posts it back so), else None: the organiser reworded it."""
    for std_key, msgid, _, _ in standard_questions(audience, kind):
        if std_key == key and label.strip() in {msgid, *(i18n.gettext(lang, msgid) for lang in i18n.LANGUAGES)}:
            return msgid
    return None


async def add_standard_questions(conn: BaseDBAsyncClient, event: Event) -> list[Question]:
    """Add the audience's standard questions the event does not have yet (by key), inside the caller's
    transaction. Called wherever events are created or their questions written, so every path has them."""
    existing = set(await Question.filter(event_id=event.id).using_db(conn).values_list("key", flat=True))
    last = await Question.filter(event_id=event.id).using_db(conn).order_by("-position").first()
    position = (last.position + 1) if last else 0
    added = []
    for key, label, kind, required in standard_questions(event.audience, event.kind):
        if key in existing:
            continue
        added.append(await Question.create(event_id=event.id, key=key, label=label, kind=kind, builtin=True,
                                            required=required, position=position, using_db=conn))
        position += 1
    return added


async def sign_up(*, event_id: int, applicant: Applicant, staff_domains: tuple[str, ...],
                  women_confirmed: bool = False, languages: tuple[str, ...] = ("de",),
                  now: datetime | None = None, event: Event | None = None,
                  input_problems: dict[str, str] | None = None) -> Outcome:
    """Register through the public form or API, applying the audience's rules.

    The engine checks the input once, audience rules and `input_problems` (what reading the form or
    JSON found) included, so every problem comes back at once.

    Staff sign-ups come back PENDING (no seat yet) with a `verify_email` mail queued. A handler
    that has loaded the event already passes it (`event`) to spare a query.
    """
    if event is None or event.id != event_id:
        event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    await registration.check_not_over(event, now or utcnow())
    rules = registration.AudienceRules(staff_domains=staff_domains, women_confirmed=women_confirmed)
    return await registration.register(event_id=event_id, applicant=applicant, languages=languages, rules=rules,
                                       input_problems=input_problems, hold_seat=event.audience != Audience.STAFF,
                                       once_per_email=True, now=now, event=event)


async def verify_email(*, token: str, code: str, secret_key: str, max_age: int = VERIFY_MAX_AGE,
                       now: datetime | None = None) -> Outcome:
    """The person opened the mailed link: the pending sign-up now competes for a seat (idempotent)."""
    found = await Registration.get_or_none(manage_token=token)
    if found is None:
        raise errors.RegistrationNotFound()
    try:
        registration_id, email = verification_serializer(secret_key).loads(code, max_age=max_age)
    except (BadData, ValueError, TypeError):
        raise errors.VerificationLinkInvalid() from None
    if registration_id != found.id or email != found.email:
        raise errors.VerificationLinkInvalid()
    if found.status in (RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED):
        raise errors.AlreadyCancelled()
    return await registration.confirm_pending(registration_id=found.id, now=now)
