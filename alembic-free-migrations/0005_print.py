from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    """Reception letters get a closing and a signature block (signer, role, optional scanned signature)."""

    dependencies = [('events', '0004_outbox')]

    operations = [
        ops.AddField(model_name="ReceptionLetter", name="closing", field=fields.TextField(default="", unique=False)),
        ops.AddField(model_name="ReceptionLetter", name="signer_name",
                     field=fields.CharField(default="", max_length=200)),
        ops.AddField(model_name="ReceptionLetter", name="signer_role",
                     field=fields.CharField(default="", max_length=200)),
        ops.AddField(model_name="ReceptionLetter", name="signature_image",
                     field=fields.TextField(default="", unique=False)),
    ]
