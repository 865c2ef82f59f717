"""Invitees' districts, for the figures of where the invited live (statistics/figures.py).

Derived from the postcode when a list is imported, like a registration's, and kept when the invitation is
anonymised. Invitations already stored get theirs from the office's postcode table now.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("events", "0018_rush_batches")]

    operations = [
        ops.AddField(
            model_name="Invitation",
            name="district",
            field=fields.CharField(max_length=100, default="", db_default=""),
        ),
        ops.RunSQL(
            "UPDATE invitation SET district = COALESCE((SELECT p.district FROM postcode_district p"
            " WHERE p.postcode = REPLACE(invitation.postcode, ' ', '')), '') WHERE postcode <> ''",
            reverse_sql="SELECT 1",
        ),
    ]
