"""Edge: the lists organisers download, as CSV (German Excel), XLSX and PDF.

The organiser chooses the columns from the registration fields and the event's questions. For
women-only events nothing but the name is preselected: what else leaves the system is chosen, every
time. Cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import asyncio
import csv
import io
import unicodedata
from dataclasses import dataclass, field
from typing import AsyncIterator

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from events_app.core import i18n, wording
from events_app.core.errors import N_
from events_app.core.pdf import render_pdf
from events_app.core.rendering import render_string
from events_app.core.models import Audience, Event, Registration, RegistrationStatus, SessionStatus
from events_app.core.validation import is_phone_number

LAYOUTS = ("attendees", "signatures", "door")
FORMATS = ("csv", "xlsx", "pdf")

#: Registration fields an export may show, with their (translatable) headings.
FIELD_COLUMNS = {
    "name": N_("Name"),
    "email": N_("E-mail address"),
    "phone": N_("Phone"),
    "language": N_("Language"),
    "status": N_("Status"),
    "companions": N_("Companions"),
    "seats": N_("Seats"),
    "created_at": N_("Registered at"),
}
STATUS_LABELS = {
    RegistrationStatus.CONFIRMED: N_("Confirmed"),
    RegistrationStatus.OFFERED: N_("Seat offered"),
    RegistrationStatus.WAITLISTED: N_("Waiting list"),
    RegistrationStatus.PENDING: N_("Not yet verified"),
    RegistrationStatus.CANCELLED: N_("Cancelled"),
    RegistrationStatus.EXPIRED: N_("Offer expired"),
}
#: XLSX of the attendee list: one sheet per status, in this order.
SHEET_ORDER = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED,
               RegistrationStatus.PENDING, RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED)
#: Whom the attendee list includes (`include`): confirmed people only unless the organiser chooses more,
#: so a printed list never mixes waiting people in with those who have a seat.
INCLUDE = {
    "confirmed": (RegistrationStatus.CONFIRMED,),
    "waiting": (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED),
    "all": SHEET_ORDER,
}
DEFAULT_INCLUDE = "confirmed"
#: Which registrations the signature and door lists show: the people with a seat.
LAYOUT_STATUSES = {
    "signatures": (RegistrationStatus.CONFIRMED,),
    "door": (RegistrationStatus.CONFIRMED,),
}


def statuses_for(layout: str, include: str = DEFAULT_INCLUDE) -> tuple:
    """The statuses a list shows: the attendee list as chosen, the others confirmed people only."""
    return INCLUDE[include] if layout == "attendees" else LAYOUT_STATUSES[layout]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def available_columns(event: Event, language: str = i18n.DEFAULT_LANGUAGE) -> dict[str, str]:
    """Column key -> heading in `language` (fields from the catalog, questions in their translation)."""
    columns = {key: i18n.gettext(language, msgid) for key, msgid in FIELD_COLUMNS.items()}
    for question in event.questions:
        columns[f"q_{question.key}"] = wording.question_label(question, language)
    return columns


def default_columns(event: Event) -> list[str]:
    if event.audience == Audience.WOMEN:
        return ["name"]
    return ["name", "email", "phone", "companions", "status"]


def chosen_columns(event: Event, requested: list[str] | None, *, layout: str = "attendees",
                   include: str = DEFAULT_INCLUDE) -> list[str]:
    """The requested columns that exist, in the order asked; the defaults when none are asked for.
    A list with more than confirmed people always has the status column (after the name)."""
    available = available_columns(event)
    chosen = [key for key in dict.fromkeys(requested or []) if key in available] or default_columns(event)
    if len(statuses_for(layout, include)) > 1 and "status" not in chosen:
        chosen.insert(1 if chosen and chosen[0] == "name" else 0, "status")
    return chosen


def neutralise(value: str) -> str:
    """A cell starting with =, +, -, @, tab or CR would be run as a formula by spreadsheet programs
    (OWASP CSV injection), so it gets a leading apostrophe. Phone numbers (+49 176 …) are left as they
    are: without letters they can call no function, and German Excel would show the apostrophe."""
    if value.startswith(_FORMULA_START) and not is_phone_number(value):
        return "'" + value
    return value


@dataclass
class Sheet:
    title: str
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Table:
    """An export, independent of its file format."""

    event: Event
    layout: str
    headings: list[str]
    sheets: list[Sheet]
    total_people: int = 0
    language: str = "de"


class _Cells:
    """Turns a registration into the chosen cells, in one language."""

    def __init__(self, event: Event, columns: list[str], language: str, timezone: str):
        self.columns = columns
        self.language = language
        self.fmt = i18n.Formatter(language, timezone)
        self.kinds = {f"q_{q.key}": q.kind for q in event.questions}
        #: a choice is stored in German and shown in the list's language
        self.choices = {f"q_{q.key}": dict(wording.question_choices(q, language))
                        for q in event.questions if q.kind == "choice"}

    def _t(self, message: str) -> str:
        return i18n.gettext(self.language, message)

    def value(self, registration: Registration, column: str) -> str:
        if column.startswith("q_"):
            answer = (registration.answers or {}).get(column[2:])
            if answer is None:
                return ""
            if isinstance(answer, bool):
                return self._t(N_("Yes")) if answer else self._t(N_("No"))
            return self.choices.get(column, {}).get(answer, str(answer))
        if column == "status":
            return self._t(STATUS_LABELS[registration.status])
        if column == "created_at":
            return self.fmt.datetime(registration.created_at)
        if column == "language":
            return i18n.LANGUAGES.get(registration.language, registration.language)
        return str(getattr(registration, column))

    def row(self, registration: Registration) -> list[str]:
        return [self.value(registration, column) for column in self.columns]


def _headings(event: Event, columns: list[str], layout: str, language: str, timezone: str) -> list[str]:
    available = available_columns(event, language)
    headings = [available[c] for c in columns]
    if layout == "signatures":
        fmt = i18n.Formatter(language, timezone)
        headings += [fmt.date(s.starts_at) for s in _live_sessions(event)] or [i18n.gettext(language, N_("Signature"))]
    elif layout == "door":
        headings += [i18n.gettext(language, N_("Persons")), i18n.gettext(language, N_("Arrived"))]
    return headings


def _live_sessions(event: Event) -> list:
    return [s for s in event.sessions if s.status == SessionStatus.SCHEDULED]


def _extra_cells(event: Event, layout: str, registration: Registration) -> list[str]:
    if layout == "signatures":
        return [""] * max(1, len(_live_sessions(event)))
    if layout == "door":
        return [str(registration.seats), ""]
    return []


#: Letters Unicode does not split into base letter + accent.
_UNDECOMPOSABLE = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe"})


def name_key(name: str) -> str:
    """Sort key for names in lists: case and accents ignored (Özdemir next to Ozan, Émile among the Es)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_UNDECOMPOSABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _sort_key(registration: Registration):
    return (name_key(registration.name), registration.id)


async def _registrations(event: Event, statuses, only: list[int] | None = None) -> list[Registration]:
    query = Registration.filter(event_id=event.id, status__in=list(statuses))
    found = await (query.filter(id__in=only) if only is not None else query)
    found.sort(key=_sort_key)
    return found


async def build_table(event: Event, *, layout: str, columns: list[str], language: str,
                      timezone: str = "Europe/Berlin", sheet_per_status: bool = False,
                      include: str = DEFAULT_INCLUDE, only: list[int] | None = None) -> Table:
    """Rows for the layout (of the `only` registrations, when chosen); `event` must have its sessions and
    questions prefetched."""
    cells = _Cells(event, columns, language, timezone)
    statuses = statuses_for(layout, include)
    registrations = await _registrations(event, statuses, only)
    sheets: list[Sheet] = []
    if sheet_per_status and layout == "attendees":
        for status in statuses:
            group = [r for r in registrations if r.status == status]
            if status == RegistrationStatus.WAITLISTED:
                group.sort(key=lambda r: (r.queued_at, r.id))
            if group or status in INCLUDE["waiting"]:
                sheets.append(Sheet(i18n.gettext(language, STATUS_LABELS[status])[:31],
                                    [cells.row(r) for r in group]))
    else:
        sheets.append(Sheet(i18n.gettext(language, N_("List"))[:31],
                            [cells.row(r) + _extra_cells(event, layout, r) for r in registrations]))
    return Table(event=event, layout=layout, headings=_headings(event, columns, layout, language, timezone),
                 sheets=sheets,
                 total_people=sum(r.seats for r in registrations if r.status == RegistrationStatus.CONFIRMED),
                 language=language)


# ---------------------------------------------------------------- CSV

class GermanExcel(csv.excel):
    """What German Excel reads on double click: ';' between fields, CRLF line ends."""

    delimiter = ";"


async def stream_csv(event: Event, *, layout: str, columns: list[str], language: str,
                     timezone: str = "Europe/Berlin", batch: int = 500,
                     include: str = DEFAULT_INCLUDE, only: list[int] | None = None) -> AsyncIterator[bytes]:
    """UTF-8 with BOM, fetched and sent in batches so a large event never sits in memory whole."""
    cells = _Cells(event, columns, language, timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=GermanExcel)

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow([neutralise(h) for h in _headings(event, columns, layout, language, timezone)])
    yield b"\xef\xbb\xbf" + flush()
    # the order is decided on (id, name) pairs alone, so every format sorts alike (case- and accent-blind
    # enough for German lists), and only one batch of full rows is in memory at a time
    query = Registration.filter(event_id=event.id, status__in=list(statuses_for(layout, include)))
    pairs = await (query.filter(id__in=only) if only is not None else query).values_list("id", "name")
    ordered = [reg_id for reg_id, name in sorted(pairs, key=lambda pair: (name_key(pair[1]), pair[0]))]
    for start in range(0, len(ordered), batch):
        ids = ordered[start:start + batch]
        by_id = {r.id: r for r in await Registration.filter(id__in=ids)}
        for reg_id in ids:
            registration = by_id[reg_id]
            writer.writerow([neutralise(v) for v in cells.row(registration) + _extra_cells(event, layout, registration)])
        yield flush()


# ---------------------------------------------------------------- XLSX

def _xlsx(table: Table) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for sheet in table.sheets:
        worksheet = workbook.create_sheet(title=sheet.title.replace("/", "-") or "-")
        worksheet.append(table.headings)
        for cell in worksheet[1]:
            cell.font = bold
        for row in sheet.rows:
            worksheet.append(row)
        for row_cells in worksheet.iter_rows(min_row=2):
            for cell in row_cells:
                if cell.data_type == "f":  # text that looks like a formula stays text
                    cell.data_type = "s"
        last = get_column_letter(max(1, len(table.headings)))
        worksheet.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
        worksheet.freeze_panes = "A2"
        for index, heading in enumerate(table.headings, start=1):
            longest = max([len(heading)] + [len(r[index - 1]) for r in sheet.rows if len(r) >= index])
            worksheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, longest + 2))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def xlsx_bytes(table: Table) -> bytes:
    return await asyncio.to_thread(_xlsx, table)


# ---------------------------------------------------------------- PDF

async def pdf_bytes(table: Table, *, settings) -> bytes:
    html = render_string("admin/export_pdf.html", language=table.language, settings=settings, table=table)
    return await render_pdf(html)


def filename(event: Event, layout: str, extension: str) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in event.title.lower())[:40].strip("-") or "event"
    return f"{safe}-{layout}.{extension}"
