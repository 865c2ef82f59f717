from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0009_question_translations')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MailText',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='mail_texts', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=30)),
                ('language', fields.CharField(max_length=5)),
                ('subject', fields.CharField(default='', max_length=200)),
                ('body', fields.TextField(default='', unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'mail_text', 'app': 'events', 'unique_together': (('event', 'kind', 'language'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
