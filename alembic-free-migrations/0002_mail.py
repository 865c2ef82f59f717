from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Registration',
            name='reminded_at',
            field=fields.DatetimeField(null=True, description='When the reminder mail before the event was queued (set once, so each person gets one).', auto_now=False, auto_now_add=False),
        ),
    ]
