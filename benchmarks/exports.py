"""Export speed for a large event (2,000 registrations): CSV, XLSX, PDF against reading the rows.

Run: .venv/bin/python benchmarks/exports.py
The baseline is the plain query of the same registrations in the same run, so the figures say
how much the file format costs on top of the database, whatever the machine.
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import asyncio
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events_app.core import db  # noqa: E402
from events_app.seats import events  # noqa: E402
from events_app.backoffice import exports  # noqa: E402
from events_app.core.settings import Settings  # noqa: E402
from events_app.core.models import Event, EventKind, Question, Registration  # noqa: E402
from events_app.seats.registration import new_token  # noqa: E402
from events_app.core.timeutil import utcnow  # noqa: E402

ROWS = 2000


async def _seed() -> Event:
    from datetime import timedelta

    start = utcnow() + timedelta(days=30)
    event = await events.create_event(
        values={"kind": EventKind.RECEPTION, "title": "Einbürgerungsempfang", "capacity": ROWS * 3,
                "max_companions": 2},
        sessions=[events.SessionSpec(start, start + timedelta(hours=2))])
    await Question.create(event=event, key="organisation", label="Organisation", kind="text")
    now = utcnow()
    await Registration.bulk_create([
        Registration(event_id=event.id, name=f"Person {i:04d} Müller-Yılmaz", email=f"p{i}@example.org",
                     phone="0641 306 0000", companions=i % 3, seats=1 + i % 3, status="confirmed", queued_at=now,
                     answers={"organisation": f"Verein {i % 40}"}, manage_token=new_token(), checkin_token=new_token())
        for i in range(ROWS)])
    return await Event.get(id=event.id).prefetch_related("sessions", "questions")


async def _timed(job) -> float:
    start = time.perf_counter()
    await job()
    return time.perf_counter() - start


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite://{tmp}/bench.sqlite3"
        await db.migrate(url)
        async with db.orm(url):
            settings = Settings(database_url=url, secret_key="bench")
            event = await _seed()
            columns = ["name", "email", "phone", "companions", "q_organisation"]

            async def baseline():
                assert len(await Registration.filter(event_id=event.id)) == ROWS

            async def csv_export():
                size = 0
                async for chunk in exports.stream_csv(event, layout="attendees", columns=columns, language="de"):
                    size += len(chunk)
                assert size > ROWS * 20

            async def xlsx_export():
                table = await exports.build_table(event, layout="attendees", columns=columns, language="de",
                                                  sheet_per_status=True)
                assert len(await exports.xlsx_bytes(table)) > 10_000

            async def pdf_export():
                table = await exports.build_table(event, layout="door", columns=["name"], language="de")
                assert (await exports.pdf_bytes(table, settings=settings)).startswith(b"%PDF")

            await _timed(baseline)
            base = min([await _timed(baseline) for _ in range(3)])
            print(f"{ROWS} registrations; baseline (query the rows): {base * 1000:.0f} ms")
            for label, job in (("CSV (streamed)", csv_export), ("XLSX (sheet per status)", xlsx_export),
                               ("PDF door list", pdf_export)):
                took = await _timed(job)
                print(f"{label:26s} {took:6.2f} s = {took / base:6.1f} x baseline")


if __name__ == "__main__":
    asyncio.run(main())
