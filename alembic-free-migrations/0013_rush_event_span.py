from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

#: First start and last end of the scheduled dates, else of all dates (the rule of seats/events.py).
_SPAN = ("UPDATE event SET"
         " first_starts_at = (SELECT COALESCE(MIN(CASE WHEN s.status = 'scheduled' THEN s.starts_at END),"
         " MIN(s.starts_at)) FROM event_session s WHERE s.event_id = event.id),"
         " last_ends_at = (SELECT COALESCE(MAX(CASE WHEN s.status = 'scheduled' THEN s.ends_at END),"
         " MAX(s.ends_at)) FROM event_session s WHERE s.event_id = event.id)")


class Migration(migrations.Migration):
    dependencies = [("events", "0012_rush_waiting")]

    operations = [
        ops.AddField(
            model_name="Event",
            name="first_starts_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False,
                                       description="Start of the first date (of the scheduled ones, if any), kept "
                                                   "with the dates: lists sort and page by it."),
        ),
        ops.AddField(
            model_name="Event",
            name="last_ends_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False,
                                       description="End of the last date (of the scheduled ones, if any): an event "
                                                   "is upcoming until then."),
        ),
        ops.AddIndex(model_name="Event", index=Index(fields=["first_starts_at", "id"])),
        ops.RunSQL(_SPAN, reverse_sql="SELECT 1"),
    ]
