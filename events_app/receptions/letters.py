"""The reception's printed documents: invitation letters (one PDF, a page per invitee) and the door list.

Builds the HTML from templates/pdf/ and hands it to `pdf.py`, which lays it out off the event loop.
The letters are laid out in parts of LETTERS_PER_PART, so the background job can show how many are
done; WeasyPrint's start-up and font loading are paid once per part, not per letter. Every download
of these personal data is written to the audit log.
"""

from __future__ import annotations


from dataclasses import dataclass
from datetime import datetime

from events_app.core import audit, errors, jobs, legal, pdf, placeholders, qr, urls
from events_app.core.errors import N_
from events_app.seats import events
from events_app.receptions import invitations
from events_app.core.i18n import Formatter
from events_app.core.models import Event, Invitation, ReceptionLetter, User
from events_app.core.timeutil import utcnow
from events_app.core.wording import format_code, greeting
from events_app.core.rendering import render_string

LETTER_LANGUAGE = "de"  # official letters of the city are in German
#: Letters per laid-out part: the progress moves in these steps, and each part costs about one letter more.
LETTERS_PER_PART = 25


def qr_data_uris(urls: list[str]) -> list[str]:
    """Many QR codes at once: about 10 ms of CPU each, so run by `pdf.run_in_render_process`."""
    return [qr.png_data_uri(url) for url in urls]


#: One line each in the invitees' other languages: they may answer, and call, in their own language.
#: Fixed wording (not the catalogs): every letter carries all of them, whatever the reader's language.
ANSWER_IN_YOUR_LANGUAGE = (
    ("en", "You may also answer us or call us in English."),
    ("tr", "Bize Türkçe de cevap verebilir veya bizi arayabilirsiniz."),
    ("uk", "Ви можете відповісти нам або зателефонувати також українською мовою."),
    ("ar", "يمكنكم الرد علينا أو الاتصال بنا باللغة العربية أيضًا."),
    ("fa", "می‌توانید به زبان فارسی نیز به ما پاسخ دهید یا با ما تماس بگیرید."),
)


def address_lines(invitation: Invitation) -> list[str]:
    """The DIN 5008 address block: salutation, name, street, postcode and town."""
    lines = [invitation.salutation] if invitation.salutation.lower() in ("herr", "frau") else []
    lines.append(f"{invitation.first_name} {invitation.last_name}".strip())
    lines += [invitation.street, f"{invitation.postcode} {invitation.city}".strip()]
    return [line for line in lines if line]


def has_postal_address(invitation: Invitation) -> bool:
    """A letter needs a street and a town; without them it cannot be posted (the person needs a call)."""
    return bool(invitation.street.strip() and invitation.city.strip())


@dataclass(frozen=True)
class LetterPlan:
    """What a batch of letters would be, shown to the organiser before it is made."""

    event: Event
    letter: ReceptionLetter
    #: The deadline printed in the letters ("" when the reception has none yet: no letters then).
    deadline: str
    #: A deadline the organiser can confirm with one click when none is set.
    suggested_deadline: datetime | None
    recipients: list[Invitation]
    #: Invitees who would get a letter but have no postal address (phone them).
    without_address: list[Invitation]


async def plan(*, event_id: int, settings, everyone: bool = False) -> LetterPlan:
    event = await events.get_event(event_id, public=False)
    invitations.check_invitation_event(event)
    letter = await invitations.get_letter(event_id, settings=settings)
    fmt = Formatter(LETTER_LANGUAGE, settings.timezone)
    people = await invitations.list_invitations(event_id)
    if not everyone:
        people = [p for p in people if not p.email]
    return LetterPlan(event, letter,
                      fmt.date(event.registration_closes_at) if event.registration_closes_at else "",
                      None if event.registration_closes_at else invitations.suggested_deadline(event, settings.timezone),
                      [p for p in people if has_postal_address(p)],
                      [p for p in people if not has_postal_address(p)])


async def letters_html(*, event_id: int, settings, everyone: bool = False,
                       per_part: int = LETTERS_PER_PART, limit: int | None = None) -> tuple[list[str], int]:
    """(HTML documents of up to `per_part` letters each, number of letters): everyone without an e-mail
    address, or everyone, who has a postal address. `limit` makes only the first letters (the preview).

    Refuses (nothing is made) while the reception has no answer deadline, or when any placeholder of
    the text or the layout would stay empty.
    """
    found = await plan(event_id=event_id, settings=settings, everyone=everyone)
    event, letter = found.event, found.letter
    if not found.deadline:
        raise errors.AnswerDeadlineMissing(fields={"deadline": errors.AnswerDeadlineMissing.title})
    fmt = Formatter(LETTER_LANGUAGE, settings.timezone)
    legal_info = legal.current()
    values = {
        "event_title": event.title,
        "event_date": fmt.span(event.sessions[0].starts_at, event.sessions[0].ends_at) if event.sessions else "",
        "event_location": event.location,
        "deadline": found.deadline,
        "max_companions": str(event.max_companions),
    }
    body = placeholders.fill(letter.body, values)
    placeholders.check_values({"subject": letter.subject, "sender": letter.sender, "closing": letter.closing,
                               "phone": legal_info.phone, "email": legal_info.email}, field="letter")
    people = found.recipients[:limit] if limit is not None else found.recipients
    codes = await pdf.run_in_render_process(qr_data_uris, [urls.rsvp_page(settings.base_url, p.token) for p in people])
    pages = [{
        "invitation": person,
        "address": address_lines(person),
        "greeting": greeting(person),
        "code": format_code(person.code),
        "qr": qr,
    } for person, qr in zip(people, codes)]
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    parts = [render_string("pdf/invitation_letters.html", language=LETTER_LANGUAGE, settings=settings,
                           event=event, letter=letter, paragraphs=paragraphs, pages=pages[start:start + per_part],
                           rsvp_url=urls.rsvp_form(settings.base_url), deadline=found.deadline, today=fmt.date(utcnow()),
                           other_languages=ANSWER_IN_YOUR_LANGUAGE)
             for start in range(0, max(len(pages), 1), per_part)]
    return parts, len(pages)


async def preview_pdf(*, event_id: int, settings, everyone: bool = False) -> bytes:
    """The first letter of the batch, exactly as it will be printed: the organiser looks before printing all."""
    parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone, limit=1)
    if count == 0:
        raise errors.ValidationFailed(fields={"letters": N_("There is nobody to write to yet: import the invitee list first.")})
    return await pdf.render_pdf(parts[0], base_url=pdf.fonts_base_url())


async def _record_download(by: User, event_id: int, layout: str, **detail) -> None:
    await audit.record("export.downloaded", user=by, event_id=event_id, format="pdf", layout=layout, **detail)


async def letters_pdf(*, event_id: int, settings, by: User, everyone: bool = False) -> bytes:
    parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone)
    content = await pdf.render_pdf_parts(parts, base_url=pdf.fonts_base_url())
    await _record_download(by, event_id, "letters", everyone=everyone, letters=count)
    return content


async def door_list_pdf(*, event_id: int, settings, by: User, language: str = "de") -> bytes:
    event = await events.get_event(event_id, public=False)
    guests = await invitations.door_list(event_id)
    html = render_string("pdf/door_list.html", language=language, settings=settings, event=event, guests=guests,
                         persons=sum(g.registration.seats for g in guests))
    content = await pdf.render_pdf(html)
    await _record_download(by, event_id, "reception_door", guests=len(guests))
    return content


# --- letters as a background job (see jobs.py), with their progress visible to the organiser ---

JOB_KIND = "letters"


async def job_pdf(settings, *, event_id: int, job_id: str, by: User) -> bytes | None:
    """The finished job's letters (the download is audited), or None if there are none (yet)."""
    found = jobs.result(settings, kind=JOB_KIND, event_id=event_id, job_id=job_id)
    if found is None:
        return None
    status, content = found
    await _record_download(by, event_id, "letters", everyone=status.get("everyone", False), letters=status["total"])
    return content


async def start_letters_job(*, event_id: int, settings, everyone: bool = False) -> str:
    """Start laying out the letters in the background; the organiser watches `jobs.status`."""
    await letters_html(event_id=event_id, settings=settings, everyone=everyone, limit=0)  # refuses now, not later

    async def work(job: jobs.Job) -> bytes:
        per_part = LETTERS_PER_PART
        parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone, per_part=per_part)
        return await pdf.render_pdf_parts(parts, base_url=pdf.fonts_base_url(), progress=pdf.per_item(job.progress, per_part, count))

    return await jobs.start(settings, kind=JOB_KIND, event_id=event_id, work=work, everyone=everyone)
