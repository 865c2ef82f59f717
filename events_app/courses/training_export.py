"""File formats of the training record: CSV (semicolon, UTF-8 with BOM, as German Excel opens it)
and XLSX. Cells that a spreadsheet would read as a formula are prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from openpyxl import Workbook

from events_app.core.errors import N_
from events_app.core.i18n import gettext
from events_app.courses.training import TrainingRow

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = (N_("E-mail"), N_("Name"), N_("Department"), N_("Supervisor"), N_("Event"), N_("First date"),
          N_("Last date"), N_("Dates attended"), N_("Dates"), N_("Hours"), N_("Certificate"), N_("Issued on"),
          N_("Revoked"))


def _header(language: str) -> list[str]:
    return [gettext(language, title) for title in HEADER]


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @, tab, CR at the start) in text from people."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cells(row: TrainingRow, zone: ZoneInfo, language: str) -> list:
    def day(value):
        return value.astimezone(zone).strftime("%d.%m.%Y") if value else ""

    return [_safe(row.email), _safe(row.name), _safe(row.department), _safe(row.supervisor), _safe(row.event_title),
            day(row.first_date), day(row.last_date), row.attended, row.dates, row.hours, row.certificate_serial,
            day(row.certificate_issued_at), gettext(language, N_("yes")) if row.certificate_revoked else ""]


def to_csv(rows: list[TrainingRow], *, timezone: str = "Europe/Berlin", language: str = "de") -> bytes:
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(_header(language))
    for row in rows:
        cells = _cells(row, zone, language)
        cells[9] = format_decimal(row.hours, locale=language)
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[TrainingRow], *, year: int, timezone: str = "Europe/Berlin", language: str = "de") -> bytes:
    zone = ZoneInfo(timezone)
    book = Workbook()
    sheet = book.active
    sheet.title = gettext(language, N_("Training %(year)d"), year=year)[:31]
    sheet.append(_header(language))
    for row in rows:
        sheet.append(_cells(row, zone, language))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

