"""The object log, moved here from apps.licensing: its table (and the append-only trigger on
it) keep their names, so this only tells Django's state."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0004_portal_models_to_licensing"),
        ("licensing", "0015_split_usage_audit_portal"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ObjectLogEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("time", models.DateTimeField(db_index=True,
                                                      default=django.utils.timezone.now)),
                        ("actor_type", models.CharField(max_length=10)),
                        ("actor_id", models.BigIntegerField(blank=True, null=True)),
                        ("actor_label", models.CharField(max_length=255)),
                        ("object_type", models.CharField(max_length=100)),
                        ("object_id", models.CharField(max_length=64)),
                        ("object_repr", models.CharField(max_length=255)),
                        ("action", models.CharField(max_length=50)),
                        ("changes", models.JSONField(blank=True, default=dict)),
                        ("vendor", models.ForeignKey(
                            db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING,
                            related_name="+", to="accounts.vendor")),
                    ],
                    options={
                        "db_table": "licensing_objectlogentry",
                        "ordering": ["-time", "-id"],
                        "indexes": [
                            models.Index(fields=["vendor", "object_type", "object_id"],
                                         name="licensing_o_vendor__7415d4_idx"),
                            models.Index(fields=["vendor", "-time"],
                                         name="licensing_o_vendor__b32306_idx"),
                        ],
                    },
                ),
            ],
        ),
    ]
