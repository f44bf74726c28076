"""The Web API log, events, floating sessions and report progress, moved here from
apps.licensing: their tables and indexes keep their names, so this only tells Django's state."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import Q


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
                    name="WebApiLog",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("time", models.DateTimeField(default=django.utils.timezone.now)),
                        ("product_id", models.BigIntegerField(blank=True, null=True)),
                        ("key", models.CharField(blank=True, max_length=64)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("state", models.PositiveSmallIntegerField()),
                        ("machine_code", models.CharField(blank=True, max_length=128)),
                        ("friendly_name", models.CharField(blank=True, max_length=255)),
                        ("floating_expires", models.DateTimeField(blank=True, null=True)),
                        ("method", models.CharField(max_length=64)),
                        ("user_agent", models.CharField(blank=True, max_length=255)),
                        ("do_int_value", models.BigIntegerField(blank=True, null=True)),
                        ("do_id", models.BigIntegerField(blank=True, null=True)),
                        ("token_id", models.BigIntegerField(blank=True, null=True)),
                        ("vendor", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                     related_name="+", to="accounts.vendor")),
                        ("country", models.CharField(blank=True, db_default="", default="",
                                                     max_length=2)),
                        ("source_id", models.BigIntegerField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "licensing_webapilog",
                        "ordering": ["-id"],
                        "indexes": [
                            models.Index(fields=["vendor", "-id"],
                                         name="licensing_w_vendor__eb4453_idx"),
                            models.Index(fields=["vendor", "product_id", "key", "-id"],
                                         name="licensing_w_vendor__83dd0e_idx"),
                            models.Index(fields=["vendor", "time"],
                                         name="licensing_w_vendor__5cc178_idx"),
                            models.Index(condition=Q(state__in=[2014, 2015, 6011, 2024]),
                                         fields=["vendor", "time"],
                                         name="webapilog_floating_time"),
                            models.Index(condition=Q(state__gte=2010, state__lt=2020),
                                         fields=["vendor", "time"],
                                         name="webapilog_activated_time"),
                            models.Index(condition=Q(state__gte=1020, state__lt=1030)
                                         | Q(state__gte=2020, state__lt=2030),
                                         fields=["vendor", "time"],
                                         name="webapilog_failed_time"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(condition=Q(source_id__isnull=False),
                                                    fields=("vendor", "source_id"),
                                                    name="webapilog_unique_source_id"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="FloatingSession",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("product_id", models.BigIntegerField(blank=True, null=True)),
                        ("key", models.CharField(max_length=64)),
                        ("machine_code", models.CharField(max_length=128)),
                        ("start_t", models.BigIntegerField()),
                        ("end_t", models.BigIntegerField()),
                        ("overdraft", models.BooleanField(default=False)),
                        ("vendor", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                     related_name="+", to="accounts.vendor")),
                    ],
                    options={
                        "db_table": "licensing_floatingsession",
                        "indexes": [
                            models.Index(fields=["vendor", "start_t"],
                                         name="licensing_f_vendor__73e3ea_idx"),
                            models.Index(fields=["vendor", "product_id", "key", "machine_code",
                                                 "end_t"],
                                         name="licensing_f_vendor__98ec67_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReportProgress",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("floating_log_id", models.BigIntegerField(default=0)),
                        ("vendor", models.OneToOneField(
                            on_delete=django.db.models.deletion.CASCADE, related_name="+",
                            to="accounts.vendor")),
                    ],
                    options={"db_table": "licensing_reportprogress"},
                ),
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("time", models.DateTimeField(default=django.utils.timezone.now)),
                        ("product_id", models.BigIntegerField(blank=True, null=True)),
                        ("key", models.CharField(blank=True, max_length=64)),
                        ("machine_code", models.CharField(blank=True, max_length=128)),
                        ("feature_name", models.CharField(blank=True, max_length=100)),
                        ("event_name", models.CharField(blank=True, max_length=100)),
                        ("value", models.BigIntegerField(default=0)),
                        ("currency", models.CharField(blank=True, max_length=10)),
                        ("metadata", models.TextField(blank=True, max_length=10000)),
                        ("vendor", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                     related_name="+", to="accounts.vendor")),
                    ],
                    options={
                        "db_table": "licensing_event",
                        "ordering": ["-id"],
                        "indexes": [
                            models.Index(fields=["vendor", "-id"],
                                         name="licensing_e_vendor__5b1e16_idx"),
                            models.Index(fields=["vendor", "product_id", "key", "-id"],
                                         name="licensing_e_vendor__422884_idx"),
                        ],
                    },
                ),
            ],
        ),
    ]
