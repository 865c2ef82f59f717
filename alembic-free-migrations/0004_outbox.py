"""Outbox: priorities, a claim owner per worker round, and connection breaks per message.

Database defaults fill the new columns of rows already queued.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('events', '0003_security')]

    operations = [
        ops.AddField(model_name="OutboxMessage", name="priority",
                     field=fields.SmallIntField(default=1, db_default=1)),
        ops.AddField(model_name="OutboxMessage", name="claimed_by",
                     field=fields.CharField(max_length=100, default="", db_default="")),
        ops.AddField(model_name="OutboxMessage", name="connection_breaks",
                     field=fields.SmallIntField(default=0, db_default=0)),
        ops.AddIndex(model_name="OutboxMessage", index=Index(fields=["state", "priority", "next_attempt_at"])),
    ]
