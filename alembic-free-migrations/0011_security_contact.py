from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0010_mail_texts')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Registration',
            name='contact_verified_at',
            field=fields.DatetimeField(null=True, description='When the contact was shown to reach the person (a mailed link opened, or an organiser who phoned', auto_now=False, auto_now_add=False),
        ),
    ]
