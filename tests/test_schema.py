"""The database the single migration builds has one table per model, under the model's own name."""

from __future__ import annotations

from tortoise import Tortoise

from events_app.core.models import CertificateTemplate, ReceptionLetter, ThrottleCounter
from tests.helpers import both_databases


async def _tables() -> set[str]:
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        _, rows = await conn.execute_query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    _, rows = await conn.execute_query("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


@both_databases
async def test_each_model_has_its_own_table_in_the_migrated_database(db):
    models = Tortoise.apps["events"].values()
    names = [model._meta.db_table for model in models]
    assert len(names) == len(set(names)), "two models share a table"
    assert set(names) <= await _tables()
    assert (CertificateTemplate._meta.db_table, ReceptionLetter._meta.db_table, ThrottleCounter._meta.db_table) == \
        ("certificate_template", "reception_letter", "throttle_counter")
