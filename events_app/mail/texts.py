"""The organisers' own wording of mails, per event, kind and language: a subject and an opening paragraph.

Only the words change: dates, place, links, the QR code and the calendar file stay the built-in ones,
so a text cannot lose a fact people need. A language without its own text gets the built-in text
in that language, never another language's text.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from events_app.core import audit, errors
from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES
from events_app.core.models import Event, EventSession, MailText, OutboxMessage, Registration, RegistrationStatus, User
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text
from events_app.mail import content

#: The mails about a person's own registration whose wording organisers may change.
EDITABLE_KINDS = ("confirmed", "waitlisted", "promoted", "offered", "reminder")
SUBJECT_MAX = 200
BODY_MAX = 4000


async def texts_of(event_id: int) -> dict[tuple[str, str], MailText]:
    """The event's own texts by (kind, language)."""
    return {(t.kind, t.language): t for t in await MailText.filter(event_id=event_id)}


def check_texts(values: dict[tuple[str, str], tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, language) -> (subject, body), cleaned; ValidationFailed naming each field that is too long."""
    problems, cleaned = {}, {}
    for (kind, language), (subject, body) in values.items():
        if kind not in EDITABLE_KINDS or language not in LANGUAGES:
            continue
        subject = " ".join(clean_text(subject or "", max_length=SUBJECT_MAX + 1).split())
        body = clean_text((body or "").replace("\r\n", "\n"), max_length=BODY_MAX + 1)
        if len(subject) > SUBJECT_MAX:
            problems[f"subject_{kind}_{language}"] = N_("This text is too long.")
        if len(body) > BODY_MAX:
            problems[f"body_{kind}_{language}"] = N_("This text is too long.")
        cleaned[kind, language] = (subject, body)
    if problems:
        raise errors.ValidationFailed(fields=problems)
    return cleaned


async def save_texts(*, event_id: int, values: dict[tuple[str, str], tuple[str, str]], by: User) -> int:
    """Store the event's texts in one transaction; an emptied text goes back to the built-in one.
    Returns how many texts the event has afterwards."""
    cleaned = check_texts(values)
    if not await Event.exists(id=event_id):
        raise errors.EventNotFound()
    async with in_transaction() as conn:
        for (kind, language), (subject, body) in cleaned.items():
            if subject or body:
                await MailText.update_or_create(event_id=event_id, kind=kind, language=language,
                                                defaults={"subject": subject, "body": body}, using_db=conn)
            else:
                await MailText.filter(event_id=event_id, kind=kind, language=language).using_db(conn).delete()
        count = await MailText.filter(event_id=event_id).using_db(conn).count()
        await audit.record("event.mail_texts_changed", user=by, event_id=event_id, conn=conn, texts=count)
    return count


#: The sample person of a preview, in the language previewed.
SAMPLE_NAMES = {"de": "Erika Mustermann", "en": "Jane Doe", "ar": "فاطمة أحمد", "tr": "Ayşe Yılmaz",
                "uk": "Олена Коваленко", "fa": "زهرا محمدی"}


async def preview(*, event_id: int, kind: str, language: str, settings) -> tuple[str, str, str]:
    """The mail as a sample person would get it now, with the event's own text if it has one:
    (subject, plain text, HTML). Nothing is stored or sent."""
    if kind not in EDITABLE_KINDS or language not in LANGUAGES:
        raise errors.NotFound()
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    status = {"waitlisted": RegistrationStatus.WAITLISTED, "offered": RegistrationStatus.OFFERED}.get(
        kind, RegistrationStatus.CONFIRMED)
    now = utcnow()
    sample = Registration(id=-1, event_id=event_id, name=SAMPLE_NAMES[language], email="preview@example.org",
                          language=language, status=status, manage_token="preview", checkin_token="preview",
                          companions=0, seats=1, queued_at=now)
    row = OutboxMessage(id=-1, template=kind, recipient=sample.email, language=language, registration_id=-1,
                        event_id=event_id, created_at=now, next_attempt_at=now,
                        context={"position": 3, "offer_expires_at": (now + timedelta(hours=48)).isoformat()})
    sessions = await EventSession.filter(event_id=event_id).order_by("starts_at", "id")
    data = content.MailData({-1: sample}, {event_id: event}, {event_id: list(sessions)},
                            own_texts={(event_id, t.kind, t.language): t
                                       for t in await MailText.filter(event_id=event_id)})
    values = content.mail_context(row, data, settings)
    return content.render_parts(kind, values["language"], settings, values)
