"""`python manage.py evaluate_anomaly_detector [--seeds 0 1 2] [--days 28] [--train-days 21]`:
ROC-AUC and average precision over groups, recall per anomaly kind and false alarms per day,
for the autoencoder, IsolationForest and ECOD side by side, on generated logs with a clean and
a contaminated training period. Needs no database; takes minutes at the default scale."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from apps.anomalies.evaluation import evaluation_grid, format_tables


class Command(BaseCommand):
    help = "Evaluate the anomaly detector against IsolationForest and ECOD on generated logs."
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        parser.add_argument("--days", type=int, default=28)
        parser.add_argument("--train-days", type=float, default=21)
        parser.add_argument("--customers", type=int, default=200,
                            help="scale of each generated log (about 20 rows a customer-day)")
        parser.add_argument("--contamination", type=float, default=0.02,
                            help="share of anomalous training rows in the contaminated runs")
        parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")

    def handle(self, *args, **options) -> None:
        if not 0 < options["train_days"] < options["days"]:
            raise CommandError("--train-days must be between 0 and --days.")
        rows = evaluation_grid(days=options["days"], train_days=options["train_days"],
                               customers=options["customers"], seeds=options["seeds"],
                               contamination=options["contamination"])
        self.stdout.write(format_tables(rows))
        if options["json"]:
            with open(options["json"], "w", encoding="utf-8") as out:
                json.dump([{"condition": r.condition, "seed": r.seed,
                            "contamination": r.contamination, **asdict(r.result)}
                           for r in rows], out, indent=1)
