"""Uploads that cannot stall: lists are parsed in a worker thread with limits on rows, columns, cell
length and unpacked size, and the server keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zipfile

from openpyxl import Workbook

from events_app.core.models import Invitation
from events_app.receptions import list_files
from tests.fixtures_backoffice import sign_in


def xlsx_with_sheet(sheet_rows: bytes, *, repeat: int) -> bytes:
    """A real workbook whose first sheet's rows are `sheet_rows` repeated `repeat` times (built as a zip
    directly: a bomb of millions of rows costs seconds to compress, not minutes through openpyxl)."""
    book = Workbook()
    book.active.append(["Name", "Vorname"])
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                head = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData>'
                        b'<row><c t="inlineStr"><is><t>Name</t></is></c><c t="inlineStr"><is><t>Vorname</t></is></c></row>')
                with target.open("xl/worksheets/sheet1.xml", "w") as sheet:
                    sheet.write(head)
                    for _ in range(repeat // 10_000):
                        sheet.write(sheet_rows * 10_000)
                    sheet.write(sheet_rows * (repeat % 10_000))
                    sheet.write(b"</sheetData></worksheet>")
            else:
                target.writestr(info, source.read(info))
    return out.getvalue()


ROW = b'<row><c t="inlineStr"><is><t>Muster</t></is></c><c t="inlineStr"><is><t>Erika</t></is></c></row>'


async def test_an_xlsx_bomb_is_refused_with_a_clear_message(client, reception):
    bomb = xlsx_with_sheet(ROW, repeat=2_000_000)
    assert len(bomb) < 1_000_000  # passes the request size limit: the unpacked size is what counts
    me = await sign_in(client)
    started = time.monotonic()
    response = await client.post(f"/admin/events/{reception.id}/invitations/preview",
                                 files={"file": ("liste.xlsx", bomb, "application/zip")},
                                 data={"csrf_token": me.csrf})
    elapsed = time.monotonic() - started
    assert response.status_code == 422, response.text
    assert "zu groß" in response.text and "20000 Zeilen" in response.text
    assert await Invitation.all().count() == 0
    print(f"xlsx bomb ({len(bomb) // 1000} KB, 2,000,000 rows) refused in {elapsed:.2f} s")


async def test_parsing_runs_off_the_event_loop_while_health_answers(client, reception, monkeypatch):
    """The parse waits for /health to have answered: parsing on the event loop could never see that answer
    (the gate would time out and the upload would be refused as unreadable)."""
    health_answered = threading.Event()
    parsed_after_health: list[bool] = []
    original = list_files.read_table

    def gated(data, filename=""):
        parsed_after_health.append(health_answered.wait(timeout=10))
        return original(data, filename)

    monkeypatch.setattr(list_files, "read_table", gated)
    too_long = xlsx_with_sheet(ROW, repeat=list_files.MAX_ROWS + 5)
    me = await sign_in(client)
    upload = asyncio.create_task(client.post(f"/admin/events/{reception.id}/invitations/preview",
                                             files={"file": ("liste.xlsx", too_long, "application/zip")},
                                             data={"csrf_token": me.csrf}))
    health = await client.get("/health")
    assert health.status_code == 200
    health_answered.set()
    response = await upload
    assert parsed_after_health == [True]
    assert response.status_code == 422 and "20000 Zeilen" in response.text
    assert await Invitation.all().count() == 0


def test_limits_on_rows_columns_and_cells():
    header = "Name;Vorname\n"
    assert len(list_files.read_table((header + "Muster;Erika\n" * list_files.MAX_ROWS).encode()).rows) == \
        list_files.MAX_ROWS
    for data in (header + "Muster;Erika\n" * (list_files.MAX_ROWS + 1),
                 header + ";".join(["x"] * (list_files.MAX_COLUMNS + 1)) + "\n",
                 header + "Muster;" + "E" * (list_files.MAX_CELL_CHARS + 1) + "\n"):
        try:
            list_files.read_table(data.encode())
        except list_files.errors.ListTooLarge:
            continue
        raise AssertionError("not refused")
    wide = xlsx_with_sheet(b'<row><c r="A2" t="inlineStr"><is><t>M</t></is></c><c r="CW2" t="inlineStr">'
                           b'<is><t>x</t></is></c></row>', repeat=1)
    try:
        list_files.read_table(wide)
    except list_files.errors.ListTooLarge:
        pass
    else:
        raise AssertionError("a sheet with 101 columns was not refused")
