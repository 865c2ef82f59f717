"""Consultation slots: N people booking N slots of one consultation hour at once, and N people rushing one slot.

    .venv/bin/python benchmarks/slots.py [--n 300] [--backends sqlite,postgres]

Booking goes through `consultations.bookings.book` (event lock, checks, unique columns, the confirmation
row in the outbox). Two floors, measured in the same run on the same database: a bare transaction per
booking that inserts the booking row with raw SQL (no lock, no checks, no mail), and the seat engine's
`registration.register` for as many people (the same lock and outbox, the product's own yardstick).
Figures are ratios against those floors, since the machine is shared and absolute numbers wander.
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import secrets
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _setup(n: int):
    from events_app.consultations import slots
    from events_app.core.models import ConsultationSlot
    from events_app.seats import events
    from events_app.seats.events import SessionSpec
    from events_app.core.timeutil import utcnow

    start = utcnow() + timedelta(days=30)
    event = await events.create_event(values={"kind": "consultation", "title": "Sprechstunde", "capacity": 1},
                                      sessions=[SessionSpec(start, start + timedelta(hours=2))])
    first = date.today() + timedelta(days=7)
    weeks = -(-n // 24)  # 24 slots a day (08:00-16:00, 20 minutes)
    await slots.create_slots(event_id=event.id, timezone="Europe/Berlin", pattern=slots.Pattern(
        weekday=first.isoweekday(), start=slots._time("08:00"), end=slots._time("16:00"), minutes=20, first=first,
        last=first + timedelta(weeks=weeks)))
    return event, list(await ConsultationSlot.filter(event_id=event.id).order_by("starts_at").limit(n))


async def _booked(slot_ids: list[int], prefix: str) -> tuple[float, list[BaseException]]:
    from events_app.consultations import bookings

    began = time.perf_counter()
    outcomes = await asyncio.gather(*(bookings.book(slot_id=slot_id, timezone="Europe/Berlin", booker=bookings.Booker(
        name=f"{prefix}{n}", email=f"{prefix}{n}@example.org")) for n, slot_id in enumerate(slot_ids)),
        return_exceptions=True)
    elapsed = time.perf_counter() - began
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    return elapsed, failures


async def _floor(event_id: int, slot_ids: list[int]) -> float:
    from tortoise import connections
    from tortoise.transactions import in_transaction

    dialect = connections.get("default").capabilities.dialect
    mark = "$%d" if dialect == "postgres" else "?"
    columns = ("slot_id", "event_id", "name", "email", "phone", "language", "interpreter_language", "note", "status",
               "held_slot", "manage_token", "sequence", "created_at")
    placeholders = ", ".join(mark % (i + 1) if "%" in mark else mark for i in range(len(columns)))
    sql = f"INSERT INTO slot_booking ({', '.join(columns)}) VALUES ({placeholders})"

    async def one(n: int, slot_id: int):
        async with in_transaction() as conn:
            await conn.execute_query(sql, [slot_id, event_id, f"f{n}", f"f{n}@example.org", "", "de", "", "", "booked",
                                           slot_id + 10_000_000, secrets.token_urlsafe(32), 0,
                                           datetime.now(timezone.utc)])

    began = time.perf_counter()
    await asyncio.gather(*(one(n, slot_id) for n, slot_id in enumerate(slot_ids)))
    return time.perf_counter() - began


async def _registrations(n: int) -> float:
    from events_app.seats import events, registration
    from events_app.seats.events import SessionSpec
    from events_app.core.timeutil import utcnow

    start = utcnow() + timedelta(days=30)
    event = await events.create_event(values={"kind": "workshop", "title": "Yardstick", "capacity": n},
                                      sessions=[SessionSpec(start, start + timedelta(hours=2))])
    began = time.perf_counter()
    await asyncio.gather(*(registration.register(event_id=event.id, applicant=registration.Applicant(
        name=f"w{i}", email=f"w{i}@example.org")) for i in range(n)))
    return time.perf_counter() - began


async def run(url: str, n: int) -> dict:
    from tortoise import Tortoise

    from events_app.core import db
    from events_app.core.models import SlotBooking

    await db.migrate(url)
    async with db.orm(url):
        event, made = await _setup(n)
        ids = [slot.id for slot in made]
        floor = await _floor(event.id, ids)
        engine = await _registrations(n)
        await SlotBooking.filter(event_id=event.id).delete()
        spread, failures = await _booked(ids, "p")
        assert not failures, failures[:3]
        await SlotBooking.filter(event_id=event.id).delete()
        rush, refused = await _booked([ids[0]] * n, "r")  # everyone wants the same slot: one gets it
        assert len(refused) == n - 1 and await SlotBooking.filter(event_id=event.id).count() == 1
        await SlotBooking.filter(event_id=event.id).delete()
    await Tortoise.close_connections()
    return {"floor": floor, "engine": engine, "spread": spread, "rush": rush, "taken": len(refused)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite://{tempfile.mkdtemp()}/bench.sqlite3"
            cleanup = None
        else:
            import asyncpg

            name = f"bench_slots_{uuid.uuid4().hex[:8]}"
            try:
                admin = await asyncpg.connect(PG_ADMIN, timeout=5)
            except OSError as exc:
                print(f"postgres: skipped ({exc})")
                continue
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
            cleanup = name
        try:
            figures = await run(url, args.n)
        finally:
            if cleanup:
                admin = await asyncpg.connect(PG_ADMIN)
                await admin.execute(f'DROP DATABASE IF EXISTS "{cleanup}" WITH (FORCE)')
                await admin.close()
        print(f"{backend}: {args.n} bookings of {args.n} slots at once: {figures['spread'] / figures['engine']:.2f}x "
              f"{args.n} seat registrations ({figures['spread'] / figures['floor']:.1f}x the bare insert); "
              f"{args.n} people rushing one slot (1 booked, {figures['taken']} told 'taken' with the next free "
              f"slots): {figures['rush'] / figures['engine']:.2f}x the registrations")


if __name__ == "__main__":
    asyncio.run(main())
