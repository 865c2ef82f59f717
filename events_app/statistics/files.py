"""The figures as files: CSV (semicolon, UTF-8 with BOM, as German Excel opens it), XLSX (figures and
districts on two sheets) and the PDF report for the annual report."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from events_app.core.errors import N_
from events_app.core.i18n import gettext
from events_app.statistics.figures import MIN_GROUP, Row

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KIND_LABELS = {"reception": N_("Reception"), "workshop": N_("Workshop"), "festival": N_("Festival"),
               "course": N_("Course"), "tour": N_("Tour"), "consultation": N_("Consultation hours"),
               "all": N_("All kinds")}
HEADINGS = (N_("Period"), N_("Kind"), N_("Events"), N_("Dates held"), N_("Registrations"),
            N_("Confirmed people (with companions)"), N_("Attended at least once"), N_("Attendance rate"),
            N_("Waited without getting a seat"), N_("Returning participants"), N_("New participants"),
            N_("Languages"))
DISTRICT_HEADINGS = (N_("Period"), N_("Kind"), N_("District"), N_("People"), N_("Invited"))


def kind_label(kind: str, language: str) -> str:
    return gettext(language, KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def rate(value: float | None) -> str:
    return "" if value is None else f"{round(value * 100)} %"


def _cells(row: Row, language: str) -> list:
    languages = ", ".join(f"{code}: {count}" for code, count in sorted(row.languages.items()))
    return [row.period, kind_label(row.kind, language), row.events, row.dates, row.registrations,
            row.confirmed_people, row.attended_people, rate(row.attendance_rate), row.waited_unserved,
            row.returning_people, row.new_people, languages]


def district_cells(row: Row, language: str) -> list[list]:
    fewer = gettext(language, N_("fewer than %(num)d"), num=MIN_GROUP)
    return [[row.period, kind_label(row.kind, language),
             entry["district"] or gettext(language, N_("unknown")),
             entry["people"] if entry["people"] is not None else fewer,
             entry["invited"] if entry["invited"] is not None else fewer] for entry in row.districts]


def to_csv(rows: list[Row], *, language: str = "de") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([gettext(language, h) for h in HEADINGS])
    for row in rows:
        writer.writerow(_cells(row, language))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[Row], *, language: str = "de") -> bytes:
    book = Workbook()
    figures = book.active
    figures.title = gettext(language, N_("Figures"))[:31]
    figures.append([gettext(language, h) for h in HEADINGS])
    for row in rows:
        figures.append(_cells(row, language))
    districts = book.create_sheet(gettext(language, N_("Districts"))[:31])
    districts.append([gettext(language, h) for h in DISTRICT_HEADINGS])
    for row in rows:
        for cells in district_cells(row, language):
            districts.append(cells)
    for sheet in (figures, districts):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                if cell.data_type == "f":  # a district named like a formula stays text
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
