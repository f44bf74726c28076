"""apps.licensing is split by concept: the Web API log, events, floating sessions and report
progress move to apps.usage, the object log to apps.audit; customer-portal memberships and
links come here from apps.accounts. Every table keeps its name and its rows: only Django's
idea of which app owns a model changes. Sign-ups waiting for a verified address get a table."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# Object-log entries name their object's model; the moved models' names change with their app.
RENAMED_TYPES = {"accounts.portallink": "licensing.portallink",
                 "accounts.customermembership": "licensing.customermembership"}
# Content types of the moved models follow them (admin history, permissions).
MOVED = {("licensing", "objectlogentry"): "audit", ("licensing", "webapilog"): "usage",
         ("licensing", "event"): "usage", ("licensing", "floatingsession"): "usage",
         ("licensing", "reportprogress"): "usage",
         ("accounts", "customermembership"): "licensing", ("accounts", "portallink"): "licensing"}


def _rename_object_types(schema_editor, renames: dict[str, str]) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    with schema_editor.connection.cursor() as cursor:
        if postgresql:  # the append-only trigger (migration 0002) refuses UPDATEs otherwise
            cursor.execute("ALTER TABLE licensing_objectlogentry "
                           "DISABLE TRIGGER licensing_objectlog_append_only")
        for old, new in renames.items():
            cursor.execute("UPDATE licensing_objectlogentry SET object_type = %s "
                           "WHERE object_type = %s", [new, old])
        if postgresql:
            cursor.execute("ALTER TABLE licensing_objectlogentry "
                           "ENABLE TRIGGER licensing_objectlog_append_only")


def _move_content_types(apps, moves: dict[tuple[str, str], str]) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for (app_label, model), new_label in moves.items():
        if not content_type.objects.filter(app_label=new_label, model=model).exists():
            content_type.objects.filter(app_label=app_label, model=model).update(
                app_label=new_label)


def forwards(apps, schema_editor):
    _rename_object_types(schema_editor, RENAMED_TYPES)
    _move_content_types(apps, MOVED)


def backwards(apps, schema_editor):
    _rename_object_types(schema_editor, {new: old for old, new in RENAMED_TYPES.items()})
    _move_content_types(apps, {(new, model): old for (old, model), new in MOVED.items()})


class Migration(migrations.Migration):

    dependencies = [
        ("licensing", "0014_webapilog_source_id"),
        ("accounts", "0004_portal_models_to_licensing"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ObjectLogEntry"),
                migrations.DeleteModel(name="WebApiLog"),
                migrations.DeleteModel(name="FloatingSession"),
                migrations.DeleteModel(name="ReportProgress"),
                migrations.DeleteModel(name="Event"),
                migrations.CreateModel(
                    name="CustomerMembership",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        ("can_manage_activations", models.BooleanField(
                            default=False,
                            help_text="May deactivate devices (if the customer allows it too).")),
                        ("customer", models.ForeignKey(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="portal_members", to="licensing.customer")),
                        ("user", models.ForeignKey(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="customer_memberships", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "accounts_customermembership",
                        "ordering": ["created"],
                        "constraints": [models.UniqueConstraint(
                            fields=("customer", "user"), name="customer_membership_unique_user")],
                    },
                ),
                migrations.CreateModel(
                    name="PortalLink",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        ("name", models.CharField(blank=True, max_length=100)),
                        ("token_hash", models.CharField(max_length=64, unique=True)),
                        ("can_manage_activations", models.BooleanField(default=False)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("uses", models.PositiveIntegerField(default=0)),
                        ("created_by", models.ForeignKey(
                            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="+", to=settings.AUTH_USER_MODEL)),
                        ("customer", models.ForeignKey(
                            blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                            related_name="portal_links", to="licensing.customer")),
                        ("vendor", models.ForeignKey(
                            on_delete=django.db.models.deletion.CASCADE,
                            related_name="portal_links", to="accounts.vendor")),
                    ],
                    options={"db_table": "accounts_portallink", "ordering": ["-created"]},
                ),
            ],
        ),
        migrations.CreateModel(
            name="PendingPortalJoin",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("created", models.DateTimeField(default=django.utils.timezone.now)),
                ("link", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="+", to="licensing.portallink")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
