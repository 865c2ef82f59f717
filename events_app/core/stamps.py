"""The change stamps (migration 0016): two numbers the database raises whenever what public pages show
changes, `content` (events, dates, questions) and `seats` (seat counters and waiting lists).

A page kept with the stamps it was built under is still right while they are unchanged, whichever process
changed what. Reading them is the price of every kept page, so it is one tiny statement: on SQLite through
a second, read-only connection of this process (a read in WAL mode neither waits for a writer nor for the
ORM's connection; it takes microseconds, less than a hop to the database thread), on PostgreSQL one
prepared statement on a pooled connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass

from tortoise import connections

from events_app.core.shared_reads import SharedReads

#: a sequence's last_value is 1 both before and after its first nextval; is_called tells them apart
_PG_READ = ("SELECT content, (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_stamp_seats)"
            " FROM change_stamp WHERE id = 1")
_SQLITE_READ = "SELECT content, seats FROM change_stamp WHERE id = 1"


@dataclass(frozen=True)
class Stamps:
    content: int
    seats: int


class StampsUnavailable(Exception):
    """The stamps could not be read (an in-memory database, a database without migration 0016, a busy
    moment): whoever asked builds the page afresh."""


_readers: dict[str, sqlite3.Connection] = {}


async def read() -> Stamps:
    """The stamps as committed now."""
    client = connections.get("default")
    try:
        if client.capabilities.dialect == "sqlite":
            rows = _sqlite_reader(client.filename).execute(_SQLITE_READ).fetchall()  # all: the read ends
            row = rows[0] if rows else None
        else:
            row = await _postgres_reads.read(lambda: _read_postgres(client))
    except Exception as exc:  # the page is built afresh instead; never an error for the visitor
        raise StampsUnavailable(str(exc)) from exc
    if row is None:
        raise StampsUnavailable("no stamp row")
    return Stamps(int(row[0]), int(row[1]))


_postgres_reads = SharedReads()
#: A database slower than this to say its stamps counts as unavailable: the page is built afresh.
READ_TIMEOUT_SECONDS = 2.0


async def _read_postgres(client):
    async with client.acquire_connection() as conn:
        return await asyncio.wait_for(conn.fetchrow(_PG_READ), READ_TIMEOUT_SECONDS)


def database_of(client) -> str:
    """Which database a connection reaches: a process that moves between databases (the tests) must not
    take what it kept of one for the other, however the stamps compare."""
    filename = getattr(client, "filename", None)
    if filename is not None:
        return f"sqlite:{filename}"
    return f"postgres:{getattr(client, 'host', '')}:{getattr(client, 'port', '')}/{getattr(client, 'database', '')}"


def _sqlite_reader(filename: str) -> sqlite3.Connection:
    if filename in ("", ":memory:") or filename.startswith("file::memory:"):
        raise StampsUnavailable("an in-memory database has no second reader")
    reader = _readers.get(filename)
    if reader is None:
        # autocommit, so each read sees the latest commit; a short busy wait only (the page is built
        # afresh rather than keep the event loop waiting)
        reader = sqlite3.connect(filename, isolation_level=None, check_same_thread=False, timeout=0.05)
        reader.execute("PRAGMA query_only = ON")
        _readers[filename] = reader
    return reader


def close_readers() -> None:
    """Close this process's SQLite readers (at shutdown, and when a test moves to another database file)."""
    for reader in _readers.values():
        reader.close()
    _readers.clear()
