"""Certificates of participation (Teilnahmebescheinigung): who is eligible, issuing, revoking,
verifying, and the data a certificate shows. Rendering is asked of `pdf.py`.

Eligibility: a confirmed participant who attended at least `Event.certificate_min_attendance`
percent of the event's dates that were not cancelled (integer arithmetic, so 6 of 8 = exactly 75 %
meets a 75 % rule), and at least one date. Cancelled dates count neither way.

Serials look like TB-2026-7K3M-9QXP: the year and 40 random bits in Crockford's base 32 (no I, L,
O, U), so they are readable on paper and cannot be enumerated to find people's names through the
public verification page.

Revoking needs a reason. It is kept with the certificate and in the audit log for the organisers,
but the public verification page says only "revoked" and when: a reason such as "issued in error,
did not attend because of illness" may say something personal about the holder.

Issuing is always an explicit, audited step (`issue`, `issue_all`, entry `certificates.issued`).
At most one certificate per registration is valid: a partial unique index (revoked ones excluded)
refuses a second, so two organisers issuing at once get the same certificate.
Bulk rendering (`render_event`, `render_event_zip`) only reads the certificates already issued.

A person's own certificate has its fixed labels, dates and hours in the registration's language;
the organiser's texts stay as written. Bulk PDFs for the organisers are German.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Callable

from babel.numbers import format_decimal
from markupsafe import Markup
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_app.courses import attendance
from events_app.core import audit, errors, i18n, jobs, legal, pdf, placeholders, qr, urls
from events_app.core.errors import N_
from events_app.core.i18n import Formatter
from events_app.core.rendering import render_string
from events_app.core.models import Audience, Certificate, CertificateTemplate, Event, EventSession, Registration, RegistrationStatus, SessionStatus, User
from events_app.mail.outbox import queue_mail
from events_app.core.timeutil import utcnow
from events_app.core.validation import clean_text
from events_app.core import images

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PDF_TEMPLATE = "pdf/certificate.html"


def is_eligible(*, attended: int, countable: int, min_percent: int) -> bool:
    """At least `min_percent` % of the countable dates and at least one date."""
    return countable > 0 and attended > 0 and attended * 100 >= min_percent * countable


#: Random characters in a serial: 16 of 32 symbols are 80 bits, so the public verification page cannot be
#: walked even without its throttle (serials issued before carry 8, i.e. 40 bits, and stay valid).
SERIAL_CHARS = 16


def new_serial(year: int) -> str:
    digits = "".join(secrets.choice(_ALPHABET) for _ in range(SERIAL_CHARS))
    return f"TB-{year}-" + "-".join(digits[i:i + 4] for i in range(0, SERIAL_CHARS, 4))


def normalise_serial(serial: str) -> str:
    return serial.strip().upper()


@dataclass(frozen=True)
class Eligibility:
    registration: Registration
    summary: attendance.AttendanceSummary
    eligible: bool
    certificate: Certificate | None  # the valid (not revoked) certificate, if issued


async def eligibility(*, event_id: int) -> list[Eligibility]:
    """Every confirmed participant of the event with attendance, eligibility and certificate."""
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    summaries = await attendance.summaries(event_id=event_id)
    people = await Registration.filter(event_id=event_id, status=RegistrationStatus.CONFIRMED).order_by("name", "id")
    issued = {c.registration_id: c for c in await Certificate.filter(
        registration__event_id=event_id, revoked_at=None)}
    return [Eligibility(person, summaries[person.id],
                        is_eligible(attended=summaries[person.id].attended, countable=summaries[person.id].countable,
                                    min_percent=event.certificate_min_attendance),
                        issued.get(person.id))
            for person in people]


async def course_over_at(event_id: int) -> datetime | None:
    """When certificates may be issued: the end of the event's last date that is not cancelled."""
    dates = await _countable_sessions(event_id)
    return dates[-1].ends_at if dates else None


async def check_course_over(event_id: int, now: datetime) -> None:
    """A certificate says someone took part, so none before the last counted date is over."""
    over_at = await course_over_at(event_id)
    if over_at is not None and over_at > now:
        raise errors.CourseNotOver()


async def _issue(conn, registration: Registration, *, send_mail: bool, now: datetime) -> tuple[Certificate, bool]:
    existing = await Certificate.filter(registration_id=registration.id, revoked_at=None).using_db(conn).first()
    if existing:
        return existing, False
    certificate = await Certificate.create(registration_id=registration.id, serial=new_serial(now.year),
                                           issued_at=now, using_db=conn)
    if send_mail:
        await queue_mail(conn, template="certificate", recipient=registration.email, language=registration.language,
                         context={"certificate_id": certificate.id}, registration_id=registration.id,
                         event_id=registration.event_id)
    return certificate, True


async def issue(*, registration_id: int, event_id: int | None = None, send_mail: bool = False,
                by: User | int | None = None, now: datetime | None = None) -> Certificate:
    """Issue the person's certificate if eligible; an already issued one is returned unchanged.

    With `event_id`, a registration of another event is not found (the caller acts on that event).
    """
    now = now or utcnow()
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None or (event_id is not None and registration.event_id != event_id):
        raise errors.RegistrationNotFound()
    entry = next((e for e in await eligibility(event_id=registration.event_id) if e.registration.id == registration_id),
                 None)
    await check_course_over(registration.event_id, now)
    if entry is None or not entry.eligible:
        raise errors.NotEligibleForCertificate()
    try:
        async with in_transaction() as conn:
            certificate, new = await _issue(conn, registration, send_mail=send_mail, now=now)
            if new:
                await _record_issued(conn, registration.event_id, [certificate], send_mail=send_mail, by=by)
            return certificate
    except IntegrityError:
        # a concurrent issue for the same person committed first: the partial unique index
        # (certificate_one_valid_per_registration) keeps one valid certificate, and this is it
        existing = await valid_certificate_for(registration_id=registration_id)
        if existing is None:
            raise
        return existing


async def issue_all(*, event_id: int, send_mail: bool = False, by: User | int | None = None,
                    now: datetime | None = None) -> list[Certificate]:
    """Issue certificates to everyone eligible who has none yet; returns all valid ones of the eligible."""
    now = now or utcnow()
    await check_course_over(event_id, now)
    try:
        return await _issue_all_once(event_id, send_mail=send_mail, by=by, now=now)
    except IntegrityError:  # a concurrent issue committed first; the second pass finds its certificates
        return await _issue_all_once(event_id, send_mail=send_mail, by=by, now=now)


async def _issue_all_once(event_id: int, *, send_mail: bool, by: User | int | None, now: datetime
                          ) -> list[Certificate]:
    entries = [e for e in await eligibility(event_id=event_id) if e.eligible]
    certificates, issued = [], []
    async with in_transaction() as conn:
        for entry in entries:
            certificate, new = await _issue(conn, entry.registration, send_mail=send_mail, now=now)
            certificates.append(certificate)
            if new:
                issued.append(certificate)
        if issued:
            await _record_issued(conn, event_id, issued, send_mail=send_mail, by=by)
    return certificates


async def _record_issued(conn, event_id: int, issued: list[Certificate], *, send_mail: bool,
                         by: User | int | None) -> None:
    await audit.record("certificates.issued", user=by, event_id=event_id, conn=conn, count=len(issued),
                       serials=[c.serial for c in issued], by_mail=send_mail)


async def revoke(*, serial: str, reason: str, by: User | int | None = None,
                 now: datetime | None = None) -> Certificate:
    """Withdraw a certificate: its verification page says so from now on. The reason is required and
    recorded in the audit log, but never shown publicly (see the module docstring)."""
    reason = clean_text(reason, max_length=1000)
    if not reason:
        raise errors.ValidationFailed(fields={"reason": N_("Please give a reason for revoking the certificate.")})
    certificate = await Certificate.get_or_none(serial=normalise_serial(serial)).prefetch_related("registration")
    if certificate is None:
        raise errors.CertificateNotFound()
    if certificate.revoked_at is None:
        async with in_transaction() as conn:
            certificate.revoked_at = now or utcnow()
            certificate.revoked_reason = reason
            await certificate.save(update_fields=["revoked_at", "revoked_reason"], using_db=conn)
            await audit.record("certificate.revoked", user=by, event_id=certificate.registration.event_id,
                               conn=conn, serial=certificate.serial, reason=reason)
    return certificate


async def revoked_of(*, event_id: int) -> list[Certificate]:
    """The event's revoked certificates with their holders, newest first (for the organisers)."""
    return await Certificate.filter(registration__event_id=event_id, revoked_at__not_isnull=True).order_by(
        "-revoked_at").prefetch_related("registration")


class Validity(str, Enum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verification:
    validity: Validity
    certificate: Certificate | None = None
    name: str | None = None  # None when the event's participants stay anonymous (women's courses)
    event: Event | None = None
    first_date: datetime | None = None
    last_date: datetime | None = None
    #: Past EVENTS_CERTIFICATE_RETENTION_DAYS: the certificate existed, but its details are deleted.
    details_deleted: bool = False


async def verify(*, serial: str) -> Verification:
    """What the public verification page may say about a serial."""
    certificate = await Certificate.get_or_none(serial=normalise_serial(serial)).prefetch_related(
        "registration__event")
    if certificate is None:
        return Verification(Validity.UNKNOWN)
    registration = certificate.registration
    event = registration.event
    validity = Validity.REVOKED if certificate.revoked_at else Validity.VALID
    if certificate.details_deleted_at:
        return Verification(validity, certificate, details_deleted=True)
    dates = await _countable_sessions(event.id)
    holder = certificate.holder_name if registration.anonymised_at else registration.name
    name = None if event.audience == Audience.WOMEN else holder
    return Verification(validity, certificate, name, event,
                        dates[0].starts_at if dates else None, dates[-1].ends_at if dates else None)


async def valid_certificate_for(*, registration_id: int) -> Certificate | None:
    return await Certificate.filter(registration_id=registration_id, revoked_at=None).order_by("-issued_at").first()


async def certificate_for_token(*, token: str) -> Certificate:
    """The person's own valid certificate, found through their manage link."""
    registration = await Registration.get_or_none(manage_token=token)
    if registration is None:
        raise errors.RegistrationNotFound()
    certificate = await valid_certificate_for(registration_id=registration.id)
    if certificate is None:
        raise errors.CertificateNotFound()
    return certificate


# --- what a certificate shows ---


@dataclass(frozen=True)
class CertificatePage:
    serial: str
    name: str
    event_title: str
    dates: str
    hours: str
    body: str
    verify_url: str
    #: Who issues it, where and when ("Gießen, 05.12.2026"): the default design prints them above the signature.
    issuer: str = ""
    place_and_date: str = ""


async def _countable_sessions(event_id: int) -> list[EventSession]:
    return await EventSession.filter(event_id=event_id).exclude(status=SessionStatus.CANCELLED).order_by("starts_at")


#: First-strong isolate and pop directional isolate: a name or title in Arabic or Farsi keeps its own
#: direction inside German text. Characters, not <bdi> elements: an inline box on every page of a
#: bulk PDF costs WeasyPrint a quarter of its layout time (benchmarks/certificates.py).
ISOLATE, END_ISOLATE = "\u2068", "\u2069"


def _fill(text: str, values: dict[str, str]) -> str:
    """The organiser's text with its {placeholders} filled (an empty or unknown one refuses the certificate,
    see core/placeholders.py); each value isolated for bidi (an Arabic name, or an Arabic date with its
    right-to-left marks, keeps its own order inside German text)."""
    return placeholders.fill(text, values, wrap=lambda key, value: f"{ISOLATE}{value}{END_ISOLATE}")


def issue_place(address: str) -> str:
    """The town of the office's address ("Berliner Platz 1, 35390 Gießen" -> "Gießen") for "Gießen, <date>"."""
    last = address.rsplit(",", 1)[-1].strip()
    return re.sub(r"^\d{4,5}\s+", "", last) or last


def qr_markup(url: str) -> Markup:
    """The verification URL as a QR code image. Not inline SVG: WeasyPrint draws each of its paths
    in Python, which made bulk rendering about twice as slow (see benchmarks/certificates.py)."""
    return Markup('<img class="qr" src="{}" alt="">').format(qr.png_data_uri(url))


def _page(certificate: Certificate, registration: Registration, event: Event, template: CertificateTemplate,
          sessions: list[EventSession], attended_ids: tuple[int, ...], *, base_url: str, fmt: Formatter,
          language: str) -> CertificatePage:
    attended = [s for s in sessions if s.id in attended_ids] or sessions
    if attended:
        first, last = attended[0].starts_at, attended[-1].starts_at
        dates = fmt.date(first) if fmt.local(first).date() == fmt.local(last).date() else \
            f"{fmt.date(first)} – {fmt.date(last)}"
    else:
        dates = ""
    seconds = sum((s.ends_at - s.starts_at).total_seconds() for s in attended)
    hours = format_decimal(round(seconds / 3600, 1), locale=language)
    values = {"name": registration.name, "event": event.title, "dates": dates, "hours": hours}
    url = urls.certificate_check(base_url, certificate.serial)
    office = legal.current()
    issued = fmt.date(certificate.issued_at or utcnow())
    return CertificatePage(certificate.serial, registration.name, event.title, dates, hours,
                           _fill(template.body, values), url, issuer=office.operator,
                           place_and_date=f"{issue_place(office.address)}, {ISOLATE}{issued}{END_ISOLATE}")


async def _event_parts(event_id: int) -> tuple[Event, CertificateTemplate, list[EventSession]]:
    """The event, its certificate texts (only embedded images, never a URL to fetch) and its dates."""
    event = await Event.get(id=event_id)
    template = await CertificateTemplate.get_or_none(event_id=event.id) or CertificateTemplate(event_id=event.id)
    for image in IMAGE_FIELDS:
        # stored before images were checked (an SVG may reference URLs): left out, the fetcher refuses them too
        if not getattr(template, image).startswith(tuple(f"data:{m};base64," for m in images.ALLOWED_MEDIA)):
            setattr(template, image, "")
    return event, template, await _countable_sessions(event.id)


async def pages_for(certificates: list[Certificate], *, base_url: str, timezone: str = "Europe/Berlin",
                    language: str = "de") -> list[tuple[CertificatePage, CertificateTemplate]]:
    """What each certificate shows, in the given order."""
    fmt = Formatter(language, timezone)
    pages = []
    cache: dict[int, tuple] = {}
    people = {r.id: r for r in await Registration.filter(id__in=[c.registration_id for c in certificates])}
    for certificate in certificates:
        registration = people[certificate.registration_id]
        if registration.event_id not in cache:
            cache[registration.event_id] = (*await _event_parts(registration.event_id),
                                            await attendance.summaries(event_id=registration.event_id))
        event, template, sessions, summaries = cache[registration.event_id]
        attended_ids = summaries[registration.id].attended_session_ids
        pages.append((_page(certificate, registration, event, template, sessions, attended_ids,
                            base_url=base_url, fmt=fmt, language=language), template))
    return pages


#: The organiser's texts and their longest allowed length (the title and signer fit one line of the page).
TEXT_FIELDS = {"title": 200, "body": 5000, "content_summary": 5000, "signer_name": 200, "signer_role": 200}
IMAGE_FIELDS = ("logo", "signature")
#: What the body text may use; anything else in braces is refused when saved (and when printed).
CERTIFICATE_PLACEHOLDERS = ("name", "event", "dates", "hours")
#: Uploaded logo and signature images; each is embedded in every certificate page.
MAX_IMAGE_BYTES = images.MAX_IMAGE_BYTES


async def save_template(*, event_id: int, values: dict, uploads: dict[str, bytes] | None = None,
                        by: User | int | None = None) -> CertificateTemplate:
    """Store the organiser's texts for the event's certificates. Only the fields given change.

    Images come either in `values` as data: URIs (the API; an empty value removes the image) or in
    `uploads` as the bytes of a PNG or JPEG file (the back-office form).
    """
    values = dict(values)
    problems = {}
    for name in IMAGE_FIELDS:
        if uploads and uploads.get(name):
            try:
                values[name] = images.image_data_uri(uploads[name])
            except ValueError as exc:
                problems[name] = str(exc)
        elif values.get(name):
            try:
                values[name] = images.checked_data_uri(str(values[name]))
            except ValueError as exc:
                problems[name] = str(exc)
    unknown = sorted({name for name in placeholders.PLACEHOLDER.findall(str(values.get("body") or ""))
                      if name not in CERTIFICATE_PLACEHOLDERS})
    if unknown:
        problems["body"] = errors.PlaceholderEmpty.title
    if "title" in values and not str(values["title"]).strip():
        problems["title"] = N_("This field is required.")
    for name, longest in TEXT_FIELDS.items():
        if len(str(values.get(name) or "")) > longest:
            problems[name] = N_("This text is too long.")
    if problems:
        raise errors.ValidationFailed(fields=problems, kilobytes=MAX_IMAGE_BYTES // 1000,
                                      side=images.MAX_IMAGE_SIDE,
                                      placeholders=", ".join("{%s}" % name for name in unknown))
    if not await Event.exists(id=event_id):
        raise errors.EventNotFound()
    async with in_transaction() as conn:
        template, _ = await CertificateTemplate.get_or_create(event_id=event_id, using_db=conn)
        changed = sorted(name for name in (*TEXT_FIELDS, *IMAGE_FIELDS)
                         if name in values and getattr(template, name) != str(values[name] or ""))
        for name in changed:
            setattr(template, name, str(values[name] or ""))
        await template.save(using_db=conn)
        await audit.record("certificate_template.saved", user=by, event_id=event_id, conn=conn, fields=changed)
    return template


def certificate_html(pages: list[tuple[CertificatePage, CertificateTemplate]], *, settings,
                     language: str = "de") -> str:
    """The HTML of the certificates, QR codes included. CPU-bound: call it off the event loop."""
    return render_string(PDF_TEMPLATE, language=language, settings=settings, pages=pages, qr=qr_markup)


async def _html(pages, *, settings, language: str = "de") -> str:
    return await asyncio.to_thread(certificate_html, pages, settings=settings, language=language)


async def _valid_certificates_of(event_id: int) -> list[Certificate]:
    return await Certificate.filter(registration__event_id=event_id, revoked_at=None).order_by(
        "registration__name", "id")


async def render_one(*, certificate: Certificate, settings) -> bytes:
    """The person's own certificate, with fixed labels, dates and hours in the registration's language."""
    registration = await Registration.get(id=certificate.registration_id)
    language = registration.language if registration.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    pages = await pages_for([certificate], base_url=settings.base_url, timezone=settings.timezone,
                            language=language)
    return await pdf.render_pdf(await _html(pages, settings=settings, language=language), base_url=pdf.fonts_base_url())


#: The made-up person on the organisers' preview; the serial is one the verification page does not know.
SAMPLE_NAME = "Erika Mustermann"
SAMPLE_SERIAL = "TB-0000-MUST-ER00"


async def render_sample(*, event_id: int, settings) -> bytes:
    """One certificate for a made-up person who attended every date: the organisers' preview of their texts."""
    if not await Event.exists(id=event_id):
        raise errors.EventNotFound()
    event, template, sessions = await _event_parts(event_id)
    fmt = Formatter(i18n.DEFAULT_LANGUAGE, settings.timezone)
    page = _page(Certificate(serial=SAMPLE_SERIAL), Registration(name=SAMPLE_NAME), event, template, sessions,
                 tuple(s.id for s in sessions), base_url=settings.base_url, fmt=fmt, language=i18n.DEFAULT_LANGUAGE)
    return await pdf.render_pdf(await _html([(page, template)], settings=settings), base_url=pdf.fonts_base_url())


def _none_issued() -> errors.CertificateNotFound:
    return errors.CertificateNotFound(N_("Nobody at this event has a certificate yet."))


async def _issued_pages(event_id: int, settings) -> list[tuple[CertificatePage, CertificateTemplate]]:
    certificates = await _valid_certificates_of(event_id)
    if not certificates:
        raise _none_issued()
    return await pages_for(certificates, base_url=settings.base_url, timezone=settings.timezone)


#: Certificates per laid-out part when the progress is watched: the count moves in these steps, and
#: each part costs about one certificate more. Without a watcher all are one document, the fastest.
CERTIFICATES_PER_PART = 25
#: (done, total, step): how many certificates are laid out ("layout") or written as single files ("cut").
Progress = Callable[..., None]


async def _html_parts(pages, *, settings, progress: Progress | None) -> tuple[list[str], int]:
    per_part = CERTIFICATES_PER_PART if progress else len(pages)
    return [await _html(pages[start:start + per_part], settings=settings)
            for start in range(0, len(pages), per_part)], per_part


async def render_event(*, event_id: int, settings, progress: Progress | None = None) -> bytes:
    """The certificates already issued for the event as one PDF, one page each. Issues nothing:
    callers that promise "all eligible" (the API) call `issue_all` first."""
    pages = await _issued_pages(event_id, settings)
    parts, per_part = await _html_parts(pages, settings=settings, progress=progress)
    return await pdf.render_pdf_parts(parts, base_url=pdf.fonts_base_url(),
                                      progress=progress and pdf.per_item(progress, per_part, len(pages)))


async def render_event_zip(*, event_id: int, settings, progress: Progress | None = None) -> bytes:
    """The certificates already issued for the event as a ZIP of single PDFs named after their serials
    (issues nothing, like `render_event`)."""
    pages = await _issued_pages(event_id, settings)
    parts, per_part = await _html_parts(pages, settings=settings, progress=progress)
    files = await pdf.render_pages_separately(
        parts, base_url=pdf.fonts_base_url(), progress=progress and pdf.per_item(progress, per_part, len(pages)),
        cutting=progress and (lambda done, total: progress(done, total, "cut")))
    if len(files) != len(pages):  # a certificate that overflowed its page would shift the names
        raise RuntimeError(f"certificate layout gave {len(files)} pages for {len(pages)} certificates")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for (page, _), data in zip(pages, files):
            archive.writestr(f"{page.serial}.pdf", data)
    return buffer.getvalue()


# --- all certificates of an event as a background job (see jobs.py), with their progress shown ---

JOB_KIND = "certificates"
BULK_FORMATS = ("pdf", "zip")


async def start_bulk_job(*, event_id: int, settings, fmt: str) -> str:
    """Start rendering the issued certificates as one PDF or a ZIP; the organiser watches `jobs.status`."""
    if fmt not in BULK_FORMATS:
        raise errors.NotFound()
    if not await Certificate.exists(registration__event_id=event_id, revoked_at=None):
        raise _none_issued()
    render = render_event if fmt == "pdf" else render_event_zip

    async def work(job: jobs.Job) -> bytes:
        return await render(event_id=event_id, settings=settings, progress=job.progress)

    return await jobs.start(settings, kind=JOB_KIND, event_id=event_id, work=work, format=fmt)


async def bulk_job_file(settings, *, event_id: int, job_id: str) -> tuple[bytes, str] | None:
    """(file, format) of a finished job, or None if there is none (yet)."""
    found = jobs.result(settings, kind=JOB_KIND, event_id=event_id, job_id=job_id)
    if found is None:
        return None
    status, content = found
    return content, status["format"]
