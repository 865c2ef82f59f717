from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("events", "0011_security_contact")]

    operations = [
        ops.AddField(
            model_name="Event",
            name="waiting",
            field=fields.IntField(default=0, description="Registrations on the waiting list, changed only under "
                                                          "the event lock. A newcomer's place is this number."),
        ),
        ops.RunSQL(
            "UPDATE event SET waiting = (SELECT count(*) FROM registration"
            " WHERE registration.event_id = event.id AND registration.status = 'waitlisted')",
            reverse_sql="SELECT 1",
        ),
    ]
