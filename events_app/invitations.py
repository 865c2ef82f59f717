"""Naturalisation receptions: invitee lists, RSVP codes, answers with companions, reminders, door list.

The flow: the organiser uploads the authority's list (`importing.py` reads the file), looks at a
preview (`build_preview`: nothing is stored) and imports the rows they accept in one transaction
(`import_invitations`). Each invitation gets a code a person can type and a long link token.
Invitees answer with either (`answer`); an acceptance becomes a Registration placed under the
event lock exactly like a public one, so companions count against the capacity and a full hall
means the waiting list with the usual promotion.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from events_app import errors
from events_app.errors import N_
from events_app.i18n import LANGUAGES
from events_app.importing import Table
from events_app.models import (
    SEAT_HOLDING,
    Audience,
    AuditEntry,
    Event,
    Invitation,
    InvitationState,
    ReceptionLetter,
    Registration,
    RegistrationStatus,
    RsvpAttempt,
)
from events_app.outbox import queue_mail
from events_app.registration import (
    _expire_due_offers,
    place_registration,
    release_seats,
    tell,
    check_open,
    event_lock,
    new_token,
    promote_waiting,
)
from events_app.timeutil import utcnow
from events_app.validation import clean_text, normalise_email

S = RegistrationStatus

# --- codes -------------------------------------------------------------------------------------

#: Digits and capitals without 0/O, 1/I/L: nothing a reader can confuse in print or handwriting.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 31 symbols: 10 characters would give 49.5 bits, so codes have 11 (54.5 bits).
CODE_LENGTH = 11
CODE_BITS = CODE_LENGTH * math.log2(len(CODE_ALPHABET))

#: Wrong codes allowed per client before it is made to wait (guessing 2^54 codes stays hopeless).
THROTTLE_LIMIT = 10
THROTTLE_WINDOW = timedelta(minutes=10)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """'ABCD-EFGH-JKM': groups of four are easier to read out on the phone and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str) -> str:
    """What the person typed, without spaces or hyphens, in capitals."""
    return re.sub(r"[^0-9A-Za-z]", "", typed or "").upper()[:32]


# --- import ------------------------------------------------------------------------------------

#: field -> (label msgid, header names it is recognised by, normalised by `header_key`)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "file_number": (N_("File number"), ("aktenzeichen", "az", "aktenz", "vorgangsnummer", "filenumber")),
    "salutation": (N_("Salutation"), ("anrede", "salutation", "title")),
    "first_name": (N_("First name"), ("vorname", "vornamen", "firstname", "givenname")),
    "last_name": (N_("Last name"), ("nachname", "familienname", "name", "lastname", "surname")),
    "birth_date": (N_("Date of birth"), ("geburtsdatum", "gebdatum", "geboren", "geburtstag", "dateofbirth",
                                          "birthdate")),
    "street": (N_("Street and number"), ("strasse", "strassehausnummer", "strassenr", "anschrift", "adresse",
                                         "street", "address")),
    "postcode": (N_("Postcode"), ("plz", "postleitzahl", "postcode", "zip", "zipcode")),
    "city": (N_("Town"), ("ort", "wohnort", "stadt", "city", "town")),
    "email": (N_("E-mail address"), ("email", "emailadresse", "mail", "mailadresse")),
    "phone": (N_("Phone number"), ("telefon", "tel", "telefonnummer", "mobil", "handy", "phone")),
    "language": (N_("Language"), ("sprache", "language")),
    "note": (N_("Note"), ("bemerkung", "bemerkungen", "hinweis", "notiz", "note")),
}
_MAX_LENGTH = {"salutation": 30, "first_name": 100, "last_name": 100, "street": 200, "postcode": 10,
               "city": 100, "phone": 50, "file_number": 50, "note": 2000}


def header_key(header: str) -> str:
    text = header.strip().lower()
    for umlaut, plain in (("ß", "ss"), ("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        text = text.replace(umlaut, plain)
    return re.sub(r"[^a-z0-9]", "", text)


def guess_mapping(headers: list[str]) -> dict[str, int | None]:
    """Field -> column index by header name; the organiser can correct it in the preview."""
    keys = [header_key(h) for h in headers]
    mapping: dict[str, int | None] = {}
    for name, (_, aliases) in FIELDS.items():
        mapping[name] = next((keys.index(alias) for alias in aliases if alias in keys), None)
    return mapping


def mapping_from_choices(headers: list[str], choices: dict[str, str]) -> dict[str, int | None]:
    """The organiser's corrections (field -> column index as text, '' for none) over the guess."""
    mapping = guess_mapping(headers)
    for name in FIELDS:
        if name in choices:
            value = (choices[name] or "").strip()
            mapping[name] = int(value) if value.isdigit() and int(value) < len(headers) else None
    return mapping


@dataclass
class RowProblem:
    field: str
    message: str
    params: dict = field(default_factory=dict)


class Action:
    CREATE = "create"            # will be invited
    EXISTS = "exists"            # already invited for this event: skipped (re-import)
    DUPLICATE = "duplicate"      # the same person as an earlier row: skipped
    UNREACHABLE = "unreachable"  # no valid e-mail and no complete address: only if the organiser insists
    INVALID = "invalid"          # cannot be stored (no last name)


@dataclass
class PreviewRow:
    line: int
    values: dict
    problems: list[RowProblem]
    action: str
    duplicate_of: str = ""

    @property
    def accepted_by_default(self) -> bool:
        return self.action == Action.CREATE

    @property
    def importable(self) -> bool:
        return self.action in (Action.CREATE, Action.UNREACHABLE)

    @property
    def name(self) -> str:
        return f"{self.values['first_name']} {self.values['last_name']}".strip()


@dataclass
class Preview:
    table: Table
    mapping: dict[str, int | None]
    rows: list[PreviewRow]
    mapping_problems: list[str]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def default_lines(self) -> set[int]:
        return {row.line for row in self.rows if row.accepted_by_default}

    def summary(self) -> dict[str, int]:
        return {"rows": len(self.rows), "create": self.count(Action.CREATE), "exists": self.count(Action.EXISTS),
                "duplicate": self.count(Action.DUPLICATE), "unreachable": self.count(Action.UNREACHABLE),
                "invalid": self.count(Action.INVALID),
                "with_problems": sum(1 for row in self.rows if row.problems)}


def parse_birth_date(text: str) -> date | None:
    """'03.04.1979', '3.4.1979' or '1979-04-03'; raises ValueError for anything else."""
    text = text.strip()
    for pattern in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _language(text: str) -> str:
    text = text.strip().lower()
    for code, name in LANGUAGES.items():
        if text in (code, name.lower()):
            return code
    return "de"


def _street_key(street: str) -> str:
    text = street.casefold().replace("ß", "ss").replace("str.", "strasse")
    return re.sub(r"[^0-9a-z]", "", text)


def person_key(values: dict) -> tuple:
    """Name + birth date + address: the same person when the file numbers differ (double entries)."""
    birth = values.get("birth_date")
    return (values.get("first_name", "").casefold(), values.get("last_name", "").casefold(),
            birth.isoformat() if isinstance(birth, date) else "",
            _street_key(values.get("street", "")), values.get("postcode", "").strip())


def _file_key(file_number: str | None) -> str:
    return re.sub(r"\s", "", file_number or "").upper()


def has_postal_address(values: dict) -> bool:
    return all(values.get(name) for name in ("street", "postcode", "city"))


def _read_row(cells: list[str], mapping: dict[str, int | None]) -> tuple[dict, list[RowProblem]]:
    raw = {name: (cells[index] if index is not None and index < len(cells) else "") for name, index in mapping.items()}
    values: dict = {}
    problems: list[RowProblem] = []
    for name, limit in _MAX_LENGTH.items():
        values[name] = clean_text(raw.get(name, ""), max_length=limit)
    for name in ("first_name", "last_name", "salutation", "street", "postcode", "city", "phone", "file_number"):
        values[name] = " ".join(values[name].split())  # line breaks inside a quoted cell become spaces
    if values["postcode"].isdigit() and len(values["postcode"]) == 4:
        values["postcode"] = values["postcode"].zfill(5)  # Excel drops the leading zero (01067 Dresden)
    values["language"] = _language(raw.get("language", ""))
    values["email"] = ""
    typed_email = (raw.get("email") or "").strip()
    if typed_email:
        try:
            values["email"] = normalise_email(typed_email)
        except ValueError:
            problems.append(RowProblem("email", N_("The e-mail address “%(value)s” is not valid; this person gets a letter."),
                                       {"value": typed_email[:100]}))
    values["birth_date"] = None
    if raw.get("birth_date", "").strip():
        try:
            values["birth_date"] = parse_birth_date(raw["birth_date"])
        except ValueError:
            problems.append(RowProblem("birth_date", N_("The date of birth “%(value)s” is not a date."),
                                       {"value": raw["birth_date"][:30]}))
    if not values["last_name"]:
        problems.append(RowProblem("last_name", N_("The last name is missing.")))
    if not has_postal_address(values):
        if values["email"]:
            problems.append(RowProblem("street", N_("The postal address is incomplete; no letter can be sent.")))
        else:
            problems.append(RowProblem("street", N_(
                "No valid e-mail address and no complete postal address: this person cannot be invited.")))
    return values, problems


async def _existing_keys(event_id: int, conn: BaseDBAsyncClient | None = None) -> tuple[dict, dict]:
    query = Invitation.filter(event_id=event_id)
    if conn is not None:
        query = query.using_db(conn)
    rows = await query.values("id", "file_number", "first_name", "last_name", "birth_date", "street", "postcode")
    by_file = {_file_key(r["file_number"]): r for r in rows if r["file_number"]}
    by_person = {person_key(r): r for r in rows}
    return by_file, by_person


def _preview(table: Table, mapping: dict[str, int | None], existing: tuple[dict, dict]) -> Preview:
    by_file, by_person = existing
    mapping_problems = []
    if mapping.get("last_name") is None:
        mapping_problems.append(N_("Please choose the column that holds the last name."))
    seen_file: dict[str, int] = {}
    seen_person: dict[tuple, int] = {}
    rows: list[PreviewRow] = []
    for line, cells in table.rows:
        values, problems = _read_row(cells, mapping)
        file_key, key = _file_key(values["file_number"]), person_key(values)
        if not values["last_name"]:
            action, duplicate_of = Action.INVALID, ""
        elif file_key and file_key in by_file:
            action, duplicate_of = Action.EXISTS, values["file_number"]
        elif key in by_person:
            action = Action.EXISTS
            duplicate_of = by_person[key]["file_number"] or f"{values['first_name']} {values['last_name']}"
        elif file_key and file_key in seen_file:
            action, duplicate_of = Action.DUPLICATE, str(seen_file[file_key])
        elif key in seen_person:
            action, duplicate_of = Action.DUPLICATE, str(seen_person[key])
        elif not values["email"] and not has_postal_address(values):
            action, duplicate_of = Action.UNREACHABLE, ""
        else:
            action, duplicate_of = Action.CREATE, ""
        if action not in (Action.INVALID, Action.DUPLICATE):
            if file_key:
                seen_file.setdefault(file_key, line)
            seen_person.setdefault(key, line)
        rows.append(PreviewRow(line=line, values=values, problems=problems, action=action, duplicate_of=duplicate_of))
    return Preview(table=table, mapping=mapping, rows=rows, mapping_problems=mapping_problems)


async def build_preview(*, event_id: int, table: Table, mapping: dict[str, int | None] | None = None) -> Preview:
    """What an import would do, row by row, without storing anything."""
    await _invitation_event(event_id)
    return _preview(table, mapping or guess_mapping(table.headers), await _existing_keys(event_id))


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int
    preview: Preview


async def import_invitations(
    *, event_id: int, table: Table, mapping: dict[str, int | None] | None = None,
    accept_lines: Iterable[int] | None = None, by_user_id: int | None = None, source: str = "",
) -> ImportResult:
    """Store the accepted rows (default: those the preview marks to import), all or none.

    Runs under the event lock so that two imports of the same list cannot both see "new";
    rows already invited are skipped, so importing a file twice invites nobody twice.
    """
    mapping = mapping or guess_mapping(table.headers)
    async with event_lock(event_id) as (conn, event):
        _check_invitation_event(event)
        preview = _preview(table, mapping, await _existing_keys(event_id, conn))
        if preview.mapping_problems:
            raise errors.ValidationFailed(fields={"mapping": preview.mapping_problems[0]})
        wanted = preview.default_lines if accept_lines is None else set(accept_lines)
        chosen = [row for row in preview.rows if row.line in wanted]
        refused = [row for row in chosen if not row.importable]
        unknown = wanted - {row.line for row in preview.rows}
        if refused or unknown:
            line = refused[0].line if refused else min(unknown)
            raise errors.ValidationFailed(fields={f"row-{line}": N_("Row %(line)d cannot be imported.")}, line=line)
        codes = await _fresh_codes(conn, len(chosen))
        invitations = [
            Invitation(
                event_id=event.id, salutation=row.values["salutation"], first_name=row.values["first_name"],
                last_name=row.values["last_name"], birth_date=row.values["birth_date"],
                street=row.values["street"], postcode=row.values["postcode"], city=row.values["city"],
                email=row.values["email"], phone=row.values["phone"],
                file_number=row.values["file_number"] or None, note=row.values["note"],
                language=row.values["language"], max_companions=event.max_companions,
                code=code, token=new_token(),
            )
            for row, code in zip(chosen, codes)
        ]
        if invitations:
            await Invitation.bulk_create(invitations, batch_size=200, using_db=conn)
        await AuditEntry.create(user_id=by_user_id, event_id=event.id, action="invitations.import",
                                detail={"created": len(invitations), "rows": len(preview.rows),
                                        "source": source[:200]}, using_db=conn)
    return ImportResult(created=len(invitations), skipped=len(preview.rows) - len(invitations), preview=preview)


async def _fresh_codes(conn: BaseDBAsyncClient, count: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < count:
        batch = {new_code() for _ in range(count - len(codes))} - codes
        taken = set(await Invitation.filter(code__in=list(batch)).using_db(conn).values_list("code", flat=True))
        codes |= batch - taken
    return list(codes)


def _check_invitation_event(event: Event) -> None:
    if event.audience != Audience.INVITATION:
        raise errors.ValidationFailed(N_("Invitations can only be imported for an event by invitation."),
                                      fields={"event": N_("Invitations can only be imported for an event by invitation.")})


async def _invitation_event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise errors.EventNotFound()
    _check_invitation_event(event)
    return event


# --- finding an invitation: code (throttled) or link ----------------------------------------------


def client_key(address: str) -> str:
    return hashlib.sha256(f"rsvp:{address}".encode()).hexdigest()


async def find_by_code(*, code: str, client: str, now: datetime | None = None) -> Invitation:
    """The invitation for a typed code. Wrong codes are counted per client and throttled."""
    now = now or utcnow()
    key = client_key(client)
    since = now - THROTTLE_WINDOW
    if await RsvpAttempt.filter(client=key, created_at__gte=since).count() >= THROTTLE_LIMIT:
        raise errors.TooManyAttempts()
    normalised = normalise_code(code)
    invitation = None
    if len(normalised) == CODE_LENGTH:
        invitation = await Invitation.get_or_none(code=normalised)
    if invitation is None:
        async with in_transaction() as conn:
            await RsvpAttempt.filter(created_at__lt=since).using_db(conn).delete()
            await RsvpAttempt.create(client=key, created_at=now, using_db=conn)
        raise errors.InvitationNotFound()
    return invitation


async def find_by_token(token: str) -> Invitation:
    invitation = await Invitation.get_or_none(token=token) if token else None
    if invitation is None:
        raise errors.InvitationNotFound()
    return invitation


# --- answering ---------------------------------------------------------------------------------

NEEDS = ("language_assistance", "accessibility")


@dataclass(frozen=True)
class Reply:
    accept: bool
    companions: int = 0
    language: str = "de"
    #: {"language_assistance": "...", "accessibility": "..."}; empty values are dropped
    needs: dict | None = None


def check_reply(invitation: Invitation, reply: Reply) -> Reply:
    problems = {}
    companions = reply.companions if reply.accept else 0
    if companions < 0:
        problems["companions"] = N_("The number of companions cannot be negative.")
    elif companions > invitation.max_companions:
        problems["companions"] = N_("At most %(max)d companions are allowed for this event.")
    if reply.language not in LANGUAGES:
        problems["language"] = N_("This language is not offered.")
    if problems:
        raise errors.ValidationFailed(fields=problems, max=invitation.max_companions)
    needs = {name: clean_text(str(value), max_length=300) for name, value in (reply.needs or {}).items()
             if name in NEEDS and value and clean_text(str(value), max_length=300)}
    return Reply(accept=reply.accept, companions=companions, language=reply.language, needs=needs)


async def answer(*, invitation_id: int, reply: Reply, now: datetime | None = None) -> Invitation:
    """Accept or decline, or change the answer, until the registration deadline.

    An acceptance is a Registration placed under the event lock (confirmed if the seats for the
    invitee and companions are free, else on the waiting list). A decline cancels it and moves
    the waiting list. More companions on a confirmed registration are granted only if the seats
    are free (MoreSeatsUnavailable otherwise, nothing changed); fewer free seats for others.
    """
    now = now or utcnow()
    found = await Invitation.get_or_none(id=invitation_id)
    if found is None:
        raise errors.InvitationNotFound()
    async with event_lock(found.event_id) as (conn, event):
        invitation = await Invitation.get(id=invitation_id).using_db(conn)
        check_open(event, now)
        reply = check_reply(invitation, reply)
        await _expire_due_offers(conn, event, now)
        current = None
        if invitation.registration_id:
            current = await Registration.get_or_none(id=invitation.registration_id).using_db(conn)
            if current is not None and current.status in (S.CANCELLED, S.EXPIRED):
                current = None
        if not reply.accept:
            if current is not None:
                await release_seats(conn, event, current, S.CANCELLED, now)
                await tell(conn, current, "cancelled")
                await promote_waiting(conn, event, now)
            invitation.state = InvitationState.DECLINED
            invitation.companions = 0
        else:
            if current is None:
                current = await _register(conn, event, invitation, reply, now)
            else:
                await _change_companions(conn, event, current, reply.companions, now)
                current.language = reply.language
                current.answers = reply.needs or {}
                await current.save(using_db=conn, update_fields=["language", "answers", "updated_at"])
            invitation.state = InvitationState.ACCEPTED
            invitation.companions = reply.companions
            invitation.registration_id = current.id
        invitation.language = reply.language
        invitation.needs = reply.needs or {}
        invitation.answered_at = now
        await invitation.save(using_db=conn)
        return invitation


async def _register(conn: BaseDBAsyncClient, event: Event, invitation: Invitation, reply: Reply,
                    now: datetime) -> Registration:
    registration = Registration(
        event_id=event.id, name=f"{invitation.first_name} {invitation.last_name}".strip(),
        email=invitation.email, phone=invitation.phone, language=reply.language,
        companions=reply.companions, seats=1 + reply.companions, answers=reply.needs or {},
        queued_at=now, manage_token=new_token(), checkin_token=new_token(),
    )
    await place_registration(conn, event, registration, now)
    waiting = registration.status == S.WAITLISTED
    await tell(conn, registration, "waitlisted" if waiting else "confirmed")
    return registration


async def _change_companions(conn: BaseDBAsyncClient, event: Event, registration: Registration, companions: int,
                             now: datetime) -> None:
    extra = 1 + companions - registration.seats
    if extra == 0:
        return
    if registration.status in SEAT_HOLDING:
        if extra > 0 and event.seats_taken + extra > event.capacity:
            raise errors.MoreSeatsUnavailable()
        event.seats_taken += extra
        await event.save(using_db=conn, update_fields=["seats_taken"])
    registration.seats = 1 + companions
    registration.companions = companions
    await registration.save(using_db=conn, update_fields=["seats", "companions", "updated_at"])
    if extra < 0 or registration.status == S.WAITLISTED:
        await promote_waiting(conn, event, now)


# --- mail, reminders, letter text ----------------------------------------------------------------

async def send_invitation_mails(*, event_id: int, now: datetime | None = None) -> int:
    """Queue the invitation mail for everyone with an address who has not had one yet."""
    now = now or utcnow()
    async with in_transaction() as conn:
        due = await Invitation.filter(event_id=event_id, mailed_at__isnull=True).exclude(email="").using_db(conn)
        for invitation in due:
            await queue_mail(conn, template="invitation", recipient=invitation.email, language=invitation.language,
                             context={"invitation_id": invitation.id, "event_id": event_id}, event_id=event_id)
        await Invitation.filter(id__in=[i.id for i in due]).using_db(conn).update(mailed_at=now)
    return len(due)


@dataclass(frozen=True)
class Reminders:
    mailed: int
    #: Pending invitees without an e-mail address: they need a phone call or a letter.
    to_contact: list[Invitation]


async def send_reminders(*, event_id: int, now: datetime | None = None,
                         again_after: timedelta = timedelta(days=7)) -> Reminders:
    """Remind by mail those who have not answered (at most once a week each)."""
    now = now or utcnow()
    async with in_transaction() as conn:
        pending = await Invitation.filter(event_id=event_id, state=InvitationState.PENDING).using_db(conn)
        due = [i for i in pending if i.email and (i.reminded_at is None or i.reminded_at <= now - again_after)]
        for invitation in due:
            await queue_mail(conn, template="invitation_reminder", recipient=invitation.email,
                             language=invitation.language,
                             context={"invitation_id": invitation.id, "event_id": event_id}, event_id=event_id)
        await Invitation.filter(id__in=[i.id for i in due]).using_db(conn).update(reminded_at=now)
    return Reminders(mailed=len(due), to_contact=[i for i in pending if not i.email])


async def mail_context(invitation_id: int, *, base_url: str) -> dict:
    """What the invitation mail templates need, loaded from the ids in the outbox row."""
    invitation = await Invitation.get(id=invitation_id).prefetch_related("event", "event__sessions")
    return {"invitation": invitation, "event": invitation.event, "code": format_code(invitation.code),
            "link": f"{base_url}/rsvp/{invitation.token}", "rsvp_url": f"{base_url}/rsvp",
            "greeting": greeting(invitation)}


DEFAULT_LETTER = {
    "sender": "Stadt Gießen · Integrationsbüro · Berliner Platz 1 · 35390 Gießen",
    "subject": "Einladung zum Einbürgerungsempfang",
    "body": (
        "wir freuen uns, dass Sie die deutsche Staatsangehörigkeit erhalten haben, und gratulieren Ihnen "
        "herzlich. Die Universitätsstadt Gießen lädt Sie zum Einbürgerungsempfang ein:\n\n"
        "{event_title}\n{event_date}\n{event_location}\n\n"
        "Bitte sagen Sie uns bis {deadline}, ob Sie kommen und wie viele Begleitpersonen Sie mitbringen "
        "(höchstens {max_companions})."
    ),
    "signature": "Mit freundlichen Grüßen\nIhr Integrationsbüro",
}


async def get_letter(event_id: int) -> ReceptionLetter:
    letter = await ReceptionLetter.get_or_none(event_id=event_id)
    return letter or ReceptionLetter(event_id=event_id, **DEFAULT_LETTER)


async def save_letter(*, event_id: int, sender: str, subject: str, body: str, signature: str) -> ReceptionLetter:
    await _invitation_event(event_id)
    values = {"sender": clean_text(sender, max_length=300), "subject": clean_text(subject, max_length=200),
              "body": clean_text(body, max_length=5000), "signature": clean_text(signature, max_length=500)}
    if not values["body"]:
        raise errors.ValidationFailed(fields={"body": N_("Please write the letter text.")})
    async with in_transaction() as conn:
        letter = await ReceptionLetter.get_or_none(event_id=event_id).using_db(conn)
        if letter is None:
            letter = ReceptionLetter(event_id=event_id)
        for name, value in values.items():
            setattr(letter, name, value)
        await letter.save(using_db=conn)
    return letter


def greeting(invitation: Invitation) -> str:
    """The German letter greeting; without Herr/Frau it addresses the full name (diverse, unknown)."""
    salutation = invitation.salutation.strip().lower()
    if salutation in ("herr", "hr.", "mr", "mr."):
        return f"Sehr geehrter Herr {invitation.last_name},"
    if salutation in ("frau", "fr.", "mrs", "ms", "mrs.", "ms."):
        return f"Sehr geehrte Frau {invitation.last_name},"
    return f"Guten Tag {invitation.first_name} {invitation.last_name},".replace("  ", " ")


# --- the organiser's view ---------------------------------------------------------------------

def sort_key(text: str) -> str:
    """German alphabetical order (DIN 5007-1): Ä as A, ß as ss, case ignored; databases sort Ö after Z."""
    text = text.casefold()
    for special, plain in (("ä", "a"), ("ö", "o"), ("ü", "u"), ("ß", "ss")):
        text = text.replace(special, plain)
    return text


async def list_invitations(event_id: int) -> list[Invitation]:
    """The event's invitations in German alphabetical order of last name, first name."""
    invitations = await Invitation.filter(event_id=event_id).prefetch_related("registration")
    return sorted(invitations, key=lambda i: (sort_key(i.last_name), sort_key(i.first_name), i.id))


async def counts(event_id: int) -> dict[str, int]:
    """Invited, answered, accepted (invitations and persons incl. companions), declined, waiting."""
    invitations = await list_invitations(event_id)
    result = {"invited": len(invitations), "pending": 0, "answered": 0, "accepted": 0, "accepted_persons": 0,
              "declined": 0, "waiting": 0, "waiting_persons": 0, "without_email": 0}
    for invitation in invitations:
        result["without_email"] += not invitation.email
        if invitation.state == InvitationState.PENDING:
            result["pending"] += 1
            continue
        result["answered"] += 1
        registration = invitation.registration
        if invitation.state == InvitationState.DECLINED or registration is None or registration.status in (
                S.CANCELLED, S.EXPIRED):
            result["declined"] += 1
        elif registration.status == S.WAITLISTED:
            result["waiting"] += 1
            result["waiting_persons"] += registration.seats
        else:
            result["accepted"] += 1
            result["accepted_persons"] += registration.seats
    return result


async def door_list(event_id: int) -> list[Invitation]:
    """Invitees holding seats, sorted by last name, with their companions (for the door)."""
    invitations = await list_invitations(event_id)
    return [i for i in invitations
            if i.state == InvitationState.ACCEPTED and i.registration and i.registration.status in SEAT_HOLDING]
