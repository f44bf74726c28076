"""`python manage.py train_anomaly_model --vendor EMAIL`: train a new detector version on the
vendor's recent Web API log now (what the nightly Celery task does). A failed training is
recorded and the previous detector stays active."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.anomalies.models import DetectorVersion
from apps.anomalies.services import anomaly_model_train
from apps.usage.management.commands.import_webapi_log import owned_vendor


class Command(BaseCommand):
    help = "Train a new anomaly detector version for a vendor (the owner's e-mail)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--vendor", required=True, metavar="EMAIL",
                            help="e-mail of the owner of the vendor")

    def handle(self, *args, **options) -> None:
        vendor = owned_vendor(options["vendor"])
        version = anomaly_model_train(vendor=vendor)
        if version.status == DetectorVersion.Status.FAILED:
            raise CommandError(f"Training failed (v{version.number}), the previous detector "
                               f"stays active: {version.error}")
        meta = version.metadata
        self.stdout.write(self.style.SUCCESS(
            f"{vendor.name}: detector v{version.number} active, trained on "
            f"{version.rows_trained} rows ({meta.get('n_training_windows', '?')} windows) in "
            f"{version.seconds:.1f} s, threshold {meta.get('threshold', float('nan')):.4g}."))
