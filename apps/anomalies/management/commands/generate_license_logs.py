"""`python manage.py generate_license_logs --days 7 --seed 1 --output log.csv --labels
labels.json [--vendor EMAIL]`: a realistic synthetic Web API log with labelled injected
anomalies (key sharing, brute-force guessing, hammering, ...), for tests, demos and the
evaluation. The CSV is in the import format; with --vendor it is also loaded into that vendor's
log, with Ids moved past those already in the database (the file and labels say the same)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from apps.anomalies.services.synthetic import (
    free_id_offset,
    synthetic_log_generate,
    synthetic_log_import,
    synthetic_log_shift_ids,
)
from apps.usage.management.commands.import_webapi_log import owned_vendor


def _day(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CommandError(f"--start: not an ISO date: {value!r}") from None


class Command(BaseCommand):
    help = "Generate a synthetic Web API log with labelled anomalies (CSV + JSON labels)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--customers", type=int, default=300,
                            help="scale: about 20 rows per customer and day (default 300)")
        parser.add_argument("--anomalies-per-kind", type=int, default=2)
        parser.add_argument("--start", help="first day, ISO date (default: the log ends today)")
        parser.add_argument("--output", metavar="FILE.csv")
        parser.add_argument("--labels", metavar="FILE.json")
        parser.add_argument("--vendor", metavar="EMAIL", help="also load it into the log of "
                                                               "the vendor this person owns")

    def handle(self, *args, **options) -> None:
        if not (options["output"] or options["vendor"]):
            raise CommandError("Give --output FILE.csv, --vendor EMAIL, or both.")
        if options["days"] < 1 or options["customers"] < 1:
            raise CommandError("--days and --customers must be at least 1.")
        vendor = owned_vendor(options["vendor"]) if options["vendor"] else None
        log = synthetic_log_generate(
            days=options["days"], seed=options["seed"], customers=options["customers"],
            start=_day(options["start"]) if options["start"] else None,
            instances_per_kind=options["anomalies_per_kind"])
        if vendor is not None:
            synthetic_log_shift_ids(log, offset=free_id_offset())
        if options["output"]:
            log.frame.to_csv(options["output"])
        if options["labels"]:
            with open(options["labels"], "w", encoding="utf-8") as out:
                json.dump([asdict(label) for label in log.labels], out)
        self.stdout.write(f"Generated {len(log.frame)} rows over {options['days']} days with "
                          f"{len(log.labels)} labelled anomalies.")
        if vendor is not None:
            result = synthetic_log_import(vendor=vendor, log=log)
            self.stdout.write(f"Loaded into {vendor.name}: {result.inserted} inserted, "
                              f"{result.skipped} skipped, {len(result.rejected)} rejected.")
