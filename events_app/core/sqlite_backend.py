"""SQLite client whose transactions begin IMMEDIATE.

Tortoise's stock client begins transactions DEFERRED: two processes that both read and then
write fail with "database is locked". BEGIN IMMEDIATE takes the write lock up front, so a
transaction that checks capacity and then writes is serialised across processes too (the
busy_timeout pragma makes the second writer wait instead of failing; past it, the caller gets the
error and the connection stays usable).
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateTransactionContext(SqliteTransactionContext):
    """Tortoise's context never gives its lock back when BEGIN fails (busy_timeout passed while another
    process held the write lock): every later query of the process would wait for ever. Give it back."""

    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
