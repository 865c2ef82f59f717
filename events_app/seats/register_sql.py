"""The registration's hot path in hand-written SQL: one seat decision, the row and its mail in one go.

When a popular course opens, hundreds of people register within seconds and each waits for the
event's lock. So everything that does not need the lock (checking the input, tokens, the row's
values) happens before it, and under it only: the conditional seat update (which also hands out the
waiting-list place from `Event.waiting`), the registration's insert, the outbox row, the commit.

PostgreSQL does all of it in one autocommit call of the database function `events_place_registration`
(migrations 0015, 0017), so the lock is held only while PostgreSQL works, never across a round trip to
this process: whether the person took part before is looked up first, then `SELECT ... FOR UPDATE`
locks the event row, the one-address check runs after it with a fresh snapshot, the UPDATE takes the
seats or the next waiting place, the INSERTs follow, and the statement's end commits.
SQLite runs the same steps in one call on its database thread, inside BEGIN IMMEDIATE (the database's
write lock). `registration.register` is the only caller; the ORM paths (invitations, back office)
keep `seating.event_lock`.
"""

from __future__ import annotations

import asyncio
import contextlib
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


_PG_PLACE = ("SELECT * FROM events_place_registration($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
             " $14, $15, $16)")


async def place(row: NewRegistration, *, now: datetime) -> Placed:
    """Take the seats if they are free, else the next place on the waiting list; insert the row and its mail."""
    client = connections.get("default")
    if client.capabilities.dialect == "sqlite":
        return await _place_sqlite(client, row, now)
    # one autocommit statement: the function takes the lock, waiting at most as long as everywhere else
    # (EVENTS_LOCK_TIMEOUT_MS), and the lock ends with the statement, never across a round trip
    values = (row.event_id, row.seats, now, row.name, row.email, row.phone, row.language, row.companions,
              row.manage_token, row.checkin_token, json.dumps(row.answers, **_JSON), row.once_per_email,
              row.postcode, row.district, _PRIORITY, int(seating.lock_timeout_ms()))
    try:
        async with _placing_turn(row.event_id), client.acquire_connection() as conn:
            found = await conn.fetchrow(_PG_PLACE, *values)
    except Exception as exc:
        if seating.gave_up_waiting(exc):
            raise errors.SeatsBusy() from exc
        raise
    if found is None:
        return Placed(None, None, None, None)
    return Placed(found["placed_id"], found["placed_status"], found["placed_position"], found["placed_queued_at"],
                  found["placed_returning"])


#: Calls of one process that wait for the same event's lock in PostgreSQL at once; the others wait here,
#: in order. PostgreSQL hands a row lock from one waiting connection to the next, and the more wait, the
#: more each hand-over costs: in `benchmarks/rush.py` (four processes) two per process instead of every
#: pooled connection took PostgreSQL's CPU for 2,000 registrations from 1.6-1.8 s to 0.8-1.1 s.
PLACING_AT_ONCE = 2


@dataclass
class _Turns:
    semaphore: asyncio.Semaphore
    users: int = 0


_placing: dict[int, _Turns] = {}


@contextlib.asynccontextmanager
async def _placing_turn(event_id: int):
    turns = _placing.get(event_id)
    if turns is None:
        turns = _placing[event_id] = _Turns(asyncio.Semaphore(PLACING_AT_ONCE))
    turns.users += 1
    try:
        try:  # a turn waits no longer than the lock would: a held lock answers everyone "try again" in time
            async with asyncio.timeout(seating.lock_timeout_ms() / 1000):
                await turns.semaphore.acquire()
        except TimeoutError:
            raise errors.SeatsBusy() from None
        try:
            yield
        finally:
            turns.semaphore.release()
    finally:
        turns.users -= 1
        if turns.users == 0:
            del _placing[event_id]  # nobody of this process places for the event any more


async def _place_sqlite(client, row: NewRegistration, now: datetime) -> Placed:
    """The same steps in one call on aiosqlite's thread, holding Tortoise's connection lock like a transaction."""
    stamp = now.isoformat(" ")
    answers = json.dumps(row.answers, **_JSON)

    def run(db) -> Placed:
        query = participation.taken_part_before_query(email=row.email, phone=row.phone, event_id=row.event_id,
                                                      sqlite=True)
        returning = bool(query and db.execute(*query).fetchall())  # before the lock, as on PostgreSQL
        db.execute("BEGIN IMMEDIATE")
        try:
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
                db.execute("ROLLBACK")
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
                 queued_at.isoformat(" "), row.manage_token, row.checkin_token, answers, stamp, stamp,
                 stamp if fits else None, row.postcode, row.district, returning, not fits))
            registration_id = cursor.lastrowid
            if row.email:
                context = json.dumps({"registration_id": registration_id, "event_id": row.event_id,
                                      "position": position}, **_JSON)
                db.execute(
                    "INSERT INTO outbox_message (template, recipient, language, context, registration_id, event_id,"
                    " state, attempts, next_attempt_at, last_error, message_id, created_at, priority)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, '', '', ?, ?)",
                    (status, row.email, row.language, context, registration_id, row.event_id, stamp, stamp,
                     _PRIORITY))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return Placed(registration_id, status, position, queued_at, returning)

    async with client._lock:  # what Tortoise's SQLite transactions hold: one statement stream at a time
        if client._connection is None:
            await client.create_connection(with_db=True)
        connection = client._connection
        try:
            return await connection._execute(run, connection._conn)
        except Exception as exc:
            if seating.gave_up_waiting(exc):  # busy_timeout: another process held the write lock too long
                raise errors.SeatsBusy() from exc
            raise
