"""Customer-portal memberships and links move to apps.licensing, next to the customers they
are about (the tables keep their names; nothing changes in the database)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_resellers"),
        ("licensing", "0014_webapilog_source_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CustomerMembership"),
                migrations.DeleteModel(name="PortalLink"),
            ],
        ),
    ]
