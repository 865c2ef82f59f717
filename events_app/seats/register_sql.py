"""The registration's hot path in hand-written SQL: one seat decision, the row and its mail in one go.

When a popular course opens, hundreds of people register within seconds and each waits for the
event's lock. So everything that does not need the lock (checking the input, tokens, the row's
values) happens before it, and under it only: the conditional seat update (which also hands out the
waiting-list place from `Event.waiting`), the registration's insert, the outbox row, the commit.

The sign-ups of one process for one event that arrive while a placing call is under way wait for the
next call and are placed together, in arrival order: in a rush the lock is taken, and the commit made,
once for dozens of people instead of once each, and every one still gets its own checks, row, mail
and answer. A call that fails for one sign-up's reason is repeated for each on its own, so an error
stays with the request that caused it.

PostgreSQL does a call in one autocommit statement, the database function `events_place_registrations`
(migration 0018), so the lock is held only while PostgreSQL works, never across a round trip to this
process: whether each person took part before is looked up first, then `SELECT ... FOR UPDATE` locks
the event row, and for each sign-up in turn the window and the one-address check (with a fresh
snapshot, which sees the batch's own rows) decide, the seats or the next waiting place are counted,
the INSERTs follow; one UPDATE of the event's counters and the statement's end commit them all.
SQLite runs the same steps in one call on its database thread, inside BEGIN IMMEDIATE (the database's
write lock). `registration.register` is the only caller; the ORM paths (invitations, back office)
keep `seating.event_lock`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from tortoise import connections

from events_app.core import errors
from events_app.mail import outbox
from events_app.seats import participation, seating

_JSON = {"separators": (",", ":")}
#: The confirmation and the waiting-list mail are a person's own mail: sent before bulk mail.
_PRIORITY = int(outbox.priority_for("confirmed"))
assert _PRIORITY == outbox.priority_for("waitlisted")


@dataclass(frozen=True)
class NewRegistration:
    """The row's values, prepared before the lock."""

    event_id: int
    name: str
    email: str
    phone: str
    language: str
    companions: int
    seats: int
    answers: dict
    manage_token: str
    checkin_token: str
    #: Refuse the registration when the address already has a live one for the event (public sign-up).
    once_per_email: bool = False
    #: For the figures (seats/participation.py), decided before the lock; whether the person took part
    #: before is found out by `place` itself, in the same call.
    postcode: str = ""
    district: str = ""


@dataclass(frozen=True)
class Placed:
    """What the lock decided. `status` is None when the event could not take the registration at all
    (cancelled, closed, not open yet, or full without a waiting list): the caller finds out which."""

    id: int | None
    status: str | None
    position: int | None
    queued_at: datetime | None
    returning: bool = False


async def place(row: NewRegistration, *, now: datetime) -> Placed:
    """Take the seats if they are free, else the next place on the waiting list; insert the row and its mail.

    The sign-ups of this process for the same event that arrive while a placing call is under way are
    placed together in the next one (`_Batch`): the lock is taken once for all of them, in arrival order,
    and each still gets its own checks, row, mail and answer."""
    client = connections.get("default")
    key = (id(client), row.event_id)
    batch = _batches.get(key)
    if batch is None:
        batch = _batches[key] = _Batch(key, client)
    return await batch.place(row, now)


#: Placing calls of one process for one event at once. PostgreSQL hands a row lock from one waiting
#: connection to the next, and every hand-over costs a wake-up of another process: in `benchmarks/rush.py`
#: (four processes) two calls per process gathering the sign-ups that arrive meanwhile took PostgreSQL's
#: CPU for 2,000 registrations from 0.7-1.0 s (one call per sign-up, two at once) to 0.16-0.21 s, and
#: the rush from 0.35 x the bare database transaction's speed to 0.9-1.1 x.
PLACING_AT_ONCE = 2
#: Sign-ups in one call at most: the lock is held while PostgreSQL works through them (about 0.1 ms each).
BATCH_SIZE = 64

_batches: dict[tuple[int, int], "_Batch"] = {}
_calls: set[asyncio.Task] = set()  # the loop keeps only a weak reference to a task


class _Waiting:
    __slots__ = ("row", "now", "answer")

    def __init__(self, row: NewRegistration, now: datetime):
        self.row, self.now = row, now
        self.answer: asyncio.Future = asyncio.get_running_loop().create_future()


class _Batch:
    """The sign-ups of this process waiting to be placed for one event, and the calls placing them."""

    def __init__(self, key: tuple[int, int], client):
        self.key, self.client = key, client
        self.waiting: list[_Waiting] = []
        self.calls = 0

    async def place(self, row: NewRegistration, now: datetime) -> Placed:
        waiting = _Waiting(row, now)
        self.waiting.append(waiting)
        if self.calls < PLACING_AT_ONCE:
            self.calls += 1
            call = asyncio.get_running_loop().create_task(self._run())
            _calls.add(call)
            call.add_done_callback(_calls.discard)
        try:  # waiting for a call to take the sign-up: no longer than the lock would be waited for
            async with asyncio.timeout(seating.lock_timeout_ms() / 1000):
                await asyncio.shield(waiting.answer)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiting in self.waiting:  # not taken yet: gone without a trace
                self.waiting.remove(waiting)
                self._forget_if_idle()
                if isinstance(exc, TimeoutError):
                    raise errors.SeatsBusy() from None
            if isinstance(exc, asyncio.CancelledError):
                raise
            # taken into a call under way, which waits no longer than the lock timeout either
        return await waiting.answer

    async def _run(self) -> None:
        try:
            while self.waiting:
                taken, self.waiting[:BATCH_SIZE] = self.waiting[:BATCH_SIZE], []
                await self._answer(taken)
        finally:
            self.calls -= 1
            self._forget_if_idle()

    def _forget_if_idle(self) -> None:
        if not self.calls and not self.waiting and _batches.get(self.key) is self:
            del _batches[self.key]

    async def _answer(self, taken: list[_Waiting]) -> None:
        try:
            placed = await _place_many(self.client, [(w.row, w.now) for w in taken])
        except Exception as exc:
            if seating.gave_up_waiting(exc):
                for waiting in taken:
                    _settle(waiting.answer, error=errors.SeatsBusy())
            elif len(taken) == 1:
                _settle(taken[0].answer, error=exc)
            else:  # one sign-up's fault must stay its own: each again, on its own
                for waiting in taken:
                    await self._answer([waiting])
            return
        except BaseException as exc:  # cancelled (shutdown): nobody is left without an answer
            for waiting in taken:
                _settle(waiting.answer, error=exc)
            raise
        for waiting, result in zip(taken, placed):
            _settle(waiting.answer, result=result)


def _settle(answer: asyncio.Future, *, result: Placed | None = None, error: BaseException | None = None) -> None:
    if not answer.done():
        answer.set_exception(error) if error is not None else answer.set_result(result)


async def _place_many(client, rows: list[tuple[NewRegistration, datetime]]) -> list[Placed]:
    if client.capabilities.dialect == "sqlite":
        return await _place_sqlite(client, rows)
    # one autocommit statement: the function takes the lock, waiting at most as long as everywhere else
    # (EVENTS_LOCK_TIMEOUT_MS), and the lock ends with the statement, never across a round trip
    columns = list(zip(*((now, row.seats, row.name, row.email, row.phone, row.language, row.companions,
                          row.manage_token, row.checkin_token, json.dumps(row.answers, **_JSON), row.once_per_email,
                          row.postcode, row.district) for row, now in rows)))
    async with client.acquire_connection() as conn:
        found = await conn.fetch(_PG_PLACE, rows[0][0].event_id, *map(list, columns), _PRIORITY,
                                 int(seating.lock_timeout_ms()))
    placed = [Placed(None, None, None, None)] * len(rows)
    for record in found:
        placed[record["placed_index"] - 1] = Placed(
            record["placed_id"], record["placed_status"], record["placed_position"], record["placed_queued_at"],
            bool(record["placed_returning"]))
    return placed


_PG_PLACE = ("SELECT * FROM events_place_registrations($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
             " $14, $15, $16)")


async def _place_sqlite(client, rows: list[tuple[NewRegistration, datetime]]) -> list[Placed]:
    """The same steps in one call on aiosqlite's thread, holding Tortoise's connection lock like a transaction."""

    def run(db) -> list[Placed]:
        returning = []
        for row, _ in rows:  # before the lock, as on PostgreSQL
            query = participation.taken_part_before_query(email=row.email, phone=row.phone, event_id=row.event_id,
                                                          sqlite=True)
            returning.append(bool(query and db.execute(*query).fetchall()))
        db.execute("BEGIN IMMEDIATE")
        try:
            placed = [_place_one_sqlite(db, row, now, was_here) for (row, now), was_here in zip(rows, returning)]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return placed

    async with client._lock:  # what Tortoise's SQLite transactions hold: one statement stream at a time
        if client._connection is None:
            await client.create_connection(with_db=True)
        connection = client._connection
        return await connection._execute(run, connection._conn)


def _place_one_sqlite(db, row: NewRegistration, now: datetime, returning: bool) -> Placed:
    """One sign-up inside the batch's BEGIN IMMEDIATE; it sees the rows placed before it in the batch."""
    stamp = now.isoformat(" ")
    found = db.execute(
        "SELECT seats_taken + ? <= capacity, waitlist, waiting FROM event WHERE id = ? AND status <> 'cancelled'"
        " AND (registration_opens_at IS NULL OR registration_opens_at <= ?)"
        " AND (registration_closes_at IS NULL OR registration_closes_at > ?)",
        (row.seats, row.event_id, stamp, stamp)).fetchone()
    if found is not None and row.once_per_email and db.execute(
            "SELECT 1 FROM registration WHERE UPPER(CAST(email AS VARCHAR)) = UPPER(?) AND event_id = ?"
            " AND status NOT IN ('cancelled', 'expired') LIMIT 1", (row.email, row.event_id)).fetchone():
        found = None
    if found is None or not (found[0] or found[1]):
        return Placed(None, None, None, None)
    fits = bool(found[0])
    position = None if fits else found[2] + 1
    if fits:
        db.execute("UPDATE event SET seats_taken = seats_taken + ? WHERE id = ?", (row.seats, row.event_id))
    else:
        db.execute("UPDATE event SET waiting = ? WHERE id = ?", (position, row.event_id))
    queued_at = datetime.now(timezone.utc)  # read under the lock: queue order is lock order
    status = "confirmed" if fits else "waitlisted"
    cursor = db.execute(
        "INSERT INTO registration (event_id, name, email, phone, language, companions, seats, status,"
        " queued_at, manage_token, checkin_token, answers, sequence, created_at, updated_at, confirmed_at,"
        " postcode, district, \"returning\", waited)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)",
        (row.event_id, row.name, row.email, row.phone, row.language, row.companions, row.seats, status,
         queued_at.isoformat(" "), row.manage_token, row.checkin_token, json.dumps(row.answers, **_JSON), stamp,
         stamp, stamp if fits else None, row.postcode, row.district, returning, not fits))
    registration_id = cursor.lastrowid
    if row.email:
        context = json.dumps({"registration_id": registration_id, "event_id": row.event_id, "position": position},
                             **_JSON)
        db.execute(
            "INSERT INTO outbox_message (template, recipient, language, context, registration_id, event_id,"
            " state, attempts, next_attempt_at, last_error, message_id, created_at, priority)"
            " VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, '', '', ?, ?)",
            (status, row.email, row.language, context, registration_id, row.event_id, stamp, stamp, _PRIORITY))
    return Placed(registration_id, status, position, queued_at, returning)
