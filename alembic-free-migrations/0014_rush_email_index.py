from tortoise import migrations
from tortoise.migrations import operations as ops

#: The expression Tortoise writes for `email__iexact` on both databases, so this index serves the
#: address look-ups of a sign-up (one live registration per address, taken part before) instead of a
#: scan of every registration.
_INDEX = 'CREATE INDEX IF NOT EXISTS registration_email_upper ON registration (UPPER(CAST(email AS VARCHAR)))'


class Migration(migrations.Migration):
    dependencies = [("events", "0013_rush_event_span")]

    operations = [
        ops.RunSQL(_INDEX, reverse_sql="DROP INDEX IF EXISTS registration_email_upper"),
    ]
