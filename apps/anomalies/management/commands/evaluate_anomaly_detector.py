"""`python manage.py evaluate_anomaly_detector [--seeds 0 1 2] [--days 30] [--train-days 21]`:
ROC-AUC and average precision over groups, recall per anomaly kind and false alarms per day,
for the autoencoder, IsolationForest and ECOD side by side, on generated logs with a clean and
a contaminated (about 2 % of the training windows) history. The detection package's benchmark
(the same one bench/anomalies.py runs), printed. Needs no database; minutes at full scale."""

from __future__ import annotations

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Evaluate the anomaly detector against IsolationForest and ECOD on generated logs."
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--train-days", type=int, default=21)
        parser.add_argument("--customers", type=int, default=None,
                            help="scale of each log (default: the generator's, ~700,000 rows "
                                 "a month)")
        parser.add_argument("--scenario", choices=["clean", "contaminated"], action="append",
                            help="run only this scenario (repeatable; default: both)")
        parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")

    def handle(self, *args, **options) -> None:
        from apps.anomalies.detection.benchmark import format_report, run_benchmark

        if not 0 < options["train_days"] < options["days"]:
            raise CommandError("--train-days must be between 0 and --days.")
        runs = run_benchmark(
            seeds=tuple(options["seeds"]), days=options["days"],
            train_days=options["train_days"], customers=options["customers"],
            scenarios=tuple(options["scenario"] or ("clean", "contaminated")),
            progress=lambda line: self.stderr.write(line))
        self.stdout.write(format_report(runs, train_days=options["train_days"]))
        if options["json"]:
            with open(options["json"], "w", encoding="utf-8") as out:
                json.dump([{"scenario": run.scenario, "seed": run.seed, "rows": run.rows,
                            **asdict(result)} for run in runs for result in run.results],
                          out, indent=1, default=str)
