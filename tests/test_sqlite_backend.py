"""The SQLite client keeps working after a failed attempt to open the database: the connection lock is
released, so the next query runs instead of waiting forever (the stock wrapper keeps the lock)."""

from __future__ import annotations

import asyncio

from tortoise import Tortoise
from tortoise.backends.base.client import ConnectionWrapper


async def _fail_once(connection, tmp_path) -> None:
    original = connection.filename
    await connection.close()
    connection.filename = str(tmp_path / "no-such-folder" / "events.sqlite3")
    try:
        try:
            await connection.execute_query("SELECT 1")
        except Exception:
            pass
        else:
            raise AssertionError("a database in a missing folder should not open")
    finally:
        connection.filename = original
        await connection.close()


async def test_a_failed_open_does_not_block_later_queries(db, tmp_path):
    connection = Tortoise.get_connection("default")
    await _fail_once(connection, tmp_path)
    assert (await asyncio.wait_for(connection.execute_query("SELECT 1"), 10))[0] == 1
    async with connection._in_transaction() as conn:  # transactions too
        assert (await conn.execute_query("SELECT 2"))[0] == 1


async def test_negative_control_the_stock_wrapper_keeps_its_lock(db, tmp_path, monkeypatch):
    connection = Tortoise.get_connection("default")
    monkeypatch.setattr(type(connection), "acquire_connection",
                        lambda self: ConnectionWrapper(self._lock, self))
    await _fail_once(connection, tmp_path)
    try:
        await asyncio.wait_for(connection.execute_query("SELECT 1"), 1)
    except asyncio.TimeoutError:
        stuck = True
    else:
        stuck = False
    connection._lock.release()  # give the lock back so the next tests can use the connection
    assert stuck
