"""At most one valid (not revoked) certificate per registration, enforced by the database: a partial
unique index, the same SQL on SQLite and PostgreSQL. Duplicates issued before (two concurrent issues
could both insert) are revoked first, keeping the oldest, so the index can be built."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial')]

    operations = [
        ops.RunSQL(
            "UPDATE certificate SET revoked_at = CURRENT_TIMESTAMP, "
            "revoked_reason = 'Doppelt ausgestellt, die ältere Bescheinigung bleibt gültig.' "
            "WHERE revoked_at IS NULL AND id NOT IN "
            "(SELECT MIN(id) FROM certificate WHERE revoked_at IS NULL GROUP BY registration_id)",
            reverse_sql="SELECT 1",
        ),
        ops.RunSQL(
            "CREATE UNIQUE INDEX certificate_one_valid_per_registration "
            "ON certificate (registration_id) WHERE revoked_at IS NULL",
            reverse_sql="DROP INDEX certificate_one_valid_per_registration",
        ),
    ]
