"""The reception's printed documents: invitation letters (one PDF, a page per invitee) and the door list.

Builds the HTML from templates/pdf/ and hands it to `pdf.py`, which lays it out off the event loop.
The letters are laid out in parts of LETTERS_PER_PART, so the background job can show how many are
done; WeasyPrint's start-up and font loading are paid once per part, not per letter. Every download
of these personal data is written to the audit log.
"""

from __future__ import annotations


from events_app.core import audit, jobs, pdf, qr, urls
from events_app.seats import events
from events_app.receptions import invitations
from events_app.core.i18n import Formatter
from events_app.core.models import Invitation, User
from events_app.core.timeutil import utcnow
from events_app.core.wording import format_code, greeting
from events_app.core.rendering import render_string

LETTER_LANGUAGE = "de"  # official letters of the city are in German
#: Letters per laid-out part: the progress moves in these steps, and each part costs about one letter more.
LETTERS_PER_PART = 25


def qr_data_uris(urls: list[str]) -> list[str]:
    """Many QR codes at once: about 10 ms of CPU each, so run by `pdf.run_in_render_process`."""
    return [qr.png_data_uri(url) for url in urls]


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def address_lines(invitation: Invitation) -> list[str]:
    """The DIN 5008 address block: salutation, name, street, postcode and town."""
    lines = [invitation.salutation] if invitation.salutation.lower() in ("herr", "frau") else []
    lines.append(f"{invitation.first_name} {invitation.last_name}".strip())
    lines += [invitation.street, f"{invitation.postcode} {invitation.city}".strip()]
    return [line for line in lines if line]


async def letters_html(*, event_id: int, settings, everyone: bool = False,
                       per_part: int = LETTERS_PER_PART) -> tuple[list[str], int]:
    """(HTML documents of up to `per_part` letters each, number of letters): everyone without an e-mail
    address, or everyone."""
    event = await events.get_event(event_id, public=False)
    letter = await invitations.get_letter(event_id)
    fmt = Formatter(LETTER_LANGUAGE, settings.timezone)
    first = events.first_start(event)
    values = {
        "event_title": event.title,
        "event_date": fmt.span(event.sessions[0].starts_at, event.sessions[0].ends_at) if first else "",
        "event_location": event.location,
        "deadline": fmt.date(event.registration_closes_at) if event.registration_closes_at else "",
        "max_companions": str(event.max_companions),
    }
    body = _fill(letter.body, values)
    people = await invitations.list_invitations(event_id)
    if not everyone:
        people = [p for p in people if not p.email]
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
                           rsvp_url=urls.rsvp_form(settings.base_url), deadline=values["deadline"], today=fmt.date(utcnow()))
             for start in range(0, max(len(pages), 1), per_part)]
    return parts, len(pages)


async def _record_download(by: User, event_id: int, layout: str, **detail) -> None:
    await audit.record("export.downloaded", user=by, event_id=event_id, format="pdf", layout=layout, **detail)


async def letters_pdf(*, event_id: int, settings, by: User, everyone: bool = False) -> bytes:
    parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone)
    content = await pdf.render_pdf_parts(parts)
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
    await events.get_event(event_id, public=False)

    async def work(job: jobs.Job) -> bytes:
        per_part = LETTERS_PER_PART
        parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone, per_part=per_part)
        return await pdf.render_pdf_parts(parts, progress=pdf.per_item(job.progress, per_part, count))

    return await jobs.start(settings, kind=JOB_KIND, event_id=event_id, work=work, everyone=everyone)
