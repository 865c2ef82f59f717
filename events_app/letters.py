"""The reception's printed documents: invitation letters (one PDF, a page per invitee) and the door list.

Builds the HTML from templates/pdf/ and hands it to `pdf.render_pdf`, which lays it out off the
event loop. Everything goes into ONE document: WeasyPrint's start-up and font loading are paid once,
not per letter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

import segno

from events_app import events, invitations, pdf
from events_app.i18n import Formatter
from events_app.models import Invitation
from events_app.timeutil import utcnow
from events_app.web.templating import render_string

log = logging.getLogger(__name__)
LETTER_LANGUAGE = "de"  # official letters of the city are in German


def qr_data_uri(url: str) -> str:
    """The QR code as a small PNG data URI, one pixel per module.

    Printed sharp because the template asks for `image-rendering: pixelated` (no smoothing);
    a PNG lays out about three times faster than the same code as SVG in WeasyPrint.
    """
    return segno.make(url, error="m").png_data_uri(scale=1, border=0)


def qr_data_uris(urls: list[str]) -> list[str]:
    """Many QR codes at once: about 10 ms of CPU each, so run by `pdf.run_in_render_process`."""
    return [qr_data_uri(url) for url in urls]


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


async def letters_html(*, event_id: int, settings, everyone: bool = False) -> tuple[str, int]:
    """(HTML, number of letters): everyone without an e-mail address, or everyone."""
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
    codes = await pdf.run_in_render_process(qr_data_uris, [f"{settings.base_url}/rsvp/{p.token}" for p in people])
    pages = [{
        "invitation": person,
        "address": address_lines(person),
        "greeting": invitations.greeting(person),
        "code": invitations.format_code(person.code),
        "qr": qr,
    } for person, qr in zip(people, codes)]
    html = render_string("pdf/invitation_letters.html", language=LETTER_LANGUAGE, settings=settings,
                         event=event, letter=letter, paragraphs=[p for p in body.split("\n\n") if p.strip()],
                         pages=pages, rsvp_url=f"{settings.base_url}/rsvp", deadline=values["deadline"],
                         today=fmt.date(utcnow()))
    return html, len(pages)


async def letters_pdf(*, event_id: int, settings, everyone: bool = False) -> bytes:
    html, _ = await letters_html(event_id=event_id, settings=settings, everyone=everyone)
    return await pdf.render_pdf(html)


async def door_list_pdf(*, event_id: int, settings, language: str = "de") -> bytes:
    event = await events.get_event(event_id, public=False)
    guests = await invitations.door_list(event_id)
    html = render_string("pdf/door_list.html", language=language, settings=settings, event=event, guests=guests,
                         persons=sum(g.registration.seats for g in guests))
    return await pdf.render_pdf(html)


# --- letters as a background job, with its progress visible to the organiser ------------------

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_running: set[asyncio.Task] = set()
#: Letters hold addresses: finished files are deleted after a day.
JOB_KEEP = timedelta(days=1)


def _jobs_dir(settings) -> Path:
    path = Path(settings.var_dir) / "letters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_status(settings, job_id: str, **status) -> None:
    path = _jobs_dir(settings) / f"{job_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)


def job_status(settings, *, event_id: int, job_id: str) -> dict | None:
    """The job's state (preparing, rendering, done, failed), or None for an unknown job."""
    if not _JOB_ID.match(job_id or ""):
        return None
    path = _jobs_dir(settings) / f"{job_id}.json"
    if not path.exists():
        return None
    status = json.loads(path.read_text())
    return status if status.get("event_id") == event_id else None


def job_pdf(settings, *, event_id: int, job_id: str) -> bytes | None:
    status = job_status(settings, event_id=event_id, job_id=job_id)
    if not status or status["state"] != "done":
        return None
    return (_jobs_dir(settings) / f"{job_id}.pdf").read_bytes()


def _purge_old_jobs(settings) -> None:
    cutoff = time.time() - JOB_KEEP.total_seconds()
    for path in _jobs_dir(settings).iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


async def start_letters_job(*, event_id: int, settings, everyone: bool = False) -> str:
    """Start laying out the letters in the background; the organiser watches `job_status`."""
    await events.get_event(event_id, public=False)
    _purge_old_jobs(settings)
    job_id = secrets.token_urlsafe(18)
    started = utcnow().isoformat()
    _write_status(settings, job_id, event_id=event_id, state="preparing", letters=None, started=started)

    async def run() -> None:
        try:
            html, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone)
            _write_status(settings, job_id, event_id=event_id, state="rendering", letters=count, started=started)
            content = await pdf.render_pdf(html)
            target = _jobs_dir(settings) / f"{job_id}.pdf"
            target.with_suffix(".part").write_bytes(content)
            target.with_suffix(".part").replace(target)
            _write_status(settings, job_id, event_id=event_id, state="done", letters=count, started=started,
                          finished=utcnow().isoformat())
        except Exception:
            log.exception("letters job %s failed", job_id)
            _write_status(settings, job_id, event_id=event_id, state="failed", letters=None, started=started)

    task = asyncio.create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return job_id
