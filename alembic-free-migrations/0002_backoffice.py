from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('registration', fields.ForeignKeyField('events.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('session', fields.ForeignKeyField('events.EventSession', source_field='session_id', null=True, db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('arrived_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('companions_arrived', fields.IntField(default=0)),
                ('by_user', fields.ForeignKeyField('events.User', source_field='by_user_id', null=True, db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'checkin', 'app': 'events', 'unique_together': (('registration', 'session'),), 'pk_attr': 'id', 'table_description': 'Someone arrived at the door. `session` is set for courses (one row per date attended).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DoorAssignment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('events.User', source_field='user_id', db_constraint=True, to_field='id', related_name='door_assignments', on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='door_assignments', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'door_assignment', 'app': 'events', 'unique_together': (('user', 'event'),), 'pk_attr': 'id', 'table_description': 'A door-role user may check people in for this event.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('events.User', source_field='user_id', db_constraint=True, to_field='id', related_name='login_sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('csrf_token', fields.CharField(description='Bound to the session: every back-office form carries it (CSRF protection).', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_session', 'app': 'events', 'pk_attr': 'id', 'table_description': "A signed-in back-office browser. Only the SHA-256 of the cookie's token is stored, so a"},
            bases=['Model'],
        ),
    ]
