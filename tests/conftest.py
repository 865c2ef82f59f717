"""Fixtures: a database per backend (SQLite file, PostgreSQL database made for this run), emptied
before each test; an in-process HTTP client; settings pointing at a temporary var/ directory.

Tests use SQLite by default. A test that matters on both databases parametrises `db` with
`both_databases` (tests/helpers.py). PostgreSQL tests skip when the server is unreachable, unless
EVENTS_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from events_app.core import db as database
from events_app.core.settings import Settings, tortoise_config

# Fixture modules of each area; add yours here.
pytest_plugins = ["tests.fixtures_browser", "tests.fixtures_i18n", "tests.fixtures_receptions", "tests.fixtures_mail",
                  "tests.fixtures_courses", "tests.fixtures_backoffice"]

PG_ADMIN_DSN = os.environ.get("EVENTS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("EVENTS_REQUIRE_POSTGRES") == "1"


class Backends:
    """Knows each backend's URL, migrates it once, and switches the ORM between them."""

    def __init__(self, tmp_dir: Path):
        self.urls: dict[str, str] = {"sqlite": f"sqlite://{tmp_dir / 'test.sqlite3'}"}
        self.migrated: set[str] = set()
        self.active: str | None = None
        self.pg_name: str | None = None
        self.pg_error: str | None = None

    async def postgres_url(self) -> str:
        if "postgres" in self.urls:
            return self.urls["postgres"]
        if self.pg_error is None:
            self.pg_name = f"events_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            try:
                conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
                try:
                    await conn.execute(f'CREATE DATABASE "{self.pg_name}"')
                finally:
                    await conn.close()
                base = PG_ADMIN_DSN.rsplit("/", 1)[0]
                self.urls["postgres"] = f"{base}/{self.pg_name}"
                return self.urls["postgres"]
            except (OSError, asyncpg.PostgresError) as exc:
                self.pg_error = f"PostgreSQL unreachable at {PG_ADMIN_DSN}: {exc}"
        if REQUIRE_PG:
            pytest.fail(self.pg_error)
        pytest.skip(self.pg_error)

    async def activate(self, backend: str) -> str:
        url = await self.postgres_url() if backend == "postgres" else self.urls["sqlite"]
        if self.active != backend:
            await Tortoise.close_connections()
            # Tortoise caches built SQL per connection name ("default" on both backends)
            EXECUTOR_CACHE.clear()
            if backend not in self.migrated:
                await database.migrate(url)
                self.migrated.add(backend)
            await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
            self.active = backend
        await empty_tables()
        return url

    async def drop_postgres(self) -> None:
        await Tortoise.close_connections()
        if self.pg_name and "postgres" in self.urls:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            finally:
                await conn.close()


async def empty_tables() -> None:
    conn = Tortoise.get_connection("default")
    tables = [model._meta.db_table for model in Tortoise.apps["events"].values()]
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        await conn.execute_script("PRAGMA foreign_keys=OFF;" + "".join(f"DELETE FROM {t};" for t in tables)
                                  + "DELETE FROM sqlite_sequence;PRAGMA foreign_keys=ON;")


@pytest.fixture(scope="session")
async def backends(tmp_path_factory):
    state = Backends(tmp_path_factory.mktemp("db"))
    yield state
    await state.drop_postgres()


@pytest.fixture
async def db(request, backends) -> str:
    """The database URL of the backend in use (param 'sqlite' or 'postgres'), emptied."""
    backend = getattr(request, "param", "sqlite")
    return await backends.activate(backend)


@pytest.fixture
def settings(db, tmp_path) -> Settings:
    return Settings(database_url=db, secret_key="test-secret-key", var_dir=tmp_path / "var",
                    run_worker_in_server=False, staff_domains=("giessen.de", "stadt-giessen.de"))


@pytest.fixture
def app(settings):
    from events_app.app import create_app

    return create_app(settings, manage_orm=False)


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
