"""Shared pieces of the race tests: the rushes (registrations, check-ins) and the churn, their invariants,
and the pieces the negative controls take away (the event lock, the transaction, the check-in's unique pair).

Also runnable as a script, so several OS processes can race on one database:
    python -m tests.race DATABASE_URL EVENT_ID COUNT --start DIR --processes N [--unlocked --gate DIR ...]
        [--prefix P] [--companions 0,0,2] [--cancel=TOKEN ...] [--raise-capacity N]
waits at the start gate until all N processes are connected, then registers COUNT people while
cancelling the given registrations (and raising the capacity), all at once, and prints one JSON
line with the statuses it got and the errors it saw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.transactions import in_transaction

from events_app.courses import checkin
from events_app.core import errors
from events_app.seats import register_sql, registration, seating
from events_app.core.timeutil import utcnow
from events_app.core.settings import tortoise_config
from events_app.core.models import Certificate, CheckIn, Event, Registration, RegistrationStatus, User
from events_app.seats.registration import Applicant


#: Who a racing coroutine is, for the gate: "register" (the default), "cancel" or "raise".
ROLE: contextvars.ContextVar[str] = contextvars.ContextVar("race_role", default="register")


class Gate:
    """Where racing workers meet after reading the event and before writing anything, across OS
    processes too: files in a directory, each arrival creating the next `arrival-N` with O_EXCL.

    The first `parties` participants wait until all of them have read; later ones pass. With `first`,
    the participant of that role then writes and commits first while the others wait for it
    (`finished`), so they write from what they read before it: the lost update made certain, whatever
    the machine's load. Only roles in `roles` stop (everyone when None). No sleeps decide anything:
    workers wait for each other, never for a time."""

    def __init__(self, directory: Path | str, parties: int, *, roles: tuple[str, ...] | None = None,
                 first: str | None = None, timeout: float = 120.0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.parties, self.roles, self.first, self.timeout = parties, roles, first, timeout
        self._next = 0

    def to_args(self) -> list[str]:
        """The same gate for a `python -m tests.race` process."""
        return [f"--gate={self.directory}", f"--gate-parties={self.parties}",
                *([f"--gate-roles={','.join(self.roles)}"] if self.roles else []),
                *([f"--gate-first={self.first}"] if self.first else [])]

    async def pass_through(self, role: str) -> None:
        if self.roles is not None and role not in self.roles:
            return
        if self._arrive() >= self.parties:
            return
        await self._until(self.directory / f"arrival-{self.parties - 1}")
        if self.first and role != self.first:
            await self._until(self.directory / f"finished-{self.first}")

    def finished(self, role: str) -> None:
        (self.directory / f"finished-{role}").touch()

    def _arrive(self) -> int:
        while True:
            try:
                os.close(os.open(self.directory / f"arrival-{self._next}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                return self._next
            except FileExistsError:
                self._next += 1

    async def _until(self, path: Path) -> None:
        deadline = time.monotonic() + self.timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the gate in {self.directory} waited in vain for {path.name}")
            await asyncio.sleep(0.002)


def unlocked_event_lock(gate: Gate):
    """The classic bug in place of `seating.event_lock`: read the event, decide, write; no transaction,
    no lock. Every participant passes `gate` between its read and its first write."""
    @contextlib.asynccontextmanager
    async def lock(event_id: int, *, conn=None):
        conn = conn or connections.get("default")
        event = await Event.get_or_none(id=event_id).using_db(conn)
        if event is None:
            raise errors.EventNotFound()
        await gate.pass_through(ROLE.get())
        yield conn, event
    return lock


def unlocked_place(gate: Gate):
    """The hot path's classic bug in place of `register_sql.place`: read the counters, decide, write them
    back; no lock, no transaction. Every participant passes `gate` between its read and its first write."""
    async def place(row: register_sql.NewRegistration, *, now) -> register_sql.Placed:
        event = await Event.get(id=row.event_id)
        await gate.pass_through(ROLE.get())
        fits = event.seats_taken + row.seats <= event.capacity
        if fits:
            await Event.filter(id=event.id).update(seats_taken=event.seats_taken + row.seats)
        else:
            await Event.filter(id=event.id).update(waiting=event.waiting + 1)
        status = RegistrationStatus.CONFIRMED if fits else RegistrationStatus.WAITLISTED
        created = await Registration.create(
            event_id=row.event_id, name=row.name, email=row.email, phone=row.phone, language=row.language,
            companions=row.companions, seats=row.seats, answers=row.answers, status=status, queued_at=utcnow(),
            manage_token=row.manage_token, checkin_token=row.checkin_token, confirmed_at=now if fits else None)
        return register_sql.Placed(created.id, status.value, None if fits else event.waiting + 1, created.queued_at)
    return place


def transaction_without_row_lock(gate: Gate):
    """A transaction, but neither FOR UPDATE nor BEGIN IMMEDIATE: still races across connections.
    Every participant passes `gate` between its read and its first write."""
    @contextlib.asynccontextmanager
    async def lock(event_id: int, *, conn=None):
        async with contextlib.AsyncExitStack() as stack:
            if conn is None:
                conn = await stack.enter_async_context(in_transaction())
            event = await Event.get_or_none(id=event_id).using_db(conn)
            if event is None:
                raise errors.EventNotFound()
            await gate.pass_through(ROLE.get())
            yield conn, event
    return lock


@contextlib.asynccontextmanager
async def no_transaction():
    """Stands in for `in_transaction()`: each statement on its own, so concurrent coroutines interleave between
    them (SQLite would otherwise run one process's transactions one after another)."""
    yield connections.get("default")


@contextlib.asynccontextmanager
async def checkin_pair_not_unique():
    """The check-in table as good as it was while single-date arrivals stored no date: (registration, session)
    not unique (NULLs never compare equal). Drops the constraint for the test and puts it back afterwards."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        [row] = await conn.execute_query_dict(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'checkin'::regclass AND contype = 'u'")
        await conn.execute_script(f'ALTER TABLE checkin DROP CONSTRAINT "{row["conname"]}"')
        restore = (f'DELETE FROM checkin; ALTER TABLE checkin ADD CONSTRAINT "{row["conname"]}" '
                   f'UNIQUE (registration_id, session_id)')
    else:  # SQLite cannot drop a table constraint: set the table aside and make one without it
        [row] = await conn.execute_query_dict("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'checkin'")
        without = re.sub(r',\s*CONSTRAINT "\w+" UNIQUE \([^)]*\)', "", row["sql"])
        assert without != row["sql"]
        await conn.execute_script(f"ALTER TABLE checkin RENAME TO checkin_kept; {without}")
        restore = "DROP TABLE checkin; ALTER TABLE checkin_kept RENAME TO checkin"
    try:
        yield
    finally:
        await conn.execute_script(restore)


@contextlib.contextmanager
def gate_between_read_and_insert(gate: Gate):
    """Get-or-create reads, then inserts: a loaded server runs other requests in between. Make that
    certain: check-ins that found no row meet at `gate` before inserting, so a control without the
    unique pair inserts twice on every run."""
    original = CheckIn._create_or_get.__func__

    async def gated(cls, *args, **kwargs):
        await gate.pass_through(ROLE.get())
        return await original(cls, *args, **kwargs)

    CheckIn._create_or_get = classmethod(gated)
    try:
        yield
    finally:
        CheckIn._create_or_get = classmethod(original)


#: The partial unique index of migration 0002: one valid certificate per registration.
CERTIFICATE_INDEX = ("CREATE UNIQUE INDEX certificate_one_valid_per_registration "
                     "ON certificate (registration_id) WHERE revoked_at IS NULL")


@contextlib.asynccontextmanager
async def certificate_index_dropped():
    """The certificate table as it was before migration 0002: nothing stops a second valid certificate.
    Drops the index for the test and puts it back afterwards (with the duplicates removed)."""
    conn = connections.get("default")
    await conn.execute_script("DROP INDEX certificate_one_valid_per_registration")
    try:
        yield
    finally:
        await conn.execute_script("DELETE FROM certificate")
        await conn.execute_script(CERTIFICATE_INDEX)


@contextlib.contextmanager
def gate_before_certificate_insert(gate: Gate):
    """Issuing reads whether a valid certificate exists, then inserts one: make the issues that found
    none meet at `gate` before inserting, so without the index two are inserted on every run."""
    original = Certificate.create.__func__

    async def gated(cls, *args, **kwargs):
        await gate.pass_through(ROLE.get())
        return await original(cls, *args, **kwargs)

    Certificate.create = classmethod(gated)
    try:
        yield
    finally:
        Certificate.create = classmethod(original)


async def check_in_rush(*, event_id: int, registration_id: int, session_id: int, by: User, count: int) -> list[str]:
    """`count` check-ins of the same person on the same date at once (phones scanning the same QR code);
    returns the errors they raised."""
    outcomes = await asyncio.gather(*(
        checkin.check_in(event_id=event_id, registration_id=registration_id, session_id=session_id, companions=0,
                         by=by) for _ in range(count)), return_exceptions=True)
    return [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]


@dataclass
class RushResult:
    statuses: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def rush(event_id: int, count: int, *, prefix: str = "p", companions: tuple[int, ...] = (0,)) -> RushResult:
    """`count` registrations at once; person n brings companions[n % len(companions)]."""
    async def one(n: int):
        applicant = Applicant(name=f"{prefix}{n}", email=f"{prefix}{n}@example.org",
                              companions=companions[n % len(companions)])
        return await registration.register(event_id=event_id, applicant=applicant)

    result = RushResult()
    for outcome in await asyncio.gather(*(one(n) for n in range(count)), return_exceptions=True):
        if isinstance(outcome, BaseException):
            result.errors.append(_error(outcome))
        else:
            result.statuses.append(outcome.registration.status.value)
            if outcome.waitlist_position is not None:
                result.positions.append(outcome.waitlist_position)
    return result


async def _as(role: str, job):
    ROLE.set(role)  # each gathered job runs in its own task, so in its own copy of the context
    return await job


async def _raise(event_id: int, capacity: int, gate: Gate | None):
    try:
        return await _as("raise", registration.set_capacity(event_id=event_id, capacity=capacity))
    finally:
        if gate is not None:
            gate.finished("raise")


async def churn(event_id: int, count: int, *, cancel_tokens: list[str], prefix: str = "p",
                companions: tuple[int, ...] = (0,), raise_capacity_to: int | None = None,
                gate: Gate | None = None) -> RushResult:
    """A rush of `count` registrations while the given registrations cancel (each cancellation
    promotes from the waiting list) and, if asked, the capacity is raised: all at once."""
    jobs = [_as("cancel", registration.cancel(token=token)) for token in cancel_tokens]
    if raise_capacity_to is not None:
        jobs.append(_raise(event_id, raise_capacity_to, gate))
    result, *outcomes = await asyncio.gather(rush(event_id, count, prefix=prefix, companions=companions), *jobs,
                                             return_exceptions=True)
    if isinstance(result, BaseException):
        raise result
    result.errors += [_error(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    return result


def _queued(reg) -> tuple:
    return reg.queued_at, reg.id


async def check_invariants(event_id: int, *, expected_total: int) -> dict:
    """Raise AssertionError if capacity was exceeded, the counter drifted, a registration was lost,
    the waiting positions people see have gaps, or a seat went past an older request that fits it."""
    event = await Event.get(id=event_id)
    rows = await Registration.filter(event_id=event_id)
    held_by = [r for r in rows if r.status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)]
    waiting = sorted((r for r in rows if r.status == RegistrationStatus.WAITLISTED), key=_queued)
    held = sum(r.seats for r in held_by)
    assert len(rows) == expected_total, f"{expected_total - len(rows)} registrations lost"
    assert held <= event.capacity, f"overbooked: {held} seats held for capacity {event.capacity}"
    assert event.seats_taken == held, f"seat counter {event.seats_taken} but rows hold {held}"
    conn = Registration._meta.db
    shown = [await registration.waitlist_position(conn, r) for r in waiting]
    assert shown == list(range(1, len(waiting) + 1)), f"waiting positions {shown}"
    free = event.capacity - held
    assert all(r.seats > free for r in waiting), f"{free} free seats left while a waiting request fits"
    for late in held_by:
        # whoever holds seats and came later than a waiting request must have needed fewer seats than it
        skipped = [r.id for r in waiting if _queued(r) < _queued(late) and r.seats <= late.seats]
        assert not skipped, f"registration {late.id} holds seats that older waiting requests {skipped} fit into"
    assert event.waiting == len(waiting), f"waiting counter {event.waiting} but {len(waiting)} rows wait"
    return {"held": held, "waiting": len(waiting), "total": len(rows)}


async def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("event_id", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--start", required=True, metavar="DIR", help="start gate shared by all processes")
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--unlocked", action="store_true")
    parser.add_argument("--gate", metavar="DIR", help="with --unlocked: the gate between read and write")
    parser.add_argument("--gate-parties", type=int, default=2)
    parser.add_argument("--gate-roles", default="")
    parser.add_argument("--gate-first", default=None)
    parser.add_argument("--prefix", default="p")
    parser.add_argument("--companions", default="0", help="comma-separated, cycled over the people")
    parser.add_argument("--cancel", action="append", default=[], metavar="TOKEN")
    parser.add_argument("--raise-capacity", type=int)
    args = parser.parse_args(argv)
    config = tortoise_config(args.database_url)
    if not args.database_url.startswith("sqlite"):
        # several of these processes share the test server's max_connections with other test runs
        config["connections"]["default"]["credentials"]["maxsize"] = 5
    gate = None
    if args.unlocked:
        gate = Gate(args.gate, args.gate_parties, roles=tuple(args.gate_roles.split(",")) if args.gate_roles else None,
                    first=args.gate_first)
        seating.event_lock = transaction_without_row_lock(gate)
        register_sql.place = unlocked_place(gate)
        if args.database_url.startswith("sqlite"):
            config["connections"]["default"]["engine"] = "tortoise.backends.sqlite"  # deferred BEGIN
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        await Event.get(id=args.event_id)  # connected before the start
        await Gate(args.start, args.processes).pass_through("start")
        result = await churn(args.event_id, args.count, cancel_tokens=args.cancel, prefix=args.prefix,
                             companions=tuple(int(n) for n in args.companions.split(",")),
                             raise_capacity_to=args.raise_capacity, gate=gate)
    finally:
        await Tortoise.close_connections()
    print(json.dumps(result.__dict__))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
