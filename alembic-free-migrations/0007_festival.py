from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from events_app.core.models import BookingStatus, PartnerStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0006_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ConsultationSlot',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='slots', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consultation_slot', 'app': 'events', 'unique_together': (('event', 'starts_at'),), 'pk_attr': 'id', 'table_description': "One bookable time of a consultation hour, made from the organiser's weekly pattern."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Interpreter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(default='', max_length=254)),
                ('phone', fields.CharField(default='', max_length=50)),
                ('languages', fields.JSONField(default=list, description='Language keys (codes from the list, or free text).', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('note', fields.TextField(default='', unique=False)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'interpreter', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A staff member or volunteer of the interpreter pool (Sprachbörse).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InterpreterAssignment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='interpreter_assignments', on_delete=OnDelete.CASCADE)),
                ('language', fields.CharField(max_length=50)),
                ('day', fields.CharField(default='', description='The local day (YYYY-MM-DD) for consultation hours, empty for the whole event.', max_length=10)),
                ('interpreter', fields.ForeignKeyField('events.Interpreter', source_field='interpreter_id', db_constraint=True, to_field='id', related_name='assignments', on_delete=OnDelete.CASCADE)),
                ('share_names', fields.BooleanField(default=False, description="The organiser chose to tell the interpreter the participants' names.")),
                ('assigned_by', fields.ForeignKeyField('events.User', source_field='assigned_by_id', null=True, db_constraint=True, to_field='id', related_name='interpreter_assignments', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'interpreter_assignment', 'app': 'events', 'unique_together': (('event', 'language', 'day'),), 'pk_attr': 'id', 'table_description': 'An interpreter assigned to one language needed at an event (or on one consultation day).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PartnerApplication',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='partners', on_delete=OnDelete.CASCADE)),
                ('organisation', fields.CharField(max_length=200)),
                ('contact_name', fields.CharField(max_length=200)),
                ('email', fields.CharField(max_length=254)),
                ('phone', fields.CharField(default='', max_length=50)),
                ('language', fields.CharField(default='de', max_length=5)),
                ('presents', fields.TextField(default='', unique=False)),
                ('languages', fields.JSONField(default=list, description='Languages spoken at the stand, as typed.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('needs', fields.JSONField(default=dict, description='{"table": bool, "power": bool, "tent": bool, "food_permit": bool, "other": str}', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=PartnerStatus.PENDING, db_index=True, description='PENDING: pending\nACCEPTED: accepted\nWAITING: waiting\nDECLINED: declined\nWITHDRAWN: withdrawn', enum_type=PartnerStatus, max_length=10)),
                ('queued_at', fields.DatetimeField(null=True, description='Order among applications waiting for a stand: when they were accepted.', auto_now=False, auto_now_add=False)),
                ('stand_number', fields.CharField(default='', description='Printed on the site plan, assigned by the organisers.', max_length=20)),
                ('reason', fields.TextField(default='', unique=False)),
                ('manage_token', fields.CharField(unique=True, max_length=64)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'partner_application', 'app': 'events', 'pk_attr': 'id', 'table_description': "A local association's application for a stand at a festival."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SlotBooking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slot', fields.ForeignKeyField('events.ConsultationSlot', source_field='slot_id', db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='slot_bookings', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('email', fields.CharField(default='', max_length=254)),
                ('phone', fields.CharField(default='', max_length=50)),
                ('language', fields.CharField(default='de', max_length=5)),
                ('interpreter_language', fields.CharField(default='', description='The language an interpreter should speak, empty when none is needed (a code from the list or free text).', max_length=50)),
                ('note', fields.TextField(default='', unique=False)),
                ('status', fields.CharEnumField(default=BookingStatus.BOOKED, db_index=True, description='BOOKED: booked\nCANCELLED: cancelled', enum_type=BookingStatus, max_length=10)),
                ('held_slot', fields.IntField(null=True, unique=True, description="The slot's id while booked, NULL once cancelled: unique, so the database refuses a second booking.")),
                ('held_day', fields.CharField(null=True, unique=True, description='"<event>:<contact>:<local day>" while booked, NULL once cancelled: one slot per person and day.', max_length=400)),
                ('manage_token', fields.CharField(unique=True, max_length=64)),
                ('sequence', fields.IntField(default=0, description='iCalendar SEQUENCE of the appointment: raised when it is moved or cancelled.')),
                ('booked_by', fields.ForeignKeyField('events.User', source_field='booked_by_id', null=True, db_constraint=True, to_field='id', related_name='slot_bookings', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'slot_booking', 'app': 'events', 'pk_attr': 'id', 'table_description': "A person's booking of one slot. Personal data (name, contact) sits here and in few other tables."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='stands',
            field=fields.IntField(default=0, description='Partner stands a festival has (kind festival). Accepted applications beyond them wait in order.'),
        ),
        ops.AddField(
            model_name='Event',
            name='stands_taken',
            field=fields.IntField(default=0, description='Stands held by accepted partner applications, changed only under the event lock.'),
        ),
    ]
