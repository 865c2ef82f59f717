"""Shared test helpers: the both-databases marker and plain async factories."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta, timezone

import pytest

from events_app.backoffice import accounts
from events_app.seats import events
from events_app.seats.events import SessionSpec
from events_app.core.models import Role

#: Run a test on SQLite and on PostgreSQL.
both_databases = pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)


def in_days(days: float, hour: int = 18) -> datetime:
    base = datetime.now(timezone.utc) + timedelta(days=days)
    return base.replace(hour=hour, minute=0, second=0, microsecond=0)


async def make_event(**overrides):
    values = {"kind": "workshop", "title": "Interkulturelle Kompetenz", "capacity": 20, "location": "Rathaus",
              "waitlist": True}
    values.update(overrides)
    sessions = values.pop("sessions", None) or [SessionSpec(in_days(10), in_days(10) + timedelta(hours=2))]
    from events_app.core.models import Audience, EventKind, Visibility

    for name, enum in (("kind", EventKind), ("audience", Audience), ("visibility", Visibility)):
        if name in values and isinstance(values[name], str):
            values[name] = enum(values[name])
    return await events.create_event(values=values, sessions=sessions)


async def make_user(role: str = "organiser", email: str | None = None):
    email = email or f"{role}@stadt-giessen.de"
    user = await accounts.create_user(email=email, role=Role(role), password="correct horse battery")
    token = await accounts.create_api_token(email=email)
    return user, token


class QueryLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "%s: %s":  # one statement sent to the database
            self.queries.append(str(record.args[0]))


@contextlib.contextmanager
def counted():
    """The statements the ORM sends while the block runs (Tortoise's query log)."""
    logger = logging.getLogger("tortoise.db_client")
    handler, level = QueryLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.queries
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
