from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0008_newsletter')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Question',
            name='builtin',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Question',
            name='translations',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        # the standard questions stored so far carry their message id as label
        ops.RunSQL(
            "UPDATE question SET builtin = TRUE WHERE "
            "(key = 'department' AND label = 'Department or office') OR "
            "(key = 'supervisor' AND label = 'Supervisor (optional)') OR "
            "(key = 'childcare' AND label = 'I need childcare during the course.') OR "
            "(key = 'language_assistance' AND label = 'Language assistance: which language would help you?')",
            reverse_sql=""),
    ]
