"""The one place where an event's seats change: the event lock and the seat primitive.

`event_lock` opens a transaction (or joins the caller's) holding the event's write lock: a row lock
(`SELECT ... FOR UPDATE`) on PostgreSQL, where waiting for it is bounded by `lock_timeout` so a
request never hangs behind a stuck one (it gets `errors.SeatsBusy`, a 503 "please try again"); on
SQLite our client begins every transaction IMMEDIATE, so the database's write lock is held from the
start (waiting for it past the connection's busy_timeout is `SeatsBusy` too). Under that lock `take_seats` and `give_back_seats` are the only code that writes
`Event.seats_taken`: registration (place, promote, release), answers to invitations with companions
and the back office all go through them, so the counter is compared and written in one place.
`count_waiting` does the same for `Event.waiting`, the length of the waiting list. The one exception
is the public sign-up's hot path, `register_sql.place`: the same decision (take the seats if they fit,
else the next waiting place) written as one statement, so a rush holds the lock only that long.

Callers look the lock up as `seating.event_lock` at call time (never `from ... import event_lock`),
so the race tests' negative controls can take it away from every path at once.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import TransactionManagementError

from events_app.core import db, errors
from events_app.core.models import Event

#: How long a change waits for an event's lock on PostgreSQL before it gives up with SeatsBusy.
DEFAULT_LOCK_TIMEOUT_MS = 5000
_lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS

#: PostgreSQL's codes for "lock not available" (lock_timeout) and "query cancelled" (statement_timeout).
_GAVE_UP = {"55P03", "57014"}


def set_lock_timeout(milliseconds: int) -> None:
    """Called once at start from the settings (EVENTS_LOCK_TIMEOUT_MS)."""
    global _lock_timeout_ms
    _lock_timeout_ms = max(1, int(milliseconds))


def lock_timeout_ms() -> int:
    return _lock_timeout_ms


def gave_up_waiting(exc: BaseException | None) -> bool:
    """True when the database stopped a statement because it waited too long for a lock: PostgreSQL's
    lock_timeout (or statement_timeout), SQLite's busy_timeout ("database is locked")."""
    while exc is not None:
        if getattr(exc, "sqlstate", None) in _GAVE_UP or "database is locked" in str(exc):
            return True
        exc = exc.__cause__
    return False


async def lock_event(conn: BaseDBAsyncClient, event_id: int) -> Event:
    """Read the event holding its write lock, inside the transaction `conn`."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"SET LOCAL lock_timeout = {_lock_timeout_ms}")
    try:
        event = await Event.select_for_update().using_db(conn).get_or_none(id=event_id)
    except Exception as exc:
        if gave_up_waiting(exc):
            raise errors.SeatsBusy() from exc
        raise
    if event is None:
        raise errors.EventNotFound()
    return event


@asynccontextmanager
async def event_lock(event_id: int, *, conn: BaseDBAsyncClient | None = None
                     ) -> AsyncIterator[tuple[BaseDBAsyncClient, Event]]:
    """Yield (connection, fresh event) holding the event's write lock until the transaction ends.

    With `conn` the lock is taken inside the caller's transaction (a composite change commits once)."""
    async with AsyncExitStack() as stack:
        try:
            conn = await stack.enter_async_context(db.transaction(conn))
        except TransactionManagementError as exc:
            # SQLite: BEGIN IMMEDIATE waited busy_timeout for another process's write lock in vain
            if gave_up_waiting(exc):
                raise errors.SeatsBusy() from exc
            raise
        yield conn, await lock_event(conn, event_id)


def free_seats(event: Event) -> int:
    return event.capacity - event.seats_taken


def has_room(event: Event, seats: int) -> bool:
    return event.seats_taken + seats <= event.capacity


async def take_seats(conn: BaseDBAsyncClient, event: Event, seats: int, *, beyond_capacity: bool = False) -> bool:
    """Hold `seats` more seats of the locked event if they are free; False (nothing written) if not.

    `beyond_capacity` is an organiser's explicit choice (audited by the caller), never automatic."""
    if seats < 0:
        raise ValueError("take_seats needs a positive number; use give_back_seats")
    if not beyond_capacity and not has_room(event, seats):
        return False
    if seats:
        event.seats_taken += seats
        await event.save(using_db=conn, update_fields=["seats_taken"])
    return True


async def give_back_seats(conn: BaseDBAsyncClient, event: Event, seats: int) -> None:
    """Release `seats` seats of the locked event (a cancellation, fewer companions, an expired offer)."""
    if seats < 0:
        raise ValueError("give_back_seats needs a positive number; use take_seats")
    if seats:
        event.seats_taken -= seats
        await event.save(using_db=conn, update_fields=["seats_taken"])


async def count_waiting(conn: BaseDBAsyncClient, event: Event, change: int) -> None:
    """Move the locked event's waiting-list counter by `change` (a newcomer's place is the new length)."""
    if change:
        event.waiting += change
        await event.save(using_db=conn, update_fields=["waiting"])
