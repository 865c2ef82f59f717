from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('events', '0005_print')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PostcodeDistrict',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('postcode', fields.CharField(unique=True, max_length=10)),
                ('district', fields.CharField(max_length=100)),
            ],
            options={'table': 'postcode_district', 'app': 'events', 'pk_attr': 'id', 'table_description': 'Which district (Stadtteil) of the city a postcode belongs to, editable by the office.'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Certificate',
            options={'table': 'certificate', 'app': 'events', 'pk_attr': 'id', 'table_description': 'A certificate of participation. The name is read from the registration while it exists; when the'},
        ),
        ops.AddField(
            model_name='Certificate',
            name='details_deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Certificate',
            name='holder_name',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='Event',
            name='anonymised_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Event',
            name='retention_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Invitation',
            name='anonymised_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Registration',
            name='anonymised_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Registration',
            name='district',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='Registration',
            name='postcode',
            field=fields.CharField(default='', db_default='', max_length=10),
        ),
        ops.AddField(
            model_name='Registration',
            name='returning',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Registration',
            name='waited',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
