"""Edge: turn outbox rows into MIME messages and hand them to an SMTP server (or to files).

Rendering reads the registration and event as they are when the mail goes out, in the
registrant's language (German when the language is unknown). Subject, text and HTML part come
from `templates/email/<kind>.txt` and `.html`; confirmations and change notices carry the event
as an `.ics` attachment. Confidential meeting points appear only in confirmations, which also carry
the check-in QR code as an inline PNG (mail programs block SVG and data: images) and its link.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.parser
import email.policy
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.charset import BASE64, Charset
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from events_app.calendar import ical
from events_app.courses import checkin
from events_app.core import errors, i18n, qr
from events_app.seats import signup
from events_app.core.settings import Settings
from events_app.core.models import Event, EventSession, EventStatus, Invitation, OutboxMessage, Registration, RegistrationStatus, SessionStatus
from events_app.core.timeutil import utcnow
from events_app.mail import stored

#: Message kinds the engine queues, and the templates that exist for them.
KINDS = ("confirmed", "waitlisted", "offered", "promoted", "offer_expired", "cancelled",
         "cancelled_by_organiser", "event_changed", "event_cancelled", "reminder", "digest",
         "verify_email", "organiser_message", "certificate", "invitation", "invitation_reminder")
#: Kinds that tell the (possibly confidential) meeting point: the person holds a confirmed seat.
CONFIRMATION_KINDS = frozenset({"confirmed", "promoted"})
#: Kinds that carry the event as a calendar file.
CALENDAR_KINDS = frozenset({"confirmed", "promoted", "event_changed"})

SMTP_TIMEOUT = 30.0


class PermanentFailure(Exception):
    """The message can never be sent (bad address, missing data): mark it failed, do not retry."""


class TransientFailure(Exception):
    """Worth another try later (server down, 4xx answer)."""


# --- rendering -------------------------------------------------------------------------------


def mail_host(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def one_line(value: str, max_length: int = 200) -> str:
    """Header-safe text: no line breaks or control characters, whitespace collapsed."""
    cleaned = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+", " ", value)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    return cleaned[:max_length]


_PLAIN_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")


def check_recipient(address: str) -> str:
    """The address as one plain ASCII addr-spec (domain in IDNA form), else PermanentFailure.

    Addresses are validated with email-validator when people enter them; this guard keeps anything
    else (a hand-edited row, a display name, a second address) out of the envelope and headers.
    """
    if len(address) > 254 or not _PLAIN_ADDRESS.fullmatch(address):
        raise PermanentFailure(f"invalid recipient address: {address!r}")
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise PermanentFailure(f"addresses with non-ASCII local parts cannot be sent here: {address!r}")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise PermanentFailure(f"invalid recipient domain: {address!r}") from None
    return f"{local}@{domain}"


def localised(event: Event, language: str, name: str) -> str:
    """The event's title or description in the language, falling back to the German column."""
    value = (event.translations or {}).get(language, {}).get(name)
    return value or getattr(event, name)


@dataclass
class Letter:
    """What the worker needs to send one outbox row."""

    row: OutboxMessage
    recipient: str
    message_id: str
    #: The whole message, ready for SMTP or an .eml file.
    data: bytes


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
    return MailData(registrations, events, sessions, invitations=invitations)


@lru_cache(maxsize=1)
def _environment():
    """The site's template environment, without the per-render file check (mail templates change on deploy)."""
    from events_app.core.rendering import environment

    return environment().overlay(auto_reload=False, cache_size=100)


def _render_parts(kind: str, language: str, settings: Settings, context: dict) -> tuple[str, str, str]:
    from events_app.core.rendering import base_context

    env = _environment()
    values = {**base_context(language, settings), **context}
    text_template = env.get_template(f"email/{kind}.txt")
    subject = one_line("".join(text_template.blocks["subject"](text_template.new_context(values))))
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
    from events_app.receptions import invitations

    invitation = data.invitations.get((row.context or {}).get("invitation_id"))
    if invitation is None:
        raise PermanentFailure("the invitation of this message no longer exists")
    language = row.language if row.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    return {"kind": row.template, "language": language, "registration": None, "calendar_attached": False,
            "invitation": invitation, "event": invitation.event, "code": invitations.format_code(invitation.code),
            "link": f"{settings.base_url}/rsvp/{invitation.token}", "rsvp_url": f"{settings.base_url}/rsvp",
            "greeting": invitations.greeting(invitation)}


INVITATION_KINDS = frozenset({"invitation", "invitation_reminder"})


def stored_context(row: OutboxMessage, data: MailData, settings: Settings) -> dict:
    """Bookings, partner applications, interpreters: the facts are in the row (see mail/stored.py)."""
    event = data.events.get(row.event_id) if row.event_id else None
    if event is None:
        raise PermanentFailure("the event of this message no longer exists")
    return stored.context(row, event, settings)


#: Kinds whose variables do not come from a registration: kind -> function(row, data, settings) -> context.
OTHER_CONTEXTS = {"digest": digest_context, "invitation": invitation_context,
                  "invitation_reminder": invitation_context, **{kind: stored_context for kind in stored.KINDS}}


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
    checkin_url = (checkin.checkin_link(base_url=settings.base_url, registration=registration)
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
        "manage_url": (f"{settings.base_url}/r/{registration.manage_token}" if registration
                       else f"{settings.base_url}/rsvp/{invitation.token}"),
        "event_url": f"{settings.base_url}/events/{event.id}",
        "position": extra.get("position"),
        "offer_expires_at": datetime.fromisoformat(offer_expires_at) if offer_expires_at else None,
        "reason": extra.get("reason") or "",
        "verify_url": (signup.verification_url(registration=registration, base_url=settings.base_url,
                                               secret_key=settings.secret_key)
                       if registration and row.template == "verify_email" else ""),
        "message_subject": extra.get("subject") or "",
        "message_body": extra.get("body") or "",
        "certificate_url": f"{settings.base_url}/r/{registration.manage_token}/certificate.pdf" if registration else "",
        "calendar_attached": holds_seat and row.template in CALENDAR_KINDS,
        "checkin_url": checkin_url,
        "checkin_qr_cid": f"checkin.{row.id}@{mail_host(settings)}",
    }


def message_id_for(row: OutboxMessage, settings: Settings) -> str:
    """Stable per outbox row, so a retried message keeps its Message-ID."""
    return row.message_id or f"<outbox.{row.id}.{row.created_at:%Y%m%d%H%M%S%f}@{mail_host(settings)}>"


_UTF8 = Charset("utf-8")
_UTF8.header_encoding = BASE64  # not "shortest": measuring the quoted-printable length is slow


def encode_header(value: str) -> str:
    """One header value, RFC 2047-encoded when not ASCII, folded to short lines."""
    if "\r" in value or "\n" in value:
        raise ValueError("header values must be single lines")
    if value.isascii() and len(value) < 76:
        return value
    return Header(value, _UTF8 if not value.isascii() else None).encode(linesep="\n")


@lru_cache(maxsize=4)
def _sender_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    return formataddr((one_line(name), address), charset=_UTF8) if address else one_line(mail_from)


def _part(content_type: str, payload: bytes, extra_headers: str = "") -> bytes:
    return (f"Content-Type: {content_type}\nContent-Transfer-Encoding: base64\n{extra_headers}\n".encode()
            + base64.encodebytes(payload))


def mime_bytes(headers: dict[str, str], *, text: str, html: str, ics: bytes | None, boundary: str,
               inline_png: tuple[str, bytes] | None = None) -> bytes:
    """The message as bytes: multipart/alternative (text, HTML), inside multipart/mixed with an .ics.

    `inline_png` (Content-ID, image) puts the HTML part and the image into multipart/related, so
    the HTML shows it with `<img src="cid:...">`.
    Written directly rather than through `email.mime` + the generator, which cost four times the
    rendering; the shape is fixed and every part is base64, so the result is plain ASCII.
    Tests parse it back with the standard library's parser.
    """
    html_part = _part('text/html; charset="utf-8"', html.encode())
    if inline_png is not None:
        content_id, png = inline_png
        html_part = (f'Content-Type: multipart/related; type="text/html"; boundary="{boundary}r"\n\n'.encode()
                     + f"--{boundary}r\n".encode() + html_part + f"--{boundary}r\n".encode()
                     + _part("image/png", png, f"Content-ID: <{content_id}>\n"
                                               'Content-Disposition: inline; filename="checkin.png"\n')
                     + f"--{boundary}r--\n".encode())
    alternative = (f"--{boundary}a\n".encode() + _part('text/plain; charset="utf-8"', text.encode())
                   + f"--{boundary}a\n".encode() + html_part
                   + f"--{boundary}a--\n".encode())
    head = "".join(f"{name}: {encode_header(value)}\n" for name, value in headers.items()) + "MIME-Version: 1.0\n"
    if ics is None:
        return (head + f'Content-Type: multipart/alternative; boundary="{boundary}a"\n\n').encode() + alternative
    calendar = _part('text/calendar; charset="utf-8"; method=PUBLISH', ics,
                     'Content-Disposition: attachment; filename="event.ics"\n')
    return ((head + f'Content-Type: multipart/mixed; boundary="{boundary}m"\n\n').encode()
            + f"--{boundary}m\nContent-Type: multipart/alternative; boundary=\"{boundary}a\"\n\n".encode()
            + alternative + f"--{boundary}m\n".encode() + calendar + f"--{boundary}m--\n".encode())


def build_message(row: OutboxMessage, data: MailData, settings: Settings) -> Letter:
    """The full message for one outbox row; PermanentFailure when it cannot be built."""
    recipient = check_recipient(row.recipient)
    context = mail_context(row, data, settings)
    subject, text, html = _render_parts(row.template, context["language"], settings, context)
    ics = context.get("ics")
    if context["calendar_attached"] and ics is None:
        event = context["event"]
        # the person's own calendar (their SEQUENCE), with the meeting point where the mail tells it
        audience = replace(ical.registrant_audience(context["registration"]),
                           show_confidential_location=context["show_location"])
        key = (event.id, context["language"], audience)
        if key not in data.calendars:
            data.calendars[key] = _event_ics(event, data.sessions.get(event.id, []), settings=settings,
                                             language=context["language"], audience=audience)
        ics = data.calendars[key]
    inline_png = None
    if context.get("checkin_url"):
        inline_png = (context["checkin_qr_cid"], qr.png(context["checkin_url"]))
    message_id = message_id_for(row, settings)
    headers = {
        "Subject": subject,
        "From": _sender_header(settings.mail_from),
        "To": recipient,
        "Date": format_datetime(utcnow()),
        "Message-ID": message_id,
        "Auto-Submitted": "auto-generated",
        "Content-Language": context["language"],
    }
    # "=_" cannot occur in base64 text, so the boundary never collides with a body
    boundary = f"=_{row.id}_{secrets.token_hex(8)}_"
    return Letter(row=row, recipient=recipient, message_id=message_id,
                  data=mime_bytes(headers, text=text, html=html, ics=ics, boundary=boundary, inline_png=inline_png))


# --- calendar attachment ---------------------------------------------------------------------


def _event_ics(event: Event, sessions: list[EventSession], *, settings: Settings, language: str,
               audience: ical.Audience) -> bytes:
    """The event as the person's own feed shows it (same UIDs and SEQUENCE), so clients update one entry."""
    title, _ = ical.localized_text(event, language)
    return ical.build_calendar(((event, session) for session in sessions), name=title, language=language,
                                   base_url=settings.base_url, timezone=settings.timezone, audience=audience)


# --- transports ------------------------------------------------------------------------------


def classify(exc: BaseException) -> Exception:
    """An SMTP error as PermanentFailure (5xx) or TransientFailure (4xx, connection trouble)."""
    code = None
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        code = exc.recipients[0].code
        detail = f"{code} {exc.recipients[0].message}"
    elif isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(exc, aiosmtplib.SMTPConnectError):
        code = exc.code
        detail = f"{code} {exc.message}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    if code is not None and 500 <= code < 600:
        return PermanentFailure(detail)
    return TransientFailure(detail)


class SmtpTransport:
    """One SMTP connection reused for a batch of messages."""

    def __init__(self, settings: Settings):
        if settings.smtp_tls not in ("none", "starttls", "tls"):
            raise ValueError(f"EVENTS_SMTP_TLS must be none, starttls or tls, not {settings.smtp_tls!r}")
        self.settings = settings
        self.sender = parseaddr(settings.mail_from)[1] or settings.mail_from
        self.smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=True if settings.smtp_tls == "starttls" else False,
            timeout=SMTP_TIMEOUT,
        )

    async def open(self) -> None:
        try:
            await self.smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise classify(exc) if isinstance(exc, aiosmtplib.SMTPException) else TransientFailure(
                f"{type(exc).__name__}: {exc}") from exc

    async def send(self, letter: Letter) -> None:
        """Raises PermanentFailure or TransientFailure; a ConnectionError means the rest must wait."""
        try:
            await self.smtp.sendmail(self.sender, [letter.recipient], letter.data)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise classify(exc) from exc
        except OSError as exc:
            raise ConnectionLost(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self.smtp.is_connected:
            try:
                await self.smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.smtp.close()


class ConnectionLost(TransientFailure):
    """The connection broke mid-batch: this and the remaining messages wait for the next try."""


class FileTransport:
    """No SMTP server configured: each message becomes an `.eml` file under var/mail/."""

    def __init__(self, settings: Settings):
        self.directory = mail_directory(settings)

    async def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def send(self, letter: Letter) -> None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{letter.row.id}-{letter.row.template}.eml"
        await asyncio.to_thread(_write_atomically, path, letter.data)

    async def close(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def transport_for(settings: Settings) -> SmtpTransport | FileTransport:
    return SmtpTransport(settings) if settings.smtp_host else FileTransport(settings)


# --- the .eml files, for the back office ------------------------------------------------------

#: What FileTransport names its files: <UTC time>-<outbox id>-<kind>.eml. Nothing else is ever served.
MAIL_FILE_NAME = re.compile(r"(?P<stamp>[0-9]{8}T[0-9]{6})-(?P<id>[0-9]{1,12})-[a-z_]{1,100}\.eml")
#: The list reads this much of each file: the headers, not the parts.
_HEADER_BYTES = 8192


def mail_directory(settings: Settings) -> Path:
    return Path(settings.var_dir) / "mail"


def _newest_first(path: Path) -> tuple[str, int]:
    match = MAIL_FILE_NAME.fullmatch(path.name)
    return match["stamp"], int(match["id"])


def _is_mail_file(path: Path, directory: Path) -> bool:
    """Named as FileTransport names its files, and a file in the (resolved) folder itself, not a link out of it."""
    return bool(MAIL_FILE_NAME.fullmatch(path.name)) and path.resolve().parent == directory and path.is_file()


def mail_files(settings: Settings) -> list[Path]:
    """The `.eml` files written without an SMTP server, newest first (for the back office)."""
    directory = mail_directory(settings).resolve()
    if not directory.exists():
        return []
    return sorted((p for p in directory.glob("*.eml") if _is_mail_file(p, directory)), key=_newest_first,
                  reverse=True)


def mail_file(settings: Settings, name: str) -> Path:
    """The file of that name in the mail folder, else MailNotFound: a name is never a path."""
    directory = mail_directory(settings).resolve()
    path = directory / name
    if not MAIL_FILE_NAME.fullmatch(name) or not _is_mail_file(path, directory):
        raise errors.MailNotFound()
    return path


@dataclass(frozen=True)
class MailFile:
    """One written mail as the back office lists and shows it."""

    name: str
    subject: str
    recipient: str
    date: datetime | None
    #: Only when one file is read whole: the text part and the other parts as (type, file name, bytes).
    text: str = ""
    parts: tuple[tuple[str, str, int], ...] = ()


def _describe(path: Path, *, whole: bool) -> MailFile:
    if whole:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    else:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(head, headersonly=True)
    date = message["Date"]
    described = MailFile(name=path.name, subject=str(message["Subject"] or ""), recipient=str(message["To"] or ""),
                         date=date.datetime if date is not None and date.datetime else None)
    if not whole:
        return described
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    others = tuple((part.get_content_type(), part.get_filename() or "", len(part.get_payload(decode=True) or b""))
                   for part in message.walk() if not part.is_multipart() and part not in (text_part, html_part))
    return replace(described, text=text_part.get_content() if text_part is not None else "", parts=others)


async def list_mail_files(settings: Settings, *, limit: int = 200) -> tuple[list[MailFile], int]:
    """The newest `limit` written mails with subject, recipient and date, and how many there are."""
    paths = await asyncio.to_thread(mail_files, settings)
    shown = await asyncio.to_thread(lambda: [_describe(path, whole=False) for path in paths[:limit]])
    return shown, len(paths)


async def read_mail_file(settings: Settings, name: str) -> MailFile:
    return await asyncio.to_thread(_describe, mail_file(settings, name), whole=True)
