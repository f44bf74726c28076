# Signing keys become rotatable: several per vendor, one active (vendor.signing_key).

import django.db.models.deletion
from django.db import migrations, models


def activate_existing_keys(apps, schema_editor):
    """Each vendor had exactly one key: it becomes the active one."""
    SigningKey = apps.get_model("licensing", "SigningKey")
    SigningKey.objects.update(active_for=models.F("vendor"))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_resellers'),
        ('licensing', '0011_floating_sessions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='signingkey',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signing_keys', to='accounts.vendor'),
        ),
        migrations.AddField(
            model_name='signingkey',
            name='active_for',
            field=models.OneToOneField(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='signing_key', to='accounts.vendor'),
        ),
        migrations.AddField(
            model_name='signingkey',
            name='retired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name='signingkey',
            constraint=models.CheckConstraint(condition=models.Q(('active_for__isnull', True), ('active_for', models.F('vendor')), _connector='OR'), name='signing_key_active_for_own_vendor'),
        ),
        migrations.AddConstraint(
            model_name='signingkey',
            constraint=models.CheckConstraint(condition=models.Q(('active_for__isnull', True), ('retired_at__isnull', True), _connector='OR'), name='signing_key_active_is_not_retired'),
        ),
        # Last: on PostgreSQL, no ALTER TABLE may follow an update of a foreign key in the
        # same transaction (pending trigger events).
        migrations.RunPython(activate_existing_keys, migrations.RunPython.noop),
    ]
