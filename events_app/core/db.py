"""Database set-up outside the web app (migrations, ORM start/stop for the CLI and workers) and the
one way a writer joins its caller's transaction or opens its own."""

from __future__ import annotations

import contextlib
import sys
from typing import AsyncIterator

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate as migrate_api
from tortoise.transactions import in_transaction

from events_app.core.settings import MIGRATIONS_DIR, tortoise_config


def ensure_migrations_importable() -> None:
    """The migrations package is imported by its folder name, so the project root must be on sys.path."""
    root = str(MIGRATIONS_DIR.parent)
    if root not in sys.path:
        sys.path.append(root)


async def migrate(database_url: str) -> None:
    """Apply all migrations in alembic-free-migrations/ (idempotent)."""
    ensure_migrations_importable()
    try:
        await migrate_api(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def orm(database_url: str, *, pool_size: int = 20, statement_timeout: int = 0) -> AsyncIterator[None]:
    # Tortoise caches built SQL by connection name; a process that moves to another database
    # (benchmarks, tests) must not reuse one dialect's SQL on the other.
    EXECUTOR_CACHE.clear()
    config = tortoise_config(database_url, pool_size=pool_size, statement_timeout=statement_timeout)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def transaction(conn: BaseDBAsyncClient | None = None) -> AsyncIterator[BaseDBAsyncClient]:
    """The caller's transaction when it passes one, else a new one: so a composite change (an event
    with its questions and door staff) commits once, and a writer alone still commits on its own."""
    if conn is not None:
        yield conn
        return
    async with in_transaction() as conn:
        yield conn
