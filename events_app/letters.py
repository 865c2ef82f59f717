"""The reception's printed documents: invitation letters (one PDF, a page per invitee) and the door list.

Builds the HTML from templates/pdf/ and hands it to `pdf.py`, which lays it out off the event loop.
The letters are laid out in parts of LETTERS_PER_PART, so the background job can show how many are
done; WeasyPrint's start-up and font loading are paid once per part, not per letter. Every download
of these personal data is written to the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path

import segno

from events_app import audit, events, invitations, pdf
from events_app.i18n import Formatter
from events_app.models import Invitation, User
from events_app.timeutil import utcnow
from events_app.web.templating import render_string

log = logging.getLogger(__name__)
LETTER_LANGUAGE = "de"  # official letters of the city are in German
#: Letters per laid-out part: the progress moves in these steps, and each part costs about one letter more.
LETTERS_PER_PART = 25


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
    codes = await pdf.run_in_render_process(qr_data_uris, [f"{settings.base_url}/rsvp/{p.token}" for p in people])
    pages = [{
        "invitation": person,
        "address": address_lines(person),
        "greeting": invitations.greeting(person),
        "code": invitations.format_code(person.code),
        "qr": qr,
    } for person, qr in zip(people, codes)]
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    parts = [render_string("pdf/invitation_letters.html", language=LETTER_LANGUAGE, settings=settings,
                           event=event, letter=letter, paragraphs=paragraphs, pages=pages[start:start + per_part],
                           rsvp_url=f"{settings.base_url}/rsvp", deadline=values["deadline"], today=fmt.date(utcnow()))
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


# --- letters as a background job, with its progress visible to the organiser ------------------

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_running: set[asyncio.Task] = set()
#: Letters hold addresses: finished files are deleted after a day.
JOB_KEEP = timedelta(days=1)
#: A running job writes its status at least this often ...
HEARTBEAT = timedelta(seconds=10)
#: ... so one silent this long has lost its process (e.g. the server restarted) and is marked failed.
STALE_AFTER = timedelta(minutes=2)
RUNNING_STATES = ("preparing", "rendering")


def _jobs_dir(settings) -> Path:
    path = Path(settings.var_dir) / "letters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_status(settings, job_id: str, status: dict) -> None:
    path = _jobs_dir(settings) / f"{job_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)


def job_status(settings, *, event_id: int, job_id: str) -> dict | None:
    """The job's state (preparing, rendering, done, failed) with `letters` (total) and `done` (laid out so
    far), or None for an unknown job. A running job silent for STALE_AFTER is marked failed here."""
    if not _JOB_ID.match(job_id or ""):
        return None
    path = _jobs_dir(settings) / f"{job_id}.json"
    if not path.exists():
        return None
    status = json.loads(path.read_text())
    if status.get("event_id") != event_id:
        return None
    last_heard = datetime.fromisoformat(status.get("updated", status["started"]))
    if status["state"] in RUNNING_STATES and last_heard < utcnow() - STALE_AFTER:
        status.update(state="failed", interrupted=True)
        _write_status(settings, job_id, status)
    return status


async def job_pdf(settings, *, event_id: int, job_id: str, by: User) -> bytes | None:
    status = job_status(settings, event_id=event_id, job_id=job_id)
    if not status or status["state"] != "done":
        return None
    content = (_jobs_dir(settings) / f"{job_id}.pdf").read_bytes()
    await _record_download(by, event_id, "letters", everyone=status.get("everyone", False),
                           letters=status["letters"])
    return content


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
    status = {"event_id": event_id, "everyone": everyone, "state": "preparing", "letters": None, "done": 0,
              "started": utcnow().isoformat()}

    def save(**changes) -> None:
        status.update(changes, updated=utcnow().isoformat())
        _write_status(settings, job_id, status)

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            save()

    async def run() -> None:
        beating = asyncio.create_task(heartbeat())
        try:
            per_part = LETTERS_PER_PART
            parts, count = await letters_html(event_id=event_id, settings=settings, everyone=everyone,
                                              per_part=per_part)
            save(state="rendering", letters=count)
            content = await pdf.render_pdf_parts(
                parts, progress=lambda parts_done, _: save(done=min(count, parts_done * per_part)))
            target = _jobs_dir(settings) / f"{job_id}.pdf"
            target.with_suffix(".part").write_bytes(content)
            target.with_suffix(".part").replace(target)
            save(state="done", done=count, finished=utcnow().isoformat())
        except Exception:
            log.exception("letters job %s failed", job_id)
            save(state="failed")
        finally:
            beating.cancel()

    save()
    task = asyncio.create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return job_id
