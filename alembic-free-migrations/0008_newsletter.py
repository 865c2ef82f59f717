from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0007_festival')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Newsletter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('texts', fields.JSONField(default=dict, description='{"de": {"subject": "...", "body": "..."}, "ar": {...}}', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.ForeignKeyField('events.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='newsletters', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('recipients', fields.IntField(default=0)),
            ],
            options={'table': 'newsletter', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A newsletter written by an organiser: subject and text per language (German required).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Subscription',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('language', fields.CharField(default='de', max_length=5)),
                ('kinds', fields.JSONField(default=list, description='Kinds of events (EventKind values) whose announcements this address receives.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('newsletter', fields.BooleanField(default=False)),
                ('token', fields.CharField(unique=True, description='The secret in the confirmation and unsubscribe links.', max_length=64)),
                ('pending', fields.JSONField(default=dict, description='{"kinds", "newsletter", "language"} asked for and not yet confirmed.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('confirmed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('consent', fields.JSONField(default=dict, description='How consent was given: {"method", "source", "asked_at", "confirmed_at"}.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('confirmation_sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'subscription', 'app': 'events', 'pk_attr': 'id', 'table_description': 'An e-mail address that asked to hear about kinds of events and/or the newsletter.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Announcement',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='announcements', on_delete=OnDelete.CASCADE)),
                ('subscription', fields.ForeignKeyField('events.Subscription', source_field='subscription_id', db_constraint=True, to_field='id', related_name='announcements', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'announcement', 'app': 'events', 'unique_together': (('event', 'subscription'),), 'pk_attr': 'id', 'table_description': 'One subscriber was told about one event: never twice for the same event and person.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='announced_at',
            field=fields.DatetimeField(null=True, description='When subscribers of its kind were told that its registration is open (once per event).', auto_now=False, auto_now_add=False),
        ),
        # events that exist already were seen by everyone: only events published from now on are announced
        ops.RunSQL("UPDATE event SET announced_at = updated_at", reverse_sql=""),
    ]
