from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0002_seats_one_valid_certificate')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ThrottleCounter',
            fields=[
                ('bucket', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128)),
                ('hits', fields.IntField()),
                ('expires_at', fields.FloatField(db_index=True, description='Seconds since the epoch (UTC) when the window ends and the count starts again.')),
            ],
            options={'table': 'throttle_counter', 'app': 'events', 'pk_attr': 'bucket', 'table_description': "One throttle's count in its current window (events_app/security/throttle.py), in the database so"},
            bases=['Model'],
        ),
        ops.DeleteModel(name='RsvpAttempt'),
    ]
