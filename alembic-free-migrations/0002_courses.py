from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attendance',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('events.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='attendance', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('events.EventSession', source_field='session_id', db_constraint=True, to_field='id', related_name='attendance', on_delete=OnDelete.CASCADE)),
                ('present', fields.BooleanField()),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('recorded_by', fields.ForeignKeyField('events.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='attendance_recorded', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'attendance', 'app': 'events', 'unique_together': (('registration', 'session'),), 'pk_attr': 'id', 'table_description': 'Whether a registered person was there on one date of the event. One row per person and date.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Certificate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('events.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='certificates', on_delete=OnDelete.CASCADE)),
                ('serial', fields.CharField(unique=True, description='Printed on the certificate and part of its verification URL, e.g. TB-2026-7K3M-9QXP.', max_length=40)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'certificate', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A certificate of participation. The name is read from the registration, so it is not copied here.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CertificateTemplate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='certificate_template', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(default='Teilnahmebescheinigung', max_length=200)),
                ('body', fields.TextField(default='hat an der Veranstaltung „{event}“ teilgenommen ({dates}, {hours} Stunden).', description='The name is printed large above this text, and {name} can repeat it inside.', unique=False)),
                ('content_summary', fields.TextField(default='', unique=False)),
                ('signer_name', fields.CharField(default='', max_length=200)),
                ('signer_role', fields.CharField(default='', max_length=200)),
                ('logo', fields.TextField(default='', description='Optional images as data: URIs (PNG, JPEG or SVG), so the PDF needs no file store.', unique=False)),
                ('signature', fields.TextField(default='', unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certificate_template', 'app': 'events', 'pk_attr': 'id', 'table_description': "The organiser's texts for an event's certificates. Placeholders: {name}, {event}, {dates}, {hours}."},
            bases=['Model'],
        ),
    ]
