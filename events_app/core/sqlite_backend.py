"""SQLite client whose transactions begin IMMEDIATE, and whose connection lock survives failures.

Tortoise's stock client begins transactions DEFERRED: two processes that both read and then
write fail with "database is locked". BEGIN IMMEDIATE takes the write lock up front, so a
transaction that checks capacity and then writes is serialised across processes too (the
busy_timeout pragma makes the second writer wait instead of failing).

The stock client also takes its one connection's lock before opening the connection or beginning
the transaction, and keeps it when that fails (the database file unreachable for a moment, a
BEGIN that timed out): every later query of the process then waits forever. Here the lock is
released whenever entering fails, so the next request simply tries again.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import ConnectionWrapper
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


class ReleasingConnectionWrapper(ConnectionWrapper):
    __slots__ = ()

    async def __aenter__(self):
        await self._lock.acquire()
        try:
            await self.ensure_connection()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class ReleasingTransactionContext(SqliteTransactionContext):
    __slots__ = ()

    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            await self.connection.begin()
        except BaseException:
            self._trxlock.release()
            raise
        self.token = get_connections().set(self.connection_name, self.connection)
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def acquire_connection(self) -> ConnectionWrapper:
        return ReleasingConnectionWrapper(self._lock, self)

    def _in_transaction(self) -> SqliteTransactionContext:
        return ReleasingTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
