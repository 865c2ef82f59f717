"""Outbox delivery speed: 1,000 queued mails to a local SMTP sink, against raw aiosmtplib.

    .venv/bin/python benchmarks/mail.py [--messages 1000] [--postgres]

SQLite in a temporary file by default; `--postgres` creates a scratch database on the server of
EVENTS_TEST_PG_DSN (default postgresql://postgres@127.0.0.1:5432/test) and drops it afterwards.

The sink is aiosmtpd's Sink handler in its own process on a free loopback port. The floor is
aiosmtplib alone sending the same messages, built beforehand as EmailMessage objects, over one
connection (no database, no rendering); a second, stricter figure sends the finished bytes (the
network alone). The outbox path claims rows, loads registrations and events, renders subject, text,
HTML, the .ics and the check-in QR code, writes the MIME bytes, sends over one connection and records
each result. The figure that matters is the ratio to the floor (goal: at least 0.8).

The outbox hands at most UNRECORDED_LIMIT (4) messages to the server before their results are
committed: that many can go out twice after a kill. Two more outbox passes show what that bound
costs: results written after every message (bound 1), and in groups of 20 (bound 20, as before).
"""

from __future__ import annotations

import os
import sys

# this folder holds calendar.py, which must not hide the standard library's calendar module
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse
import asyncio
import email
import email.policy
import socket
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib  # noqa: E402
import asyncpg  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from events_app.core import db  # noqa: E402
from events_app.mail import content, delivery, outbox  # noqa: E402
from events_app.mail.mime import MimeMail  # noqa: E402
from events_app.core.settings import Settings  # noqa: E402
from events_app.seats.events import SessionSpec, create_event  # noqa: E402
from events_app.core.models import EventKind, OutboxMessage, OutboxState, Registration, RegistrationStatus  # noqa: E402
from events_app.seats.registration import new_token  # noqa: E402
from events_app.core.timeutil import utcnow  # noqa: E402


ROUND = 100
#: The other bounds measured: after every message, and in groups of 20 as the worker had before.
EVERY, GROUPED = 1, 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                                "-l", f"127.0.0.1:{port}"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


async def queue(count: int) -> None:
    """A three-date course with `count` confirmed registrations, each with its confirmation queued."""
    now = utcnow()
    start = now + timedelta(days=20)
    event = await create_event(values={"kind": EventKind.COURSE, "title": "Schwimmkurs für Frauen",
                                       "capacity": count, "location": "Hallenbad Ost"},
                               sessions=[SessionSpec(start + timedelta(days=7 * w), start + timedelta(days=7 * w, hours=2))
                                         for w in range(3)])
    await Registration.bulk_create([
        Registration(event_id=event.id, name=f"Person {n}", email=f"person{n}@example.org",
                     language="en" if n % 3 == 0 else "de", status=RegistrationStatus.CONFIRMED, queued_at=now,
                     confirmed_at=now, manage_token=new_token(), checkin_token=new_token())
        for n in range(count)])
    async with in_transaction() as conn:
        for registration in await Registration.filter(event_id=event.id).using_db(conn):
            await outbox.queue_mail(conn, template="confirmed", recipient=registration.email,
                                    language=registration.language, registration_id=registration.id,
                                    event_id=event.id,
                                    context={"registration_id": registration.id, "event_id": event.id})


async def prebuilt(settings: Settings, count: int) -> list[MimeMail]:
    rows = await OutboxMessage.all().order_by("id").limit(count)
    data = await content.load_data(rows)
    return [delivery.build_message(row, data, settings) for row in rows]


async def floor(settings: Settings, mails: list[MimeMail], *, as_bytes: bool) -> float:
    """Raw aiosmtplib over one connection, the messages built beforehand. Returns seconds.

    as_bytes=False: `send_message()` with prebuilt EmailMessage objects, the usual way to use
    aiosmtplib (it serialises each message while sending). as_bytes=True: `sendmail()` with the
    finished bytes, i.e. the network alone.
    """
    if as_bytes:
        messages = [mail.data for mail in mails]
    else:
        messages = [email.message_from_bytes(mail.data, policy=email.policy.SMTP) for mail in mails]
    smtp = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port, start_tls=False)
    began = time.perf_counter()
    await smtp.connect()
    for mail, message in zip(mails, messages):
        if as_bytes:
            await smtp.sendmail("integration@giessen.de", [mail.recipient], message)
        else:
            await smtp.send_message(message, sender="integration@giessen.de", recipients=[mail.recipient])
    await smtp.quit()
    return time.perf_counter() - began


async def through_outbox(settings: Settings, count: int, unrecorded_limit: int = delivery.UNRECORDED_LIMIT) -> float:
    """The worker's path for the next `count` queued messages. Returns seconds."""
    began = time.perf_counter()
    report = await delivery.deliver_due(settings, worker_id="bench", batch_size=100, max_batches=count // 100,
                                        unrecorded_limit=unrecorded_limit)
    elapsed = time.perf_counter() - began
    if report.sent != count:
        raise SystemExit(f"only {report.sent} of {count} sent ({report.retried} retry, {report.failed} failed)")
    return elapsed


PG_ADMIN_DSN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def scratch_postgres() -> str:
    name = f"events_bench_mail_{os.getpid()}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


async def drop_postgres(url: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000, help="a multiple of 100")
    parser.add_argument("--postgres", action="store_true", help="use a scratch PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = await scratch_postgres() if args.postgres else f"sqlite://{Path(tmp) / 'bench.sqlite3'}"
        port = free_port()
        sink = start_sink(port)
        settings = Settings(database_url=url, secret_key="bench", var_dir=Path(tmp), smtp_host="127.0.0.1",
                            smtp_port=port, base_url="https://events.giessen.de",
                            mail_from="Integrationsbüro <integration@giessen.de>")
        try:
            await db.migrate(url)
            async with db.orm(url):
                await queue(3 * args.messages)  # one pass each for the outbox and its two variants
                mails = await prebuilt(settings, args.messages)
                await floor(settings, mails[:100], as_bytes=False)  # warm-up, not counted
                # alternate in rounds of 100 so that a change in the machine's load hits all four alike
                objects_seconds = bytes_seconds = outbox_seconds = every_seconds = grouped_seconds = 0.0
                for start in range(0, args.messages, ROUND):
                    chunk = mails[start:start + ROUND]
                    objects_seconds += await floor(settings, chunk, as_bytes=False)
                    bytes_seconds += await floor(settings, chunk, as_bytes=True)
                    outbox_seconds += await through_outbox(settings, len(chunk))
                    every_seconds += await through_outbox(settings, len(chunk), unrecorded_limit=EVERY)
                    grouped_seconds += await through_outbox(settings, len(chunk), unrecorded_limit=GROUPED)
                if await OutboxMessage.filter(state=OutboxState.SENT).count() != 3 * args.messages:
                    raise SystemExit("not every message was marked sent")
                base = args.messages / objects_seconds
                network = args.messages / bytes_seconds
                rate = args.messages / outbox_seconds
                every = args.messages / every_seconds
                grouped = args.messages / grouped_seconds
        finally:
            sink.terminate()
            sink.wait()
            if args.postgres:
                await drop_postgres(url)
    print(f"database:            {url.split(':')[0]}")
    print(f"messages:            {args.messages}")
    print(f"floor: aiosmtplib send_message, prebuilt EmailMessages: {base:6.0f} msgs/s")
    print(f"network only: aiosmtplib sendmail, prebuilt bytes:      {network:6.0f} msgs/s")
    print(f"outbox (claim, load, render, build, send, record):      {rate:6.0f} msgs/s")
    print(f"outbox, each result written before the next send:       {every:6.0f} msgs/s")
    print(f"outbox, results written in groups of {GROUPED}:               {grouped:6.0f} msgs/s")
    print(f"ratio outbox/floor:        {rate / base:.2f}  (goal >= 0.80)")
    print(f"ratio outbox/network only: {rate / network:.2f}")
    print(f"duplicates after a kill at most {delivery.UNRECORDED_LIMIT} (outbox), {EVERY}, {GROUPED}: "
          f"throughput ratio to groups of {GROUPED}: {rate / grouped:.2f}, {every / grouped:.2f}, 1.00")


if __name__ == "__main__":
    asyncio.run(main())
