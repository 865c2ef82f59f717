"""Edge: reading invitee lists as the naturalisation authority exports them (CSV from German Excel, XLSX).

German Excel writes `;`-separated CSV in Windows-1252, or UTF-8 with a byte order mark when
saved as "CSV UTF-8"; lines end in CRLF and quoted fields may hold `;` or line breaks. This
module turns any of these into a header row and data rows of plain strings; what the columns
mean is decided in `invitations.py`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from events_app.core import errors

DELIMITERS = (";", ",", "\t")
#: Limits of an uploaded list, so no file can stall the server or fill its memory: a reception invites a
#: few hundred people; twenty thousand rows is far beyond any real list.
MAX_ROWS = 20_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 2_000
#: What the parts of an XLSX file (a zip) may add up to once unpacked: a 640 KB "zip bomb" may unpack to
#: gigabytes of rows.
MAX_UNPACKED_BYTES = 30_000_000


@dataclass(frozen=True)
class Table:
    headers: list[str]
    #: (line number in the file, cells) per data row; line numbers are what the organiser sees in Excel.
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ";"
    kind: str = "csv"


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, else Windows-1252 (which decodes any byte but 5)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _first_record(text: str) -> str:
    """The header line (headers are not expected to hold line breaks)."""
    return text.split("\n", 1)[0]


def sniff_delimiter(text: str) -> str:
    header = _first_record(text)
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _clean(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        cell = cell.date()
    if isinstance(cell, date):
        return cell.strftime("%d.%m.%Y")
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _too_large() -> errors.ListTooLarge:
    return errors.ListTooLarge(rows=MAX_ROWS, columns=MAX_COLUMNS, cell=MAX_CELL_CHARS)


def _bounded(records) -> list[list[str]]:
    """The records as cleaned cells, refusing a list beyond the limits as soon as it passes one."""
    table = []
    for record in records:
        if len(table) > MAX_ROWS:  # one header row on top of MAX_ROWS rows of data
            raise _too_large()
        record = list(record)
        if len(record) > MAX_COLUMNS:
            if any(cell not in (None, "") for cell in record[MAX_COLUMNS:]):
                raise _too_large()
            record = record[:MAX_COLUMNS]
        cells = [_clean(c) for c in record]
        if any(len(cell) > MAX_CELL_CHARS for cell in cells):
            raise _too_large()
        table.append(cells)
    return table


def _table(records: list[list], **meta) -> Table:
    numbered = [(line, cells) for line, cells in enumerate(records, start=1) if any(cells)]
    # the header is the first row with at least two cells: a title row above it ("Einbürgerungen 1. Halbjahr")
    # is skipped, as exports often have one
    start = next((i for i, (_, cells) in enumerate(numbered[:10]) if sum(1 for c in cells if c) >= 2), None)
    if start is None:
        raise errors.UnreadableFile()
    (_, headers), data = numbered[start], numbered[start + 1:]
    width = len(headers)
    rows = [(line, (cells + [""] * width)[:width]) for line, cells in data]
    return Table(headers=headers, rows=rows, **meta)


def read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    if "\x00" in text:
        raise errors.UnreadableFile()
    delimiter = sniff_delimiter(text)
    if text[:4].lower() == "sep=" and len(text) > 4:
        # Excel's own hint line ("sep=;") names the delimiter and is not data
        delimiter, text = text[4], text.split("\n", 1)[1] if "\n" in text else ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    try:
        records = _bounded(reader)
    except csv.Error:
        raise errors.UnreadableFile() from None
    # rows are numbered as records (a quoted line break does not start a new row), as in a spreadsheet
    return _table(records, encoding=encoding, delimiter=delimiter, kind="csv")


def read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise errors.UnreadableFile() from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _too_large()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise errors.UnreadableFile() from None
    try:
        sheet = workbook.worksheets[0]
        # max_col: a sheet may declare 16,384 columns, which read-only mode would fill row by row; a value in
        # the column after the limit refuses the list, anything further right is never read
        records = _bounded(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError):
        raise errors.UnreadableFile() from None
    finally:
        workbook.close()
    return _table(records, encoding="xlsx", delimiter="", kind="xlsx")


async def read_upload(data: bytes, filename: str = "") -> Table:
    """`read_table` in a worker thread: parsing a long list never holds up the event loop."""
    return await asyncio.to_thread(read_table, data, filename)


def read_table(data: bytes, filename: str = "") -> Table:
    """Read an uploaded list; the format is recognised by content (a zip is XLSX), not by name alone."""
    if not data:
        raise errors.UnreadableFile()
    if data.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)
