"""SQLite client whose transactions begin IMMEDIATE.

Tortoise's stock client begins transactions DEFERRED: two processes that both read and then
write fail with "database is locked". BEGIN IMMEDIATE takes the write lock up front, so a
transaction that checks capacity and then writes is serialised across processes too (the
busy_timeout pragma makes the second writer wait instead of failing).
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> SqliteTransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
