from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from events_app.models import InvitationState
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.CASCADE)),
                ('salutation', fields.CharField(default='', max_length=30)),
                ('first_name', fields.CharField(default='', max_length=100)),
                ('last_name', fields.CharField(max_length=100)),
                ('birth_date', fields.DateField(null=True)),
                ('street', fields.CharField(default='', max_length=200)),
                ('postcode', fields.CharField(default='', max_length=10)),
                ('city', fields.CharField(default='', max_length=100)),
                ('email', fields.CharField(default='', max_length=254)),
                ('phone', fields.CharField(default='', max_length=50)),
                ('file_number', fields.CharField(null=True, description='Aktenzeichen of the naturalisation authority, NULL when the list has none (else unique per event).', max_length=50)),
                ('note', fields.TextField(default='', unique=False)),
                ('language', fields.CharField(default='de', max_length=5)),
                ('max_companions', fields.IntField(default=0)),
                ('state', fields.CharEnumField(default=InvitationState.PENDING, db_index=True, description='PENDING: pending\nACCEPTED: accepted\nDECLINED: declined', enum_type=InvitationState, max_length=10)),
                ('companions', fields.IntField(default=0)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('registration', fields.ForeignKeyField('events.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name='invitations', on_delete=OnDelete.SET_NULL)),
                ('needs', fields.JSONField(default=dict, description='language_assistance and accessibility: only what the invitee chose to tell.', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('mailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'invitation', 'app': 'events', 'unique_together': (('event', 'file_number'),), 'pk_attr': 'id', 'table_description': 'One invitee of an invitation-only event (naturalisation reception), imported from a list.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReceptionLetter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='reception_letter', on_delete=OnDelete.CASCADE)),
                ('sender', fields.TextField(default='', unique=False)),
                ('subject', fields.CharField(default='', max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('signature', fields.TextField(default='', unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'reception_letter', 'app': 'events', 'pk_attr': 'id', 'table_description': "The city's letter text for one event's invitations, editable by the organisers."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RsvpAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client', fields.CharField(db_index=True, description='SHA-256 of the client address: the throttle needs no readable IP address.', max_length=64)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rsvp_attempt', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A wrong RSVP code typed from one client, kept briefly to throttle guessing.'},
            bases=['Model'],
        ),
    ]
