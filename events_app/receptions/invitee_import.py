"""Turning the naturalisation authority's list into invitations: column mapping, a preview that
stores nothing, then an all-or-nothing import of the rows the organiser accepts.

`importing.py` reads the file (encodings, delimiters, XLSX); this module decides what each row
means: problems (bad addresses, no postal address), duplicates within the file and against the
invitations already stored, and what will happen to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient

from events_app.core import errors
from events_app.core.errors import N_
from events_app.core.i18n import LANGUAGES
from events_app.receptions.list_files import Table
from events_app.receptions.invitations import check_invitation_event, invitation_event, new_code
from events_app.core.models import AuditEntry, Invitation
from events_app.seats import seating
from events_app.seats.participation import clean_postcode, districts_by_postcode
from events_app.seats.registration import new_token
from events_app.core.validation import clean_text, normalise_email, parse_id


# --- mapping and preview ------------------------------------------------------------------------------------

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
            column = parse_id(value)
            mapping[name] = column if column is not None and column < len(headers) else None
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
    await invitation_event(event_id)
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
    async with seating.event_lock(event_id) as (conn, event):
        check_invitation_event(event)
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
        districts = await districts_by_postcode(conn)
        invitations = [
            Invitation(
                event_id=event.id, salutation=row.values["salutation"], first_name=row.values["first_name"],
                last_name=row.values["last_name"], birth_date=row.values["birth_date"],
                street=row.values["street"], postcode=row.values["postcode"], city=row.values["city"],
                district=districts.get(clean_postcode(row.values["postcode"]), ""),
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


