import django.db.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("licensing", "0013_webapilog_report_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="webapilog",
            name="source_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        # Rows imported before this migration kept the file's Id as their primary key: that
        # Id is their source Id, so importing the same file again still adds nothing. Imported
        # rows are the ones no access token wrote (API calls always record theirs).
        migrations.RunSQL(
            "UPDATE licensing_webapilog SET source_id = id WHERE token_id IS NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="webapilog",
            constraint=models.UniqueConstraint(
                condition=django.db.models.Q(("source_id__isnull", False)),
                fields=("vendor", "source_id"),
                name="webapilog_unique_source_id",
            ),
        ),
    ]
