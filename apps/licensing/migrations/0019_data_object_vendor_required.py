import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_portal_models_to_licensing'),
        ('licensing', '0018_whole_web_api'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dataobject',
            name='vendor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='data_objects', to='accounts.vendor'),
        ),
    ]
